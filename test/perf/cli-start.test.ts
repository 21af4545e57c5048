/**
 * CLI start time: the shipped entry (dist/cli/bin.mjs, compiled JavaScript) against the source-tree entry
 * (src/cli/bin.mjs, TypeScript through tsx — what `kdp` ran before dist/ existed), in one session on one machine.
 * Median of 10 runs each, interleaved so load drifts hit both alike, after one untimed run of each (tsx's
 * transform cache is warm, as it would be on a board after the first start). Figures → docs/benchmarks.md.
 *   npm run bench   (or: node scripts/run-tests.mjs test/perf/cli-start.test.ts)
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const ENTRIES = { compiled: join(ROOT, 'dist/cli/bin.mjs'), tsx: join(ROOT, 'src/cli/bin.mjs') } as const;
const RUNS = 10;

function startMs(bin: string, args: string[], env: NodeJS.ProcessEnv = process.env): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [bin, ...args], { cwd: ROOT, encoding: 'utf8', env: { ...env, KDP_LOG_LEVEL: 'warn' } });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  // board check exits 1 when this host fails a check of the Pi profile; any other outcome is a broken start
  assert.ok(r.status === 0 || (args[0] === 'board' && r.status === 1 && r.stdout.includes('PASS')), `${bin} ${args.join(' ')}: ${r.status} ${r.stderr}`);
  return ms;
}

const median = (xs: number[]): number => { const s = [...xs].sort((a, b) => a - b); return (s[(s.length - 1) >> 1]! + s[s.length >> 1]!) / 2; };

for (const args of [['--help'], ['board', 'check', '--board', 'rpi5']]) {
  test(`kdp ${args.join(' ')}: compiled start is faster than tsx (median of ${RUNS})`, () => {
    const times = { compiled: [] as number[], tsx: [] as number[] };
    startMs(ENTRIES.compiled, args);
    startMs(ENTRIES.tsx, args);
    for (let i = 0; i < RUNS; i++) {
      times.compiled.push(startMs(ENTRIES.compiled, args));
      times.tsx.push(startMs(ENTRIES.tsx, args));
    }
    const c = median(times.compiled), t = median(times.tsx);
    console.log(`\n[figure] kdp ${args.join(' ')}: compiled median ${c.toFixed(0)} ms (min ${Math.min(...times.compiled).toFixed(0)}), tsx median ${t.toFixed(0)} ms (min ${Math.min(...times.tsx).toFixed(0)}), ratio ${(t / c).toFixed(2)}`);
    assert.ok(c < t, `compiled ${c} ms vs tsx ${t} ms`);
  });
}

test('kdp --help under tsx with an empty transform cache (the first start after install)', () => {
  const times: number[] = [];
  for (let i = 0; i < 3; i++) {
    const tmp = mkdtempSync(join(tmpdir(), 'kdp-tsx-cold-'));
    times.push(startMs(ENTRIES.tsx, ['--help'], { ...process.env, TMPDIR: tmp }));
    rmSync(tmp, { recursive: true, force: true });
  }
  console.log(`\n[figure] kdp --help, tsx, cold cache: median of 3 ${median(times).toFixed(0)} ms`);
  assert.ok(times.every((t) => t > 0));
});

test.run();
