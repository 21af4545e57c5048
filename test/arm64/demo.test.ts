// `kdp demo` on arm64 (emulated) and x86-64 from the same seed: the same normalized score, the same
// closed-loop trajectory and selected plans (steps.jsonl) and the same candidate plans (the SVGs).
// --rate 0.1 gives every plan a 10 s budget: the loop's deadline fallback (act from the previous plan
// when a plan is late) would otherwise make the run depend on the machine's speed.
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runJson } from './harness.js';

interface DemoJson {
  normalizedScore: number; normalizedScoreStd: number; successRate: number; meanReturn: number; plans: number; deadlineMisses: number;
  planLatencyUs: { p50: number | null; p99: number | null }; emulated: boolean; backend: string;
}

const dirs = { arm64: mkdtempSync(join(tmpdir(), 'kdp-demo-arm64-')), host: mkdtempSync(join(tmpdir(), 'kdp-demo-x64-')) };
const args = (out: string): string[] => ['demo', '--episodes', '2', '--seed', '7', '--rate', '0.1', '--out', out, '--json'];
let runs: Promise<[DemoJson, DemoJson]> | undefined;
const both = (): Promise<[DemoJson, DemoJson]> => (runs ??= Promise.all([
  runJson<DemoJson>('arm64', 'scripts/arm64/kdp.mjs', args(dirs.arm64)).then((r) => r.json),
  runJson<DemoJson>('host', 'scripts/arm64/kdp.mjs', args(dirs.host)).then((r) => r.json),
]));

test('kdp demo, seed 7, 2 episodes: the same score, success and return on arm64 as on x86-64, no deadline misses', async () => {
  const [a, h] = await both();
  for (const k of ['normalizedScore', 'normalizedScoreStd', 'successRate', 'meanReturn', 'plans'] as const) assert.equal(a[k], h[k], k);
  // the host may run the native kernels and the emulated arm64 the WASM ones: bit-exact, so the same plans
  for (const r of [a, h]) assert.ok(['kdp-native', 'kdp-wasm'].includes(String(r.backend)), String(r.backend));
  assert.is(a.deadlineMisses, 0);
  assert.is(h.deadlineMisses, 0);
  assert.ok(a.plans > 0);
});

test('the same plans: steps.jsonl (state, action, reward, selected candidate per tick) and the candidate-plan SVGs are byte-identical', async () => {
  await both();
  const a = readFileSync(join(dirs.arm64, 'steps.jsonl'), 'utf8');
  assert.ok(a.split('\n').length > 100);
  assert.ok(a === readFileSync(join(dirs.host, 'steps.jsonl'), 'utf8'), 'steps.jsonl differs between arm64 and x86-64');
  const svgs = readdirSync(dirs.arm64).filter((f) => f.endsWith('.svg'));
  assert.is(svgs.length, 2);
  for (const f of svgs) assert.ok(readFileSync(join(dirs.arm64, f), 'utf8') === readFileSync(join(dirs.host, f), 'utf8'), `${f} differs`);
});

test('emulated demo withholds its latencies (JSON nulls, report says so); the host reports them', async () => {
  const [a, h] = await both();
  assert.ok(a.emulated);
  assert.equal(a.planLatencyUs.p50, null);
  assert.match(readFileSync(join(dirs.arm64, 'report.md'), 'utf8'), /withheld: emulated process/);
  assert.is(h.emulated, false);
  assert.ok((h.planLatencyUs.p50 ?? 0) > 0);
});

test('kdp bench under emulation: the fc_i6 kernels and zero allocation are reported, timings are null', async () => {
  const { json } = await runJson<Record<string, unknown>>('arm64', 'scripts/arm64/kdp.mjs', ['bench', '--model', 'models/maze2d-umaze', '--iterations', '20', '--warmup', '2', '--json']);
  assert.is(json.emulated, true);
  for (const k of ['p50Us', 'p99Us', 'p999Us', 'meanUs', 'deadlineMisses']) assert.is(json[k], null, k);
  const kernels = json.kernels as { fc: Record<string, number>; relaxedSimd: { available: boolean; detail: string } };
  assert.equal(kernels.fc, { fc_i6: 4 });
  assert.ok(kernels.relaxedSimd.available);
  assert.match(kernels.relaxedSimd.detail, /probe exact/);
  assert.is(json.gcCount, 0);
  assert.is((json.platform as { arch: string }).arch, 'arm64');
});

test.run();
