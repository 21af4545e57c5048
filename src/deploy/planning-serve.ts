import { createEnv } from '../sim/env-factory.js';
import { envInfo } from '../envs/registry.js';
import type { PlanningEnv } from '../envs/types.js';
import { createEnvLoop } from '../control/env-loop.js';
import { LIVE_STATS_WINDOW } from '../control/latency-recorder.js';
import type { RecedingHorizonLoop } from '../control/receding-horizon.js';
import type { TelemetrySink } from '../devices/mavlink/telemetry.js';
import type { SlotModel, ModelLoader } from './serve-agent.js';
import type { ServeTick } from './serve.js';

/** A verified model with its interpreter and loop built off the tick, ready to swap in. */
export interface PlanningModel extends SlotModel {
  loop: RecedingHorizonLoop;
}

export interface PlanningServe {
  loader: ModelLoader<PlanningModel>;
  tick: ServeTick<PlanningModel>;
  close(): void;
  readonly episodes: number;
}

/**
 * `kdp serve --sim ENV`: the board agent running the real planning loop (interpreter + receding
 * horizon) against a simulated robot. Each new model gets its own interpreter and loop, built and
 * checked against the env inside the loader — off the control tick — so a swap is a pointer change.
 */
export async function createPlanningServe(o: { env: string; candidates?: number; baseLoader: ModelLoader; seed?: number; rateHz: number }): Promise<PlanningServe> {
  const info = envInfo(o.env);
  const env: PlanningEnv = await createEnv(o.env);
  const state = new Float32Array(info.stateDim), goal = new Float32Array(info.goalDim), action = new Float32Array(info.actionDim);
  const plan = { count: 0, posXM: new Float64Array(5), posYM: new Float64Array(5), posZM: new Float64Array(5) };
  const sample = { xM: 0, yM: 0, zM: 0, vxMps: 0, vyMps: 0, vzMps: 0 };
  const stats = { latencyP50Us: 0, latencyP99Us: 0, deadlineMisses: 0, candidates: 0 };
  let seed = o.seed ?? 1;
  let step = 0;
  let episodes = 0;
  env.reset(seed);

  const loader: ModelLoader<PlanningModel> = async (dir, signal) => {
    const base = await o.baseLoader(dir, signal);
    const loop = createEnvLoop({ env, info, model: base,
      candidates: o.candidates ?? base.manifest.candidates, seed, rateHz: o.rateHz });
    loop.cfg.planner.invoke(); // first invoke is slow (lazy kernel set-up): pay it here, off the tick
    return { ...base, loop };
  };

  let telemetry: TelemetrySink | undefined;
  const tick: ServeTick<PlanningModel> = (model, index, ctx: { telemetry: TelemetrySink }) => {
    telemetry = ctx.telemetry;
    env.observe(state);
    env.goal(goal);
    model.loop.tick(state, goal, action);
    env.step(action);
    if (++step >= env.maxEpisodeSteps || env.done) {
      env.reset(++seed);
      model.loop.reset();
      step = 0;
      episodes++;
    }
    const p = info.positionDims, v = info.velocityDims;
    sample.xM = state[p[0]!]!; sample.yM = state[p[1]!]!; sample.zM = p[2] === undefined ? 0 : state[p[2]]!;
    sample.vxMps = state[v[0]!]!; sample.vyMps = state[v[1]!]!; sample.vzMps = v[2] === undefined ? 0 : state[v[2]]!;
    ctx.telemetry.publishState(sample);
    const cur = model.loop.current, stride = info.stateDim + info.actionDim;
    plan.count = 5;
    for (let k = 0; k < 5; k++) {
      plan.posXM[k] = cur[k * stride + p[0]!]!; plan.posYM[k] = cur[k * stride + p[1]!]!; plan.posZM[k] = p[2] === undefined ? 0 : cur[k * stride + p[2]]!;
    }
    ctx.telemetry.publishPlan(plan);
    current = model;
    void index;
  };
  // latency quantiles need a sort: computed once a second between ticks, never inside one
  let current: PlanningModel | undefined;
  const statsTimer = setInterval(() => {
    if (!current || !telemetry) return;
    const s = current.loop.planLatency.summary(LIVE_STATS_WINDOW);
    stats.latencyP50Us = s.p50; stats.latencyP99Us = s.p99; stats.deadlineMisses = current.loop.stats.deadlineMisses;
    stats.candidates = current.loop.cfg.planner.candidates;
    telemetry.publishStats(stats);
  }, 1000);
  statsTimer.unref();

  return { loader, tick, close: () => { clearInterval(statsTimer); env.close(); }, get episodes() { return episodes; } };
}
