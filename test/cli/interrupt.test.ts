// Ctrl-C on the long host commands: each stops at once (it yields to the event loop, so the SIGINT handler runs),
// exits 130 and says what was kept. Each run is sized to take minutes; the child is SIGKILLed after 20 s, so a
// command that ignores SIGINT fails here. How fast it stops is measured (printed as a figure), not asserted.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../dist/cli/bin.mjs', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'kdp-int-'));

interface Run { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string; stopMs: number }

/** Start `kdp args`, send SIGINT after the `after`-th progress line on stderr, wait for the exit. */
function interrupt(args: string[], after = 2): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, KDP_LOG_LEVEL: 'warn' } });
    let stdout = '', stderr = '', lines = 0, sentAt = 0;
    const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d;
      lines += (d.toString().match(/"progress"/g) ?? []).length;
      if (lines >= after && sentAt === 0) { sentAt = performance.now(); child.kill('SIGINT'); }
    });
    child.on('close', (code, signal) => {
      clearTimeout(killer);
      resolve({ code, signal, stdout, stderr, stopMs: sentAt ? performance.now() - sentAt : NaN });
    });
  });
}

test('kdp ablate modes: Ctrl-C stops it, exit 130, the JSON says which variant was cut short', async () => {
  const r = await interrupt(['ablate', 'modes', '--steps', '100000', '--variants', 'keyed,full', '--conditions', '4', '--json']);
  assert.is(r.signal, null, `killed: it ignored SIGINT\n${r.stderr.slice(-500)}`);
  assert.is(r.code, 130, r.stderr.slice(-500));
  const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as { variants: Record<string, unknown>; interrupted: { variant: string; step: number } };
  assert.is(out.interrupted.variant, 'keyed');
  assert.ok(out.interrupted.step < 100_000);
  assert.equal(out.variants, {});
  console.log(`\n[figure] ablate modes stopped ${r.stopMs.toFixed(0)} ms after SIGINT`);
});

test('kdp dataset maze2d: Ctrl-C stops it, exit 130, says nothing was written, and nothing is', async () => {
  const out = join(dir, 'm.hdf5');
  const r = await interrupt(['dataset', 'maze2d', '--maze', 'umaze', '--steps', '50000000', '--out', out, '--json']);
  assert.is(r.signal, null, `killed: it ignored SIGINT\n${r.stderr.slice(-500)}`);
  assert.is(r.code, 130, r.stderr.slice(-500));
  assert.match(r.stderr, /interrupted after about \d+ of 50000000 steps: nothing written/);
  assert.not.match(r.stderr, /E_INTERNAL|at .*\.ts:\d+/, 'no stack trace');
  assert.not.ok(existsSync(out));
  console.log(`\n[figure] dataset maze2d stopped ${r.stopMs.toFixed(0)} ms after SIGINT`);
});

test('kdp train: Ctrl-C stops it, exit 130, checkpoint kept, says how to resume', async () => {
  const data = join(dir, 'u.hdf5');
  const { runKdp } = await import('../helpers/cli.js');
  const made = runKdp(['dataset', 'maze2d', '--maze', 'umaze', '--steps', '5000', '--seed', '1', '--out', data]);
  assert.is(made.status, 0, made.stderr);
  const run = join(dir, 'run');
  const r = await interrupt(['train', '--dataset', data, '--env', 'maze2d-umaze', '--out', run, '--steps', '1000000', '--hidden', '32,32', '--json'], 3);
  assert.is(r.signal, null, `killed: it ignored SIGINT\n${r.stderr.slice(-500)}`);
  assert.is(r.code, 130, r.stderr.slice(-500));
  const res = JSON.parse(r.stdout.trim().split('\n').pop()!) as { interrupted: boolean; steps: number; out: string };
  assert.ok(res.interrupted);
  assert.ok(res.steps > 0 && res.steps < 1_000_000);
  assert.ok(existsSync(join(run, 'checkpoint.json')), 'checkpoint kept');
  console.log(`\n[figure] train stopped ${r.stopMs.toFixed(0)} ms after SIGINT`);
});

test.run();
