import { requireClosedLoopEnv } from '../../envs/factory.js';
import { evaluate } from '../../loop/evaluate.js';
import { loadModelDir } from '../../loop/model-loader.js';
import { SELECT_STRATEGIES, type ActMode, type SelectStrategy } from '../../loop/receding-horizon.js';
import { optChoice, optNumber, optString, requireString, type CommandSpec } from '../command.js';
import { emitResult } from '../output.js';
import { createProgress } from '../progress.js';

export const command: CommandSpec = {
  name: 'eval',
  summary: 'closed-loop evaluation of a model in its environment',
  description: [
    'Runs episodes with the model planning in the loop (N candidates per invoke, select, act, replan) and',
    'reports the D4RL normalized score. --record writes steps.jsonl and an SVG per episode.',
    '',
    'Example: kdp eval --model models/maze2d-umaze --env maze2d-umaze --episodes 100 --seed 123 --json',
  ].join('\n'),
  options: {
    model: { type: 'string', placeholder: '<dir>', description: 'model folder (manifest.json + model.tflite)' },
    env: { type: 'string', placeholder: '<name>', description: 'environment (default: the one in the manifest)' },
    episodes: { type: 'string', placeholder: 'N', default: '100', description: 'episodes to run' },
    seed: { type: 'string', placeholder: 'S', default: '123', description: 'first episode seed (episode i uses S+i)' },
    candidates: { type: 'string', placeholder: 'N', description: 'candidate plans per invoke (default: the manifest\'s)' },
    select: { type: 'string', placeholder: SELECT_STRATEGIES.join('|'), default: 'goal', description: 'how to pick among candidates' },
    act: { type: 'string', placeholder: 'track|first-action', default: 'track', description: 'track the next waypoint or execute the first action' },
    'replan-every': { type: 'string', placeholder: 'k', description: 'replan every k ticks (default per env: 16 for Maze2D)' },
    rate: { type: 'string', placeholder: 'Hz', description: 'control rate for the deadline budget (default 1/dt)' },
    backend: { type: 'string', placeholder: 'wasm|reference', default: 'wasm', description: 'runtime kernels' },
    record: { type: 'string', placeholder: '<dir>', description: 'write per-step JSONL and per-episode SVGs here' },
  },
  async run(ctx) {
    const dir = requireString(ctx, 'model', 'e.g. --model models/maze2d-umaze');
    const model = loadModelDir(dir);
    const env = optString(ctx, 'env') ?? model.manifest.env;
    requireClosedLoopEnv(env);
    const episodes = optNumber(ctx, 'episodes', 100, { int: true, min: 1 });
    const bar = createProgress('eval', episodes, { json: ctx.json, fields: ['score'] });
    let sum = 0;
    const record = optString(ctx, 'record');
    const rate = optString(ctx, 'rate');
    const result = await evaluate({
      env, model, episodes,
      seed: optNumber(ctx, 'seed', 123, { int: true, min: 0 }),
      candidates: optNumber(ctx, 'candidates', model.manifest.candidates, { int: true, min: 1, max: 4096 }),
      select: optChoice<SelectStrategy>(ctx, 'select', SELECT_STRATEGIES, 'goal'),
      act: optChoice<ActMode>(ctx, 'act', ['track', 'first-action'], 'track'),
      ...(optString(ctx, 'replan-every') === undefined ? {} : { replanEvery: optNumber(ctx, 'replan-every', 1, { int: true, min: 1 }) }),
      ...(rate ? { rateHz: optNumber(ctx, 'rate', 100, { min: 0.1 }) } : {}),
      backend: optChoice(ctx, 'backend', ['wasm', 'reference'] as const, 'wasm'),
      ...(record ? { record } : {}),
      signal: ctx.signal,
      onEpisode: (i, _ret, score) => { sum += score; bar.update(i + 1, { score: sum / (i + 1) }); },
    });
    bar.stop();
    emitResult(ctx, result, () => [
      `${result.env}: normalized score ${result.normalizedScore} ± ${result.normalizedScoreStd} (success ${(result.successRate * 100).toFixed(0)}%, mean return ${result.meanReturn}) over ${result.episodes} episodes`,
      `plan latency p50 ${result.planLatencyUs.p50} µs, p99 ${result.planLatencyUs.p99} µs, ${result.candidates} candidates, ${result.deadlineMisses} deadline misses`,
      ...(record ? [`recorded to ${record}`] : []),
    ].join('\n'));
  },
};
