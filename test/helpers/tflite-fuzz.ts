/**
 * Model-file fuzzing for the interpreter's load/allocate/invoke contract: every mutated
 * or truncated .tflite must either load and run, or be refused with a typed KdpError — never another
 * exception, a WASM trap, a hang or an out-of-bounds read. Used by test/planner/runtime-fuzz.test.ts
 * (a few hundred cases in `npm test`) and test/soak/fuzz-tflite.test.ts (10,000 cases).
 */
import { isKdpError } from '../../src/errors.js';
import { Rng } from '../../src/util/rng.js';
import { Interpreter, type Backend } from '../../src/planner/runtime/interpreter.js';
import { nativeStatus } from '../../src/planner/runtime/native-kernels.js';

export interface FuzzOutcome {
  cases: number;
  ran: number;
  rejected: Record<string, number>;
  /** non-KdpError exceptions: the failures */
  crashes: Array<{ index: number; mutation: string; error: string }>;
  /** slowest case (ms) */
  slowestMs: number;
  slowestMutation: string;
}


const INTERESTING = [0, 1, 2, 3, 4, 7, 8, 16, 127, 128, 255, 256, 0x7fff, 0xffff, 0x7fffffff, 0x80000000, 0xffffffff, 0xfffffffe, 65536];

/** One mutation of `seed`: byte flips, interesting 32-bit words, truncation, splices. */
export function mutate(seed: Uint8Array, rng: Rng): { bytes: Uint8Array; mutation: string } {
  const kind = rng.int(6);
  const b = seed.slice();
  switch (kind) {
    case 0: { // truncate
      const n = rng.int(seed.length);
      return { bytes: b.subarray(0, n).slice(), mutation: `truncate@${n}` };
    }
    case 1: { // flip 1-8 random bytes
      const k = 1 + rng.int(8);
      const at: number[] = [];
      for (let i = 0; i < k; i++) { const p = rng.int(b.length); b[p] = rng.nextU32() & 0xff; at.push(p); }
      return { bytes: b, mutation: `bytes@${at.join(',')}` };
    }
    case 2: { // interesting 32-bit value at a random aligned offset (offsets, lengths, indices, shapes)
      const p = rng.int(b.length >> 2) << 2;
      const v = INTERESTING[rng.int(INTERESTING.length)]!;
      if (p + 4 <= b.length) new DataView(b.buffer).setUint32(p, v >>> 0, true);
      return { bytes: b, mutation: `u32@${p}=${v}` };
    }
    case 3: { // small delta on a 32-bit word (shape dims, tensor indices)
      const p = rng.int(b.length >> 2) << 2;
      const dv = new DataView(b.buffer);
      if (p + 4 <= b.length) dv.setInt32(p, dv.getInt32(p, true) + (rng.int(9) - 4), true);
      return { bytes: b, mutation: `delta@${p}` };
    }
    case 4: { // copy a chunk over another place
      const len = 1 + rng.int(32);
      const from = rng.int(b.length);
      const to = rng.int(b.length);
      b.copyWithin(to, from, Math.min(b.length, from + len));
      return { bytes: b, mutation: `splice ${from}->${to}+${len}` };
    }
    default: { // flip one bit in the first 256 bytes (header, vtables, root tables)
      const p = rng.int(Math.min(256, b.length));
      b[p]! ^= 1 << rng.int(8);
      return { bytes: b, mutation: `bit@${p}` };
    }
  }
}

/** Run `cases` mutations of the seeds through fromBytes → allocate → invoke. */
export function fuzzModels(seeds: readonly Uint8Array[], cases: number, opts: { seed?: number; backends?: Backend[]; arenaLimitBytes?: number } = {}): FuzzOutcome {
  const rng = new Rng(opts.seed ?? 0xc0ffee);
  // native too where it runs: its operands are bounds-checked at load, a bad one must be a typed error
  const backends = opts.backends ?? (nativeStatus().available ? ['native', 'wasm', 'reference'] : ['wasm', 'reference']);
  const out: FuzzOutcome = { cases, ran: 0, rejected: {}, crashes: [], slowestMs: 0, slowestMutation: '' };
  for (let c = 0; c < cases; c++) {
    const seed = seeds[c % seeds.length]!;
    const { bytes, mutation } = mutate(seed, rng);
    const backend = backends[c % backends.length]!;
    const t0 = performance.now();
    try {
      const it = Interpreter.fromBytes(bytes, { backend, arenaLimitBytes: opts.arenaLimitBytes ?? 64 * 1024 * 1024 }).allocate();
      for (let i = 0; i < it.inputCount; i++) {
        const v = it.inputView(i);
        for (let k = 0; k < v.length; k++) v[k] = ((k * 7919) % 13) / 3 - 2;
      }
      it.invoke();
      for (let i = 0; i < it.outputCount; i++) void it.outputView(i)[0];
      out.ran++;
    } catch (e) {
      if (isKdpError(e)) out.rejected[e.code] = (out.rejected[e.code] ?? 0) + 1;
      else out.crashes.push({ index: c, mutation: `${mutation} (${backend})`, error: e instanceof Error ? `${e.name}: ${e.message}` : String(e) });
    }
    const ms = performance.now() - t0;
    if (ms > out.slowestMs) { out.slowestMs = ms; out.slowestMutation = mutation; }
  }
  return out;
}

