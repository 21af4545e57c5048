import type { NormalizerJson, WindowLayout } from '../model/checkpoint-format.js';
import { ModelError } from '../errors.js';
import { Rng } from '../util/rng.js';
import type { Clock } from './clock.js';
import { LatencyRecorder } from './latency-recorder.js';
import type { PlannerBackend } from '../planner/planner-backend.js';
import type { ScorerBackend } from '../planner/scorer-backend.js';
import { scorePlansLearned, type PlanGeometry } from './learned-selection.js';
import type { SubgoalStage } from './subgoal-stage.js';

/**
 * learned: the model's own scorer (learned occupancy + cost-to-go, no map); goal: distance of the plan
 * to the goal; cost: `planCost` first, then goal distance; map-cost: goal distance + 10 × `planCost`
 * (with the env's wall map that is an oracle variant); value: a caller-supplied value; random.
 */
export type SelectStrategy = 'learned' | 'goal' | 'cost' | 'map-cost' | 'value' | 'random';
export const SELECT_STRATEGIES: readonly SelectStrategy[] = ['learned', 'goal', 'cost', 'map-cost', 'value', 'random'];
export type ActMode = 'track' | 'first-action';

export interface LoopConfig {
  planner: PlannerBackend;
  layout: WindowLayout;
  normalizer: NormalizerJson;
  clock: Clock;
  /**
   * What plan latency is measured with (default: `clock`). Scoring runs on a virtual `clock` (no
   * deadline misses, deterministic) while the latency figures still come from a real timer.
   */
  timer?: Clock;
  seed: number;
  /** candidate selection */
  select: SelectStrategy;
  /** track the plan's next waypoint (Diffuser's maze controller) or execute its first action */
  act: ActMode;
  /** replan every k ticks (1 = every tick) */
  replanEvery: number;
  /** tick budget in µs (1e6 / rate); a plan finished later than this is a deadline miss */
  budgetUs: number;
  /** state dims that are positions / velocities (for tracking, goal distance, plots) */
  positionDims: number[];
  velocityDims: number[];
  /** tracking gains: a = kp·(wp.pos − s.pos) + kd·(wp.vel − s.vel) */
  kp: number;
  kd: number;
  /**
   * Feasibility cost of unnormalized plan states (stateDim per step), e.g. wall hits, written to `out[0]`: written,
   * not returned, because a double returned from a call the optimising compiler does not inline is boxed (16 B per
   * candidate on the tick).
   */
  planCost?: (states: Float32Array, steps: number, out: Float64Array) => undefined; // `undefined`, not `void`: a callback that returns its cost instead of writing it does not type-check
  /** optional learned value per candidate (higher is better), for select = value */
  value?: (plans: Float32Array, candidates: number) => Float32Array;
  /** the learned scorer, for select = learned: rows = candidates × (horizon − 1) */
  scorer?: ScorerBackend;
  /** select = learned: cost (env steps) added per waypoint the occupancy model calls unvisited */
  infeasibleCost?: number;
  /**
   * Hierarchical planning: before each plan, this stage picks a route with the sparse generator and
   * its position `lookahead` env steps ahead becomes the subgoal (a second generator pass + scorer pass,
   * inside the plan latency). The plan is then generated and selected toward the subgoal.
   */
  subgoals?: SubgoalStage;
  /**
   * with `subgoals`: condition the segment generator on the subgoal (true), or on the goal and only select
   * toward the subgoal (default)
   */
  subgoalConditions?: boolean;
  /**
   * with `subgoals` and the generator conditioned on the goal: the plan waypoints (after s_0) selected toward
   * the subgoal; the rest are selected toward the goal (default: all toward the subgoal)
   */
  subgoalSteps?: number;
  /** action bounds */
  actionLow: number;
  actionHigh: number;
}

export const TickStatus = { ACTED: 0, REPLANNED: 1, DEADLINE_MISS: 2 } as const;

/**
 * The fixed-memory receding-horizon loop: each tick reads the state, replans when due (one batched
 * invoke for N candidates), selects a plan, and acts from it. Every buffer is allocated in the
 * constructor; `tick` allocates nothing and never throws.
 */
