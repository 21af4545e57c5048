// Peak memory of the host data commands on a 50k-step dataset: `dataset maze2d`, `dataset info` and `train` once
// peaked at 700–830 MB RSS because h5wasm's 4 MB inlined-WASM module went through tsx's loader. The shipped
// dist/cli/bin.mjs has no loader; the development entry src/cli/bin.mjs (tsx) imports h5wasm before registering
// it, checked here on `dataset info`. Peak RSS is read from /proc/<pid>/status (VmHWM) at the end of each run.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../dist/cli/bin.mjs', import.meta.url));
const DEV_BIN = fileURLToPath(new URL('../../src/cli/bin.mjs', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'kdp-mem-'));
const LIMIT_MB = 400;

/** Run `kdp args`; peak RSS (MB) polled from /proc until it exits (VmHWM is the high-water mark, so polling can't miss it). */
function peakRss(args: string[], bin = BIN): Promise<{ status: number | null; peakMb: number; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, KDP_LOG_LEVEL: 'warn' } });
    let peak = 0, stderr = '';
    child.stderr.on('data', (d) => { stderr += d; });
    const poll = setInterval(() => {
      try { peak = Math.max(peak, Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1] ?? 0)); } catch { /* exited */ }
    }, 20);
    child.on('close', (status) => { clearInterval(poll); resolve({ status, peakMb: Math.round(peak / 1024), stderr }); });
  });
}

const data = join(dir, 'u50k.hdf5');
for (const [name, args] of [
  ['dataset maze2d (50k steps)', ['dataset', 'maze2d', '--maze', 'umaze', '--steps', '50000', '--out', data]],
  ['dataset info', ['dataset', 'info', data]],
  ['train (20 steps)', ['train', '--dataset', data, '--env', 'maze2d-umaze', '--out', join(dir, 'run'), '--steps', '20']],
] as const) {
  test(`${name}: peak RSS under ${LIMIT_MB} MB`, async () => {
    const r = await peakRss([...args]);
    assert.is(r.status, 0, r.stderr);
    console.log(`\n[figure] peak RSS ${name}: ${r.peakMb} MB`);
    assert.ok(r.peakMb > 0 && r.peakMb < LIMIT_MB, `${r.peakMb} MB`);
  });
}

test(`dataset info from the source tree (tsx loader): peak RSS under ${LIMIT_MB} MB`, async () => {
  const r = await peakRss(['dataset', 'info', data], DEV_BIN);
  assert.is(r.status, 0, r.stderr);
  console.log(`\n[figure] peak RSS dataset info (src/cli/bin.mjs, tsx): ${r.peakMb} MB`);
  assert.ok(r.peakMb > 0 && r.peakMb < LIMIT_MB, `${r.peakMb} MB`);
});

test.run();
