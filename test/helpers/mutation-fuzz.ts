/**
 * Mutation campaigns over untrusted inputs (LeRobot parquet episodes, D4RL HDF5 files, model manifests):
 * each case must end in a value or a typed KdpError — never another exception, never longer than the
 * per-case bound; the process RSS is sampled throughout. Shared by the small `npm test` versions and the
 * 10,000-case `npm run soak` campaigns.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadLeRobot, writeLeRobot } from '../../src/data/lerobot.js';
import { hdf5ReaderPeakRssMb, loadD4rlHdf5 } from '../../src/data/d4rl-hdf5.js';
import { parquetDecoderPeakRssMb } from '../../src/data/parquet-decode.js';
import type { TrajectoryDataset } from '../../src/data/dataset.js';
import { loadModelDir } from '../../src/planner/model-loader.js';
import { KdpError } from '../../src/errors.js';

export interface CampaignResult {
  cases: number;
  ok: number;
  typed: number;
  /** non-KdpError exceptions: message of the first few */
  crashes: string[];
  /** cases over the per-case bound */
  slow: number;
  maxCaseMs: number;
  maxRssMb: number;
  /** the largest RSS of the decoding child processes (parquet, HDF5), MB; 0 where none is used */
  childRssMb: number;
  codes: Record<string, number>;
}

export class Mutator {
  private s: number;
  constructor(seed: number) { this.s = seed >>> 0 || 1; }
  u32(): number { let s = this.s; s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; this.s = s; return s; }
  int(n: number): number { return this.u32() % Math.max(1, n); }
  /** one to four structural or byte-level mutations */
  bytes(base: Uint8Array): Uint8Array {
    let b: Uint8Array = new Uint8Array(base);
    const k = 1 + this.int(4);
    for (let i = 0; i < k; i++) {
      const at = this.int(b.length);
      switch (this.int(7)) {
        case 0: b[at] = b[at]! ^ (1 << this.int(8)); break;
        case 1: b[at] = [0, 0xff, 0x7f, 0x80, 1][this.int(5)]!; break;
        case 2: { const v = [0xffffffff, 0x7fffffff, 0x80000000, 0x10000000, 0][this.int(5)]!; if (at + 4 <= b.length) new DataView(b.buffer).setUint32(at, v, true); break; }
        case 3: b = b.subarray(0, at); break;
        case 4: { const len = 1 + this.int(64); const ins = new Uint8Array(len).map(() => this.int(256)); const n = new Uint8Array(b.length + len); n.set(b.subarray(0, at)); n.set(ins, at); n.set(b.subarray(at), at + len); b = n; break; }
        case 5: { const from = this.int(b.length), len = Math.min(1 + this.int(256), b.length - from); b.copyWithin(at, from, from + len); break; }
        default: { const v = this.int(256); b.fill(v, at, Math.min(b.length, at + 1 + this.int(16))); }
      }
      if (b.length === 0) break;
    }
    return b;
  }
}

async function campaign(n: number, boundMs: number, run: (i: number) => Promise<unknown>, childRssMb: () => number = () => 0): Promise<CampaignResult> {
  const r: CampaignResult = { cases: 0, ok: 0, typed: 0, crashes: [], slow: 0, maxCaseMs: 0, maxRssMb: 0, childRssMb: 0, codes: {} };
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    try {
      await run(i);
      r.ok++;
    } catch (e) {
      if (e instanceof KdpError) { r.typed++; r.codes[e.code] = (r.codes[e.code] ?? 0) + 1; } else if (r.crashes.length < 5) r.crashes.push(`case ${i}: ${(e as Error)?.stack ?? String(e)}`); else r.crashes.push('…');
    }
    const ms = performance.now() - t0;
    if (ms > r.maxCaseMs) r.maxCaseMs = ms;
    if (ms > boundMs) r.slow++;
    if (i % 25 === 0) r.maxRssMb = Math.max(r.maxRssMb, process.memoryUsage.rss() / 2 ** 20);
    r.cases++;
  }
  r.maxRssMb = Math.round(Math.max(r.maxRssMb, process.memoryUsage.rss() / 2 ** 20));
  r.maxCaseMs = Math.round(r.maxCaseMs);
  r.childRssMb = childRssMb();
  return r;
}

function sampleDataset(): TrajectoryDataset {
  const len = 40;
  return {
    source: 'mem', format: 'memory', stateDim: 4, actionDim: 2, goalDim: 2, length: 2 * len,
    observations: Float32Array.from({ length: 2 * len * 4 }, (_, i) => Math.sin(i)), actions: Float32Array.from({ length: 2 * len * 2 }, (_, i) => Math.cos(i)),
    goals: Float32Array.from({ length: 2 * len * 2 }, (_, i) => i % 3), episodeEnds: Int32Array.from([len, 2 * len]),
  };
}

