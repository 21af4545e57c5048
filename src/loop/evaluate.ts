import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createEnv } from '../envs/factory.js';
import { envInfo } from '../envs/registry.js';
import type { PlanningEnv } from '../envs/types.js';
import type { Maze2dEnv } from '../envs/maze2d/env.js';
import { ensureDir, writeFileAtomic } from '../util/atomic-write.js';
import { createEnvLoop } from './env-loop.js';
import type { LoadedModel } from './model-loader.js';
import type { ActMode, RecedingHorizonLoop, SelectStrategy } from './receding-horizon.js';

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
  /** control rate (Hz) the deadline budget is derived from; default 1/dt */
  rateHz?: number;
  backend?: 'wasm' | 'reference';
  /** write per-step JSONL and per-episode SVGs here */
  record?: string;
  /** episodes to draw as SVG when recording (default: all, up to 20) */
  svgEpisodes?: number;
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
  deadlineMisses: number;
  plans: number;
  ticks: number;
  seconds: number;
  seed: number;
  select: SelectStrategy;
  replanEvery: number;
  backend: string;
  arenaBytes: number;
  svgs?: string[];
}

/** Closed-loop evaluation: `episodes` episodes of the env with the model planning in the loop. */
export async function evaluate(o: EvalOptions): Promise<EvalResult> {
  const info = envInfo(o.env);
  const env = await createEnv(o.env);
  let loop: RecedingHorizonLoop;
  try {
    loop = createEnvLoop({
      env, info, model: o.model, candidates: o.candidates, seed: o.seed,
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
  try {
    for (let ep = 0; ep < o.episodes; ep++) {
      if (o.signal?.aborted) break;
      env.reset(o.seed + ep);
      loop.reset();
      let ret = 0, lastReward = 0;
      const path: number[][] = [];
      const snapshots: number[][][][] = [];
      const drawSvg = o.record !== undefined && ep < (o.svgEpisodes ?? 20);
      const snapAt = new Set([0, Math.floor(env.maxEpisodeSteps / 3), Math.floor((2 * env.maxEpisodeSteps) / 3)]);
      for (let t = 0; t < env.maxEpisodeSteps; t++) {
        env.observe(state);
        env.goal(goal);
        const status = loop.tick(state, goal, action);
        lastReward = env.step(action);
        ret += lastReward;
        if (o.record) {
          log.push(JSON.stringify({ ep, t, s: round(state), a: round(action), r: lastReward, status, plan: loop.selected }));
          if (drawSvg) {
            path.push([state[0]!, state[1]!]);
            if (snapAt.has(t)) snapshots.push(candidatePaths(loop, info.positionDims, info.stateDim + info.actionDim, o.model.manifest.layout.horizon));
          }
        }
        if (env.done) break;
      }
      returns += ret;
      if (lastReward > 0) successes++;
      const score = env.normalizedScore(ret);
      scores.push(score);
      o.onEpisode?.(ep, ret, score);
      if (drawSvg) {
        const file = join(o.record!, `episode-${String(ep).padStart(3, '0')}.svg`);
        writeFileAtomic(file, await episodeSvg(env, path, snapshots, goal, `${o.env} episode ${ep}: return ${ret}, score ${score.toFixed(1)}`));
        svgs.push(file);
      }
    }
  } finally {
    env.close();
  }
  if (o.record) writeFileSync(join(o.record, 'steps.jsonl'), log.join('\n') + '\n');
  const n = scores.length || 1;
  const mean = scores.reduce((a, b) => a + b, 0) / n;
  const sd = Math.sqrt(scores.reduce((a, b) => a + (b - mean) ** 2, 0) / n);
  const lat = loop.planLatency.summary();
  return {
    env: o.env, episodes: scores.length, normalizedScore: r1(mean), normalizedScoreStd: r1(sd / Math.sqrt(n)),
    successRate: Math.round((successes / n) * 1000) / 1000, meanReturn: r1(returns / n),
    planLatencyUs: { p50: lat.p50, p99: lat.p99, mean: lat.mean, max: lat.max }, candidates: o.candidates,
    deadlineMisses: loop.stats.deadlineMisses, plans: loop.stats.plans, ticks: loop.stats.ticks,
    seconds: r1((performance.now() - t0) / 1000), seed: o.seed, select: loop.cfg.select, replanEvery: loop.cfg.replanEvery,
    backend: planner.name, arenaBytes: planner.arenaBytes,
    ...(svgs.length ? { svgs } : {}),
  };
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
  return mazeSvg(env as Maze2dEnv, { paths, goal: [goal[0]!, goal[1]!], ...(start ? { start } : {}), title });
}

function round(a: Float32Array): number[] {
  return Array.from(a, (v) => Math.round(v * 1000) / 1000);
}
function r1(x: number): number { return Math.round(x * 10) / 10; }
