import { UnknownEnvError, UsageError } from '../errors.js';
import { ENVS } from '../envs/registry.js';
import type { PlanningEnv } from '../envs/types.js';

/** Create a live environment by name (physics loaded lazily, only for the env asked for). */
export async function createEnv(name: string): Promise<PlanningEnv> {
  if (name.startsWith('maze2d-') && ENVS[name]) {
    const { createMaze2dEnv } = await import('../envs/maze2d/env.js');
    return createMaze2dEnv(name);
  }
  if (name === 'so100-reach') {
    // the in-process simulated SO-100 (MuJoCo + simulated servos), with the joint/velocity limits of the profile
    const [{ createSo100ReachEnv }, { loadSo100Config }] = await Promise.all([import('./so100/reach-env.js'), import('../devices/so100/config.js')]);
    return createSo100ReachEnv({ config: loadSo100Config() });
  }
  requireClosedLoopEnv(name);
  throw new UnknownEnvError(name, Object.keys(ENVS));
}

/** Throws unless `createEnv(name)` can run `name` in-process: an unknown name, or a known env evaluated elsewhere. */
export function requireClosedLoopEnv(name: string): void {
  if (CLOSED_LOOP_ENVS.includes(name)) return;
  if (ENVS[name]) {
    // a known env without an in-process closed-loop simulator: say where it is evaluated instead of calling it unknown
    const how = name === 'crazyflie-nav'
      ? 'fly it against the simulator: `kdp sim crazyflie --udp 127.0.0.1:19850` in one terminal, then `kdp fly --uri udp://127.0.0.1:19850 --model models/cf-nav --goal X,Y,Z --obstacles FILE` (docs/crazyflie.md)'
      : 'run it on its robot bridge (see docs/)';
    throw new UsageError(`environment "${name}" has no in-process closed-loop simulator (${CLOSED_LOOP_ENVS.join(', ')} have)`, how);
  }
  throw new UnknownEnvError(name, CLOSED_LOOP_ENVS);
}

/** The envs `createEnv` can run in-process (kdp eval, demo, serve --sim). */
export const CLOSED_LOOP_ENVS: readonly string[] = [...Object.keys(ENVS).filter((n) => n.startsWith('maze2d-')), 'so100-reach'];
