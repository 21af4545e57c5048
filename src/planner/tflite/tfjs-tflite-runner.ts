/**
 * A real TFLite (TFLite + XNNPACK compiled to WASM, `@tensorflow/tfjs-tflite@0.0.1-alpha.10`) running
 * in Node: the oracle for tests and the `--backend tfjs-tflite` of `kdp bench`.
 *
 * The package only targets browsers. A small shim makes it load in Node (installed only while a model
 * is being loaded, then removed again so other code never sees a fake `window`):
 *   - `window = globalThis`, `window.location = {origin:'', href:''}` (its loader's web branch);
 *   - a fake `document` whose `createElement('script')` evaluates the emscripten glue with
 *     `vm.runInThisContext` when `src` is set, then fires `onload`;
 *   - the glue's module factory is wrapped to inject `wasmBinary` read with `fs` (no fetch);
 *   - `SharedArrayBuffer` is hidden, so feature detection picks the non-threaded SIMD build
 *     (`tflite_web_api_cc_simd.{js,wasm}`); `numThreads: 1` avoids touching `navigator`.
 *
 * Inference uses the synchronous model runner: `getInputs()[i].data()` / `getOutputs()[i].data()`
 * are typed-array views into the WASM heap; `set()` → `infer()` → read, with zero allocation.
 * The views are re-fetched if the heap grew (a detached view has length 0).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import vm from 'node:vm';
import { ModelError } from '../../errors.js';

export interface TfliteOracle {
  /** input/output tensor names and shapes as TFLite reports them (subgraph order) */
  readonly inputNames: string[];
  readonly outputNames: string[];
  /** zero-copy views into the WASM heap: write inputs here, call invoke(), read outputs */
  readonly inputs: Float32Array[];
  readonly outputs: Float32Array[];
  /** run once on the current contents of `inputs` (sync, allocation-free) */
  invoke(): void;
  /** copy `inputs` in, invoke, return copies of the outputs */
  infer(inputs: Float32Array[]): Float32Array[];
  close(): void;
}

interface RunnerTensorInfo { id: number; name: string; dataType: string; shape: string; data(): Float32Array | Int32Array | Uint8Array | Int8Array }
interface WebModelRunner {
  getInputs(): RunnerTensorInfo[];
  getOutputs(): RunnerTensorInfo[];
  infer(): boolean;
  cleanUp(): void;
}
interface TfliteModule {
  setWasmPath(path: string): void;
  loadTFLiteModel(model: ArrayBuffer, options?: { numThreads?: number; enableProfiling?: boolean }): Promise<{ modelRunner: WebModelRunner }>;
}

const require = createRequire(import.meta.url);
let modulePromise: Promise<{ mod: TfliteModule; wasmDir: string }> | undefined;
let loadChain: Promise<unknown> = Promise.resolve();

function wasmDirectory(): string {
  const pkg = require.resolve('@tensorflow/tfjs-tflite/package.json');
  return join(dirname(pkg), 'wasm') + '/';
}

/** Install the browser shim, run `fn`, restore the globals. Loads are serialized. */
async function withShim<T>(wasmDir: string, fn: () => Promise<T>): Promise<T> {
  const g = globalThis as Record<string, unknown>;
  const saved = {
    window: g.window, document: g.document, location: g.location, SharedArrayBuffer: g.SharedArrayBuffer,
    hadWindow: 'window' in g, hadDocument: 'document' in g, hadLocation: 'location' in g,
  };
  const head = { appendChild: (): void => {}, removeChild: (): void => {} };
  g.window = globalThis;
  if (!saved.hadLocation) g.location = { origin: '', href: '' };
  g.document = {
    currentScript: null,
    head,
    createElement(tag: string) {
      if (tag !== 'script') throw new Error(`tfjs-tflite shim: unexpected createElement(${tag})`);
      const el: { onload?: () => void; onerror?: (e: unknown) => void; setAttribute(k: string, v: string): void } = {
        setAttribute(k: string, v: string) {
          if (k !== 'src') return;
          try {
            const file = v.startsWith('file://') ? new URL(v).pathname : v;
            vm.runInThisContext(readFileSync(file, 'utf8'), { filename: file });
            const factoryName = 'tflite_web_api_ModuleFactory';
            const factory = g[factoryName] as (opts: Record<string, unknown>) => unknown;
            const wasmFile = file.replace(/\.js$/, '.wasm');
            g[factoryName] = (opts: Record<string, unknown>) => factory({ ...opts, wasmBinary: readFileSync(wasmFile) });
            queueMicrotask(() => el.onload?.());
          } catch (e) {
            queueMicrotask(() => el.onerror?.(e));
          }
        },
      };
      return el;
    },
  };
  delete g.SharedArrayBuffer;
  try {
    return await fn();
  } finally {
    g.SharedArrayBuffer = saved.SharedArrayBuffer;
    if (saved.hadWindow) g.window = saved.window; else delete g.window;
    if (saved.hadDocument) g.document = saved.document; else delete g.document;
    if (!saved.hadLocation) delete g.location;
    void wasmDir;
  }
}

