/**
 * The board's install, end to end: a fresh clone of this repository (committed HEAD) installed with
 * `npm ci --omit=dev`, as docs/operations.md tells the operator. The install's `prepare` builds the kernels and
 * dist/ with runtime dependencies only; then the shipped `kdp` (no tsx, no devDependency on disk) checks the
 * board, benchmarks a shipped model, and `kdp serve` runs a signed model flashed into a slot layout.
 * Long (a full npm ci, ≈ 1–3 min) and uses the npm registry or its local cache, so it lives in `npm run bench`:
 *   node scripts/run-tests.mjs test/perf/board-install.test.ts
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'kdp-board-install-'));
const clone = join(dir, 'kdp-edge');

function sh(cmd: string, args: string[], cwd: string, timeoutMs = 900_000): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', timeout: timeoutMs, env: { ...process.env, KDP_LOG_LEVEL: 'warn' } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('npm ci --omit=dev on a fresh clone builds dist/ and installs no devDependency', () => {
  const c = sh('git', ['clone', '-q', ROOT, clone], dir);
  assert.is(c.status, 0, c.stderr);
  const t0 = Date.now();
  const i = sh('npm', ['ci', '--omit=dev', '--prefer-offline', '--no-audit', '--no-fund'], clone);
  assert.is(i.status, 0, `${i.stdout}\n${i.stderr}`);
  console.log(`\n[figure] npm ci --omit=dev on a fresh clone: ${((Date.now() - t0) / 1000).toFixed(0)} s (kernels + dist/)`);
  for (const f of ['dist/cli/bin.mjs', 'dist/cli/main.js', 'dist/deploy/remote/kdp-slot.mjs', 'dist/data/hdf5-worker.mjs', 'build/wasm/kdp_kernels.wasm']) {
    assert.ok(existsSync(join(clone, f)), `${f} missing after the board install`);
  }
  // (@types/node is not in this list: `usb`, a runtime dependency, depends on it)
  for (const dev of ['tsx', 'uvu', 'esbuild', '@types/cli-progress', '@types/ssh2']) assert.not.ok(existsSync(join(clone, 'node_modules', dev)), `devDependency ${dev} installed`);
});

test('the shipped kdp runs there: npx kdp --version, board check, bench on a shipped model', () => {
  const v = sh('npx', ['--no-install', 'kdp', '--version'], clone, 60_000);
  assert.is(v.status, 0, v.stderr);
  assert.match(v.stdout, /^\d+\.\d+\.\d+/);
  const check = sh(process.execPath, ['dist/cli/bin.mjs', 'board', 'check', '--board', 'rpi5', '--json'], clone, 60_000);
  assert.not.match(check.stderr, /E_INTERNAL|Cannot find/, check.stderr);
  assert.ok((JSON.parse(check.stdout) as { checks: unknown[] }).checks.length > 5);
  const b = sh(process.execPath, ['dist/cli/bin.mjs', 'bench', '--model', 'models/maze2d-umaze', '--candidates', '4', '--iterations', '20', '--warmup', '2', '--json'], clone, 120_000);
  assert.is(b.status, 0, b.stderr);
  assert.is((JSON.parse(b.stdout) as { iterations: number }).iterations, 20);
});

test('kdp serve from the board install: signed model in a slot, runs the planning loop for --duration and reports its ticks', () => {
  // the slot layout kdp flash leaves (active -> slots/<slot>, trusted_keys/), built with the install's own kdp
  const root = join(dir, 'board-root');
  const keyDir = join(dir, 'keys');
  const model = join(dir, 'model');
  for (const [cmd, args] of [
    ['mkdir', ['-p', join(root, 'slots'), join(root, 'trusted_keys'), keyDir]],
    ['cp', ['-r', join(clone, 'models/maze2d-umaze'), model]],
  ] as const) assert.is(sh(cmd, [...args], dir).status, 0);
  const gen = sh(process.execPath, ['dist/cli/bin.mjs', 'sign', '--generate-key', join(keyDir, 'deploy.key')], clone, 60_000);
  assert.is(gen.status, 0, gen.stderr);
  const sign = sh(process.execPath, ['dist/cli/bin.mjs', 'sign', '--key', join(keyDir, 'deploy.key'), model], clone, 60_000);
  assert.is(sign.status, 0, sign.stderr);
  const keyId = JSON.parse(sh('cat', [join(model, 'manifest.json')], dir).stdout).signature.keyId as string;
  assert.is(sh('cp', [join(keyDir, 'deploy.key.pub'), join(root, 'trusted_keys', `${keyId}.pub`)], dir).status, 0);
  assert.is(sh('mv', [model, join(root, 'slots', 'm1')], dir).status, 0);
  assert.is(sh('ln', ['-s', 'slots/m1', join(root, 'active')], dir).status, 0);
  const serve = sh(process.execPath, ['dist/cli/bin.mjs', 'serve', '--models', root, '--sim', 'maze2d-umaze', '--duration', '2', '--json'], clone, 120_000);
  assert.is(serve.status, 0, `${serve.stdout}\n${serve.stderr}`);
  const report = JSON.parse(serve.stdout.trim().split('\n').pop()!) as Record<string, unknown>;
  assert.ok(Number(report.ticks) > 0, serve.stdout);
});

test.after(() => rmSync(dir, { recursive: true, force: true }));

test.run();
