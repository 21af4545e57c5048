import type { PlanningEnv } from '../types.js';
import { UnknownEnvError } from '../../errors.js';
import { SeededRng } from '../../util/rng.js';
import { MAZE2D_ENVS, MAZE2D_SPECS, mazeName, parseLayout, pointInWall } from './layouts.js';
import type { Maze2dName, Maze2dSpec, MazeLayout } from './layouts.js';
import { pointMazeXml } from './mjcf.js';
import { loadModelFromXml } from './mujoco.js';
import type { MjDataHandle, MjModelHandle, MjModule } from './mujoco.js';

export interface Maze2dEnvOptions {
  /** D4RL `reset_target`: resample the target at every reset (false for the registered envs). */
  resetTarget?: boolean;
  /** D4RL reward type; the `-v1` registrations are sparse. */
  rewardType?: 'sparse' | 'dense';
  /** `planCost` counts plan states within this distance of a wall box (0 = strictly inside). */
  planMargin?: number;
}

const SPARSE_RADIUS = 0.5;
const VEL_LIMIT = 5.0;
const RESET_POS_NOISE = 0.1;
const RESET_VEL_STD = 0.1;

/**
 * D4RL's `MazeEnv` (maze_model.py) on mujoco-js. Observation [x, y, vx, vy] = [qpos, qvel];
 * action ∈ [−1, 1]² (clipped) drives two motors of gear 100; one env step = one MuJoCo step of 0.01 s
 * (frame_skip 1), after clipping the velocity to ±5 as D4RL does. `observe`/`step` do not allocate.
 */
export class Maze2dEnv implements PlanningEnv {
  readonly name: Maze2dName;
  readonly spec: Maze2dSpec;
  readonly layout: MazeLayout;
  readonly stateDim = 4;
  readonly actionDim = 2;
  readonly goalDim = 2;
  readonly dt = 0.01;
  readonly maxEpisodeSteps: number;
  readonly done = false;
  readonly resetTarget: boolean;
  readonly rewardType: 'sparse' | 'dense';
  readonly planMargin: number;
  private readonly mj: MjModule;
  private model: MjModelHandle;
  private data: MjDataHandle;
  private qpos: Float64Array;
  private qvel: Float64Array;
  private ctrl: Float64Array;
  private readonly target = new Float64Array(2);
  private readonly rng = new SeededRng(0);
  private closed = false;

  constructor(name: Maze2dName, mj: MjModule, model: MjModelHandle, opts: Maze2dEnvOptions = {}) {
    this.name = name;
    this.spec = MAZE2D_SPECS[name];
    this.layout = parseLayout(this.spec.rows);
    this.maxEpisodeSteps = this.spec.maxEpisodeSteps;
    this.resetTarget = opts.resetTarget ?? false;
    this.rewardType = opts.rewardType ?? 'sparse';
    this.planMargin = opts.planMargin ?? 0;
    this.mj = mj;
    this.model = model;
    this.data = new mj.MjData(model);
    this.qpos = this.data.qpos;
    this.qvel = this.data.qvel;
    this.ctrl = this.data.ctrl;
    this.target[0] = this.layout.goalCell[0];
    this.target[1] = this.layout.goalCell[1];
    this.mj.mj_forward(this.model, this.data);
  }

  /** Views into wasm memory are re-fetched only when memory growth detached them. */
  private views(): void {
    if (this.qpos.length === 0 || this.qvel.length === 0 || this.ctrl.length === 0) {
      this.qpos = this.data.qpos;
      this.qvel = this.data.qvel;
      this.ctrl = this.data.ctrl;
    }
  }

  /**
   * A D4RL evaluation episode: random start from `seed`; the target is the maze's goal cell (or a
   * random one when resetTarget). A target set with setTarget() does not survive reset(seed);
   * use resetWith() to keep it.
   */
  reset(seed: number): void {
    this.rng.reseed(seed);
    if (!this.resetTarget) {
      this.target[0] = this.layout.goalCell[0];
      this.target[1] = this.layout.goalCell[1];
    }
    this.resetWith(this.rng);
  }

  /** D4RL `reset_model`: a random free cell (+U(−0.1, 0.1)), velocity N(0, 0.1²); target if resetTarget. */
  resetWith(rng: SeededRng): void {
    this.mj.mj_resetData(this.model, this.data);
    this.views();
    const cells = this.layout.resetCells;
    const cell = cells[rng.int(cells.length)] ?? this.layout.goalCell;
    this.qpos[0] = cell[0] + rng.range(-RESET_POS_NOISE, RESET_POS_NOISE);
    this.qpos[1] = cell[1] + rng.range(-RESET_POS_NOISE, RESET_POS_NOISE);
    this.qvel[0] = rng.normal() * RESET_VEL_STD;
    this.qvel[1] = rng.normal() * RESET_VEL_STD;
    this.mj.mj_forward(this.model, this.data);
    if (this.resetTarget) this.sampleTarget(rng);
  }

