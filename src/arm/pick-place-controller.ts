/**
 * The `kdp arm --task pick-place` planner glue, without I/O: measured joints + the task inputs (cube xy, place xy,
 * given by the user like a goal; the cube's real pose is never read) → KDP plan of the grasp point's path and the
 * gripper → the goal joints to send this tick.
 *
 * Per tick:
 *   state = `pickPlaceState` (grasp point FK(q) relative to the cube's grasp spot and to the place's release spot,
 *   its height, the jaw, picked/holding from `PickPlaceProgress`) → `RecedingHorizonLoop.tick` (N candidates in one
 *   invoke) → selection (below) → the selected plan's grasp point `lookahead` env steps ahead, in the frame of the
 *   spot the task is heading for (the cube's until picked, then the place's) → `GraspPointTracker` (IK with the
 *   episode's gripper pitch + droop correction) → arm goals; the plan's gripper goal → the squeeze limit (never
 *   more than 0.016 rad more closed than measured, so a jaw stopped by the cube stays under the servo's overload
 *   threshold) → joint limits → velocity limits.
 *
 * Selection: `learned` (default when the model ships a progress scorer: the candidate whose waypoints the scorer,
 * trained on the demonstrations only, predicts closest to the task's end — see `PickPlaceScorer`), else `consistent`:
 * the candidate whose final grasp point is nearest the previously selected plan's, so the arm keeps one intention
 * instead of hopping between candidates every tick; `first` takes candidate 0 (one sample of the generator).
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
import { GRIP_CLOSE, GRIP_OPEN, MAX_SQUEEZE_RAD, PickPlaceProgress, pickPlacePitch, pickPlaceSpots, pickPlaceState } from '../envs/so100/pick-place-task.js';
import { GraspPointTracker } from './grasp-tracker.js';
import { PickPlaceScorer } from './pick-place-scorer.js';
import { ModelError } from '../errors.js';

export { PickPlaceProgress };
import type { LimitCounters } from './reach-controller.js';

export const PICK_PLACE_ENV = 'so100-pick-place';
/** gripper goals above this open the jaw, below it close it */
const GRIP_MID = (GRIP_OPEN + GRIP_CLOSE) / 2;

export type PickPlaceSelect = 'learned' | 'consistent' | 'first';

export interface PickPlaceControllerOptions {
  /** candidate plans per invoke (default 32) */
  candidates?: number;
  rateHz?: number;
  seed?: number;
  config?: So100Config;
  /** track the plan's grasp point this many env steps (1/50 s) ahead (default 8) */
  lookaheadSteps?: number;
  /** the gripper command is the plan's gripper goal this many env steps ahead, open/close (default 8) */
  gripLookaheadSteps?: number;
  /** after the pick, the release reads the plan this many env steps ahead (default 6: the arm settles over the place first) */
  releaseLookaheadSteps?: number;
  /** ticks the plan must ask for the other gripper command before it switches (default 3) */
  gripDebounce?: number;
  /** share of the new plan's point in the smoothed target each tick (1 = no smoothing; default 0.3) */
  smoothing?: number;
  replanEvery?: number;
  backend?: 'native' | 'wasm' | 'reference';
  clock?: Clock;
  planner?: PlannerBackend;
  /** default `learned` when the model ships a progress scorer, else `consistent` */
  select?: PickPlaceSelect;
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
  readonly tracker = new GraspPointTracker();
  /** the cube's grasp spot and the place's release spot (xy, m) */
  readonly spots = new Float64Array(4);
  /** where the grasp point is heading (xy, m): the cube's grasp spot until picked, then the place's release spot */
  readonly spot = new Float64Array(2);
  /** the grasp point this tick's goals aim at (m) */
  readonly target = new Float64Array(3);
  /** the episode's gripper pitch (rad from +z) */
  pitch = Math.PI;
  /** the selection in use, and the learned progress scorer behind `learned` */
  readonly select: PickPlaceSelect;
  readonly scorer: PickPlaceScorer | undefined;
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
  private readonly anchor = new Float64Array(3);
  private readonly cfg: So100Config;
  private readonly dtTick: number;
  /** where in the plan the tracked point, the gripper command and (after the pick) the release are read */
  private readonly lookAt: PlanAhead;
  private readonly gripAt: PlanAhead;
  private readonly releaseAt: PlanAhead;
  private readonly gripDebounce: number;
  /** the gripper command (open until the plan closes it), and for how many ticks the plan has asked otherwise */
  private gripOpen = true;
  private gripAsk = 0;
  private readonly smoothing: number;
  /** the smoothed target of the previous tick */
  private readonly aim = new Float64Array(3);
  private smoothed = false;
  private started = false;
  private anchored = false;