export class RecedingHorizonLoop {
  readonly stats = { ticks: 0, plans: 0, deadlineMisses: 0, infeasiblePlans: 0 };
  readonly planLatency = new LatencyRecorder();
  private readonly N: number;
  private readonly S: number;
  private readonly A: number;
  private readonly H: number;
  private readonly step: number;
  private readonly rng: Rng;
  private readonly condRow: Float32Array;
  /** all candidates unnormalized: N × H × (S+A) */
  readonly candidates: Float32Array;
  /** the plan being executed: H × (S+A) */
  readonly current: Float32Array;
  private readonly pending: Float32Array;
  private readonly scores: Float64Array;
  /** select = learned: waypoints of each candidate outside the learned occupancy */
  private readonly bad: Int32Array;
  private readonly stateScratch: Float32Array;
  private readonly costCell = new Float64Array(1);
  private readonly geometry: PlanGeometry;
  /** with `subgoals`: the subgoal of the latest plan (what it was selected toward) */
  readonly subgoal: Float32Array;
  /** normalized subgoal for the scorer when the generator is conditioned on the goal */
  private readonly subgoalNorm: Float32Array;
  private readonly sShift: Float64Array; private readonly sScale: Float64Array;
  private readonly aShift: Float64Array; private readonly aScale: Float64Array;
  private readonly gShift: Float64Array; private readonly gScale: Float64Array;
  private age = 0;
  private havePlan = false;
  private havePending = false;
  selected = -1;
  /** select = value: the values of this plan's candidates (the caller's buffer) */
  private values: Float32Array | undefined;

  constructor(readonly cfg: LoopConfig) {
    const { layout, planner } = cfg;
    if (cfg.select === 'value' && !cfg.value) {
      throw new ModelError('E_MODEL_MISMATCH', '--select value needs a learned value head, and this model exports none',
        { hint: 'use --select goal (distance to goal), cost (feasibility first) or random' });
    }
    if (cfg.select === 'learned') {
      const want = planner.candidates * (layout.horizon - 1);
      if (!cfg.scorer) {
        throw new ModelError('E_MODEL_MISMATCH', '--select learned needs the model\'s learned scorer, and this model ships none',
          { hint: 'export with `kdp export --scorer RUN`, or use --select goal' });
      }
      if (cfg.scorer.rows !== want) throw new ModelError('E_MODEL_MISMATCH', `scorer has ${cfg.scorer.rows} rows, the loop needs ${want} (${planner.candidates} candidates × ${layout.horizon - 1} waypoints)`);
    }
    this.S = layout.stateDim; this.A = layout.actionDim; this.H = layout.horizon;
    this.step = this.S + this.A;
    this.N = planner.candidates;
    this.rng = new Rng(cfg.seed);
    this.condRow = new Float32Array(planner.condDim);
    this.candidates = new Float32Array(this.N * this.H * this.step);
    this.current = new Float32Array(this.H * this.step);
    this.pending = new Float32Array(this.H * this.step);
    this.scores = new Float64Array(this.N);
    this.bad = new Int32Array(this.N);
    this.stateScratch = new Float32Array(this.H * this.S);
    this.geometry = { candidates: this.N, horizon: this.H, stateDim: this.S, step: this.step, outDim: planner.outDim, positionDims: cfg.positionDims };
    this.subgoal = new Float32Array(Math.max(0, planner.condDim - this.S));
    this.subgoalNorm = new Float32Array(this.subgoal.length);
    if (cfg.subgoals && cfg.subgoals.cfg.planner.condDim !== planner.condDim) {
      throw new ModelError('E_MODEL_MISMATCH', `route generator condition has ${cfg.subgoals.cfg.planner.condDim} values, the segment generator ${planner.condDim}`);
    }
    const n = cfg.normalizer;
    this.sShift = Float64Array.from(n.state.shift); this.sScale = Float64Array.from(n.state.scale);
    this.aShift = Float64Array.from(n.action.shift); this.aScale = Float64Array.from(n.action.scale);
    this.gShift = Float64Array.from(n.goal.shift); this.gScale = Float64Array.from(n.goal.scale);
  }

  /** Forget the current plan (new episode). */
  reset(): void {
    this.age = 0; this.havePlan = false; this.havePending = false; this.selected = -1;
  }

