// WASM kernels on arm64 (emulated aarch64 node, same V8 as the host): for every shipped model, the
// fixtures and 6-bit exports of the 8-bit shipped models' shapes, N ∈ {1, 2, 7, 64}, every kernel variant (relaxed-SIMD fc_i6, i16 fc_i8, fp32, both int8
// rounding modes, the TypeScript reference in both weight layouts) gives output bytes identical to the
// TypeScript reference on arm64 (int8; fp32 within 1e-5) and identical to the same case on x86-64.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { DigestCase, DigestReport } from './programs/kernel-digests.js';
import { onBoth, runJson } from './harness.js';

const CPU_MODELS = [['cortex-a72', 'Raspberry Pi 4: Armv8.0, no dotprod'], ['cortex-a76', 'Raspberry Pi 5: Armv8.2 with dotprod']] as const;
const CPU_MODEL_ARGS = ['--models', 'maze2d-umaze', '--ns', '7,64'];
let both: Promise<{ arm64: DigestReport; host: DigestReport }> | undefined;
const perCpu = new Map<string, Promise<DigestReport>>();
/** All emulated runs start together on first use (the machine's cores overlap them). */
const digests = (): Promise<{ arm64: DigestReport; host: DigestReport }> => {
  if (!both) {
    both = onBoth<DigestReport>('test/arm64/programs/kernel-digests.ts');
    for (const [cpu] of CPU_MODELS) perCpu.set(cpu, runJson<DigestReport>('arm64', 'test/arm64/programs/kernel-digests.ts', CPU_MODEL_ARGS, {}, cpu).then((r) => r.json));
  }
  return both;
};

const key = (c: DigestCase): string => `${c.model} N=${c.n} ${c.variant}`;
const SHIPPED = ['cf-nav', 'maze2d-large', 'maze2d-medium', 'maze2d-umaze', 'so100-pick-place', 'so100-reach'];

test('arm64: relaxed SIMD validated (behind the Node 20 flag) and the probe exact; 6-bit models run fc_i6, 8-bit ones fc_i8', async () => {
  const { arm64 } = await digests();
  assert.is(arm64.arch, 'arm64');
  assert.ok(arm64.relaxed.available, arm64.relaxed.detail);
  assert.match(arm64.relaxed.detail, /probe exact/);
  const fc = (model: string, variant: string): string[] => arm64.cases.find((c) => c.model === model && c.n === 64 && c.variant === variant)!.fc;
  for (const m of ['maze2d-umaze', 'maze2d-medium', 'maze2d-large']) {
    assert.ok(fc(m, 'wasm').every((k) => k === 'fc_i6'), `${m}: ${fc(m, 'wasm').join(',')}`);
    assert.ok(fc(m, 'wasm-i16').every((k) => k === 'fc_i8'));
  }
  for (const m of ['cf-nav', 'so100-pick-place', 'so100-reach']) assert.ok(fc(m, 'wasm').every((k) => k === 'fc_i8'), `${m} has 8-bit weights`);
});

for (const model of SHIPPED) {
  test(`${model}: every kernel variant bit-exact with the TypeScript reference on arm64, and with x86-64, at N = 1, 2, 7, 64`, async () => {
    const { arm64, host } = await digests();
    const a = arm64.cases.filter((c) => c.model === model);
    const h = new Map(host.cases.filter((c) => c.model === model).map((c) => [key(c), c]));
    assert.equal([...new Set(a.map((c) => c.n))], [1, 2, 7, 64]);
    assert.is(a.length, 4 * 6, 'reference + 5 variants per N');
    for (const c of a) {
      assert.ok(c.matchesReference, `${key(c)} on arm64 differs from the reference (max |Δ| ${c.maxAbsDiff})`);
      assert.is(c.sha256, h.get(key(c))?.sha256, `${key(c)}: arm64 ≠ x86-64`);
    }
  });
}

