import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createEnv } from '../sim/env-factory.js';
import { envInfo } from '../envs/registry.js';
import type { PlanningEnv } from '../envs/types.js';
import type { Maze2dEnv } from '../envs/maze2d/env.js';
import { ensureDir, writeFileAtomic } from '../util/atomic-write.js';
import { UsageError } from '../errors.js';
import { createEnvLoop, isOracleSelect } from '../control/env-loop.js';
import { MonotonicClock, VirtualClock, type Clock } from '../control/clock.js';
import { FixedRateScheduler } from '../control/scheduler.js';
import { runTask, type ControlTask } from '../control/task.js';
import type { ScorerBackend } from '../planner/scorer-backend.js';
import type { PlannerBackend } from '../planner/planner-backend.js';
import type { LoadedModel } from '../planner/model-loader.js';
import type { ActMode, RecedingHorizonLoop, SelectStrategy } from '../control/receding-horizon.js';

export interface EvalOptions {
  env: string;
  model: LoadedModel;
  episodes: number;
  seed: number;
  candidates: number;
  /** default 'goal' */
  select?: SelectStrategy;
  /** default 'track' */
  act?: ActMode;
  /** default: the env's replanning period */
  replanEvery?: number;
  /**
   * virtual (default): the loop's deadline logic runs on a clock that only the env steps advance, so a
   * slow or loaded host never changes the score (same seed → same score); plan latency is still timed
   * for real. real: deadline fallbacks on the wall clock, misses reported.
   */
  clock?: 'virtual' | 'real';
  /** control rate (Hz) the deadline budget is derived from; default 1/dt */
  rateHz?: number;
  /**
   * The clock the fixed-rate schedule runs on (default: virtual → a VirtualClock; real → a VirtualClock charged
   * with each tick's real cost, so ticks still run back to back and a tick slower than its budget is a miss).
   */
  schedulerClock?: Clock;
  /** called at the end of every tick, inside it (instrumentation; see `RunTaskOptions.onTick`) */
  onTick?: (tick: number) => void;
  backend?: 'native' | 'wasm' | 'reference';
  /** write per-step JSONL and per-episode SVGs here */
  record?: string;
  /** episodes to draw as SVG when recording (default: all, up to 20) */
  svgEpisodes?: number;
  /** override the model's learned scorer (tests, training-time evaluation) */
  scorer?: ScorerBackend;
  /** select = learned: cost per waypoint outside the learned occupancy (0 = cost-to-go only; ablation) */
  infeasibleCost?: number;
  /** plan with this backend instead of the model's interpreter (training-time evaluation) */
  planner?: PlannerBackend;
  /** plan with the model's route generator when it ships one (default true) */
  hierarchical?: boolean;
  onEpisode?: (i: number, ret: number, score: number) => void;
  signal?: AbortSignal;
}

export interface EvalResult {
  env: string;
  episodes: number;
  normalizedScore: number;
  normalizedScoreStd: number;
  successRate: number;
  meanReturn: number;
  planLatencyUs: { p50: number; p99: number; mean: number; max: number };
  candidates: number;
  /** ticks whose work exceeded the budget, on the schedule's clock (always 0 on the plain virtual clock) */
  deadlineMisses: number;
  /** slots that passed while a tick still ran (the shared scheduler accounting) */
  skippedSlots: number;
  /** plans that finished past the budget on the loop's clock (the previous plan was acted on meanwhile) */
  planDeadlineMisses: number;
  plans: number;
  ticks: number;
  seconds: number;
  seed: number;
  select: SelectStrategy;
  /**
   * true when selection read test-time knowledge no learned model produced (the env's wall map:
   * --select map-cost / cost). Published planners were scored without it.
   */
  oracle: boolean;
  /**
   * true when each plan ran the model's sparse route generator first (two generator passes + two scorer
   * passes, all in the plan latency) and selected the segment plans toward the chosen route
   */
  hierarchical: boolean;
  /** hierarchical: env steps ahead on the chosen route that the plans are selected toward */
  routeLookahead?: number;
  /** hierarchical: plan waypoints selected toward the subgoal (the rest toward the goal; absent: all) */
  routeSubgoalSteps?: number;
  /** select = learned: cost per waypoint outside the learned occupancy (--infeasible-cost, else the model's default) */
  infeasibleCost?: number;
  /** virtual: deadlines on the env's simulated time (scores reproducible); real: on the wall clock */
  clock: 'virtual' | 'real';
  replanEvery: number;
  backend: string;
  /** fixed arenas the planning reserves: the generator's + the learned scorer's (when it runs) */
  arenaBytes: number;
  svgs?: string[];
  /** one row per episode: where it started, the goal, when it first reached the goal (null: never), return, score */
  episodeResults: EpisodeResult[];
  /** plan latencies in log-spaced bins (µs): counts[i] plans took edgesUs[i] ≤ t < edgesUs[i + 1] */
  planLatencyHistogram: { edgesUs: number[]; counts: number[] };
}