  /** D4RL `set_target()` with no argument: a random free cell + U(−0.1, 0.1) per axis. */
  sampleTarget(rng: SeededRng): void {
    const cells = this.layout.resetCells;
    const cell = cells[rng.int(cells.length)] ?? this.layout.goalCell;
    this.target[0] = cell[0] + rng.range(-RESET_POS_NOISE, RESET_POS_NOISE);
    this.target[1] = cell[1] + rng.range(-RESET_POS_NOISE, RESET_POS_NOISE);
  }

  setTarget(x: number, y: number): void {
    this.target[0] = x;
    this.target[1] = y;
  }

  get targetX(): number { return this.target[0]!; }
  get targetY(): number { return this.target[1]!; }

  /** Put the point at (x, y) with velocity (vx, vy). */
  setState(x: number, y: number, vx: number, vy: number): void {
    this.views();
    this.qpos[0] = x; this.qpos[1] = y;
    this.qvel[0] = vx; this.qvel[1] = vy;
    this.mj.mj_forward(this.model, this.data);
  }

  observe(out: Float32Array | Float64Array): void {
    this.views();
    out[0] = this.qpos[0]!;
    out[1] = this.qpos[1]!;
    out[2] = this.qvel[0]!;
    out[3] = this.qvel[1]!;
  }

  goal(out: Float32Array | Float64Array): void {
    out[0] = this.target[0]!;
    out[1] = this.target[1]!;
  }

  step(action: Float32Array | Float64Array): number {
    this.views();
    this.ctrl[0] = clip1(action[0]!);
    this.ctrl[1] = clip1(action[1]!);
    // D4RL clip_velocity(): qvel ∈ [−5, 5] before the step
    const vx = this.qvel[0]!, vy = this.qvel[1]!;
    this.qvel[0] = vx > VEL_LIMIT ? VEL_LIMIT : vx < -VEL_LIMIT ? -VEL_LIMIT : vx;
    this.qvel[1] = vy > VEL_LIMIT ? VEL_LIMIT : vy < -VEL_LIMIT ? -VEL_LIMIT : vy;
    this.mj.mj_step(this.model, this.data);
    const dx = this.qpos[0]! - this.target[0]!;
    const dy = this.qpos[1]! - this.target[1]!;
    const dist = Math.sqrt(dx * dx + dy * dy);
    if (this.rewardType === 'sparse') return dist <= SPARSE_RADIUS ? 1 : 0;
    return Math.exp(-dist);
  }

  /** Number of plan states (stateDim = 4 floats per step, x and y first) inside a wall. */
  planCost(states: Float32Array, steps: number): number {
    let n = 0;
    for (let k = 0; k < steps; k++) {
      if (pointInWall(this.layout, states[k * 4]!, states[k * 4 + 1]!, this.planMargin)) n++;
    }
    return n;
  }

  normalizedScore(episodeReturn: number): number {
    return (100 * (episodeReturn - this.spec.refMinScore)) / (this.spec.refMaxScore - this.spec.refMinScore);
  }

  /** Current qpos / qvel (for D4RL's infos/qpos, infos/qvel). */
  readQpos(out: Float32Array | Float64Array, offset = 0): void {
    this.views();
    out[offset] = this.qpos[0]!; out[offset + 1] = this.qpos[1]!;
  }
  readQvel(out: Float32Array | Float64Array, offset = 0): void {
    this.views();
    out[offset] = this.qvel[0]!; out[offset + 1] = this.qvel[1]!;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.data.delete();
    this.model.delete();
  }
}

function clip1(a: number): number {
  if (!(a === a)) return 0; // NaN → no force (the hot path never throws)
  return a > 1 ? 1 : a < -1 ? -1 : a;
}

/** Build a Maze2D env (`maze2d-umaze`, `maze2d-medium`, `maze2d-large`; `-v1` and short names accepted). */
export async function createMaze2dEnv(name: string, opts: Maze2dEnvOptions = {}): Promise<Maze2dEnv> {
  const resolved = mazeName(name);
  if (!resolved) throw new UnknownEnvError(name, MAZE2D_ENVS);
  const layout = parseLayout(MAZE2D_SPECS[resolved].rows);
  const { mj, model } = await loadModelFromXml(pointMazeXml(layout));
  return new Maze2dEnv(resolved, mj, model, opts);
}
