/**
 * The engines `kdp bench` can time on the same .tflite: our interpreter (`kdp`), TFLite + XNNPACK
 * in WASM via tfjs-tflite's synchronous model runner (`tfjs-tflite`), and onnxruntime-node on the
 * equivalent ONNX graph (`onnx`). Each exposes the same shape: float32 input views to fill, one
 * `run()` (sync, or async for ORT), output views.
 */
import { KdpError } from '../errors.js';
import { relaxedSimdStatus } from '../planner/runtime/relaxed-simd.js';
import { Interpreter, type Numerics } from '../planner/runtime/interpreter.js';
import { parseTflite } from '../planner/runtime/tflite-model.js';

export type BackendName = 'kdp' | 'tfjs-tflite' | 'onnx';
export const BACKENDS: readonly BackendName[] = ['kdp', 'tfjs-tflite', 'onnx'];

export interface Engine {
  name: BackendName;
  /** true → run() returns void; false → run() returns a Promise (onnxruntime-node) */
  sync: boolean;
  inputs: Float32Array[];
  outputs(): Float32Array[];
  run(): void | Promise<void>;
  /** bytes of the engine's fixed arena, when it has one */
  arenaBytes: number | null;
  /** what runs inside (kdp: its FC kernels), for the text report */
  detail?: string;
  /** kdp: which kernels run and why, the FULLY_CONNECTED kernels that ran (fc_i6 = relaxed SIMD) and the relaxed-SIMD probe */
  kernels?: KernelReport;
  close(): void;
}

export interface KernelReport {
  /** native | wasm | reference, the native variant (e.g. avx512vnni) and why that backend */
  backend: string;
  variant: string | null;
  why: string;
  fc: Record<string, number>;
  relaxedSimd: { available: boolean; detail: string };
}

export interface EngineOptions {
  candidates: number;
  numerics?: Numerics;
  /** onnx backend: 'fp32' (default) runs the float equivalent, 'int8' the QDQ graph (ORT's int8 kernels) */
  onnxQuant?: 'fp32' | 'int8';
}

export async function createEngine(name: BackendName, bytes: Uint8Array, opts: EngineOptions): Promise<Engine> {
  switch (name) {
    case 'kdp': {
      const it = Interpreter.fromBytes(bytes, { batch: opts.candidates, ...(opts.numerics ? { numerics: opts.numerics } : {}) }).allocate();
      const inputs = Array.from({ length: it.inputCount }, (_, i) => it.inputView(i));
      const outputs = Array.from({ length: it.outputCount }, (_, i) => it.outputView(i));
      const fc = it.kernelKinds.filter((k) => k.startsWith('fc_'));
      const counts = [...new Set(fc)].map((k) => `${k} ×${fc.filter((x) => x === k).length}`).join(', ');
      const relaxed = relaxedSimdStatus();
      const detail = [
        `Kernels: ${it.backend} — ${it.kernelsWhy}`,
        `FC kernels: ${counts}${fc.includes('fc_i6') ? ' (relaxed SIMD, 6-bit weights)' : ''}${it.backend === 'wasm' ? `; relaxed SIMD ${relaxed.available ? 'available' : `unavailable: ${relaxed.detail}`}` : ''}`,
      ].join('\n');
      const kernels: KernelReport = {
        backend: it.backend, variant: it.nativeVariant, why: it.kernelsWhy,
        fc: Object.fromEntries([...new Set(fc)].map((k) => [k, fc.filter((x) => x === k).length])), relaxedSimd: relaxed,
      };
      return { name, sync: true, inputs, outputs: () => outputs, run: () => it.invoke(), arenaBytes: it.arenaBytes, detail, kernels, close: () => undefined };
    }
    case 'tfjs-tflite': {
      // tfjs-tflite cannot resize the batch: it runs the file as exported
      const g = parseTflite(bytes);
      const batch = g.tensors[g.inputs[0]!]!.shape[0];
      if (batch !== opts.candidates) {
        throw new KdpError('E_USAGE', `tfjs-tflite runs the model at its exported batch (${batch}); --candidates ${opts.candidates} differs`,
          { hint: `export with --candidates ${opts.candidates}, or bench with --candidates ${batch}` });
      }
      const { loadTfliteOracle } = await import('../planner/tflite/tfjs-tflite-runner.js');
      const o = await loadTfliteOracle(bytes);
      const inputs = o.inputs;
      return { name, sync: true, inputs, outputs: () => o.outputs, run: () => o.invoke(), arenaBytes: null, close: () => o.close() };
    }
    case 'onnx': {
      const { tfliteToOnnx } = await import('./onnx-writer.js');
      const g = parseTflite(bytes);
      const onnx = tfliteToOnnx(g, opts.candidates, { quant: opts.onnxQuant ?? 'fp32' });
      const ort = await import('onnxruntime-node');
      const session = await ort.InferenceSession.create(onnx, {
        intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all',
      });
      const withBatch = (s: number[]): number[] => [opts.candidates, ...s.slice(1)];
      const inputs = g.inputs.map((t) => new Float32Array(withBatch(g.tensors[t]!.shape).reduce((a, d) => a * d, 1)));
      const feeds: Record<string, InstanceType<typeof ort.Tensor>> = {};
      g.inputs.forEach((t, i) => { feeds[`t${t}`] = new ort.Tensor('float32', inputs[i]!, withBatch(g.tensors[t]!.shape)); });
      const outputs = g.outputs.map((t) => new Float32Array(withBatch(g.tensors[t]!.shape).reduce((a, d) => a * d, 1)));
      const fetches: Record<string, InstanceType<typeof ort.Tensor>> = {};
      g.outputs.forEach((t, i) => { fetches[`t${t}`] = new ort.Tensor('float32', outputs[i]!, withBatch(g.tensors[t]!.shape)); });
      return {
        name, sync: false, inputs, outputs: () => outputs,
        run: async () => { await session.run(feeds, fetches); },
        arenaBytes: null,
        detail: `ONNX graph: ${opts.onnxQuant === 'int8' ? 'int8 QDQ (ORT integer kernels)' : 'fp32 equivalent'}`,
        close: () => { void session.release(); },
      };
    }
  }
}
