import type { CommandSpec } from '../command.js';
import { optChoice, optNumber, requireString } from '../command.js';
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
    'Example: kdp export --checkpoint runs/umaze --out models/maze2d-umaze --quantize int8',
  ].join('\n'),
  options: {
    checkpoint: { type: 'string', placeholder: '<dir>', description: 'checkpoint directory written by `kdp train`' },
    out: { type: 'string', placeholder: '<dir>', description: 'model directory to write (e.g. models/maze2d-umaze)' },
    quantize: { type: 'string', placeholder: 'int8|fp32', default: 'int8', description: 'weights/activations precision' },
    calibration: { type: 'string', placeholder: 'N', default: '1024', description: 'int8 calibration samples ((noise, condition) pairs)' },
    candidates: { type: 'string', placeholder: 'N', default: '64', description: 'batch dimension = candidate plans per invoke' },
    'weight-bits': { type: 'string', placeholder: '8|6', default: '8', description: 'int8: bits the FC weights use inside their int8 tensors; 6 runs the relaxed-SIMD kernel (~1.35× faster at N = 64, docs/runtime.md)' },
  },
  async run(ctx) {
    const checkpoint = requireString(ctx, 'checkpoint', 'e.g. --checkpoint runs/umaze');
    const out = requireString(ctx, 'out', 'e.g. --out models/maze2d-umaze');
    const quantization = optChoice(ctx, 'quantize', ['int8', 'fp32'] as const, 'int8');
    const calibration = optNumber(ctx, 'calibration', 1024, { int: true, min: 1, max: 1_000_000 });
    const candidates = optNumber(ctx, 'candidates', 64, { int: true, min: 1, max: 65_536 });
    const weightBits = Number(optChoice(ctx, 'weight-bits', ['8', '6'] as const, '8')) as 8 | 6;
    const { exportCheckpoint } = await import('../../planner/export/export-checkpoint.js');
    const r = exportCheckpoint({ checkpoint, out, quantization, calibration, candidates, weightBits });
    const cal = r.manifest.provenance.calibration;
    emitResult(ctx, { out: r.out, quantization: r.quantization, bytes: r.bytes, sha256: r.sha256, arenaBytes: r.arenaBytes }, () => [
      `wrote ${r.modelPath} (${r.bytes} bytes, ${r.quantization}, sha256 ${r.sha256.slice(0, 16)}…)`,
      `wrote ${r.manifestPath}`,
      `  inputs  ${r.manifest.inputs.map((t) => `${t.name}[${t.shape.join(',')}]`).join(', ')}  →  output ${r.manifest.outputs.map((t) => `${t.name}[${t.shape.join(',')}]`).join(', ')}`,
      `  arena   ${r.arenaBytes} bytes (greedy lifetime plan, 16-byte aligned)`,
      ...(cal ? [`  calibration ${cal.samples} samples (${cal.source})`] : []),
    ].join('\n'));
  },
};