export interface EpisodeResult {
  episode: number;
  seed: number;
  start: number[];
  goal: number[];
  steps: number;
  stepsToGoal: number | null;
  return: number;
  score: number;
}

/** Closed-loop evaluation: `episodes` episodes of the env with the model planning in the loop. */
export async function evaluate(o: EvalOptions): Promise<EvalResult> {
  const info = envInfo(o.env);
  if (info.controlledBy) {
    // the generic loop would act from the plan's first waypoint; this model's plans are joint goals that
    // need the FK selection, joint limits and settle phase of its own controller
    throw new UsageError(`kdp eval does not run ${o.env}: its plans are executed by a task controller (FK selection, joint/velocity limits, settle phase) that the generic tracking loop lacks, so a score here would not measure the model`, `run ${info.controlledBy}`);
  }
  const env = await createEnv(o.env);
  const periodUs = 1e6 / (o.rateHz ?? 1 / info.dt);
  const schedulerClock = o.schedulerClock ?? new VirtualClock({ chargeRealCost: o.clock === 'real' });
  // virtual: the loop's deadline logic reads the schedule's simulated time (planning takes none of it)
  const virtualClock = schedulerClock.virtual ? schedulerClock : new VirtualClock();
  let loop: RecedingHorizonLoop;
  try {
    loop = createEnvLoop({
      env, info, model: o.model, candidates: o.candidates, seed: o.seed, ...(o.scorer ? { scorer: o.scorer } : {}), ...(o.planner ? { planner: o.planner } : {}), ...(o.hierarchical === undefined ? {} : { hierarchical: o.hierarchical }), ...(o.infeasibleCost === undefined ? {} : { infeasibleCost: o.infeasibleCost }),
      ...(o.clock === 'real' ? {} : { clock: virtualClock, timer: new MonotonicClock() }),
      ...(o.select === undefined ? {} : { select: o.select }), ...(o.act === undefined ? {} : { act: o.act }),
      ...(o.replanEvery === undefined ? {} : { replanEvery: o.replanEvery }),
      ...(o.rateHz === undefined ? {} : { rateHz: o.rateHz }), ...(o.backend === undefined ? {} : { backend: o.backend }),
    });
  } catch (e) {
    env.close();
    throw e;
  }
  const planner = loop.cfg.planner;
  const state = new Float32Array(info.stateDim), goal = new Float32Array(info.goalDim), action = new Float32Array(info.actionDim);
  const scores: number[] = [];
  let returns = 0, successes = 0;
  const t0 = performance.now();
  const svgs: string[] = [];
  if (o.record) ensureDir(o.record);
  const log: string[] = [];
  const episodeResults: EpisodeResult[] = [];
  // one episode's running state (the task's ticks walk episode by episode, step by step)
  let ep = 0, t = 0, ret = 0, lastReward = 0, status = 0;
  let stepsToGoal: number | null = null;
  let start: number[] = [], goalAt: number[] = [];
  let path: number[][] = [], snapshots: number[][][][] = [];
  let drawSvg = false;
  let snapAt = new Set<number>();
  const endEpisode = async (): Promise<void> => {
    returns += ret;
    if (lastReward > 0) successes++;
    const score = env.normalizedScore(ret);
    scores.push(score);
    episodeResults.push({ episode: ep, seed: o.seed + ep, start, goal: goalAt, steps: t, stepsToGoal, return: ret, score: r1(score) });
    o.onEpisode?.(ep, ret, score);
    if (drawSvg) {
      const file = join(o.record!, `episode-${String(ep).padStart(3, '0')}.svg`);
      writeFileAtomic(file, await episodeSvg(env, path, snapshots, goal, `${o.env} episode ${ep}: return ${ret}, score ${score.toFixed(1)}`));
      svgs.push(file);
    }
    ep++;
    t = 0;
  };
  const task: ControlTask = {
    observe: () => {
      if (t === 0) {
        env.reset(o.seed + ep);
        loop.reset();
        ret = 0; lastReward = 0; stepsToGoal = null;
        env.observe(state);
        env.goal(goal);
        start = info.positionDims.map((d) => r3(state[d]!)); goalAt = Array.from(goal, r3);
        path = []; snapshots = [];
        drawSvg = o.record !== undefined && ep < (o.svgEpisodes ?? 20);
        snapAt = new Set([0, Math.floor(env.maxEpisodeSteps / 3), Math.floor((2 * env.maxEpisodeSteps) / 3)]);
      }
      env.observe(state);
      env.goal(goal);
    },
    plan: () => { status = loop.tick(state, goal, action); },
    act: () => {
      lastReward = env.step(action);
      ret += lastReward;
      if (lastReward > 0 && stepsToGoal === null) stepsToGoal = t + 1;
      if (o.record) {
        log.push(JSON.stringify({ ep, t, s: round(state), a: round(action), r: lastReward, status, plan: loop.selected }));
        if (drawSvg) {
          path.push([state[0]!, state[1]!]);
          if (snapAt.has(t)) snapshots.push(candidatePaths(loop, info.positionDims, info.stateDim + info.actionDim, o.model.manifest.layout.horizon));
        }
      }
      t++;
      if (env.done || t >= env.maxEpisodeSteps) return endEpisode();
      return undefined;
    },
    done: () => ep >= o.episodes,
    safeStop: () => {}, // a simulator: nothing to hold; the env is closed below on every path
  };
  const scheduler = new FixedRateScheduler({ periodUs, clock: schedulerClock });
  let run;
  try {
    run = await runTask(task, scheduler, { ...(o.signal ? { signal: o.signal } : {}), ...(o.onTick ? { onTick: o.onTick } : {}) });
  } finally {
    env.close();
  }
  if (run.stop === 'error') throw run.error;
  if (o.record) writeFileSync(join(o.record, 'steps.jsonl'), log.join('\n') + '\n');
  const n = scores.length || 1;
  const mean = scores.reduce((a, b) => a + b, 0) / n;
  const sd = Math.sqrt(scores.reduce((a, b) => a + (b - mean) ** 2, 0) / n);
  const lat = loop.planLatency.summary();
  return {
    env: o.env, episodes: scores.length, normalizedScore: r1(mean), normalizedScoreStd: r1(sd / Math.sqrt(n)),
    successRate: Math.round((successes / n) * 1000) / 1000, meanReturn: r1(returns / n),
    planLatencyUs: { p50: lat.p50, p99: lat.p99, mean: lat.mean, max: lat.max }, candidates: o.candidates,
    deadlineMisses: run.deadlineMisses, skippedSlots: run.skippedSlots, planDeadlineMisses: loop.stats.deadlineMisses, plans: loop.stats.plans, ticks: loop.stats.ticks,
    seconds: r1((performance.now() - t0) / 1000), seed: o.seed, select: loop.cfg.select, oracle: isOracleSelect(loop.cfg.select),
    hierarchical: loop.cfg.subgoals !== undefined, ...(loop.cfg.select === 'learned' ? { infeasibleCost: loop.cfg.infeasibleCost ?? 1000 } : {}), ...(loop.cfg.subgoals ? { routeLookahead: loop.cfg.subgoals.cfg.lookahead, ...(loop.cfg.subgoalSteps === undefined ? {} : { routeSubgoalSteps: loop.cfg.subgoalSteps }) } : {}), clock: o.clock === 'real' ? 'real' : 'virtual', replanEvery: loop.cfg.replanEvery,
    backend: planner.name, arenaBytes: planner.arenaBytes + (loop.cfg.scorer?.arenaBytes ?? 0) + (loop.cfg.subgoals ? loop.cfg.subgoals.cfg.planner.arenaBytes + loop.cfg.subgoals.cfg.scorer.arenaBytes : 0),
    ...(svgs.length ? { svgs } : {}),
    episodeResults,
    planLatencyHistogram: logHistogram(loop.planLatency.retained()),
  };
}

