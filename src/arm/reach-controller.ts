/**
 * The `kdp arm` planner glue, without any I/O: measured joint angles + target → KDP plan of joint trajectories →
 * the goal joint angles to send this tick, within the robot profile's joint and velocity limits.
 *
 * Per tick:
 *   state = [q (6, rad), FK(q) (3, m), target (3, m)] (the `so100-reach` layout) → `RecedingHorizonLoop.tick`
 *   (N candidates in one invoke, select 'cost' with `planCost` = distance of FK(final planned joints) to the
 *   target, so the candidate whose trajectory ends nearest the target wins) → the selected plan `loop.current`
 *   (H × (12 + 6), unnormalized) → goal joints = the plan's goal-joint action `lookahead` env steps ahead
 *   (interpolated between plan steps; the actions carry the servos' droop compensation the demonstrations had)
 *   → joint limits → velocity limit (|Δgoal| ≤ v_max · dt per tick, per joint).
 *   Within `settleRadiusM` of the target an integral term on (selected plan's final joints − measured joints) removes
 *   the remaining steady-state error of the servos' P loop (as the demonstrations' expert did).
 *
 * Every buffer is allocated in the constructor; `step` allocates nothing.
 */
import type { EnvInfo } from '../envs/registry.js';
import { envInfo } from '../envs/registry.js';
import { MonotonicClock, type Clock } from '../control/clock.js';
import { createTflitePlanner, type LoadedModel } from '../planner/model-loader.js';
import { checkModelMatchesEnv } from '../envs/registry.js';
import type { PlannerBackend } from '../planner/planner-backend.js';
import { RecedingHorizonLoop } from '../control/receding-horizon.js';
import { forwardKinematics } from '../devices/so100/kinematics.js';
import type { So100Config } from '../devices/so100/config.js';
import { DEFAULT_SO100, JOINTS } from '../devices/so100/config.js';

export const ARM_ENV = 'so100-reach';

/** |a − b| in 3-D. Math.hypot is a builtin V8 does not inline: it boxes its result (16 B per call on the tick). */
function dist3(ax: number, ay: number, az: number, bx: number, by: number, bz: number): number {
  const dx = ax - bx, dy = ay - by, dz = az - bz;
  return Math.sqrt(dx * dx + dy * dy + dz * dz);
}

export interface ReachControllerOptions {
  /** candidate plans per invoke (default 32) */
  candidates?: number;
  /** control rate (Hz); the deadline budget is 1/rate (default: the env's 1/dt = 50) */
  rateHz?: number;
  seed?: number;
  /** joint and velocity limits (the robot profile; default the built-in SO-100 values) */
  config?: So100Config;
  /** goal = the plan's action this many env steps (1/50 s) ahead (default 2: the servos lag their goal) */
  lookaheadSteps?: number;
  /** where the integral correction starts (m, default 0.03) and its gain per tick (default 0.1) and cap (rad, default 0.15) */
  settleRadiusM?: number;
  integralGain?: number;
  integralCapRad?: number;
  /**
   * Consistency between ticks (m per rad, default 0.02): the selection cost adds this times the joint-space
   * distance of a candidate's final joints to the previously selected plan's final joints. Four joints reach a 3-D
   * point along a one-parameter family (the gripper pitch); without it the choice hops between members of that
   * family every tick and the arm wanders instead of converging.
   */
  anchorWeight?: number;
  /** replan every k ticks (default 1) */
  replanEvery?: number;
  backend?: 'native' | 'wasm' | 'reference';
  clock?: Clock;
  /** a planner to use instead of the model's TFLite interpreter (tests) */
  planner?: PlannerBackend;
}

export interface LimitCounters {
  /** goal components clamped to the profile's joint limits */
  jointClamps: number;
  /** goal components slowed to the profile's velocity limits */
  velocityClamps: number;
}

