/**
 * Model-file fuzzing for the interpreter's load/allocate/invoke contract (issue 3 §3): every mutated
 * or truncated .tflite must either load and run, or be refused with a typed KdpError — never another
 * exception, a WASM trap, a hang or an out-of-bounds read. Used by test/planner/runtime-fuzz.test.ts
 * (a few hundred cases in `npm test`) and test/soak/fuzz-tflite.test.ts (10,000 cases).
 */
import { isKdpError } from '../../errors.js';
import { Interpreter, type Backend } from './interpreter.js';

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

/** xorshift32: deterministic, allocation-free */
export class FuzzRng {
  private s: number;
  constructor(seed: number) { this.s = seed >>> 0 || 1; }
  u32(): number { let s = this.s; s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; this.s = s; return s; }
  int(n: number): number { return this.u32() % Math.max(1, n); }
}

const INTERESTING = [0, 1, 2, 3, 4, 7, 8, 16, 127, 128, 255, 256, 0x7fff, 0xffff, 0x7fffffff, 0x80000000, 0xffffffff, 0xfffffffe, 65536];

/** One mutation of `seed`: byte flips, interesting 32-bit words, truncation, splices. */
export function mutate(seed: Uint8Array, rng: FuzzRng): { bytes: Uint8Array; mutation: string } {
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
      for (let i = 0; i < k; i++) { const p = rng.int(b.length); b[p] = rng.u32() & 0xff; at.push(p); }
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
  const rng = new FuzzRng(opts.seed ?? 0xc0ffee);
  const backends = opts.backends ?? ['wasm', 'reference'];
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
