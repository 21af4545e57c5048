import type { CommandSpec } from '../command.js';
import { UsageError } from '../../errors.js';
import { optChoice, optFlag, optNumber, optString, requireString } from '../command.js';
import { emitResult } from '../output.js';

export const command: CommandSpec = {
  name: 'export',
  summary: 'export a checkpoint to TFLite (fp32 or full-int8) + manifest',
  description: [
    'Reads <checkpoint>/checkpoint.json + weights.bin and writes <out>/model.tflite and <out>/manifest.json',
    '(both atomically; nothing is written if anything fails). int8 is full-integer post-training quantization',
    'calibrated on <checkpoint>/calibration-conditions.bin (standard-normal conditions if absent) with',
    'QUANTIZE/DEQUANTIZE at the ends, so the model boundary stays float32. See docs/tflite-export.md.',
    '',
    'By default the newest checkpoint generation that verifies is exported; --best exports the one with the',
    'best held-out score instead (a run trained with --eval-every N --keep-best). The manifest\'s provenance',
    'records the generation, its step and bestByEval.',
    '',
    'With --scorer, the learned plan scorer of a `kdp train-scorer` folder ships beside it (scorer.tflite),',
    'so `kdp eval` / `kdp demo` select plans with it by default (--select learned).',
    '',
    'With --model and --routes, a sparse route generator (a `kdp train` run with a coarse --frame-skip and the',
    'model\'s normalizer, --normalizer-from MODEL, or a folder exported from one) ships beside them as routes.tflite: each plan then first',
    'generates N routes across the maze, the learned scorer picks one, and the segment plans are selected toward',
    'its position --route-lookahead env steps ahead (hierarchical keyed drifting, docs/kdp.md).',
    '',
    'Example: kdp export --checkpoint runs/umaze --scorer runs/umaze-scorer --out models/maze2d-umaze --quantize int8',
    'Example: kdp export --model models/maze2d-large --routes runs/large-routes --route-lookahead 24 --route-subgoal-steps 12',
  ].join('\n'),
  options: {
    checkpoint: { type: 'string', placeholder: '<dir>', description: 'checkpoint directory written by `kdp train`' },
    best: { type: 'boolean', description: 'export the best-by-eval generation of a --keep-best run instead of the newest' },
    model: { type: 'string', placeholder: '<dir>', description: 'with --scorer and no --checkpoint: add the scorer to this exported model (model.tflite kept as is)' },
    out: { type: 'string', placeholder: '<dir>', description: 'model directory to write (e.g. models/maze2d-umaze)' },
    quantize: { type: 'string', placeholder: 'int8|fp32', default: 'int8', description: 'weights/activations precision' },
    calibration: { type: 'string', placeholder: 'N', default: '1024', description: 'int8 calibration samples ((noise, condition) pairs)' },
    candidates: { type: 'string', placeholder: 'N', default: '64', description: 'batch dimension = candidate plans per invoke' },
    scorer: { type: 'string', placeholder: '<dir>', description: 'ship the learned plan scorer of this `kdp train-scorer` folder as scorer.tflite' },
    'scorer-quantize': { type: 'string', placeholder: 'int8|fp32', default: 'int8', description: 'the scorer\'s precision' },
    'infeasible-cost': { type: 'string', placeholder: 'steps', description: 'with --model --scorer: the loop\'s default cost per waypoint outside the learned occupancy, recorded in the manifest (default 1000; 0 = cost-to-go only)' },
    'scorer-weight-bits': { type: 'string', placeholder: '8|6', default: '8', description: 'int8 scorer: bits of its FC weights (6 costs it most of its planning score; docs/kdp.md)' },
    routes: { type: 'string', placeholder: '<dir>', description: 'with --model: ship this route generator (a `kdp train` run or an exported folder) as routes.tflite' },
    'route-lookahead': { type: 'string', placeholder: 'N', description: 'env steps ahead on the chosen route the plans are selected toward (default: one route step, its frame skip)' },
    'route-subgoal-steps': { type: 'string', placeholder: 'N', description: 'with --routes: the segment plan\'s first N waypoints are selected toward the subgoal, the rest toward the goal (default: all toward the subgoal)' },
    'route-condition': { type: 'string', placeholder: 'goal|subgoal', default: 'goal', description: 'condition the segment generator on the goal (the subgoal steers selection) or on the subgoal' },
    'weight-bits': { type: 'string', placeholder: '8|6', default: '8', description: 'int8: bits the FC weights use inside their int8 tensors; 6 runs the relaxed-SIMD kernel (~1.35× faster at N = 64, docs/runtime.md)' },
  },
  async run(ctx) {
    const attachTo = optString(ctx, 'model');
    const best = optFlag(ctx, 'best');
    if (attachTo !== undefined && optString(ctx, 'checkpoint') === undefined) {
      const routesDir = optString(ctx, 'routes');
      if (routesDir !== undefined) {
        if (optString(ctx, 'scorer') !== undefined) throw new UsageError('attach the scorer and the routes in two calls: the routes need the scorer already in the folder', 'kdp export --model DIR --scorer RUN, then kdp export --model DIR --routes RUN');
        const { attachRoutes } = await import('../../planner/export/attach-routes.js');
        const outDir = optString(ctx, 'out');
        const la = optString(ctx, 'route-lookahead');
        // default lookahead: one route step
        const { modelOrRunMeta } = await import('../model-or-run.js');
        const lookahead = la === undefined ? modelOrRunMeta(routesDir).layout.frameSkip : optNumber(ctx, 'route-lookahead', 1, { int: true, min: 1, max: 100_000 });
        const a = attachRoutes({ model: attachTo, routes: routesDir, lookahead, conditionOn: optChoice(ctx, 'route-condition', ['goal', 'subgoal'] as const, 'goal'),
          ...(optString(ctx, 'route-subgoal-steps') === undefined ? {} : { subgoalSteps: optNumber(ctx, 'route-subgoal-steps', 1, { int: true, min: 1, max: 10_000 }) }), ...(best ? { best } : {}), ...(outDir ? { out: outDir } : {}) });
        const r = a.manifest.routes!;
        emitResult(ctx, { out: a.out, routes: { bytes: r.bytes, sha256: r.sha256, arenaBytes: r.arenaBytes, horizon: r.layout.horizon, frameSkip: r.layout.frameSkip, lookahead: r.lookahead, conditionOn: r.conditionOn, ...(r.subgoalSteps === undefined ? {} : { subgoalSteps: r.subgoalSteps }), step: r.provenance.trainingSteps }, signatureDropped: a.dropped.signature }, () => [
          `wrote ${a.out}/${r.file} (${r.bytes} bytes, ${r.quantization}, routes of ${r.layout.horizon} steps × frame skip ${r.layout.frameSkip} = ${(r.layout.horizon - 1) * r.layout.frameSkip} env steps, arena ${r.arenaBytes} bytes) and ${a.out}/manifest.json`,
          `  plans are selected toward the chosen route ${r.lookahead} env steps ahead${r.subgoalSteps ? ` (their first ${r.subgoalSteps} waypoints; the rest toward the goal)` : ''}; the segment generator is conditioned on the ${r.conditionOn}`,
          ...(a.dropped.signature ? ['the previous signature no longer covers the manifest and was dropped: re-sign with `kdp sign --key KEY ' + a.out + '`'] : []),
        ].join('\n'));
        return;
      }
      if (best) throw new UsageError('--best chooses a generation of --checkpoint; with --model the generator is kept as is', 'drop --best, or pass --checkpoint RUN --best');
      const scorerDir = requireString(ctx, 'scorer', 'e.g. --model models/maze2d-umaze --scorer runs/umaze-scorer (or --routes RUN)');
      const { attachScorer } = await import('../../planner/export/export-checkpoint.js');
      const outDir = optString(ctx, 'out');
      const ic = optString(ctx, 'infeasible-cost') === undefined ? {} : { infeasibleCost: optNumber(ctx, 'infeasible-cost', 1000, { min: 0, max: 1e6 }) };
      const a = attachScorer({ model: attachTo, scorer: scorerDir, ...ic, ...(outDir ? { out: outDir } : {}), quantization: optChoice(ctx, 'scorer-quantize', ['int8', 'fp32'] as const, 'int8'), weightBits: Number(optChoice(ctx, 'scorer-weight-bits', ['8', '6'] as const, '8')) as 8 | 6, calibration: optNumber(ctx, 'calibration', 1024, { int: true, min: 1, max: 1_000_000 }) });
      const s = a.manifest.scorer!;
      emitResult(ctx, { out: a.out, scorer: { bytes: s.bytes, sha256: s.sha256, arenaBytes: s.arenaBytes, rows: s.inputs[0]!.shape[0], ...(s.infeasibleCost === undefined ? {} : { infeasibleCost: s.infeasibleCost }) }, signatureDropped: a.dropped.signature }, () => [
        `wrote ${a.out}/${s.file} (${s.bytes} bytes, ${s.quantization}, ${s.inputs[0]!.shape[0]} waypoints per invoke, arena ${s.arenaBytes} bytes) and ${a.out}/manifest.json`,
        ...(a.dropped.signature ? ['the previous signature no longer covers the manifest and was dropped: re-sign with `kdp sign --key KEY ' + a.out + '`'] : []),
      ].join('\n'));
      return;
    }
    const checkpoint = requireString(ctx, 'checkpoint', 'e.g. --checkpoint runs/umaze');
    const out = requireString(ctx, 'out', 'e.g. --out models/maze2d-umaze');
    const quantization = optChoice(ctx, 'quantize', ['int8', 'fp32'] as const, 'int8');
    const calibration = optNumber(ctx, 'calibration', 1024, { int: true, min: 1, max: 1_000_000 });
    const candidates = optNumber(ctx, 'candidates', 64, { int: true, min: 1, max: 65_536 });
    const weightBits = Number(optChoice(ctx, 'weight-bits', ['8', '6'] as const, '8')) as 8 | 6;
    const scorer = optString(ctx, 'scorer');
    const { exportCheckpoint } = await import('../../planner/export/export-checkpoint.js');
    const r = exportCheckpoint({ checkpoint, out, ...(best ? { best } : {}), quantization, calibration, candidates, weightBits, ...(scorer ? { scorer, scorerQuantization: optChoice(ctx, 'scorer-quantize', ['int8', 'fp32'] as const, 'int8'), scorerWeightBits: Number(optChoice(ctx, 'scorer-weight-bits', ['8', '6'] as const, '8')) as 8 | 6 } : {}) });
    const sc = r.manifest.scorer;
    const cal = r.manifest.provenance.calibration;
    const prov = r.manifest.provenance as typeof r.manifest.provenance & { generation?: string; bestByEval?: boolean };
    emitResult(ctx, { out: r.out, quantization: r.quantization, bytes: r.bytes, sha256: r.sha256, arenaBytes: r.arenaBytes,
      step: prov.trainingSteps, ...(prov.generation ? { generation: prov.generation } : {}), bestByEval: prov.bestByEval === true, ...(sc ? { scorer: { bytes: sc.bytes, sha256: sc.sha256, arenaBytes: sc.arenaBytes, rows: sc.inputs[0]!.shape[0] } } : {}) }, () => [
      `wrote ${r.modelPath} (${r.bytes} bytes, ${r.quantization}, sha256 ${r.sha256.slice(0, 16)}…) from step ${prov.trainingSteps}${prov.bestByEval ? ' (best by held-out eval)' : ''}`,
      `wrote ${r.manifestPath}`,
      `  inputs  ${r.manifest.inputs.map((t) => `${t.name}[${t.shape.join(',')}]`).join(', ')}  →  output ${r.manifest.outputs.map((t) => `${t.name}[${t.shape.join(',')}]`).join(', ')}`,
      `  arena   ${r.arenaBytes} bytes (greedy lifetime plan, 16-byte aligned)`,
      ...(cal ? [`  calibration ${cal.samples} samples (${cal.source})`] : []),
      ...(sc ? [`wrote ${r.out}/${sc.file} (${sc.bytes} bytes, learned scorer: ${sc.inputs[0]!.shape[0]} waypoints per invoke, arena ${sc.arenaBytes} bytes)`] : []),
    ].join('\n'));
  },
};