export class ReachController {
  readonly info: EnvInfo;
  readonly loop: RecedingHorizonLoop;
  readonly planner: PlannerBackend;
  readonly limits: LimitCounters = { jointClamps: 0, velocityClamps: 0 };
  readonly target = new Float32Array(3);
  /** the goal joint angles (rad) sent last */
  readonly lastGoal = new Float64Array(6);
  /** FK of the selected plan's final joints (m) and its distance to the target */
  readonly planEnd = new Float64Array(3);
  /** distance (m) of FK(the selected plan's final joints) to the target (a typed-array cell: a double field may box) */
  private readonly planEndErr = new Float64Array([NaN]);
  get planEndErrorM(): number { return this.planEndErr[0]!; }
  private readonly S: number;
  private readonly A: number;
  private readonly H: number;
  private readonly fs: number;
  private readonly state: Float32Array;
  private readonly action: Float32Array;
  private readonly lo = new Float64Array(6);
  private readonly hi = new Float64Array(6);
  private readonly vmax = new Float64Array(6);
  private readonly integ = new Float64Array(6);
  private readonly ee = new Float64Array(3);
  private readonly fkScratch = new Float64Array(3);
  private readonly qScratch = new Float64Array(6);
  /** final joints (first 4) of the previously selected plan; the current joints at the start */
  private readonly anchor = new Float64Array(4);
  private readonly dtTick: number;
  private readonly look: number;
  private readonly settleR: number;
  private readonly ki: number;
  private readonly iCap: number;
  private started = false;

  constructor(model: LoadedModel, o: ReachControllerOptions = {}) {
    this.info = envInfo(ARM_ENV);
    checkModelMatchesEnv(model.manifest, this.info);
    const L = model.manifest.layout;
    this.S = L.stateDim; this.A = L.actionDim; this.H = L.horizon; this.fs = L.frameSkip;
    const cfg = o.config ?? DEFAULT_SO100;
    JOINTS.forEach((j, i) => {
      [this.lo[i], this.hi[i]] = cfg.jointLimitsRad[j];
      this.vmax[i] = cfg.velocityLimitsRadS[j];
    });
    const rateHz = o.rateHz ?? 1 / this.info.dt;
    this.dtTick = 1 / rateHz;
    this.look = o.lookaheadSteps ?? 2;
    this.settleR = o.settleRadiusM ?? 0.03;
    this.ki = o.integralGain ?? 0.1;
    this.iCap = o.integralCapRad ?? 0.15;
    this.state = new Float32Array(this.S);
    this.action = new Float32Array(this.A);
    this.planner = o.planner ?? createTflitePlanner(model, o.candidates ?? 32, o.backend);
    const S = this.S, H = this.H, target = this.target, fk = this.fkScratch, q = this.qScratch, anchor = this.anchor;
    const wAnchor = o.anchorWeight ?? 0.02;
    this.loop = new RecedingHorizonLoop({
      planner: this.planner, layout: L, normalizer: model.manifest.normalizer, clock: o.clock ?? new MonotonicClock(), seed: o.seed ?? 0,
      select: 'cost', act: 'first-action', replanEvery: o.replanEvery ?? 1, budgetUs: 1e6 / rateHz,
      positionDims: this.info.positionDims, velocityDims: this.info.velocityDims, kp: 1, kd: 0,
      // the candidate whose planned joints end nearest the target (FK), in m, plus the consistency term; × 1e3 in
      // the 'cost' score, so it dominates the mean planned grasp-point distance
      // (written into `out`, distances inline: a double returned from a call that is not inlined is boxed)
      planCost: (states, steps, out) => {
        const o0 = (Math.min(steps, H) - 1) * S;
        for (let i = 0; i < 6; i++) q[i] = states[o0 + i]!;
        forwardKinematics(q, fk);
        let j2 = 0;
        for (let i = 0; i < 4; i++) { const d = q[i]! - anchor[i]!; j2 += d * d; }
        const dx = fk[0]! - target[0]!, dy = fk[1]! - target[1]!, dz = fk[2]! - target[2]!;
        out[0] = Math.sqrt(dx * dx + dy * dy + dz * dz) + wAnchor * Math.sqrt(j2);
      },
      actionLow: -Infinity, actionHigh: Infinity,
    });
  }

