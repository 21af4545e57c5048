// Datasets that would train silently into garbage, or crash the loader: typed errors naming the key.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadD4rlHdf5, writeD4rlHdf5 } from '../../src/data/d4rl-hdf5.js';
import { DatasetError, KdpError } from '../../src/errors.js';
import { runKdp } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'kdp-dsval-'));
const BIN = fileURLToPath(new URL('../../dist/cli/bin.mjs', import.meta.url));
const N = 200;

function arrays(): Parameters<typeof writeD4rlHdf5>[1] {
  const terminals = new Uint8Array(N); terminals[99] = 1;
  return {
    observations: Float32Array.from({ length: N * 4 }, (_, i) => Math.sin(i)), actions: Float32Array.from({ length: N * 2 }, (_, i) => Math.cos(i)),
    rewards: new Float32Array(N), terminals, timeouts: new Uint8Array(N), goals: new Float32Array(N * 2),
  };
}
const dims = { stateDim: 4, actionDim: 2, goalDim: 2 };

async function rejects(p: Promise<unknown>, code: string, re: RegExp): Promise<void> {
  try { await p; } catch (e) {
    assert.instance(e, KdpError, String((e as Error)?.stack));
    assert.is((e as KdpError).code, code, (e as Error).message);
    assert.match((e as Error).message, re);
    return;
  }
  assert.unreachable(`expected ${code}`);
}

test('one NaN in actions: E_DATASET naming the key and the first bad row; kdp train exits 1 and writes no checkpoint', async () => {
  const a = arrays(); a.actions[17 * 2 + 1] = NaN;
  const file = join(dir, 'nan.hdf5');
  await writeD4rlHdf5(file, a, dims);
  await rejects(loadD4rlHdf5(file), 'E_DATASET', /actions has a non-finite value \(NaN\) at row 17, column 1/);
  const out = join(dir, 'nan-run');
  const r = runKdp(['train', '--dataset', file, '--env', 'maze2d-umaze', '--out', out, '--steps', '3', '--horizon', '8', '--json']);
  assert.is(r.status, 1, r.stderr);
  assert.match(r.stderr, /error \[E_DATASET\]: .*actions/);
  assert.not.ok(existsSync(join(out, 'checkpoint.json')));
  const inf = arrays(); inf.observations[5] = Infinity;
  await writeD4rlHdf5(join(dir, 'inf.hdf5'), inf, dims);
  await rejects(loadD4rlHdf5(join(dir, 'inf.hdf5')), 'E_DATASET', /observations .*Infinity.* row 1, column 1/);
});

test('rewards of the wrong length, a group where observations should be, 64-bit integer data: typed errors', async () => {
  const h5 = await import('h5wasm/node');
  await h5.ready;
  const write = (name: string, fill: (f: InstanceType<typeof h5.File>) => void): string => {
    const p = join(dir, name);
    const f = new h5.File(p, 'w');
    try { fill(f); } finally { f.close(); }
    return p;
  };
  const a = arrays();
  const short = write('short-rewards.hdf5', (f) => {
    f.create_dataset({ name: 'observations', data: a.observations, shape: [N, 4], dtype: '<f' });
    f.create_dataset({ name: 'actions', data: a.actions, shape: [N, 2], dtype: '<f' });
    f.create_dataset({ name: 'rewards', data: new Float32Array(N - 3), shape: [N - 3], dtype: '<f' });
  });
  await rejects(loadD4rlHdf5(short), 'E_SHAPE', /rewards length/);
  const group = write('group.hdf5', (f) => {
    f.create_group('observations');
    f.create_dataset({ name: 'actions', data: a.actions, shape: [N, 2], dtype: '<f' });
  });
  await rejects(loadD4rlHdf5(group), 'E_DATASET', /"observations" is a group, not a dataset/);
  const i64 = write('int64.hdf5', (f) => {
    f.create_dataset({ name: 'observations', data: BigInt64Array.from({ length: N * 4 }, () => 1n), shape: [N, 4], dtype: '<q' });
    f.create_dataset({ name: 'actions', data: a.actions, shape: [N, 2], dtype: '<f' });
  });
  await rejects(loadD4rlHdf5(i64), 'E_DATASET', /"observations" has dtype .*expected numbers/);
  const r = runKdp(['dataset', 'info', group, '--json']);
  assert.not.match(r.stderr, /E_INTERNAL/, r.stderr);
});

test('kdp dataset maze2d when the disk refuses the write: E_IO naming the folder, no HDF5 dump, no file left', () => {
  const out = join(dir, 'full', 'maze.hdf5');
  const r = spawnSync('bash', ['-c', `trap '' XFSZ; ulimit -f 100; exec "${process.execPath}" "${BIN}" "$@"`, 'kdp', 'dataset', 'maze2d', '--maze', 'umaze',
    '--steps', '20000', '--seed', '0', '--out', out, '--json'], { encoding: 'utf8', timeout: 120_000, env: { ...process.env, KDP_LOG_LEVEL: 'warn' } });
  assert.is(r.status, 1, r.stderr);
  assert.match(r.stderr, /error \[E_IO\]: cannot write .*maze\.hdf5: HDF5 write failed \(File too large\)/);
  assert.not.match(r.stderr, /H5FD|internal: expected/);
  assert.equal(readdirSync(join(dir, 'full')), []);
});

test.run();
