// Untrusted model folders: every loader (loadModelDir for eval/demo/fly/arm, readModelFiles for
// infer/bench, sign/flash, the serve agent) goes through one manifest schema and readModelFile.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { loadModelDir, loadModelPath } from '../../src/planner/model-loader.js';

import { readModelFile } from '../../src/planner/model-file.js';
import { checkModelFile, readManifest } from '../../src/deploy/keys.js';
import { KdpError, ModelError } from '../../src/errors.js';
import { runKdp } from '../helpers/cli.js';

const root = mkdtempSync(join(tmpdir(), 'kdp-mfs-'));
const SHIPPED = ['maze2d-umaze', 'maze2d-medium', 'maze2d-large', 'cf-nav', 'so100-reach'];
const secret = join(root, 'outside', 'x');
mkdirSync(join(root, 'outside'));
writeFileSync(secret, 'TOP-SECRET-TEXT that must never be echoed\n');
const input = join(root, 'in.json');
writeFileSync(input, JSON.stringify({ inputs: [new Array(64 * 16).fill(0), new Array(64 * 6).fill(0)] }));

let n = 0;
/** a copy of the shipped umaze model with its manifest edited by `edit` */
function variant(edit: (m: Record<string, any>, dir: string) => unknown = (m) => m): string {
  const dir = join(root, `m${n++}`);
  cpSync('models/maze2d-umaze', dir, { recursive: true });
  const m = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
  const out = edit(m, dir);
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(out === undefined ? m : out));
  return dir;
}

function expectCode(fn: () => unknown, code: string, re?: RegExp): KdpError {
  try { fn(); } catch (e) {
    assert.instance(e, KdpError, `not a typed error: ${(e as Error)?.stack}`);
    assert.is((e as KdpError).code, code, (e as Error).message);
    if (re) assert.match((e as Error).message, re);
    return e as KdpError;
  }
  assert.unreachable(`expected ${code}`);
  throw new Error('unreachable');
}

/** infer, bench and eval on the folder: exit 1, the code on stderr, no stack trace, no outside bytes echoed */
function cliRefuses(dir: string, code: string): void {
  for (const args of [['infer', '--model', dir, '--input', input], ['bench', '--model', dir, '--iterations', '5', '--warmup', '1'], ['eval', '--model', dir, '--episodes', '1']]) {
    const r = runKdp([...args, '--json'], { timeoutMs: 60_000 });
    assert.is(r.status, 1, `${args[0]}: ${r.stderr}`);
    assert.match(r.stderr, new RegExp(`error \\[${code}\\]`), `${args[0]}: ${r.stderr}`);
    assert.not.match(r.stderr + r.stdout, /TOP-SECRET|\n\s+at /, `${args[0]} leaked bytes or a stack`);
    assert.is(JSON.parse(r.stdout.trim().split('\n').pop()!).code, code);
  }
}

test('every shipped model passes the schema and its sha256 through every loader', () => {
  for (const name of SHIPPED) {
    const m = loadModelDir(`models/${name}`);
    assert.is(m.manifest.name, name);
    assert.is(loadModelPath(`models/${name}`).bytes.length, m.manifest.model.bytes);
  }
});

test('model.file with a path (traversal, absolute, sub-folder) is refused before anything is read', () => {
  for (const file of ['../../outside/x', secret, 'sub/model.tflite', '.hidden', 'manifest.json']) {
    const dir = variant((m) => { m.model.file = file; });
    expectCode(() => loadModelDir(dir), 'E_MODEL_SCHEMA', /plain file name/);
    expectCode(() => loadModelPath(dir), 'E_MODEL_SCHEMA');
    expectCode(() => readManifest(dir), 'E_MODEL_SCHEMA');
  }
  cliRefuses(variant((m) => { m.model.file = '../../outside/x'; }), 'E_MODEL_SCHEMA');
});

