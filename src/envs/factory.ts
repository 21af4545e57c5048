import { UnknownEnvError } from '../errors.js';
import { ENVS } from './registry.js';
import type { PlanningEnv } from './types.js';

/** Create a live environment by name (physics loaded lazily, only for the env asked for). */
export async function createEnv(name: string): Promise<PlanningEnv> {
  if (name.startsWith('maze2d-') && ENVS[name]) {
    const { createMaze2dEnv } = await import('./maze2d/env.js');
    return createMaze2dEnv(name);
  }
  if (name === 'so100-reach') {
    // the in-process simulated SO-100 (MuJoCo + simulated servos), with the joint/velocity limits of the profile
    const [{ createSo100ReachEnv }, { loadSo100Config }] = await Promise.all([import('../so100/reach-env.js'), import('../so100/config.js')]);
    return createSo100ReachEnv({ config: loadSo100Config() });
  }
  throw new UnknownEnvError(name, Object.keys(ENVS));
}