async function loadModule(): Promise<{ mod: TfliteModule; wasmDir: string }> {
  modulePromise ??= (async () => {
    const wasmDir = wasmDirectory();
    const mod = require('@tensorflow/tfjs-tflite') as TfliteModule;
    mod.setWasmPath(wasmDir);
    return { mod, wasmDir };
  })();
  return modulePromise;
}

/**
 * Load a .tflite into tfjs-tflite's WASM TFLite. Float32 boundary tensors only (our exported models).
 * Throws ModelError('E_MODEL_IO') if TFLite refuses the model (its message is included).
 */
export async function loadTfliteOracle(bytes: Uint8Array): Promise<TfliteOracle> {
  const { mod, wasmDir } = await loadModule();
  const run = loadChain.then(() => withShim(wasmDir, async () => {
    const ab = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
    const quiet = muteConsole();
    try {
      return await mod.loadTFLiteModel(ab, { numThreads: 1 });
    } catch (e) {
      throw new ModelError('E_MODEL_IO', `tfjs-tflite refused the model: ${(e as Error)?.message ?? String(e)}`, { cause: e });
    } finally {
      quiet();
    }
  }));
  loadChain = run.catch(() => undefined);
  const model = await run;
  return makeOracle(model.modelRunner);
}

/** tfjs-tflite prints "Created TensorFlow Lite XNNPACK delegate for CPU." on every load. */
function muteConsole(): () => void {
  const orig = { log: console.log, info: console.info, warn: console.warn };
  const drop = (...args: unknown[]): void => {
    const s = args.map(String).join(' ');
    if (/XNNPACK|TensorFlow Lite/i.test(s)) return;
    orig.warn(...args);
  };
  console.log = drop; console.info = drop; console.warn = drop;
  return () => { console.log = orig.log; console.info = orig.info; console.warn = orig.warn; };
}

function makeOracle(runner: WebModelRunner): TfliteOracle {
  const inInfo = runner.getInputs();
  const outInfo = runner.getOutputs();
  for (const t of [...inInfo, ...outInfo]) {
    if (t.dataType !== 'float32') throw new ModelError('E_MODEL_IO', `tfjs-tflite oracle supports float32 boundary tensors only; "${t.name}" is ${t.dataType}`);
  }
  const views = (infos: RunnerTensorInfo[]): Float32Array[] => infos.map((t) => t.data() as Float32Array);
  let inputs = views(inInfo);
  let outputs = views(outInfo);
  let closed = false;
  const refresh = (): void => {
    if (inputs.some((v, i) => v.length === 0 && (inInfo[i]!.shape !== '' && inInfo[i]!.shape !== '0'))) inputs = views(runner.getInputs());
    if (outputs.some((v) => v.length === 0)) outputs = views(runner.getOutputs());
  };
  const oracle: TfliteOracle = {
    inputNames: inInfo.map((t) => t.name),
    outputNames: outInfo.map((t) => t.name),
    get inputs() { refresh(); return inputs; },
    get outputs() { refresh(); return outputs; },
    invoke() {
      if (closed) throw new ModelError('E_MODEL_IO', 'tfjs-tflite oracle is closed');
      if (!runner.infer()) throw new ModelError('E_MODEL_IO', 'tfjs-tflite infer() failed');
    },
    infer(data: Float32Array[]) {
      refresh();
      if (data.length !== inputs.length) throw new ModelError('E_MODEL_IO', `expected ${inputs.length} inputs, got ${data.length}`);
      data.forEach((d, i) => {
        const v = inputs[i]!;
        if (d.length !== v.length) throw new ModelError('E_MODEL_IO', `input ${i} "${inInfo[i]!.name}": expected ${v.length} floats, got ${d.length}`);
        v.set(d);
      });
      oracle.invoke();
      refresh();
      return outputs.map((o) => o.slice());
    },
    close() {
      if (closed) return;
      closed = true;
      runner.cleanUp();
    },
  };
  return oracle;
}