/**
 * Seeds that exercise every supported op (fp32 and int8 graphs with ADD + broadcast constant, MUL,
 * CONCATENATION, RESHAPE with a shape tensor, RELU6, RELU_N1_TO_1, TANH, LOGISTIC, QUANTIZE int8→int8,
 * DEQUANTIZE, FULLY_CONNECTED with keep_num_dims off), so mutations reach every prepare path.
 */
export async function opCoverageSeeds(): Promise<Uint8Array[]> {
  const { GraphBuilder, activationQParams } = await import('./graph-builder.js');
  const fp = new GraphBuilder();
  {
    const a = fp.input('a', [2, 6]);
    const b = fp.input('b', [2, 2]);
    const c = fp.constF32('c', [6], Float32Array.from([1, -1, 0.5, 0.25, 2, -2]));
    const s = fp.tensor('s', [2, 6]); fp.op('ADD', [a, c], [s], { act: 'relu6' });
    const m = fp.tensor('m', [2, 6]); fp.op('MUL', [s, a], [m]);
    const t = fp.tensor('t', [2, 6]); fp.op('TANH', [m], [t]);
    const cat = fp.tensor('cat', [2, 8]); fp.op('CONCATENATION', [t, b], [cat], { axis: 1 });
    const w = fp.constF32('w', [4, 8], Float32Array.from({ length: 32 }, (_, i) => Math.sin(i)));
    const f = fp.tensor('f', [2, 4]); fp.op('FULLY_CONNECTED', [cat, w], [f], { act: 'relu_n1_to_1' });
    const l = fp.tensor('l', [2, 4]); fp.op('LOGISTIC', [f], [l]);
    const r = fp.tensor('r', [4, 2]); fp.op('RESHAPE', [l, fp.constI32('shape', [2], Int32Array.from([4, 2]))], [r]);
    fp.output(r);
  }
  const q8 = new GraphBuilder();
  {
    const qa = activationQParams(-2, 2);
    const a = q8.input('a', [2, 8]);
    const x = q8.tensor('x', [2, 8], 'int8', qa); q8.op('QUANTIZE', [a], [x], { version: 2 });
    const c = q8.constI8('c', [8], Int8Array.from([1, -5, 20, 7, -100, 3, 0, 127]), activationQParams(-1, 1));
    const s = q8.tensor('s', [2, 8], 'int8', activationQParams(-3, 3)); q8.op('ADD', [x, c], [s], { act: 'relu', version: 2 });
    const m = q8.tensor('m', [2, 8], 'int8', activationQParams(-6, 6)); q8.op('MUL', [s, x], [m], { version: 2 });
    const w = q8.constI8('w', [8, 8], Int8Array.from({ length: 64 }, (_, i) => ((i * 37) % 255) - 127), { scale: 0.01, zeroPoint: 0 });
    const bias = q8.constI32('bias', [8], Int32Array.from({ length: 8 }, (_, i) => i * 100 - 300));
    const f = q8.tensor('f', [2, 8], 'int8', activationQParams(-4, 4)); q8.op('FULLY_CONNECTED', [m, w, bias], [f], { version: 4 });
    const t = q8.tensor('t', [2, 8], 'int8', { scale: 1 / 128, zeroPoint: 0 }); q8.op('TANH', [f], [t], { version: 2 });
    const g = q8.tensor('g', [2, 8], 'int8', { scale: 1 / 256, zeroPoint: -128 }); q8.op('LOGISTIC', [f], [g], { version: 2 });
    const rq = q8.tensor('rq', [2, 8], 'int8', { scale: 1 / 128, zeroPoint: 0 }); q8.op('QUANTIZE', [g], [rq], { version: 2 });
    const cat = q8.tensor('cat', [2, 16], 'int8', { scale: 1 / 128, zeroPoint: 0 }); q8.op('CONCATENATION', [t, rq], [cat], { axis: 1, version: 2 });
    const r6 = q8.tensor('r6', [2, 16], 'int8', { scale: 1 / 128, zeroPoint: 0 }); q8.op('RELU6', [cat], [r6], { version: 2 });
    const out = q8.tensor('out', [2, 16]); q8.op('DEQUANTIZE', [r6], [out], { version: 2 });
    q8.output(out);
  }
  // an exported MLP with 6-bit weights, so mutations also reach the relaxed-SIMD FC path
  const { randomMlp } = await import('./graph-builder.js');
  const { exportMlp } = await import('../../src/planner/export/mlp-graph.js');
  const w6 = exportMlp(randomMlp({ noiseDim: 8, condDim: 5, hidden: [24], outputDim: 11, activation: 'relu' }, 3),
    { quantization: 'int8', candidates: 3, weightBits: 6 }).bytes;
  // an attention block (BATCH_MATMUL adj_y, SOFTMAX, BATCH_MATMUL) in int8 and fp32
  const { attentionGraph } = await import('./attention-graph.js');
  const att = (['int8', 'fp32'] as const).map((quant) => attentionGraph({ batch: 2, tokens: 4, channels: 4, quant, seed: 9 }).bytes);
  return [fp.finish(), q8.finish(), w6, ...att];
}