/** Episode 0 of a small LeRobot folder replaced by mutated bytes of itself, loaded with loadLeRobot. */
export async function parquetCampaign(n: number, seed: number, decodeTimeoutMs = 5_000): Promise<CampaignResult> {
  const boundMs = decodeTimeoutMs + 5_000;
  const dir = mkdtempSync(join(tmpdir(), 'kdp-pqfuzz-'));
  await writeLeRobot(dir, sampleDataset(), { fps: 30 });
  const ep = join(dir, 'data', 'chunk-000', 'episode_000000.parquet');
  const base = new Uint8Array(readFileSync(ep));
  const m = new Mutator(seed);
  return campaign(n, boundMs, async () => {
    writeFileSync(ep, m.bytes(base));
    await loadLeRobot(dir, { parquet: { timeoutMs: decodeTimeoutMs, maxHeapMb: 256 } });
  }, parquetDecoderPeakRssMb);
}

/**
 * A small D4RL HDF5 file (`kdp dataset maze2d`, 120 steps, no gzip), mutated byte-wise, loaded with loadD4rlHdf5.
 * The base file is written by the CLI in a child process: writing HDF5 in this process would load the HDF5
 * library through the TypeScript loader (~700 MB RSS) and hide what reading costs.
 */
export async function hdf5Campaign(n: number, seed: number, boundMs = 10_000): Promise<CampaignResult> {
  const dir = mkdtempSync(join(tmpdir(), 'kdp-h5fuzz-'));
  const src = join(dir, 'base.hdf5');
  execFileSync(process.execPath, ['dist/cli/bin.mjs', 'dataset', 'maze2d', '--maze', 'umaze', '--steps', '120', '--seed', '1', '--gzip', '0', '--out', src], { stdio: 'ignore' });
  const base = new Uint8Array(readFileSync(src));
  const m = new Mutator(seed);
  // a file of its own per case: a file that failed once is re-read by a fresh reader process (a cost
  // worth paying for a user's re-read, not 10,000 times); every 50th case re-uses one path to cover that.
  try {
    return await campaign(n, boundMs, async (i) => {
      const file = join(dir, i % 50 === 0 ? 'same.hdf5' : `case-${i}.hdf5`);
      writeFileSync(file, m.bytes(base));
      await loadD4rlHdf5(file, { limits: { timeoutMs: boundMs / 2 } });
    }, hdf5ReaderPeakRssMb);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The shipped umaze model with its manifest mutated (JSON-level edits and raw bytes), loaded with loadModelDir. */
export async function manifestCampaign(n: number, seed: number, boundMs = 5_000): Promise<CampaignResult> {
  const dir = mkdtempSync(join(tmpdir(), 'kdp-mffuzz-'));
  const model = join(dir, 'm');
  mkdirSync(model);
  cpSync('models/maze2d-umaze', model, { recursive: true });
  const text = readFileSync(join(model, 'manifest.json'), 'utf8');
  const base = JSON.parse(text) as Record<string, unknown>;
  const m = new Mutator(seed);
  const odd = [null, 0, -1, 1e308, -0, '', '../x', '/dev/zero', [], {}, true, 'model.tflite', 2 ** 53, 0.5, 'x'.repeat(300)];
  const paths: string[][] = [];
  const walk = (v: unknown, p: string[]): void => {
    paths.push(p);
    if (v && typeof v === 'object') for (const [k, c] of Object.entries(v)) if (paths.length < 4000) walk(c, [...p, k]);
  };
  walk(base, []);
  return campaign(n, boundMs, async (i) => {
    let out: string | Uint8Array;
    if (i % 3 === 0) out = m.bytes(new TextEncoder().encode(text));
    else {
      const doc = JSON.parse(text) as Record<string, unknown>;
      const edits = 1 + m.int(3);
      for (let e = 0; e < edits; e++) {
        const p = paths[1 + m.int(paths.length - 1)]!;
        let parent: Record<string, unknown> = doc;
        for (const k of p.slice(0, -1)) parent = (parent?.[k] ?? {}) as Record<string, unknown>;
        const last = p[p.length - 1]!;
        if (parent && typeof parent === 'object') {
          if (m.int(4) === 0) delete parent[last]; else parent[last] = odd[m.int(odd.length)];
        }
      }
      out = JSON.stringify(doc);
    }
    writeFileSync(join(model, 'manifest.json'), out);
    loadModelDir(model);
  });
}