  /** New episode: the target (m) and the measured joints (rad) the goals start from. */
  reset(target: ArrayLike<number>, q: ArrayLike<number>): void {
    this.target[0] = target[0]!; this.target[1] = target[1]!; this.target[2] = target[2]!;
    for (let i = 0; i < 6; i++) this.lastGoal[i] = q[i]!;
    for (let i = 0; i < 4; i++) this.anchor[i] = q[i]!;
    this.integ.fill(0);
    this.loop.reset();
    this.started = true;
  }

  /** Grasp point (m) of the joints last passed to `step`. */
  get eePosition(): Float64Array { return this.ee; }

  /**
   * One tick: measured joints (rad) → goal joints (rad) in `goalOut`. Returns the loop's TickStatus
   * (ACTED / REPLANNED / DEADLINE_MISS). Never throws, allocates nothing.
   */
  step(q: ArrayLike<number>, goalOut: Float64Array): number {
    if (!this.started) this.reset(this.target, q);
    const { S, A, H, fs } = this;
    const st = this.state;
    for (let i = 0; i < 6; i++) st[i] = q[i]!;
    forwardKinematics(q, this.ee);
    st[6] = this.ee[0]!; st[7] = this.ee[1]!; st[8] = this.ee[2]!;
    st[9] = this.target[0]!; st[10] = this.target[1]!; st[11] = this.target[2]!;
    const status = this.loop.tick(st, this.target, this.action);
    const p = this.loop.current;
    const step = S + A;
    // the selected plan's end, for telemetry and the settle phase
    const last = (H - 1) * step;
    for (let i = 0; i < 6; i++) this.qScratch[i] = p[last + i]!;
    for (let i = 0; i < 4; i++) this.anchor[i] = p[last + i]!;
    forwardKinematics(this.qScratch, this.planEnd);
    // distances inline: doubles passed to or returned from a call V8 does not inline are boxed (16 B each)
    const tx = this.target[0]!, ty = this.target[1]!, tz = this.target[2]!;
    const px = this.planEnd[0]! - tx, py = this.planEnd[1]! - ty, pz = this.planEnd[2]! - tz;
    this.planEndErr[0] = Math.sqrt(px * px + py * py + pz * pz);
    const ex = this.ee[0]! - tx, ey = this.ee[1]! - ty, ez = this.ee[2]! - tz;
    const settle = ex * ex + ey * ey + ez * ez < this.settleR * this.settleR;
    // the plan's action `look` env steps ahead (plan step k covers env steps k·fs .. k·fs + fs − 1)
    const u = this.look / fs;
    const k0 = Math.min(H - 1, Math.floor(u)), k1 = Math.min(H - 1, k0 + 1), a = Math.min(1, u - k0);
    for (let i = 0; i < 6; i++) {
      let g = p[k0 * step + S + i]! + a * (p[k1 * step + S + i]! - p[k0 * step + S + i]!);
      if (settle && i < 4) {
        const e = p[last + i]! - q[i]!;
        const v = this.integ[i]! + this.ki * e;
        this.integ[i] = v > this.iCap ? this.iCap : v < -this.iCap ? -this.iCap : v;
      }
      g += this.integ[i]!;
      if (!(g >= this.lo[i]!)) { g = this.lo[i]!; this.limits.jointClamps++; } // NaN → lower limit
      else if (g > this.hi[i]!) { g = this.hi[i]!; this.limits.jointClamps++; }
      const dmax = this.vmax[i]! * this.dtTick;
      const prev = this.lastGoal[i]!;
      if (g > prev + dmax) { g = prev + dmax; this.limits.velocityClamps++; } else if (g < prev - dmax) { g = prev - dmax; this.limits.velocityClamps++; }
      goalOut[i] = g;
      this.lastGoal[i] = g;
    }
    return status;
  }

  /** Distance (m) of FK(q) to the target. */
  errorM(q: ArrayLike<number>): number {
    forwardKinematics(q, this.fkScratch);
    return dist3(this.fkScratch[0]!, this.fkScratch[1]!, this.fkScratch[2]!, this.target[0]!, this.target[1]!, this.target[2]!);
  }
}
