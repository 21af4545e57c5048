import { ModelError, UnknownEnvError } from '../errors.js';
import { generatorOutputDim } from '../model/checkpoint-format.js';
import type { ModelManifest } from '../planner/manifest.js';
import { NAV_OBSTACLE_NAMES, NAV_OBS_DIM } from './cf-nav/observation.js';

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
  /** default replanning period in ticks for `kdp eval` / `kdp demo` (measured in docs/benchmarks.md) */
  replanEvery?: number;
  /**
   * Set when the env's model is only meaningful under a task-specific controller that `kdp eval`'s generic
   * tracking loop does not run: the command that does (eval refuses and names it).
   */
  controlledBy?: string;
}

const MAZE = (name: string, horizon: number, frameSkip: number): EnvInfo => ({
  name, stateDim: 4, actionDim: 2, goalDim: 2, dt: 0.01, positionDims: [0, 1], velocityDims: [2, 3], padEpisodeEnd: true,
  stateNames: ['x', 'y', 'vx', 'vy'], actionNames: ['ax', 'ay'], horizon, frameSkip, replanEvery: 16,
});

export const ENVS: Record<string, EnvInfo> = {
  'maze2d-umaze': MAZE('maze2d-umaze', 32, 2),
  'maze2d-medium': MAZE('maze2d-medium', 32, 4),
  'maze2d-large': MAZE('maze2d-large', 32, 4),
  /**
   * Simulated Crazyflie 2.1 through cylinder fields (`kdp dataset crazyflie-nav`, src/sim/crazyflie/nav-dataset.ts):
   * state (33) = pos, vel, goal−pos, the 8 nearest obstacles (dx, dy, r; src/envs/cf-nav/observation.ts); action (3)
   * = world velocity (m/s) of a velocity_world setpoint; goal (3) = infos/goal; 10 Hz. Plans: 16 steps × frame skip 2
   * = 3.2 s ahead. Models of the earlier 21-value layout (4 obstacles) are refused by checkModelMatchesEnv.
   */
  'crazyflie-nav': {
    name: 'crazyflie-nav', stateDim: NAV_OBS_DIM, actionDim: 3, goalDim: 3, dt: 0.1, positionDims: [0, 1, 2], velocityDims: [3, 4, 5], padEpisodeEnd: true,
    stateNames: ['x', 'y', 'z', 'vx', 'vy', 'vz', 'gdx', 'gdy', 'gdz', ...NAV_OBSTACLE_NAMES],
    actionNames: ['vx_cmd', 'vy_cmd', 'vz_cmd'], horizon: 16, frameSkip: 2, replanEvery: 1,
  },
  /**
   * Simulated SO-100 reach (`kdp dataset so100-reach`, src/sim/so100/reach-demos.ts; live env: src/sim/so100/reach-env.ts):
   * state (12) = joint angles q (6, rad), grasp point FK(q) (3, m), target (3, m); action (6) = goal joint angles
   * (rad); goal (3) = target; 50 Hz. Plans: 16 steps × frame skip 2 = 0.64 s of joint trajectory (`kdp arm`).
   */
  'so100-reach': {
    name: 'so100-reach', stateDim: 12, actionDim: 6, goalDim: 3, dt: 0.02, positionDims: [6, 7, 8], velocityDims: [], padEpisodeEnd: true,
    stateNames: ['q_pan', 'q_lift', 'q_elbow', 'q_wrist', 'q_roll', 'q_grip', 'ee_x', 'ee_y', 'ee_z', 'tx', 'ty', 'tz'],
    actionNames: ['g_pan', 'g_lift', 'g_elbow', 'g_wrist', 'g_roll', 'g_grip'], horizon: 16, frameSkip: 2,
    controlledBy: 'kdp arm --port PTY --model models/so100-reach --task reach --target x,y,z (against `kdp sim so100 --pty PTY`)',
  },
  /**
   * Simulated SO-100 pick-and-place (`kdp dataset so100-pick-place`, src/sim/so100/pick-place-demos.ts; LeRobot v3.0 folders),
   * in the task's frame: state (8) = grasp point relative to the cube's grasp spot (x, y, m), its height (m), relative
   * to the place's release spot (x, y, m), the jaw angle (rad), picked and holding (0/1, from the arm's own joints) —
   * the task inputs ride in the state, so there is no separate goal; action (1) = the gripper goal (rad); 50 Hz.
   * Plans: 16 steps × frame skip 2 = 0.64 s of grasp-point path + gripper, tracked through the arm's IK
   * (`kdp arm --task pick-place`).
   */
  'so100-pick-place': {
    name: 'so100-pick-place', stateDim: 8, actionDim: 1, goalDim: 0, dt: 0.02, positionDims: [0, 1, 2], velocityDims: [], padEpisodeEnd: true,
    stateNames: ['ee_dx_cube', 'ee_dy_cube', 'ee_z', 'ee_dx_place', 'ee_dy_place', 'q_grip', 'picked', 'holding'],
    actionNames: ['g_grip'], horizon: 16, frameSkip: 2,
    controlledBy: 'kdp arm --port PTY --model models/so100-pick-place --task pick-place --cube x,y --place x,y (against `kdp sim so100 --pty PTY --cube x,y`)',
  },
  /**
   * SO-100 teleoperation demonstrations (`kdp record`, src/arm/teleop-record.ts; LeRobot v3.0 folders): state (6)
   * = follower joint positions, action (6) = goal positions sent, both in LeRobot's normalised units (−100..100 of
   * the calibrated range, gripper 0..100); no goal (the task is the dataset's); 30 Hz (`kdp record`'s default fps).
   * Plans: 16 steps × frame skip 1 ≈ 0.53 s of joint trajectory. Trained and exported like the others; no closed
   * loop runs it yet.
   */
  'so100-teleop': {
    name: 'so100-teleop', stateDim: 6, actionDim: 6, goalDim: 0, dt: 1 / 30, positionDims: [0, 1, 2, 3, 4, 5], velocityDims: [], padEpisodeEnd: false,
    stateNames: ['shoulder_pan.pos', 'shoulder_lift.pos', 'elbow_flex.pos', 'wrist_flex.pos', 'wrist_roll.pos', 'gripper.pos'],
    actionNames: ['shoulder_pan.pos', 'shoulder_lift.pos', 'elbow_flex.pos', 'wrist_flex.pos', 'wrist_roll.pos', 'gripper.pos'], horizon: 16, frameSkip: 1,
    controlledBy: 'no closed loop yet: the model is trained and exported from `kdp record` datasets',
  },
};

