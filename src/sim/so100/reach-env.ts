/**
 * `so100-reach` as a `PlanningEnv` (src/envs/types.ts) on the in-process simulator (six `SimServo`s + the MuJoCo
 * arm, no pty), with the same layout as `kdp dataset so100-reach`:
 *   state (12) = q (6, rad, from Present_Position), grasp point FK(q) (3, m), target (3, m); goal (3) = target;
 *   action (6) = goal joint angles (rad), clipped to the joint limits, sent as Goal_Position; dt = 1 / 50 s.
 * The episode ends when the grasp point stays within `reachTolM` for 5 steps (or a servo overloads).
 * `observe` / `goal` / `step` allocate nothing.
 */
import type { PlanningEnv } from '../../envs/types.js';
import { forwardKinematics } from '../../devices/so100/kinematics.js';
import { So100Physics } from './physics.js';
import { SimServo, TICKS_PER_RAD } from './servo.js';
import { Rng } from '../../util/rng.js';
import type { So100Config } from '../../devices/so100/config.js';
import { DEFAULT_SO100, JOINTS } from '../../devices/so100/config.js';
import { REACH_ACT_DIM, REACH_GOAL_DIM, REACH_OBS_DIM, sampleStart, sampleTarget } from '../../envs/so100/reach-task.js';

export interface So100ReachEnvOptions {
  controlHz?: number;
  maxEpisodeSteps?: number;
  reachTolM?: number;
  config?: So100Config;
}

/**
 * Reference returns for `normalizedScore` (per-step reward −distance in m), measured over 50 targets: an arm that
 * holds its start pose for the 150 steps scores 0 (mean return −34.6); the scripted expert of
 * `kdp dataset so100-reach` scores 100 (mean return −5.3, ~37 steps to reach).
 */
export const REACH_REF_RANDOM_RETURN = -34.6;
export const REACH_REF_EXPERT_RETURN = -5.3;

export class So100ReachEnv implements PlanningEnv {
  readonly name = 'so100-reach';
  readonly stateDim = REACH_OBS_DIM;
  readonly actionDim = REACH_ACT_DIM;
  readonly goalDim = REACH_GOAL_DIM;
  readonly dt: number;
  readonly maxEpisodeSteps: number;
  readonly servos: SimServo[];
  readonly physics: So100Physics;
  private readonly cfg: So100Config;
  private readonly tol: number;
  private readonly sub: number;
  private readonly q = new Float64Array(6);
  private readonly ee = new Float64Array(3);
  readonly target = new Float64Array(3);
  private readonly lo = new Float64Array(6);
  private readonly hi = new Float64Array(6);
  private readonly w16 = new Uint8Array(2);
  private readonly on = Uint8Array.of(1);
  private inside = 0;
  private steps = 0;
  private _done = false;
  /** Distance (m) of the grasp point to the target after the last step. */
  lastDistanceM = 0;
  overloaded = false;

  private constructor(servos: SimServo[], physics: So100Physics, o: So100ReachEnvOptions) {
    this.servos = servos;
    this.physics = physics;
    this.cfg = o.config ?? DEFAULT_SO100;
    const hz = o.controlHz ?? 50;
    this.dt = 1 / hz;
    this.sub = Math.max(1, Math.round(this.dt / physics.dt));
    this.maxEpisodeSteps = o.maxEpisodeSteps ?? 150;
    this.tol = o.reachTolM ?? 0.01;
    JOINTS.forEach((j, i) => { [this.lo[i], this.hi[i]] = this.cfg.jointLimitsRad[j]; });
  }

  static async create(o: So100ReachEnvOptions = {}): Promise<So100ReachEnv> {
    const servos = [1, 2, 3, 4, 5, 6].map((id) => new SimServo(id));
    const physics = await So100Physics.create(servos, (o.config ?? DEFAULT_SO100).jointLimitsRad);
    const env = new So100ReachEnv(servos, physics, o);
    env.reset(0);
    return env;
  }

  get done(): boolean { return this._done; }

  reset(seed: number): void {
    const rng = new Rng(seed);
    let tgt = sampleTarget(rng, this.cfg);
    while (!tgt) tgt = sampleTarget(rng, this.cfg);
    this.setEpisode(sampleStart(rng), tgt.target);
  }

  /** Start an episode from an explicit pose (rad) and target (m). */
  setEpisode(q0: ArrayLike<number>, target: ArrayLike<number>): void {
    for (const s of this.servos) {
      s.factoryReset(s.id);
      s.faults.overload = false; s.faults.voltage = false; s.faults.overheat = false; s.faults.angle = false; s.faults.silent = false;
      s.reg('P_Coefficient', 16); s.reg('D_Coefficient', 32); s.reg('Acceleration', 254);
    }
    this.physics.setJoints(q0);
    for (const s of this.servos) { s.reg('Goal_Position', s.get('Present_Position')); s.write(40, this.on); }
    this.target[0] = target[0]!; this.target[1] = target[1]!; this.target[2] = target[2]!;
    this.inside = 0; this.steps = 0; this._done = false; this.overloaded = false;
    this.measure();
  }

  private measure(): void {
    for (let i = 0; i < 6; i++) this.q[i] = (this.servos[i]!.get('Present_Position') - 2048) / TICKS_PER_RAD;
    forwardKinematics(this.q, this.ee);
    this.lastDistanceM = Math.hypot(this.ee[0]! - this.target[0]!, this.ee[1]! - this.target[1]!, this.ee[2]! - this.target[2]!);
  }

  observe(out: Float32Array): void {
    for (let i = 0; i < 6; i++) out[i] = this.q[i]!;
    out[6] = this.ee[0]!; out[7] = this.ee[1]!; out[8] = this.ee[2]!;
    out[9] = this.target[0]!; out[10] = this.target[1]!; out[11] = this.target[2]!;
  }

  goal(out: Float32Array): void {
    out[0] = this.target[0]!; out[1] = this.target[1]!; out[2] = this.target[2]!;
  }

  step(action: Float32Array): number {
    if (this._done) return -this.lastDistanceM;
    for (let i = 0; i < 6; i++) {
      let a = action[i]!;
      if (!(a >= this.lo[i]!)) a = this.lo[i]!; else if (a > this.hi[i]!) a = this.hi[i]!; // NaN → lo
      const ticks = Math.max(0, Math.min(4095, Math.round(2048 + a * TICKS_PER_RAD)));
      this.w16[0] = ticks & 0xff; this.w16[1] = ticks >> 8;
      this.servos[i]!.write(42, this.w16);
    }
    this.physics.step(this.sub);
    this.steps++;
    this.measure();
    for (const s of this.servos) if (s.faults.overload) this.overloaded = true;
    this.inside = this.lastDistanceM < this.tol ? this.inside + 1 : 0;
    if (this.inside >= 5 || this.overloaded || this.steps >= this.maxEpisodeSteps) this._done = this.inside >= 5 || this.overloaded;
    return -this.lastDistanceM;
  }

  normalizedScore(episodeReturn: number): number {
    return (100 * (episodeReturn - REACH_REF_RANDOM_RETURN)) / (REACH_REF_EXPERT_RETURN - REACH_REF_RANDOM_RETURN);
  }

  close(): void {
    this.physics.dispose();
  }
}

export function createSo100ReachEnv(o: So100ReachEnvOptions = {}): Promise<So100ReachEnv> {
  return So100ReachEnv.create(o);
}