  /** One control tick: `state` and `goal` in, `action` out. Returns a TickStatus code. */
  tick(state: Float32Array, goal: Float32Array, action: Float32Array): number {
    const { clock } = this.cfg;
    const t0 = clock.nowUs();
    this.stats.ticks++;
    let status: number = TickStatus.ACTED;
    if (this.havePending) {
      this.current.set(this.pending); this.havePending = false; this.havePlan = true; this.age = 0;
    }
    if (!this.havePlan || this.age >= this.cfg.replanEvery) {
      this.plan(state, goal);
      const late = clock.nowUs() - t0 > this.cfg.budgetUs;
      if (late && this.havePlan) {
        // the new plan came too late for this tick: act from the previous plan, switch next tick
        this.stats.deadlineMisses++;
        this.copySelected(this.pending);
        this.havePending = true;
        status = TickStatus.DEADLINE_MISS;
      } else {
        if (late) this.stats.deadlineMisses++;
        this.copySelected(this.current);
        this.havePlan = true;
        this.age = 0;
        status = late ? TickStatus.DEADLINE_MISS : TickStatus.REPLANNED;
      }
    }
    this.actFrom(state, action);
    this.age++;
    return status;
  }

  private plan(state: Float32Array, goal: Float32Array): void {
    const { planner } = this.cfg;
    const timer = this.cfg.timer ?? this.cfg.clock;
    const S = this.S, dc = planner.condDim, G = dc - S;
    const stage = this.cfg.subgoals;
    // timed from the route stage when there is one, else from the generator's invoke (as always)
    const tStage = stage ? timer.nowUs() : 0;
    // the target of this plan: the goal, or the chosen route's subgoal
    let target = goal;
    if (stage) { stage.choose(state, goal, this.subgoal); target = this.subgoal; }
    const conditionOn = stage && this.cfg.subgoalConditions === true ? target : goal;
    for (let d = 0; d < S; d++) this.condRow[d] = (state[d]! - this.sShift[d]!) / this.sScale[d]!;
    for (let d = 0; d < G; d++) this.condRow[S + d] = (conditionOn[d]! - this.gShift[d]!) / this.gScale[d]!;
    const cond = planner.condition;
    for (let i = 0; i < this.N; i++) cond.set(this.condRow, i * dc);
    this.rng.fillNormal(planner.noise);
    const t = stage ? tStage : timer.nowUs();
    planner.invoke();
    if (this.cfg.select === 'learned') {
      let goalNorm = this.condRow, off = S;
      if (conditionOn !== target) {
        for (let d = 0; d < G; d++) this.subgoalNorm[d] = (target[d]! - this.gShift[d]!) / this.gScale[d]!;
        goalNorm = this.subgoalNorm; off = 0;
      }
      const near = this.cfg.subgoalSteps;
      if (conditionOn !== target && near !== undefined && near < this.H - 1) {
        // the first `near` waypoints toward the subgoal, the rest toward the goal: a plan that reaches the subgoal
        // and stops there does not win
        scorePlansLearned(this.cfg.scorer!, planner.plan, this.geometry, this.condRow, S, G, this.cfg.infeasibleCost ?? 1000, this.scores, this.bad, this.subgoalNorm, near);
      } else {
        scorePlansLearned(this.cfg.scorer!, planner.plan, this.geometry, goalNorm, off, G, this.cfg.infeasibleCost ?? 1000, this.scores, this.bad);
      }
    }
    // a caller's value network runs on the un-normalized candidates: part of the plan's latency like the
    // built-in scorer (the un-normalizing too: microseconds)
    const valued = this.cfg.select === 'value' && this.cfg.value !== undefined;
    if (valued) { this.unnormalize(state); this.values = this.cfg.value!(this.candidates, this.N); }
    this.planLatency.record(timer.nowUs() - t);
    this.stats.plans++;
    if (!valued) this.unnormalize(state);
    this.selected = this.choose(target);
  }