export function envInfo(name: string): EnvInfo {
  const info = ENVS[name];
  if (!info) throw new UnknownEnvError(name, Object.keys(ENVS));
  return info;
}

/**
 * Refuse a model whose manifest does not fit the environment, naming every mismatch — before any
 * loop starts (state/action/goal dims, condition size, plan output size, env name).
 */
export function checkModelMatchesEnv(m: ModelManifest, env: EnvInfo): void {
  const problems: string[] = [];
  const L = m.layout;
  if (m.env !== env.name) problems.push(`env: model trained for "${m.env}", running "${env.name}"`);
  if (L.stateDim !== env.stateDim) problems.push(`stateDim: model ${L.stateDim}, env ${env.stateDim}`);
  if (L.actionDim !== env.actionDim) problems.push(`actionDim: model ${L.actionDim}, env ${env.actionDim}`);
  if (L.goalDim !== env.goalDim) problems.push(`goalDim: model ${L.goalDim}, env ${env.goalDim}`);
  const cond = m.inputs.find((t) => t.name === 'condition');
  const plan = m.outputs.find((t) => t.name === 'plan') ?? m.outputs[0];
  if (!cond || cond.shape[1] !== L.stateDim + L.goalDim) problems.push(`condition input: ${cond ? `[${cond.shape.join(',')}]` : 'missing'}, layout needs ${L.stateDim + L.goalDim} values`);
  if (!plan || plan.shape[1] !== generatorOutputDim(L)) problems.push(`plan output: ${plan ? `[${plan.shape.join(',')}]` : 'missing'}, horizon ${L.horizon} needs ${generatorOutputDim(L)} values`);
  if (Math.abs(L.dt - env.dt) > 1e-12) problems.push(`dt: model ${L.dt}s, env ${env.dt}s`);
  if (problems.length) {
    throw new ModelError('E_MODEL_MISMATCH', `model does not match the environment: ${problems.join('; ')}`, { hint: `use a model exported for ${env.name}, or retrain with --env ${env.name}` });
  }
}