/** Counts in log-spaced bins, 4 per decade, from the decade below the fastest to the one above the slowest. */
export function logHistogram(us: Float64Array): { edgesUs: number[]; counts: number[] } {
  if (us.length === 0) return { edgesUs: [], counts: [] };
  let lo = Infinity, hi = 0;
  for (const v of us) { if (v > 0 && v < lo) lo = v; if (v > hi) hi = v; }
  if (!Number.isFinite(lo)) lo = 1;
  const k0 = Math.floor(Math.log10(lo) * 4), k1 = Math.ceil(Math.log10(Math.max(hi, lo * 1.0001)) * 4);
  const edgesUs = Array.from({ length: k1 - k0 + 1 }, (_, i) => r1(10 ** ((k0 + i) / 4)));
  const counts = new Array<number>(k1 - k0).fill(0);
  for (const v of us) counts[Math.min(k1 - k0 - 1, Math.max(0, Math.floor(Math.log10(Math.max(v, lo)) * 4) - k0))]!++;
  return { edgesUs, counts };
}

function candidatePaths(loop: RecedingHorizonLoop, pos: number[], step: number, H: number): number[][][] {
  const out: number[][][] = [];
  const c = loop.candidates;
  const N = c.length / (H * step);
  for (let i = 0; i < N; i++) {
    const pts: number[][] = [];
    for (let t = 0; t < H; t++) pts.push([c[(i * H + t) * step + pos[0]!]!, c[(i * H + t) * step + pos[1]!]!]);
    out.push(pts);
  }
  return out;
}

