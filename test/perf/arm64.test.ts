// The longer arm64 campaign (npm run bench; the CI part is test/arm64/): kernel outputs for every shipped
// model at every batch remainder up to 17 and around the block sizes (31–33, 63–65, 128) on the emulated
// aarch64 node vs this host, and the full default `kdp demo` (20 episodes, seeds 1000…1019) on both.
// Prints [figure] lines with the counts and the demo score; emulated runs never report timings.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { DigestReport } from '../arm64/programs/kernel-digests.js';
import { onBoth, runJson } from '../arm64/harness.js';

const NS = [...Array.from({ length: 17 }, (_, i) => i + 1), 31, 32, 33, 63, 64, 65, 128];

test(`kernels on arm64 = reference = x86-64 for every model, N ∈ {${NS.join(', ')}}`, async () => {
  const { arm64, host } = await onBoth<DigestReport>('test/arm64/programs/kernel-digests.ts', ['--ns', NS.join(',')]);
  const h = new Map(host.cases.map((c) => [`${c.model} ${c.n} ${c.variant}`, c.sha256]));
  let same = 0;
  for (const c of arm64.cases) {
    assert.ok(c.matchesReference, `${c.model} N=${c.n} ${c.variant}: ≠ reference on arm64`);
    assert.is(c.sha256, h.get(`${c.model} ${c.n} ${c.variant}`), `${c.model} N=${c.n} ${c.variant}: arm64 ≠ x86-64`);
    same++;
  }
  assert.is(same, host.cases.length);
  console.log(`\n[figure] arm64 kernels: ${same} (model, N, kernel) cases byte-identical to x86-64 and to the reference; relaxed SIMD on arm64: ${arm64.relaxed.detail}`);
});

test('full kdp demo (20 episodes, seed 1000, --rate 0.1): arm64 score and steps identical to x86-64', async () => {
  const out = { arm64: mkdtempSync(join(tmpdir(), 'kdp-demo20-arm64-')), host: mkdtempSync(join(tmpdir(), 'kdp-demo20-x64-')) };
  type Demo = { normalizedScore: number; normalizedScoreStd: number; successRate: number; deadlineMisses: number };
  const args = (o: string): string[] => ['demo', '--rate', '0.1', '--out', o, '--json'];
  const [a, h] = await Promise.all([runJson<Demo>('arm64', 'scripts/arm64/kdp.mjs', args(out.arm64)), runJson<Demo>('host', 'scripts/arm64/kdp.mjs', args(out.host))]);
  assert.is(a.json.normalizedScore, h.json.normalizedScore);
  assert.is(a.json.successRate, h.json.successRate);
  assert.is(a.json.deadlineMisses, 0);
  assert.ok(readFileSync(join(out.arm64, 'steps.jsonl'), 'utf8') === readFileSync(join(out.host, 'steps.jsonl'), 'utf8'), 'steps.jsonl differs');
  console.log(`\n[figure] kdp demo on arm64 (emulated) and x86-64: normalized score ${a.json.normalizedScore} ± ${a.json.normalizedScoreStd}, success ${a.json.successRate}, identical steps.jsonl`);
});

test.run();
