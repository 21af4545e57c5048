// HDF5 files are read in a separate, bounded process (src/data/hdf5-worker.mjs via src/util/isolated-child.ts):
// a corrupt file can neither poison later reads nor hang or bloat this process.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadD4rlHdf5 } from '../../src/data/d4rl-hdf5.js';
import { KdpError } from '../../src/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'kdp-h5iso-'));
const good = join(dir, 'good.hdf5');
// written by the CLI in its own process (see test/helpers/mutation-fuzz.ts for why)
execFileSync(process.execPath, ['dist/cli/bin.mjs', 'dataset', 'maze2d', '--maze', 'umaze', '--steps', '120', '--seed', '1', '--gzip', '0', '--out', good], { stdio: 'ignore' });
const bytes = readFileSync(good);

async function code(p: Promise<unknown>): Promise<string> {
  try { await p; return 'loaded'; } catch (e) { return e instanceof KdpError ? `${e.code}: ${e.message}` : `UNTYPED ${String(e)}`; }
}

test('a file that failed to read loads once it is repaired in place (no stale library state)', async () => {
  const file = join(dir, 'same.hdf5');
  const broken = Buffer.from(bytes);
  broken.fill(0x41, 700, 760); // the root group's symbol table
  writeFileSync(file, broken);
  const first = await code(loadD4rlHdf5(file));
  assert.match(first, /^E_DATASET: .*corrupt/);
  writeFileSync(file, bytes); // same path, same inode
  const ds = await loadD4rlHdf5(file);
  assert.is(ds.length, 120);
  assert.is(ds.stateDim, 4);
});

test('a FIFO is refused before anything opens it', async () => {
  const fifo = join(dir, 'pipe.hdf5');
  execFileSync('mkfifo', [fifo]);
  assert.match(await code(loadD4rlHdf5(fifo)), /^E_DATASET: .*not a regular file/);
});

test('declared dataset sizes are capped before the library allocates them', async () => {
  assert.match(await code(loadD4rlHdf5(good, { limits: { maxBytes: 1000 } })), /^E_DATASET: .*declare more than 1000 bytes/);
  assert.is((await loadD4rlHdf5(good)).length, 120, 'the next read is unaffected');
});

test('a read over its deadline is a typed error and the reader is replaced', async () => {
  assert.match(await code(loadD4rlHdf5(good, { limits: { timeoutMs: 1 } })), /^E_DATASET: .*did not finish within 1 ms/);
  assert.is((await loadD4rlHdf5(good)).length, 120);
});

test('the reader process stops after a short idle time (no memory held during a long training)', async () => {
  const readers = (): number => Number(spawnSync('pgrep', ['-c', '-P', String(process.pid), '-f', 'hdf5-worker'], { encoding: 'utf8' }).stdout.trim() || 0);
  await loadD4rlHdf5(good);
  assert.is(readers(), 1, 'warm right after a read');
  await new Promise((r) => setTimeout(r, 3000));
  assert.is(readers(), 0, 'gone after the idle time');
  assert.is((await loadD4rlHdf5(good)).length, 120, 'and started again on demand');
});

test('an idle reader process does not keep the caller alive', () => {
  const script = join(dir, 'load-and-exit.mts');
  writeFileSync(script, `import { loadD4rlHdf5 } from ${JSON.stringify(join(process.cwd(), 'src/data/d4rl-hdf5.ts'))};\nconst ds = await loadD4rlHdf5(${JSON.stringify(good)});\nconsole.log('rows', ds.length);\n`);
  const out = execFileSync(process.execPath, ['--import', 'tsx', script], { timeout: 60_000, encoding: 'utf8' });
  assert.match(out, /rows 120/);
});

test.run();