  constructor(model: LoadedModel, o: PickPlaceControllerOptions = {}) {
    this.info = envInfo(PICK_PLACE_ENV);
    checkModelMatchesEnv(model.manifest, this.info);
    const L = model.manifest.layout;
    this.S = L.stateDim; this.A = L.actionDim; this.H = L.horizon; this.fs = L.frameSkip;
    const cfg = this.cfg = o.config ?? DEFAULT_SO100;
    JOINTS.forEach((j, i) => {
      [this.lo[i], this.hi[i]] = cfg.jointLimitsRad[j];
      this.vmax[i] = cfg.velocityLimitsRadS[j];
    });
    const rateHz = o.rateHz ?? 1 / this.info.dt;
    this.dtTick = 1 / rateHz;
    const step = this.S + this.A;
    this.lookAt = planAhead(o.lookaheadSteps ?? 8, this.fs, this.H, step);
    this.gripAt = planAhead(o.gripLookaheadSteps ?? 8, this.fs, this.H, step);
    this.releaseAt = planAhead(o.releaseLookaheadSteps ?? 6, this.fs, this.H, step);
    this.gripDebounce = o.gripDebounce ?? 3;
    this.smoothing = o.smoothing ?? 0.3;
    this.state = new Float32Array(this.S);
    this.action = new Float32Array(this.A);
    this.planner = o.planner ?? createTflitePlanner(model, o.candidates ?? 32, o.backend);
    const S = this.S, H = this.H, anchor = this.anchor, self = this;
    const scorer = o.select === 'consistent' || o.select === 'first' ? undefined : PickPlaceScorer.load(model, this.planner.candidates, o.backend);
    if (o.select === 'learned' && !scorer) {
      throw new ModelError('E_MODEL_MISMATCH', `${model.dir} ships no progress scorer, so the learned selection cannot run`, { hint: 'attach one with `kdp train-scorer --model DIR --out RUN --attach`, or select consistent' });
    }
    const select = this.select = o.select ?? (scorer ? 'learned' : 'consistent');
    this.scorer = scorer;
    // consistency: the final planned grasp point (cube frame; the place frame differs by a constant) near the
    // previously selected plan's
    const score = (states: Float32Array, steps: number, out: Float64Array): undefined => {
      if (select === 'first' || !self.anchored) { out[0] = 0; return; }
      const o0 = (Math.min(steps, H) - 1) * S;
      const dx = states[o0]! - anchor[0]!, dy = states[o0 + 1]! - anchor[1]!, dz = states[o0 + 2]! - anchor[2]!;
      out[0] = Math.sqrt(dx * dx + dy * dy + dz * dz);
    };
    this.loop = new RecedingHorizonLoop({
      planner: this.planner, layout: L, normalizer: model.manifest.normalizer, clock: o.clock ?? new MonotonicClock(), seed: o.seed ?? 0,
      act: 'first-action', replanEvery: o.replanEvery ?? 1, budgetUs: 1e6 / rateHz,
      positionDims: this.info.positionDims, velocityDims: this.info.velocityDims, kp: 1, kd: 0,
      // the learned value, or the consistency cost (written, not returned: a double returned from a call that is not
      // inlined is boxed, 16 B)
      ...(scorer ? { select: 'value' as const, value: scorer.value } : { select: 'cost' as const, planCost: score }),
      actionLow: -Infinity, actionHigh: Infinity,
    });
  }

  /** New episode: cube and place xy (m, the task inputs) and the measured joints (rad). */
  reset(cube: ArrayLike<number>, place: ArrayLike<number>, q: ArrayLike<number>): void {
    this.cube[0] = cube[0]!; this.cube[1] = cube[1]!;
    this.place[0] = place[0]!; this.place[1] = place[1]!;
    pickPlaceSpots(cube, place, this.spots);
    this.pitch = pickPlacePitch([cube[0]!, cube[1]!], [place[0]!, place[1]!], this.cfg) ?? Math.PI;
    this.tracker.reset(q, this.pitch);
    for (let i = 0; i < 6; i++) this.lastGoal[i] = q[i]!;
    this.progress.reset(place);
    this.anchored = false;
    this.gripOpen = true; this.gripAsk = 0; this.smoothed = false;
    this.loop.reset();
    this.started = true;
  }