async function episodeSvg(env: PlanningEnv, path: number[][], snapshots: number[][][][], goal: Float32Array, title: string): Promise<string> {
  const { mazeSvg } = await import('../envs/maze2d/svg.js');
  const paths = [
    ...snapshots.flatMap((snap) => snap.map((points) => ({ points, stroke: '#7a9cc6', width: 1, opacity: 0.35 }))),
    { points: path, stroke: '#c0392b', width: 3, opacity: 0.95 },
  ];
  const start: [number, number] | undefined = path[0] ? [path[0][0]!, path[0][1]!] : undefined;
  return mazeSvg(env as Maze2dEnv, {
    paths, goal: [goal[0]!, goal[1]!], ...(start ? { start } : {}), title, cell: 96, caption: title,
    legend: [
      { kind: 'line', color: '#c0392b', label: 'executed path' },
      { kind: 'thin', color: '#7a9cc6', label: 'candidate plans (start, 1/3, 2/3 of the episode)' },
      { kind: 'dot', color: '#2a9d4b', label: 'start' },
      { kind: 'ring', color: '#c0392b', label: 'goal (dashed: success radius 0.5)' },
    ],
  });
}

function round(a: Float32Array): number[] {
  return Array.from(a, (v) => Math.round(v * 1000) / 1000);
}
function r1(x: number): number { return Math.round(x * 10) / 10; }
function r3(x: number): number { return Math.round(x * 1000) / 1000; }
