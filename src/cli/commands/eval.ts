import { requireClosedLoopEnv } from '../../sim/env-factory.js';
import { evaluate } from '../../eval/evaluate.js';
import { loadModelDir } from '../../planner/model-loader.js';
import { SELECT_STRATEGIES, type ActMode, type SelectStrategy } from '../../control/receding-horizon.js';
import { optChoice, optNumber, optString, requireString, type CommandSpec } from '../command.js';
import { emitResult } from '../output.js';
import { createProgress } from '../progress.js';
import { hostPlatform } from '../../util/platform.js';

export const command: CommandSpec = {
  name: 'eval',
  summary: 'closed-loop evaluation of a model in its environment',
  description: [
    'Runs episodes with the model planning in the loop (N candidates per invoke, select, act, replan) and',
    'reports the D4RL normalized score. --record writes steps.jsonl and an SVG per episode.',
    '',
    'By default the planner gets only what D4RL\'s protocol gives: the observation and the goal. Selection',
    'uses the model\'s learned scorer when it ships one. --select map-cost (or cost) hands selection the env\'s',
    'true wall map: an oracle variant, reported with "oracle": true.',
    '',
    'A model that ships a route generator (routes.tflite) plans hierarchically with learned selection: each plan',
    'first generates N routes across the maze, the scorer picks one, and the plans are selected toward it',
    '("hierarchical": true; two generator and two scorer passes, all in the plan latency). --routes off plans flat.',
    '',
    'Example: kdp eval --model models/maze2d-umaze --env maze2d-umaze --episodes 100 --seed 123 --json',
  ].join('\n'),
  options: {
    model: { type: 'string', placeholder: '<dir>', description: 'model folder (manifest.json + model.tflite)' },
    env: { type: 'string', placeholder: '<name>', description: 'environment (default: the one in the manifest)' },
    episodes: { type: 'string', placeholder: 'N', default: '100', description: 'episodes to run' },
    seed: { type: 'string', placeholder: 'S', default: '123', description: 'first episode seed (episode i uses S+i)' },
    candidates: { type: 'string', placeholder: 'N', description: 'candidate plans per invoke (default: the manifest\'s)' },
    select: { type: 'string', placeholder: SELECT_STRATEGIES.join('|'), description: 'how to pick among candidates (default: learned when the model ships a scorer, else goal). map-cost and cost read the env\'s true wall map: an oracle variant, labelled so' },
    'infeasible-cost': { type: 'string', placeholder: 'steps', description: 'with --select learned: cost per waypoint outside the learned occupancy (default 1000; 0 = cost-to-go only)' },
    act: { type: 'string', placeholder: 'track|first-action', default: 'track', description: 'track the next waypoint or execute the first action' },
    'replan-every': { type: 'string', placeholder: 'k', description: 'replan every k ticks (default per env: 16 for Maze2D)' },
    clock: { type: 'string', placeholder: 'virtual|real', default: 'virtual', description: 'virtual: deadlines on simulated time, so the score depends only on the seed; real: wall-clock deadline fallbacks (misses reported)' },
    rate: { type: 'string', placeholder: 'Hz', description: 'control rate for the deadline budget (default 1/dt)' },
    backend: { type: 'string', placeholder: 'auto|native|wasm|reference', default: 'auto', description: 'runtime kernels (auto: KDP_KERNELS, else native where built for this CPU, else wasm; all bit-identical)' },
    routes: { type: 'string', placeholder: 'on|off', default: 'on', description: 'plan hierarchically with the model\'s route generator when it ships one (learned selection only); off: one flat pass' },
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
      ...(optString(ctx, 'select') === undefined ? {} : { select: optChoice<SelectStrategy>(ctx, 'select', SELECT_STRATEGIES, 'goal') }),
      act: optChoice<ActMode>(ctx, 'act', ['track', 'first-action'], 'track'),
      ...(optString(ctx, 'infeasible-cost') === undefined ? {} : { infeasibleCost: optNumber(ctx, 'infeasible-cost', 1000, { min: 0 }) }),
      ...(optString(ctx, 'replan-every') === undefined ? {} : { replanEvery: optNumber(ctx, 'replan-every', 1, { int: true, min: 1 }) }),
      ...(rate ? { rateHz: optNumber(ctx, 'rate', 100, { min: 0.1 }) } : {}),
      ...(((b) => (b === 'auto' ? {} : { backend: b }))(optChoice(ctx, 'backend', ['auto', 'native', 'wasm', 'reference'] as const, 'auto'))),
      clock: optChoice(ctx, 'clock', ['virtual', 'real'] as const, 'virtual'),
      hierarchical: optChoice(ctx, 'routes', ['on', 'off'] as const, 'on') === 'on',
      ...(record ? { record } : {}),
      signal: ctx.signal,
      onEpisode: (i, _ret, score) => { sum += score; bar.update(i + 1, { score: sum / (i + 1) }); },
    });
    bar.stop();
    // under emulation the scores are real, the clock measures the emulator: no latencies
    const emulated = hostPlatform().emulated;
    const latency = emulated ? 'plan latency withheld (emulated)' : `plan latency p50 ${result.planLatencyUs.p50} µs, p99 ${result.planLatencyUs.p99} µs`;
    emitResult(ctx, { ...result, ...(emulated ? { planLatencyUs: { p50: null, p99: null, mean: null, max: null } } : {}), emulated }, () => [
      `${result.env}: normalized score ${result.normalizedScore} ± ${result.normalizedScoreStd} (success ${(result.successRate * 100).toFixed(0)}%, mean return ${result.meanReturn}) over ${result.episodes} episodes`,
      result.oracle
        ? `ORACLE variant: --select ${result.select} read the env's true wall map (test-time knowledge published planners did not have)`
        : `no oracle: selection used only the model (${result.select}${result.select === 'learned' ? ': learned occupancy + cost-to-go' : ''}), start and goal`,
      ...(result.hierarchical ? [`hierarchical: each plan picked a route with the model's route generator, then selected plans toward it ${result.routeLookahead} env steps ahead`] : []),
      `${latency}, ${result.candidates} candidates, ${result.clock === 'real' ? `${result.deadlineMisses} deadline misses (wall clock)` : 'deadlines on simulated time (--clock real for wall-clock fallbacks)'}`,
      ...(record ? [`recorded to ${record}`] : []),
    ].join('\n'));
  },
};
