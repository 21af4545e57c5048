import { UnknownEnvError } from '../errors.js';
import { ENVS } from './registry.js';
import type { PlanningEnv } from './types.js';

/** Create a live environment by name (physics loaded lazily, only for the env asked for). */
export async function createEnv(name: string): Promise<PlanningEnv> {
  if (name.startsWith('maze2d-') && ENVS[name]) {
    const { createMaze2dEnv } = await import('./maze2d/env.js');
    return createMaze2dEnv(name);
  }
  throw new UnknownEnvError(name, Object.keys(ENVS));
}
