import { readFileSync } from 'node:fs';
import type { CommandSpec } from '../command.js';
import { optChoice, optNumber, optString, requireString } from '../command.js';
import { emitResult } from '../output.js';
import { ShapeError, UsageError } from '../../errors.js';

export const command: CommandSpec = {
  name: 'infer',
  summary: 'run one invoke of a model on JSON inputs',
  description: [
    'Loads the model into the fixed-arena interpreter, copies the inputs in, runs one invoke and prints',
    'the outputs. in.json is {"inputs": [[flat floats of input 0], [input 1], ...]} in signature order',
    '(row-major, [batch, features]); the answer is {"outputs": [[flat floats], ...]}.',
    '',
    'Example: kdp infer --model models/maze2d-umaze --input in.json --json',
  ].join('\n'),
  options: {
    model: { type: 'string', placeholder: '<dir|file.tflite>', description: 'model directory (model.tflite + manifest.json) or a .tflite file' },
    input: { type: 'string', placeholder: '<in.json>', description: 'inputs as {"inputs": [[...], ...]} ("-" = stdin)' },
    backend: { type: 'string', placeholder: 'auto|native|wasm|reference', default: 'auto', description: 'kernels: auto (KDP_KERNELS, else native where built for this CPU, else wasm), native C, WebAssembly SIMD or the plain TypeScript reference' },
    numerics: { type: 'string', placeholder: 'xnnpack|tflite', default: 'xnnpack', description: 'int8 rounding: XNNPACK (tfjs-tflite) or TFLite reference kernels' },
    batch: { type: 'string', placeholder: 'N', description: 'run with this batch (dim 0) instead of the exported one' },
  },
  async run(ctx) {
    const modelPath = requireString(ctx, 'model', 'e.g. --model models/maze2d-umaze');
    const inputPath = requireString(ctx, 'input', 'e.g. --input in.json');
    const choice = optChoice(ctx, 'backend', ['auto', 'native', 'wasm', 'reference'] as const, 'auto');
    const numerics = optChoice(ctx, 'numerics', ['xnnpack', 'tflite'] as const, 'xnnpack');
    const batch = optString(ctx, 'batch') === undefined ? undefined : optNumber(ctx, 'batch', 1, { int: true, min: 1, max: 65536 });
    const { loadModelPath } = await import('../../planner/model-loader.js');
    const { Interpreter } = await import('../../planner/runtime/interpreter.js');
    const files = loadModelPath(modelPath);
    let doc: unknown;
    try {
      doc = JSON.parse(readFileSync(inputPath === '-' ? 0 : inputPath, 'utf8'));
    } catch (e) {
      throw new UsageError(`${inputPath}: cannot read JSON (${(e as Error).message})`, 'expected {"inputs": [[...], ...]}');
    }
    const inputs = (doc as { inputs?: unknown }).inputs;
    if (!Array.isArray(inputs) || !inputs.every((x) => Array.isArray(x) && x.every((v) => typeof v === 'number'))) {
      throw new UsageError(`${inputPath}: "inputs" must be an array of number arrays`, 'expected {"inputs": [[flat floats of input 0], ...]}');
    }
    const it = Interpreter.fromBytes(files.bytes, { ...(choice === 'auto' ? {} : { backend: choice }), numerics, ...(batch === undefined ? {} : { batch }) });
    const backend = it.backend;
    if (inputs.length !== it.inputCount) {
      throw new ShapeError('inputs', `${it.inputCount} arrays (${Array.from({ length: it.inputCount }, (_, i) => it.inputInfo(i).name).join(', ')})`, inputs.length);
    }
    it.allocate();
    (inputs as number[][]).forEach((x, i) => it.setInput(i, x));
    const t0 = performance.now();
    it.invoke();
    const us = (performance.now() - t0) * 1000;
    const outputs = Array.from({ length: it.outputCount }, (_, i) => Array.from(it.outputView(i)));
    emitResult(ctx, { outputs }, () => [
      ...outputs.map((o, i) => {
        const info = it.outputInfo(i);
        const head = o.slice(0, 8).map((v) => v.toFixed(5)).join(', ');
        return `${info.name} [${info.shape.join(',')}]: ${head}${o.length > 8 ? `, … (${o.length} values)` : ''}`;
      }),
      `(${backend}, ${it.numerics} numerics, arena ${it.arenaBytes} bytes, invoke ${us.toFixed(1)} µs cold)`,
    ].join('\n'));
  },
};
