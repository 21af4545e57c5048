import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import type { CommandSpec } from '../command.js';
import { optChoice, optFlag, optNumber, optString, requireString } from '../command.js';
import { emitResult, say } from '../output.js';
import { KdpError, UsageError } from '../../errors.js';

const BACKEND_CHOICES = ['kdp', 'tfjs-tflite', 'onnx'] as const;

function findTaskset(): string | null {
  for (const p of ['/usr/bin/taskset', '/bin/taskset', '/usr/local/bin/taskset']) if (existsSync(p)) return p;
  return null;
}

export const command: CommandSpec = {
  name: 'bench',
  summary: 'per-step latency benchmark (benchmark_model style)',
  description: [
    'Times one forward pass of a model (all candidates in one invoke) like TFLite\'s benchmark_model:',
    'init, first inference, warm-up, count/min/max/avg/std, plus p50/p99/p99.9, arena bytes, RSS,',
    'GC events and heap growth (over an untimed pass of the same count) and deadline misses at --rate.',
    '',
    '  --backend kdp          this runtime (fixed arena; native FC kernels where built, else WASM SIMD;',
    '                         KDP_KERNELS=native|wasm|reference forces one; the report says which ran and why)',
    '  --backend tfjs-tflite  TFLite + XNNPACK in WASM (synchronous model runner), same .tflite',
    '  --backend onnx         onnxruntime-node (1 thread) on the equivalent float ONNX graph',
    '  --onnx-quant int8      with onnx: the int8 QDQ graph (ORT\'s integer kernels) instead of the float one;',
    '                         with --vs onnx both ORT graphs run interleaved (JSON: onnx = int8, onnxFp32)',
    '  --vs BACKEND           run kdp and BACKEND interleaved in one process and print the ratio',
    '  --cpus N               re-run pinned to N cores with taskset (see docs/runtime.md for slow-core emulation)',
    '  --cpu-quota PCT        re-run in a cgroup that gets PCT % of one core (a core shared with other work)',
    '  --board PROFILE        add the latency model\'s estimate for that board (MACs / assumed MAC per cycle × clock)',
    '',
    'Results carry the platform: CPU, SIMD features, engine, cores, clock cap, the FC kernels that ran, and',
    'whether the process is emulated (qemu-user): an emulated run reports no timings (null in --json).',
    '',
    'Example: kdp bench --model models/maze2d-umaze --candidates 64 --vs tfjs-tflite --json',
  ].join('\n'),
  options: {
    model: { type: 'string', placeholder: '<dir|file.tflite>', description: 'model directory (model.tflite + manifest.json) or a .tflite file' },
    candidates: { type: 'string', placeholder: 'N', description: 'batch (candidate plans per invoke); default: the model\'s exported batch' },
    iterations: { type: 'string', placeholder: 'N', default: '10000', description: 'timed iterations' },
    warmup: { type: 'string', placeholder: 'N', default: '500', description: 'warm-up iterations (not timed into the statistics)' },
    rate: { type: 'string', placeholder: 'HZ', default: '500', description: 'control rate: an iteration longer than 1/rate is a deadline miss' },
    paced: { type: 'boolean', description: 'pace the timed loop at --rate (spin-wait to each slot) instead of back-to-back' },
    backend: { type: 'string', placeholder: 'kdp|tfjs-tflite|onnx', default: 'kdp', description: 'engine to time' },
    vs: { type: 'string', placeholder: 'BACKEND', description: 'also run BACKEND, interleaved with kdp, and report the ratio' },
    'onnx-quant': { type: 'string', placeholder: 'fp32|int8', default: 'fp32', description: 'onnx backend: float equivalent (fp32) or the int8 QDQ graph run by ORT\'s integer kernels' },
    numerics: { type: 'string', placeholder: 'xnnpack|tflite', default: 'xnnpack', description: 'kdp int8 rounding mode' },
    cpus: { type: 'string', placeholder: 'N', description: 'pin the benchmark to the first N cores (taskset)' },
    board: { type: 'string', placeholder: '<profile>', description: 'also print the latency model\'s ESTIMATE for a board profile (rpi4, rpi5, jetson-orin-nano, x86-dev) with its inputs' },
    'cpu-quota': { type: 'string', placeholder: 'PCT', description: 'run in a cgroup limited to PCT % of one core per 100 ms (CFS quota; needs root or a delegated cgroup)' },
  },
  async run(ctx) {
    const modelPath = requireString(ctx, 'model', 'e.g. --model models/maze2d-umaze');
    const iterations = optNumber(ctx, 'iterations', 10000, { int: true, min: 1, max: 10_000_000 });
    const warmup = optNumber(ctx, 'warmup', 500, { int: true, min: 0, max: 10_000_000 });
    const rate = optNumber(ctx, 'rate', 500, { min: 0.001, max: 1e7 });
    const backend = optChoice(ctx, 'backend', BACKEND_CHOICES, 'kdp');
    const vsRaw = optString(ctx, 'vs');
    const vs = vsRaw === undefined ? undefined : optChoice(ctx, 'vs', BACKEND_CHOICES, 'tfjs-tflite');
    const numerics = optChoice(ctx, 'numerics', ['xnnpack', 'tflite'] as const, 'xnnpack');
    const onnxQuant = optChoice(ctx, 'onnx-quant', ['fp32', 'int8'] as const, 'fp32');
    const cpusRaw = optString(ctx, 'cpus');

    const quotaRaw = optString(ctx, 'cpu-quota');
    if ((cpusRaw !== undefined || quotaRaw !== undefined) && process.env.KDP_BENCH_PINNED !== '1') {
      // re-run this command constrained: pinned with taskset and/or inside a CPU-quota cgroup
      let argv = [process.execPath, ...process.execArgv, ...process.argv.slice(1)];
      const env: NodeJS.ProcessEnv = { ...process.env, KDP_BENCH_PINNED: '1' };
      if (cpusRaw !== undefined) {
        const cpus = optNumber(ctx, 'cpus', 1, { int: true, min: 1, max: 1024 });
        if (cpus > availableParallelism()) throw new UsageError(`--cpus ${cpus}: this machine has ${availableParallelism()} CPUs`);
        const taskset = findTaskset();
        if (!taskset) {
          throw new KdpError('E_NO_TASKSET', '--cpus needs `taskset` (util-linux) to pin the benchmark, and it is not installed',
            { hint: 'apt-get install util-linux, or run without --cpus; docs/runtime.md shows cgroup-quota emulation of a slower core' });
        }
        argv = [taskset, '-c', cpus === 1 ? '0' : `0-${cpus - 1}`, ...argv];
      }
      if (quotaRaw !== undefined) {
        const pct = optNumber(ctx, 'cpu-quota', 100, { min: 1, max: 100 * availableParallelism() });
        env.KDP_BENCH_CPU_QUOTA = String(pct);
        const { runUnderCpuQuota } = await import('../../bench/cpu-quota.js');
        return runUnderCpuQuota(pct, argv, env);
      }
      const r = spawnSync(argv[0]!, argv.slice(1), { stdio: 'inherit', env });
      if (r.error) throw new KdpError('E_NO_TASKSET', `taskset failed: ${r.error.message}`);
      return r.status ?? 1;
    }

    const { loadModelPath } = await import('../../planner/model-loader.js');
    const { parseTflite } = await import('../../planner/runtime/tflite-model.js');
    const { createEngine } = await import('../../bench/engines.js');
    const { runSingle, runInterleaved, runInterleavedAll, jsonFields } = await import('../../bench/runner.js');
    const { renderResult, renderRatio } = await import('../../bench/report.js');

    const files = loadModelPath(modelPath);
    const g = parseTflite(files.bytes);
    const exported = g.tensors[g.inputs[0]!]!.shape[0] ?? 1;
    const candidates = optString(ctx, 'candidates') === undefined ? exported : optNumber(ctx, 'candidates', exported, { int: true, min: 1, max: 65536 });
    const opts = { iterations, warmup, rate, paced: optFlag(ctx, 'paced') };
    const make = async (name: (typeof BACKEND_CHOICES)[number], quant = onnxQuant): Promise<{ e: Awaited<ReturnType<typeof createEngine>>; initMs: number }> => {
      const t0 = performance.now();
      const e = await createEngine(name, files.bytes, { candidates, numerics, onnxQuant: quant });
      return { e, initMs: performance.now() - t0 };
    };
    const model = { path: files.tflitePath, bytes: files.bytes.length };

    if (vs !== undefined) {
      const a = backend === vs ? 'kdp' : backend;
      if (a === vs) throw new UsageError('--vs names the same backend as --backend');
      const ea = await make(a);
      const eb = await make(vs);
      if (vs === 'onnx' && onnxQuant === 'int8') {
        // both ORT graphs, interleaved with kdp: its integer kernels and its float path
        const ec = await make('onnx', 'fp32');
        say(ctx, `benchmarking ${a}, onnx int8 and onnx fp32 interleaved: ${iterations} iterations each, candidates=${candidates}`);
        const [ra, rb, rc] = await runInterleavedAll([ea.e, eb.e, ec.e], candidates, [ea.initMs, eb.initMs, ec.initMs], opts);
        ea.e.close(); eb.e.close(); ec.e.close();
        emitResult(ctx, { [a]: jsonFields(ra!), onnx: jsonFields(rb!), onnxFp32: jsonFields(rc!), ratioP50: ra!.p50Us / rb!.p50Us, ratioP50OnnxFp32: ra!.p50Us / rc!.p50Us },
          () => [renderResult(ra!, model), '', renderResult(rb!, model), '', renderResult(rc!, model),
            renderRatio(ra!, rb!, 'onnx int8'), renderRatio(ra!, rc!, 'onnx fp32')].join('\n'));
        return;
      }
      say(ctx, `benchmarking ${a} and ${vs} interleaved: ${iterations} iterations each, candidates=${candidates}`);
      const [ra, rb] = await runInterleaved(ea.e, eb.e, candidates, [ea.initMs, eb.initMs], opts);
      ea.e.close(); eb.e.close();
      emitResult(ctx, { [a]: jsonFields(ra), [vs]: jsonFields(rb), ratioP50: ra.platform.emulated ? null : ra.p50Us / rb.p50Us },
        () => [renderResult(ra, model), '', renderResult(rb, model), renderRatio(ra, rb)].join('\n'));
      return;
    }
    const boardName = optString(ctx, 'board');
    let estimate: import('../../bench/latency-model.js').LatencyEstimate | undefined;
    if (boardName !== undefined) {
      const { BOARD_RATES, estimateLatency, planCost } = await import('../../bench/latency-model.js');
      if (!BOARD_RATES[boardName]) throw new UsageError(`--board ${boardName}: no latency model for it`, `use one of: ${Object.keys(BOARD_RATES).join(', ')}`);
      const { Interpreter } = await import('../../planner/runtime/interpreter.js');
      // the rates are per WASM kernel (relaxed SIMD or not): the native kernels' per-board rates are not modelled yet
      const kinds = Interpreter.fromGraph(g, { batch: candidates, numerics, backend: 'wasm' }).kernelKinds.filter((k) => k.startsWith('fc_'));
      estimate = estimateLatency(planCost(g, candidates, kinds), boardName);
    }
    const ea = await make(backend);
    const r = await runSingle(ea.e, candidates, ea.initMs, opts);
    ea.e.close();
    const { estimateLine } = await import('../../bench/latency-model.js');
    emitResult(ctx, { ...jsonFields(r), ...(estimate ? { estimate } : {}) },
      () => [renderResult(r, model), ...(estimate ? [estimateLine(estimate)] : [])].join('\n'));
  },
};