test('a model file that is a symlink out of the folder, to /dev/zero, or a FIFO is refused at once (no read, no hang)', async () => {
  const out = variant((_m, dir) => { rmSync(join(dir, 'model.tflite')); symlinkSync(secret, join(dir, 'model.tflite')); });
  expectCode(() => loadModelDir(out), 'E_MODEL_SCHEMA', /outside/);
  const zero = variant((_m, dir) => { rmSync(join(dir, 'model.tflite')); symlinkSync('/dev/zero', join(dir, 'model.tflite')); });
  expectCode(() => loadModelDir(zero), 'E_MODEL_SCHEMA');
  await checkModelFile(zero, readManifest(zero)).then(() => assert.unreachable('sign/flash hashed /dev/zero'), (e) => assert.instance(e, ModelError));
  const fifo = variant((_m, dir) => { rmSync(join(dir, 'model.tflite')); execFileSync('mkfifo', [join(dir, 'model.tflite')]); });
  expectCode(() => loadModelDir(fifo), 'E_MODEL_SCHEMA', /not a regular file \(a FIFO\)/);
  cliRefuses(fifo, 'E_MODEL_SCHEMA');
  const sign = runKdp(['sign', '--key', join(root, 'none.key'), zero], { timeoutMs: 60_000 });
  assert.is(sign.status, 1, sign.stderr);
});

test('infer and bench verify model.sha256 like eval does', () => {
  const dir = variant((_m, d) => { const b = readFileSync(join(d, "model.tflite")); b[b.length - 1] = b[b.length - 1]! ^ 1; writeFileSync(join(d, 'model.tflite'), b); });
  expectCode(() => loadModelPath(dir), 'E_MODEL_IO', /sha256/);
  cliRefuses(dir, 'E_MODEL_IO');
});

test('manifest semantics: broken normalizers, swapped inputs, missing/null fields are E_MODEL_SCHEMA, naming the field', () => {
  const cases: Array<[string, (m: Record<string, any>) => unknown, RegExp]> = [
    ['zero scale', (m) => { m.normalizer.state.scale[0] = 0; }, /normalizer\.state\.scale\.0/],
    ['short normalizer', (m) => { m.normalizer.action.shift.pop(); }, /normalizer\.action/],
    ['swapped inputs', (m) => { m.inputs.reverse(); }, /noise, condition/],
    ['missing candidates', (m) => { delete m.candidates; }, /candidates/],
    ['candidates null', (m) => { m.candidates = null; }, /candidates/],
    ['frameSkip 0', (m) => { m.layout.frameSkip = 0; }, /layout\.frameSkip/],
    ['model.file null', (m) => { m.model.file = null; }, /model\.file/],
    ['inputs missing', (m) => { delete m.inputs; }, /inputs/],
    ['manifest null', () => null, /\(manifest\)/],
    ['bad sha256', (m) => { m.model.sha256 = 'abc'; }, /model\.sha256/],
    ['huge bytes', (m) => { m.model.bytes = 1e12; }, /model\.bytes/],
  ];
  for (const [name, edit, re] of cases) {
    const dir = variant(edit);
    const e = expectCode(() => loadModelDir(dir), 'E_MODEL_SCHEMA', re);
    assert.ok(e.hint, name);
    expectCode(() => loadModelPath(dir), 'E_MODEL_SCHEMA', re);
  }
  cliRefuses(variant(() => null), 'E_MODEL_SCHEMA');
});

test('an optional scorer file is opened by the same readModelFile (containment, sha256)', () => {
  const scorer = Buffer.from('scorer network bytes');
  const entry = { file: 'scorer.tflite', sha256: createHash('sha256').update(scorer).digest('hex'), bytes: scorer.length, quantization: 'int8' };
  const ok = variant((m, dir) => { writeFileSync(join(dir, 'scorer.tflite'), scorer); m.scorer = entry; });
  assert.equal(Buffer.from(loadModelDir(ok).scorerBytes!), scorer);
  assert.equal(Buffer.from(readModelFile(ok, entry, 'scorer')), scorer);
  expectCode(() => loadModelDir(variant((m) => { m.scorer = { ...entry, file: '../outside/x' }; })), 'E_MODEL_SCHEMA', /scorer\.file/);
  expectCode(() => loadModelDir(variant((m, dir) => { writeFileSync(join(dir, 'scorer.tflite'), 'other bytes!!!!!!!!!'); m.scorer = entry; })), 'E_MODEL_IO', /sha256/);
});

test.run();
