import type { NormalizerJson, WindowLayout } from '../model/checkpoint-format.js';
import { ModelError } from '../errors.js';
import { Rng } from '../util/rng.js';
import type { PlannerBackend } from '../planner/planner-backend.js';
import type { ScorerBackend } from '../planner/scorer-backend.js';
import { scorePlansLearned, type PlanGeometry } from './learned-selection.js';

export interface SubgoalStageConfig {
  /** the sparse route generator: same condition (state, goal) as the segment generator, coarse frame skip */
  planner: PlannerBackend;
  layout: WindowLayout;
  normalizer: NormalizerJson;
  /** the learned scorer sized for planner.candidates × (layout.horizon − 1) rows */
  scorer: ScorerBackend;
  positionDims: readonly number[];
  /** env steps ahead on the chosen route whose position becomes the subgoal */
  lookahead: number;
  /** cost (env steps) per route waypoint the occupancy model calls unvisited */
  infeasibleCost: number;
  seed: number;
}

/**
 * The upper level of hierarchical keyed drifting: one batched pass of the sparse route generator
 * (N routes whose waypoints are `frameSkip` env steps apart, spanning the maze), the learned scorer
 * picks the route (fewest unvisited waypoints, then the least cost-to-go to the goal), and the
 * route's position `lookahead` env steps ahead becomes the subgoal the dense segment generator is
 * conditioned on. Buffers are allocated here; `choose` allocates nothing.
 */
export class SubgoalStage {
  readonly geometry: PlanGeometry;
  /** the chosen route of the last `choose`, normalized, without s_0 (outDim values) */
  readonly route: Float32Array;
  selected = -1;
  private readonly condRow: Float32Array;
  private readonly costs: Float64Array;
  private readonly bad: Int32Array;
  private readonly index: number;
  private readonly rng: Rng;
  private readonly S: number;
  private readonly G: number;
  private readonly sShift: Float64Array; private readonly sScale: Float64Array;
  private readonly gShift: Float64Array; private readonly gScale: Float64Array;

  constructor(readonly cfg: SubgoalStageConfig) {
    const { planner, layout, scorer } = cfg;
    const S = layout.stateDim, G = layout.goalDim;
    if (G !== cfg.positionDims.length) {
      throw new ModelError('E_MODEL_MISMATCH', `a subgoal is a position: the goal has ${G} values, the plan ${cfg.positionDims.length} position dims`);
    }
    if (planner.condDim !== S + G) throw new ModelError('E_MODEL_MISMATCH', `route generator condition has ${planner.condDim} values, its layout ${S} + ${G}`);
    const want = planner.candidates * (layout.horizon - 1);
    if (scorer.rows !== want) throw new ModelError('E_MODEL_MISMATCH', `route scorer has ${scorer.rows} rows, the route stage needs ${want} (${planner.candidates} routes × ${layout.horizon - 1} waypoints)`);
    this.S = S; this.G = G;
    const step = S + layout.actionDim;
    this.geometry = { candidates: planner.candidates, horizon: layout.horizon, stateDim: S, step, outDim: planner.outDim, positionDims: cfg.positionDims };
    this.route = new Float32Array(planner.outDim);
    this.condRow = new Float32Array(S + G);
    this.costs = new Float64Array(planner.candidates);
    this.bad = new Int32Array(planner.candidates);
    // plan step 0 is the current state: the subgoal is at least one route step ahead
    this.index = Math.max(1, Math.min(layout.horizon - 1, Math.round(cfg.lookahead / layout.frameSkip)));
    this.rng = new Rng(cfg.seed);
    const n = cfg.normalizer;
    this.sShift = Float64Array.from(n.state.shift); this.sScale = Float64Array.from(n.state.scale);
    this.gShift = Float64Array.from(n.goal.shift); this.gScale = Float64Array.from(n.goal.scale);
  }

  /** route step whose position is the subgoal */
  get subgoalIndex(): number { return this.index; }

  /** Plan N routes from (state, goal) and write the chosen route's subgoal (un-normalized position) to `out`. */
  choose(state: Float32Array, goal: Float32Array, out: Float32Array): void {
    const { planner } = this.cfg;
    const { S, G } = this;
    const dc = S + G;
    for (let d = 0; d < S; d++) this.condRow[d] = (state[d]! - this.sShift[d]!) / this.sScale[d]!;
    for (let d = 0; d < G; d++) this.condRow[S + d] = (goal[d]! - this.gShift[d]!) / this.gScale[d]!;
    const cond = planner.condition;
    for (let i = 0; i < planner.candidates; i++) cond.set(this.condRow, i * dc);
    this.rng.fillNormal(planner.noise);
    planner.invoke();
    scorePlansLearned(this.cfg.scorer, planner.plan, this.geometry, this.condRow, S, G, this.cfg.infeasibleCost, this.costs, this.bad);
    let best = 0;
    for (let i = 1; i < planner.candidates; i++) if (this.costs[i]! < this.costs[best]!) best = i;
    this.selected = best;
    const { outDim, step, positionDims } = this.geometry;
    const o = best * outDim;
    for (let j = 0; j < outDim; j++) this.route[j] = planner.plan[o + j]!;
    const at = this.index * step - S;
    for (let k = 0; k < G; k++) {
      const d = positionDims[k]!;
      out[k] = this.route[at + d]! * this.sScale[d]! + this.sShift[d]!;
    }
  }
}
