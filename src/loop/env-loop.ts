import type { EnvInfo } from '../envs/registry.js';
import type { PlanningEnv } from '../envs/types.js';
import { MonotonicClock, type Clock } from './clock.js';
import { checkModelMatchesEnv, createTflitePlanner, type LoadedModel } from './model-loader.js';
import { RecedingHorizonLoop, type ActMode, type SelectStrategy } from './receding-horizon.js';

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
}

/**
 * The planning loop for a `PlanningEnv` (sim or eval): checks the model against the env, builds the
 * interpreter for N candidates and wires the env's dims, feasibility cost and action bounds.
 * Robot loops (`kdp fly`, `kdp arm`) configure `RecedingHorizonLoop` themselves.
 */
export function createEnvLoop(o: EnvLoopOptions): RecedingHorizonLoop {
  const { env, info, model } = o;
  checkModelMatchesEnv(model.manifest, info);
  const planner = createTflitePlanner(model, o.candidates, o.backend);
  return new RecedingHorizonLoop({
    planner, layout: model.manifest.layout, normalizer: model.manifest.normalizer, clock: o.clock ?? new MonotonicClock(), seed: o.seed,
    select: o.select ?? 'goal', act: o.act ?? 'track', replanEvery: o.replanEvery ?? info.replanEvery ?? 1, budgetUs: 1e6 / (o.rateHz ?? 1 / info.dt),
    positionDims: info.positionDims, velocityDims: info.velocityDims, kp: 1, kd: 1,
    ...(env.planCost ? { planCost: (s: Float32Array, n: number) => env.planCost!(s, n) } : {}),
    actionLow: -1, actionHigh: 1,
  });
}
