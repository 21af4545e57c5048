/**
 * The `kdp arm --task pick-place` planner glue, without I/O: measured joints + the task inputs (cube xy, place xy,
 * given by the user like a goal; the cube's real pose is never read) → KDP plan of joint trajectories → the goal
 * joints to send this tick.
 *
 * Per tick:
 *   state = [q (6, rad), FK(q) (3, m), cube xy, place xy, picked (0/1, `PickPlaceProgress` from the joints)]
 *   (the `so100-pick-place` layout) → `RecedingHorizonLoop.tick`
 *   (N candidates in one invoke) → selection (below) → goal joints = the selected plan's goal-joint action
 *   `lookahead` env steps ahead → the gripper's squeeze limit (`limitSqueeze`: never more than 0.016 rad more closed
 *   than measured, so a jaw stopped by the cube stays under the servo's overload threshold) → joint limits →
 *   velocity limits.
 *
 * Selection (hand-written, from the task inputs and the arm's own joints only): the horizontal distance of
 * FK(the candidate's final planned joints) to the spot the grasp point should reach next — the cube's grasp spot
 * until `PickPlaceProgress` says picked, then the place's release spot — plus the mean horizontal miss (beyond 1 cm)
 * of the plan's waypoints below 5 cm (descending beside the cube is what drops it), plus 0.02 m/rad × the joint distance
 * (gripper included) of the candidate's final joints to the previously selected plan's, so the arm keeps one
 * intention instead of hopping between candidates every tick (as the reach controller does). The plan decides
 * the height and the gripper; the selection only prefers candidates that head for the right place.
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
import { CUBE_OFFSET_HELD_M, CUBE_OFFSET_OPEN_M, MAX_SQUEEZE_RAD, PickPlaceProgress } from '../envs/so100/pick-place-task.js';

export { PickPlaceProgress };
import type { LimitCounters } from './reach-controller.js';

export const PICK_PLACE_ENV = 'so100-pick-place';

export interface PickPlaceControllerOptions {
  /** candidate plans per invoke (default 32) */
  candidates?: number;
  rateHz?: number;
  seed?: number;
  config?: So100Config;
  /** goal = the plan's action this many env steps (1/50 s) ahead (default 2) */
  lookaheadSteps?: number;
  replanEvery?: number;
  backend?: 'native' | 'wasm' | 'reference';
  clock?: Clock;
  planner?: PlannerBackend;
  /** m per rad of the consistency term (default 0.02, as the reach controller) */
  anchorWeight?: number;
  /** weight of the mean horizontal miss (beyond 1 cm) of the plan's waypoints below 5 cm (default 4) */
  lowMissWeight?: number;
  /** weight (per m) of a planned rise > 1.5 cm while low at the cube and the jaw not yet holding (default 4) */
  liftGuardWeight?: number;
}

export class PickPlaceController {
  readonly info: EnvInfo;
  readonly loop: RecedingHorizonLoop;
  readonly planner: PlannerBackend;
  readonly limits: LimitCounters = { jointClamps: 0, velocityClamps: 0 };
  readonly cube = new Float32Array(2);
  readonly place = new Float32Array(2);
  readonly lastGoal = new Float64Array(6);
  readonly progress = new PickPlaceProgress();
  private readonly S: number;
  private readonly A: number;
  private readonly H: number;
  private readonly fs: number;
  private readonly state: Float32Array;
  private readonly action: Float32Array;
  private readonly noGoal = new Float32Array(0);
  private readonly lo = new Float64Array(6);
  private readonly hi = new Float64Array(6);
  private readonly vmax = new Float64Array(6);
  private readonly ee = new Float64Array(3);
  private readonly anchor = new Float64Array(6);
  private readonly dtTick: number;
  private readonly look: number;
  private started = false;
  private anchored = false;
  /** set per tick: low at the cube's spot, not picked, the jaw not holding yet */
  private guardLift = false;
  private readonly fkScratch = new Float64Array(3);
  private readonly qScratch = new Float64Array(6);
  /** where the grasp point should go next (xy, m): the cube's grasp spot until picked, then the place's release spot */
  readonly spot = new Float64Array(2);