test('the relaxed kernel on the shapes of the 8-bit shipped models (cf-nav, so100-pick-place, so100-reach; seeded 6-bit exports): fc_i6 on arm64, bit-exact with the reference and x86-64', async () => {
  const { arm64, host } = await digests();
  const a = arm64.cases.filter((c) => c.model.startsWith('w6/'));
  assert.equal([...new Set(a.map((c) => c.model))], ['w6/cf-nav-shape', 'w6/so100-pick-place-shape', 'w6/so100-reach-shape']);
  const h = new Map(host.cases.map((c) => [key(c), c]));
  for (const c of a) {
    if (c.variant === 'wasm') assert.ok(c.fc.every((k) => k === 'fc_i6'), `${key(c)}: ${c.fc.join(',')}`);
    assert.ok(c.matchesReference, key(c));
    assert.is(c.sha256, h.get(key(c))?.sha256, `${key(c)}: arm64 ≠ x86-64`);
  }
});

test('fixtures (fp32 relu/silu/tanh, int8): fp32 WASM within 1e-5 of the reference; all outputs byte-identical to x86-64', async () => {
  const { arm64, host } = await digests();
  const a = arm64.cases.filter((c) => c.model.startsWith('fixtures/'));
  assert.ok(a.some((c) => c.fc.includes('fc_f32')));
  const h = new Map(host.cases.map((c) => [key(c), c]));
  for (const c of a) {
    assert.ok(c.matchesReference, `${key(c)} (max |Δ| ${c.maxAbsDiff})`);
    assert.is(c.sha256, h.get(key(c))?.sha256, `${key(c)}: arm64 ≠ x86-64`);
  }
});

for (const [cpu, board] of CPU_MODELS) {
  test(`emulated ${cpu} (${board}): V8 detects that CPU's features; relaxed probe exact, fc_i6 chosen, same bytes as x86-64 (umaze, N = 7, 64)`, async () => {
    const { host } = await digests();
    const json = await perCpu.get(cpu)!;
    assert.ok(json.relaxed.available, json.relaxed.detail);
    const h = new Map(host.cases.map((c) => [key(c), c.sha256]));
    assert.is(json.cases.length, 2 * 6);
    for (const c of json.cases) {
      if (c.variant === 'wasm') assert.ok(c.fc.every((k) => k === 'fc_i6'), key(c));
      assert.ok(c.matchesReference, key(c));
      assert.is(c.sha256, h.get(key(c)), `${cpu} ${key(c)}: ≠ x86-64`);
    }
  });
}

test('fallback on arm64: KDP_RELAXED_SIMD=0 → relaxed SIMD off, the 6-bit model runs fc_i8 and its output bytes do not change', async () => {
  const { arm64 } = await digests();
  const { json: off } = await runJson<DigestReport>('arm64', 'test/arm64/programs/kernel-digests.ts', ['--models', 'maze2d-umaze', '--ns', '7'], { KDP_RELAXED_SIMD: '0' });
  assert.not.ok(off.relaxed.available);
  assert.match(off.relaxed.detail, /KDP_RELAXED_SIMD=0/);
  const wasm = off.cases.find((c) => c.variant === 'wasm')!;
  assert.ok(wasm.fc.every((k) => k === 'fc_i8'), wasm.fc.join(','));
  assert.is(wasm.sha256, arm64.cases.find((c) => c.model === 'maze2d-umaze' && c.n === 7 && c.variant === 'wasm')!.sha256);
});

test('the probe on arm64: exact on the real instruction; an engine that gets one lane wrong (or doubles it, like V8 11.3\'s fused dot on x64) is caught', async () => {
  const { json } = await runJson<{ arch: string; real: string | null; wrongLane: string | null; doubled: string | null }>('arm64', 'test/arm64/programs/relaxed-probe.ts');
  assert.is(json.arch, 'arm64');
  assert.is(json.real, null);
  assert.match(json.wrongLane!, /^lane \d+: -?\d+ ≠ -?\d+$/);
  assert.match(json.doubled!, /^lane 0:/);
});

test.run();
