import { UnknownEnvError } from '../errors.js';

/**
 * Static facts about each environment the trainer and the loop know, without loading any physics:
 * dimensions, time step, and which state dims are positions (used for plan keys and SVGs).
 */
export interface EnvInfo {
  name: string;
  stateDim: number;
  actionDim: number;
  goalDim: number;
  /** seconds per env step */
  dt: number;
  /** state dims that are positions (plan keys, feasibility, plots) */
  positionDims: number[];
  /** state dims that are velocities (zeroed when a goal-reached episode is padded) */
  velocityDims: number[];
  /** goal-reaching data: pad windows past the episode end with the final state at rest */
  padEpisodeEnd: boolean;
  stateNames: string[];
  actionNames: string[];
  /** defaults for the plan window */
  horizon: number;
  frameSkip: number;
}

const MAZE = (name: string, horizon: number, frameSkip: number): EnvInfo => ({
  name, stateDim: 4, actionDim: 2, goalDim: 2, dt: 0.01, positionDims: [0, 1], velocityDims: [2, 3], padEpisodeEnd: true,
  stateNames: ['x', 'y', 'vx', 'vy'], actionNames: ['ax', 'ay'], horizon, frameSkip,
});

export const ENVS: Record<string, EnvInfo> = {
  'maze2d-umaze': MAZE('maze2d-umaze', 32, 2),
  'maze2d-medium': MAZE('maze2d-medium', 32, 4),
  'maze2d-large': MAZE('maze2d-large', 32, 4),
};

export function envInfo(name: string): EnvInfo {
  const info = ENVS[name];
  if (!info) throw new UnknownEnvError(name, Object.keys(ENVS));
  return info;
}