  /** Grasp point (m) of the joints last passed to `step`. */
  get eePosition(): Float64Array { return this.ee; }

  /** Planned grasp point (table frame, m) of the current plan's step t into `out`. */
  plannedGraspPoint(t: number, out: Float64Array): void {
    const p = this.loop.current, o = Math.min(this.H - 1, t) * (this.S + this.A);
    const px = this.progress.picked ? 3 : 0, sx = this.progress.picked ? 2 : 0;
    out[0] = this.spots[sx]! + p[o + px]!; out[1] = this.spots[sx + 1]! + p[o + px + 1]!; out[2] = p[o + 2]!;
  }

  /** One tick: measured joints (rad) → goal joints (rad) in `goalOut`. Never throws, allocates nothing. */
  step(q: ArrayLike<number>, goalOut: Float64Array): number {
    if (!this.started) this.reset(this.cube, this.place, q);
    const { S, A, H } = this;
    forwardKinematics(q, this.ee);
    this.progress.update(q, this.ee, this.lastGoal);
    pickPlaceState(this.ee, q, this.spots, this.progress, this.state);
    const status = this.loop.tick(this.state, this.noGoal, this.action);
    const p = this.loop.current;
    const step = S + A;
    const last = (H - 1) * step;
    for (let i = 0; i < 3; i++) this.anchor[i] = p[last + i]!;
    this.anchored = true;
    // the spot the task is heading for, and the plan's grasp point `lookAt` ahead in its frame
    const picked = this.progress.picked;
    const px = picked ? 3 : 0, sx = picked ? 2 : 0;
    this.spot[0] = this.spots[sx]!; this.spot[1] = this.spots[sx + 1]!;
    const { r0, r1, a } = this.lookAt;
    this.target[0] = this.spot[0]! + p[r0 + px]! + a * (p[r1 + px]! - p[r0 + px]!);
    this.target[1] = this.spot[1]! + p[r0 + px + 1]! + a * (p[r1 + px + 1]! - p[r0 + px + 1]!);
    this.target[2] = p[r0 + 2]! + a * (p[r1 + 2]! - p[r0 + 2]!);
    // each tick's plan is a fresh sample: smooth the point it aims at (first-order, `smoothing` of the new one per
    // tick) so the fingers do not shake by the samples' spread while the jaw closes on the cube
    if (this.smoothed) {
      const k = this.smoothing;
      for (let i = 0; i < 3; i++) this.target[i] = this.aim[i]! + k * (this.target[i]! - this.aim[i]!);
    }
    for (let i = 0; i < 3; i++) this.aim[i] = this.target[i]!;
    this.smoothed = true;
    this.tracker.track(this.target, q, goalOut);
    // the gripper as a binary command (open / close), the plan's goal thresholded halfway: the demonstrations only
    // ever open to GRIP_OPEN or close toward GRIP_CLOSE, and a goal replayed as a number drifts with the plan's noise
    // (a few hundredths of a radian each tick, followed by the servo and fed back through the state)
    // — read `gripAt` ahead: a still arm at the grasp (or the release) looks the same all through the
    // demonstrations' pause before the jaw moves, so the plan's near future says "wait" there for ever; its later steps
    // carry the close (or the open) that follows the pause
    const g = picked ? this.releaseAt : this.gripAt;
    // and a switch only after the plan has asked for it `gripDebounce` ticks running: one noisy sample does not drop
    // a held cube
    const wantOpen = p[g.r0 + S]! + g.a * (p[g.r1 + S]! - p[g.r0 + S]!) > GRIP_MID;
    if (wantOpen === this.gripOpen) this.gripAsk = 0;
    else if (++this.gripAsk >= this.gripDebounce) { this.gripOpen = wantOpen; this.gripAsk = 0; }
    goalOut[5] = this.gripOpen ? GRIP_OPEN : GRIP_CLOSE;
    for (let i = 0; i < 6; i++) {
      let g = goalOut[i]!;
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

/** Where a plan is read `envSteps` env steps ahead: the offsets of the two plan rows around it and the weight of the second. */
interface PlanAhead { readonly r0: number; readonly r1: number; readonly a: number }

function planAhead(envSteps: number, frameSkip: number, horizon: number, step: number): PlanAhead {
  const u = envSteps / frameSkip;
  const k0 = Math.min(horizon - 1, Math.floor(u)), k1 = Math.min(horizon - 1, k0 + 1);
  return { r0: k0 * step, r1: k1 * step, a: Math.min(1, u - k0) };
}