  constructor(model: LoadedModel, o: PickPlaceControllerOptions = {}) {
    this.info = envInfo(PICK_PLACE_ENV);
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
    this.state = new Float32Array(this.S);
    this.action = new Float32Array(this.A);
    this.planner = o.planner ?? createTflitePlanner(model, o.candidates ?? 32, o.backend);
    const S = this.S, H = this.H, anchor = this.anchor, self = this, fk = this.fkScratch, qe = this.qScratch, spot = this.spot;
    const wAnchor = o.anchorWeight ?? 0.02;
    const wLow = o.lowMissWeight ?? 4, lowZ = 0.05, wLift = o.liftGuardWeight ?? 4;
    const score = (states: Float32Array, steps: number, out: Float64Array): undefined => {
      const T = Math.min(steps, H), o0 = (T - 1) * S;
      // low waypoints away from the spot: a descent that would land the fingers beside the cube (or the cube
      // beside the place) costs its horizontal miss beyond 1 cm, averaged over the plan
      let low = 0;
      for (let t = 0; t < T; t++) {
        for (let i = 0; i < 6; i++) qe[i] = states[t * S + i]!;
        forwardKinematics(qe, fk);
        if (fk[2]! < lowZ) {
          const ex = fk[0]! - spot[0]!, ey = fk[1]! - spot[1]!;
          const d = Math.sqrt(ex * ex + ey * ey) - 0.01;
          if (d > 0) low += d;
        }
      }
      const dx = fk[0]! - spot[0]!, dy = fk[1]! - spot[1]!;
      let cost = Math.sqrt(dx * dx + dy * dy) + (wLow * low) / T;
      // at the cube, low, the jaw not yet holding: a plan that lifts now would leave the cube behind
      if (self.guardLift) { const rise = fk[2]! - self.ee[2]! - 0.015; if (rise > 0) cost += wLift * rise; }
      if (self.anchored) {
        let j2 = 0;
        for (let i = 0; i < 6; i++) { const d = states[o0 + i]! - anchor[i]!; j2 += d * d; }
        cost += wAnchor * Math.sqrt(j2);
      }
      out[0] = cost;
    };
    this.loop = new RecedingHorizonLoop({
      planner: this.planner, layout: L, normalizer: model.manifest.normalizer, clock: o.clock ?? new MonotonicClock(), seed: o.seed ?? 0,
      select: 'cost', act: 'first-action', replanEvery: o.replanEvery ?? 1, budgetUs: 1e6 / rateHz,
      positionDims: this.info.positionDims, velocityDims: this.info.velocityDims, kp: 1, kd: 0,
      // the cost is written, not returned: a double returned from a call that is not inlined is boxed (16 B)
      planCost: score,
      actionLow: -Infinity, actionHigh: Infinity,
    });
  }

  /** New episode: cube and place xy (m, the task inputs) and the measured joints (rad). */
  reset(cube: ArrayLike<number>, place: ArrayLike<number>, q: ArrayLike<number>): void {
    this.cube[0] = cube[0]!; this.cube[1] = cube[1]!;
    this.place[0] = place[0]!; this.place[1] = place[1]!;
    for (let i = 0; i < 6; i++) { this.lastGoal[i] = q[i]!; this.anchor[i] = q[i]!; }
    this.progress.reset(place);
    this.anchored = false;
    this.loop.reset();
    this.started = true;
  }

  /** Grasp point (m) of the joints last passed to `step`. */
  get eePosition(): Float64Array { return this.ee; }

  /** One tick: measured joints (rad) → goal joints (rad) in `goalOut`. Never throws, allocates nothing. */
  step(q: ArrayLike<number>, goalOut: Float64Array): number {
    if (!this.started) this.reset(this.cube, this.place, q);
    const { S, A, H, fs } = this;
    const st = this.state;
    for (let i = 0; i < 6; i++) st[i] = q[i]!;
    forwardKinematics(q, this.ee);
    st[6] = this.ee[0]!; st[7] = this.ee[1]!; st[8] = this.ee[2]!;
    st[9] = this.cube[0]!; st[10] = this.cube[1]!; st[11] = this.place[0]!; st[12] = this.place[1]!;
    this.progress.update(q, this.ee, this.lastGoal);
    st[13] = this.progress.picked ? 1 : 0;
    const to = this.progress.picked ? this.place : this.cube;
    const off = this.progress.picked ? CUBE_OFFSET_HELD_M : CUBE_OFFSET_OPEN_M;
    const r = Math.sqrt(to[0]! * to[0]! + to[1]! * to[1]!);
    const k = r > 0 ? (r - off) / r : 1;
    this.spot[0] = to[0]! * k; this.spot[1] = to[1]! * k;
    const ex = this.ee[0]! - this.spot[0]!, ey = this.ee[1]! - this.spot[1]!;
    this.guardLift = !this.progress.picked && !this.progress.holding && this.ee[2]! < 0.04 && ex * ex + ey * ey < 0.02 * 0.02;
    const status = this.loop.tick(st, this.noGoal, this.action);
    const p = this.loop.current;
    const step = S + A;
    const last = (H - 1) * step;
    for (let i = 0; i < 6; i++) this.anchor[i] = p[last + i]!;
    this.anchored = true;
    const u = this.look / fs;
    const k0 = Math.min(H - 1, Math.floor(u)), k1 = Math.min(H - 1, k0 + 1), a = Math.min(1, u - k0);
    for (let i = 0; i < 6; i++) {
      let g = p[k0 * step + S + i]! + a * (p[k1 * step + S + i]! - p[k0 * step + S + i]!);
      // the squeeze limit (`limitSqueeze`), inline: a call returning a double boxes it (16 B per tick)
      if (i === 5) { const lim = q[5]! - MAX_SQUEEZE_RAD; if (g < lim) g = lim; }
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
}
