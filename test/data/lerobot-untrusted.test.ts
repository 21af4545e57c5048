// LeRobot folders from strangers: info.json decides which files are read, so it is checked first.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadLeRobot, writeLeRobot } from '../../src/data/lerobot.js';
import type { TrajectoryDataset } from '../../src/data/dataset.js';
import { KdpError } from '../../src/errors.js';
import { runKdp } from '../helpers/cli.js';

const root = mkdtempSync(join(tmpdir(), 'kdp-lr-untrusted-'));
const base = join(root, 'base');
writeFileSync(join(root, 'secret.txt'), 'TOP-SECRET-TEXT');
let n = 0;

test.before(async () => {
  const len = 20;
  const ds: TrajectoryDataset = {
    source: 'mem', format: 'memory', stateDim: 6, actionDim: 6, goalDim: 0, length: 2 * len,
    observations: Float32Array.from({ length: 2 * len * 6 }, (_, i) => Math.sin(i)), actions: Float32Array.from({ length: 2 * len * 6 }, (_, i) => Math.cos(i)),
    episodeEnds: Int32Array.from([len, 2 * len]),
  };
  await writeLeRobot(base, ds, { fps: 30 });
});

function variant(edit: (info: any, dir: string) => unknown): string {
  const dir = join(root, `v${n++}`);
  cpSync(base, dir, { recursive: true });
  const info = JSON.parse(readFileSync(join(dir, 'meta', 'info.json'), 'utf8'));
  const out = edit(info, dir);
  try { writeFileSync(join(dir, "meta", "info.json"), JSON.stringify(out === undefined ? info : out)); } catch { /* replaced by a device */ }
  return dir;
}

async function refused(dir: string, re: RegExp): Promise<void> {
  const t0 = Date.now();
  try { await loadLeRobot(dir); } catch (e) {
    assert.instance(e, KdpError, String((e as Error)?.stack));
    assert.is((e as KdpError).code, 'E_DATASET', (e as Error).message);
    assert.match((e as Error).message, re);
    assert.not.match((e as Error).message, /TOP-SECRET/);
    assert.ok(Date.now() - t0 < 20_000, 'bounded');
    return;
  }
  assert.unreachable('accepted');
}

test('info.json null / an array / features not an object: typed E_DATASET', async () => {
  await refused(variant(() => null), /info\.json is null/);
  await refused(variant(() => [1]), /is an array/);
  await refused(variant((i) => { i.features = 5; }), /"features" is not an object/);
  const r = runKdp(['dataset', 'info', variant(() => null), '--json']);
  assert.is(r.status, 1, r.stderr);
  assert.match(r.stderr, /E_DATASET/);
});

test('data_path outside the folder (traversal, absolute, symlink), /dev/zero, a FIFO: refused before reading', async () => {
  await refused(variant((i) => { i.data_path = '../secret.txt'; }), /must not contain "\.\."/);
  await refused(variant((i) => { i.data_path = join(root, 'secret.txt'); }), /must be relative/);
  await refused(variant((i) => { i.data_path = '/dev/zero'; }), /must be relative/);
  await refused(variant((i, d) => { symlinkSync('/dev/zero', join(d, 'zero.parquet')); i.data_path = 'zero.parquet'; }), /outside|not a regular file/);
  await refused(variant((i, d) => { symlinkSync(join(root, 'secret.txt'), join(d, 'leak.parquet')); i.data_path = 'leak.parquet'; }), /outside/);
  await refused(variant((i, d) => { execFileSync('mkfifo', [join(d, 'fifo.parquet')]); i.data_path = 'fifo.parquet'; i.total_episodes = 1; }), /a FIFO/);
  await refused(variant((_i, d) => { rmSync(join(d, 'meta', 'info.json')); symlinkSync('/dev/zero', join(d, 'meta', 'info.json')); return undefined; }), /info\.json/);
});

test('total_episodes 1e8 is refused before any path list is built', async () => {
  await refused(variant((i) => { i.total_episodes = 1e8; }), /total_episodes 100000000 is not an integer in 1…100000/);
  await refused(variant((i) => { i.total_episodes = 2.5; }), /total_episodes/);
});

test.run();
