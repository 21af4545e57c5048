import type { EnvInfo } from '../envs/registry.js';
import type { PlanningEnv } from '../envs/types.js';
import { MonotonicClock, type Clock } from './clock.js';
import { createTflitePlanner, createTfliteScorer, type LoadedModel } from '../planner/model-loader.js';
import { checkModelMatchesEnv } from '../envs/registry.js';
import { RecedingHorizonLoop, type ActMode, type SelectStrategy } from './receding-horizon.js';
import type { ScorerBackend } from '../planner/scorer-backend.js';
import type { PlannerBackend } from '../planner/planner-backend.js';
import { SubgoalStage } from './subgoal-stage.js';

export interface EnvLoopOptions {
  env: PlanningEnv;
  info: EnvInfo;
  model: LoadedModel;
  candidates: number;
  seed: number;
  select?: SelectStrategy;
  act?: ActMode;
  /** default: the env's `replanEvery` */
  replanEvery?: number;
  /** control rate for the deadline budget; default 1/dt */
  rateHz?: number;
  backend?: 'native' | 'wasm' | 'reference';
  clock?: Clock;
  /** plan latency timer when `clock` is virtual */
  timer?: Clock;
  /** select = learned: cost (env steps) per waypoint outside the learned occupancy (default 1000; 0 = cost-to-go only) */
  infeasibleCost?: number;
  /** plan with this backend instead of the model's TFLite interpreter (training-time evaluation, tests) */
  planner?: PlannerBackend;
  /** the learned scorer (default: the model's own, when it ships one) */
  scorer?: ScorerBackend;
  /**
   * plan hierarchically with the model's own route generator when it ships one (default true; only
   * with learned selection, which picks the routes)
   */
  hierarchical?: boolean;
}

/** Hierarchical planning as a model folder asks for it: its route generator and how plans are selected toward the route. */
export interface ModelRoutes { model: LoadedModel; lookahead: number; conditionOnSubgoal: boolean; subgoalSteps?: number }

/** The route stage a model folder asks for (its manifest's `routes`), unless turned off or not selecting with the scorer. */
export function modelRoutes(model: LoadedModel, select: SelectStrategy, hierarchical = true): ModelRoutes | undefined {
  const r = model.manifest.routes;
  if (!hierarchical || !r || !model.routes || select !== 'learned') return undefined;
  return { model: model.routes, lookahead: r.lookahead, conditionOnSubgoal: r.conditionOn === 'subgoal', ...(r.subgoalSteps === undefined ? {} : { subgoalSteps: r.subgoalSteps }) };
}

/**
 * Selections that read the env's own feasibility cost (the true wall map / obstacle list): test-time
 * knowledge no learned model produced, so an opt-in variant labelled `oracle` in every result.
 */
export function isOracleSelect(select: SelectStrategy): boolean {
  return select === 'map-cost' || select === 'cost';
}

/**
 * The planning loop for a `PlanningEnv` (sim or eval): checks the model against the env, builds the
 * interpreter for N candidates and wires the env's dims, feasibility cost and action bounds.
 * Robot loops (`kdp fly`, `kdp arm`) configure `RecedingHorizonLoop` themselves.
 */
export function createEnvLoop(o: EnvLoopOptions): RecedingHorizonLoop {
  const { env, info, model } = o;
  checkModelMatchesEnv(model.manifest, info);
  const planner = o.planner ?? createTflitePlanner(model, o.candidates, o.backend);
  const scorer = o.scorer ?? (model.scorerBytes ? createTfliteScorer(model, o.candidates, o.backend) : undefined);
  const select = o.select ?? (scorer ? 'learned' : 'goal');
  // the CLI's --infeasible-cost, else the model's own default (manifest scorer.infeasibleCost), else the loop's
  const infeasibleCost = o.infeasibleCost ?? (o.scorer ? undefined : model.manifest.scorer?.infeasibleCost);
  let subgoals: SubgoalStage | undefined;
  const routes = modelRoutes(model, select, o.hierarchical);
  if (routes) {
    checkModelMatchesEnv(routes.model.manifest, info);
    const rm = routes.model;
    subgoals = new SubgoalStage({
      planner: createTflitePlanner(rm, o.candidates, o.backend), layout: rm.manifest.layout, normalizer: rm.manifest.normalizer,
      scorer: createTfliteScorer(rm, o.candidates, o.backend), positionDims: info.positionDims, lookahead: routes.lookahead,
      infeasibleCost: o.infeasibleCost ?? 1000, seed: o.seed + 0x5eed,
    });
  }
  return new RecedingHorizonLoop({
    planner, layout: model.manifest.layout, normalizer: model.manifest.normalizer, clock: o.clock ?? new MonotonicClock(), ...(o.timer ? { timer: o.timer } : {}), seed: o.seed,
    select, ...(scorer ? { scorer } : {}), ...(infeasibleCost === undefined ? {} : { infeasibleCost }), act: o.act ?? 'track', replanEvery: o.replanEvery ?? info.replanEvery ?? 1, budgetUs: 1e6 / (o.rateHz ?? 1 / info.dt),
    positionDims: info.positionDims, velocityDims: info.velocityDims, kp: 1, kd: 1,
    ...(isOracleSelect(select) && env.planCost ? { planCost: (s: Float32Array, n: number, out: Float64Array) => { out[0] = env.planCost!(s, n); } } : {}),
    ...(subgoals ? { subgoals, subgoalConditions: routes!.conditionOnSubgoal, ...(routes!.subgoalSteps === undefined ? {} : { subgoalSteps: routes!.subgoalSteps }) } : {}),
    actionLow: -1, actionHigh: 1,
  });
}