  /** planner output (normalized, without s_0) → candidates (unnormalized, s_0 = state). */
  private unnormalize(state: Float32Array): void {
    const { S, H, step } = this;
    const out = this.cfg.planner.plan;
    const outDim = this.cfg.planner.outDim;
    for (let i = 0; i < this.N; i++) {
      const c = i * H * step;
      const o = i * outDim;
      for (let d = 0; d < S; d++) this.candidates[c + d] = state[d]!;
      for (let j = 0; j < outDim; j++) {
        const w = j + S; // window index
        const within = w % step;
        const v = out[o + j]!;
        this.candidates[c + w] = within < S ? v * this.sScale[within]! + this.sShift[within]! : v * this.aScale[within - S]! + this.aShift[within - S]!;
      }
    }
  }

  private choose(goal: Float32Array): number {
    const { S, H, step, N } = this;
    const sel = this.cfg.select;
    if (sel === 'random') return this.rng.int(N);
    if (sel === 'learned') {
      let best = 0;
      for (let i = 1; i < N; i++) if (this.scores[i]! < this.scores[best]!) best = i;
      if (this.bad[best]! > 0) this.stats.infeasiblePlans++;
      return best;
    }
    if (sel === 'value' && this.values) {
      const v = this.values;
      let best = 0;
      for (let i = 1; i < N; i++) if (v[i]! > v[best]!) best = i;
      return best;
    }
    const pos = this.cfg.positionDims;
    const costW = sel === 'cost' ? 1e3 : sel === 'map-cost' ? 10 : 0;
    let best = 0;
    for (let i = 0; i < N; i++) {
      const c = i * H * step;
      let dist = 0;
      for (let t = 0; t < H; t++) {
        let sq = 0;
        for (let k = 0; k < pos.length && k < goal.length; k++) { const d = this.candidates[c + t * step + pos[k]!]! - goal[k]!; sq += d * d; }
        dist += Math.sqrt(sq);
      }
      let cost = 0;
      if (this.cfg.planCost) {
        for (let t = 0; t < H; t++) for (let d = 0; d < S; d++) this.stateScratch[t * S + d] = this.candidates[c + t * step + d]!;
        this.cfg.planCost(this.stateScratch, H, this.costCell);
        cost = this.costCell[0]!;
      }
      const score = dist / H + costW * cost;
      this.scores[i] = score;
      if (score < this.scores[best]! || i === 0) best = i;
    }
    if (this.cfg.planCost) {
      // count plans that the selection had to accept despite a feasibility cost
      if (this.scores[best]! >= costW) this.stats.infeasiblePlans++;
    }
    return best;
  }

  private copySelected(dst: Float32Array): void {
    const len = this.H * this.step;
    const src = this.selected * len;
    for (let j = 0; j < len; j++) dst[j] = this.candidates[src + j]!;
  }

  /** Track the waypoint one env step ahead (interpolated between plan steps), or replay the action. */
  private actFrom(state: Float32Array, action: Float32Array): void {
    const { S, A, H, step } = this;
    const fs = this.cfg.layout.frameSkip;
    const { actionLow: lo, actionHigh: hi } = this.cfg;
    const p = this.current;
    if (this.cfg.act === 'first-action') {
      const t = Math.min(H - 1, Math.floor(this.age / fs));
      // clamps written out, not a helper: a helper returning a double boxes it when not inlined (see `planCost`)
      for (let d = 0; d < A; d++) { const v = p[t * step + S + d]!; action[d] = v < lo ? lo : v > hi ? hi : v; }
      return;
    }
    const target = (this.age + 1) / fs;
    const t0 = Math.min(H - 1, Math.floor(target));
    const t1 = Math.min(H - 1, t0 + 1);
    const a = Math.min(1, target - t0);
    const pos = this.cfg.positionDims, vel = this.cfg.velocityDims;
    const end = target >= H - 1; // past the plan: hold its last position at rest
    for (let d = 0; d < A && d < pos.length; d++) {
      const pd = pos[d]!, vd = vel[d];
      const wpPos = p[t0 * step + pd]! + a * (p[t1 * step + pd]! - p[t0 * step + pd]!);
      const wpVel = vd === undefined || end ? 0 : p[t0 * step + vd]! + a * (p[t1 * step + vd]! - p[t0 * step + vd]!);
      const sv = vd === undefined ? 0 : state[vd]!;
      const v = this.cfg.kp * (wpPos - state[pd]!) + this.cfg.kd * (wpVel - sv);
      action[d] = v < lo ? lo : v > hi ? hi : v;
    }
  }
}
