// Board-side replay protection (signed modelVersion, both verifiers), the shell verifier on every
// shipped model, and the env-vs-robot check of `kdp flash`. The board side runs here as it does on a
// board (kdp-slot.mjs / kdp-slot.sh on a deployment root), without the SSH transport around it.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateSigningKey, readManifest, signModelDir } from '../../src/deploy/keys.js';
import { modelFiles, signedPayload } from '../../src/deploy/remote/kdp-slot.mjs';
import { flashModel } from '../../src/deploy/flash.js';
import { ModelError } from '../../src/errors.js';
import { makeModelDir } from './fixtures.js';

const REMOTE = fileURLToPath(new URL('../../src/deploy/remote/', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'kdp-replay-'));
const key = generateSigningKey(join(work, 'deploy.key'));
const SHIPPED = ['maze2d-umaze', 'maze2d-medium', 'maze2d-large', 'cf-nav', 'so100-reach'];

function board(name: string): string {
  const root = join(work, name);
  for (const d of ['bin', 'staging', 'slots', 'trusted_keys']) mkdirSync(join(root, d), { recursive: true });
  for (const f of ['kdp-slot.mjs', 'kdp-slot.sh']) copyFileSync(join(REMOTE, f), join(root, 'bin', f));
  copyFileSync(key.publicKeyFile, join(root, 'trusted_keys', `${key.keyId}.pub`));
  return root;
}

/** stage a signed model folder the way `kdp flash` uploads it */
function stage(root: string, modelDir: string, slot: string): void {
  const m = readManifest(modelDir);
  const dir = join(root, 'staging', slot);
  mkdirSync(join(dir, '.kdp-verify'), { recursive: true });
  writeFileSync(join(dir, '.kdp-verify', 'payload.json'), signedPayload(m));
  writeFileSync(join(dir, '.kdp-verify', 'signature.bin'), Buffer.from(m.signature!.value, 'base64'));
  for (const f of modelFiles(m as never)) copyFileSync(join(modelDir, f.file), join(dir, f.file));
  copyFileSync(join(modelDir, 'manifest.json'), join(dir, 'manifest.json'));
}

function activate(root: string, slot: string, verifier: 'node' | 'shell'): { code: number; reply: Record<string, unknown> } {
  const r = spawnSync('sh', [join(root, 'bin', 'kdp-slot.sh'), 'activate', root, slot], {
    encoding: 'utf8', env: { ...process.env, KDP_NODE: process.execPath, ...(verifier === 'shell' ? { KDP_SLOT_NO_NODE: '1' } : {}) },
  });
  return { code: r.status ?? -1, reply: JSON.parse(r.stdout.trim().split('\n').pop() || '{}') as Record<string, unknown> };
}
const active = (root: string): string => readlinkSync(join(root, 'active')).split('/').pop()!;

for (const verifier of ['node', 'shell'] as const) {
  test(`${verifier} verifier: flashing an older signed model after a newer one is refused; rollback still goes back`, async () => {
    const root = board(`board-${verifier}`);
    const a = makeModelDir(work, `a-${verifier}`, 8 * 1024, 1), b = makeModelDir(work, `b-${verifier}`, 8 * 1024, 2);
    await signModelDir(a, key.privateKeyFile, { modelVersion: 5 });
    await signModelDir(b, key.privateKeyFile, { modelVersion: 6 });
    stage(root, a, 'A'); assert.is(activate(root, 'A', verifier).code, 0);
    stage(root, b, 'B'); assert.is(activate(root, 'B', verifier).code, 0);
    assert.is(readFileSync(join(root, 'version-floor'), 'utf8').trim(), '6');
    stage(root, a, 'A2');
    const replay = activate(root, 'A2', verifier);
    assert.is(replay.code, 3, JSON.stringify(replay.reply));
    assert.match(String(replay.reply.error), /model version 5 is older than version 6/);
    assert.is(active(root), 'B', 'the newer model stays active');
    const rb = spawnSync('sh', [join(root, 'bin', 'kdp-slot.sh'), 'rollback', root], { encoding: 'utf8', env: { ...process.env, KDP_NODE: process.execPath, ...(verifier === 'shell' ? { KDP_SLOT_NO_NODE: '1' } : {}) } });
    assert.is(rb.status, 0, rb.stdout);
    assert.is(active(root), 'A', 'kdp rollback is the explicit way back');
    // the version is signed: raising it by hand breaks the signature
    const c = makeModelDir(work, `c-${verifier}`, 8 * 1024, 3);
    await signModelDir(c, key.privateKeyFile, { modelVersion: 1 });
    const m = JSON.parse(readFileSync(join(c, 'manifest.json'), 'utf8')); m.modelVersion = 99; writeFileSync(join(c, 'manifest.json'), JSON.stringify(m));
    stage(root, c, 'C');
    writeFileSync(join(root, 'staging', 'C', '.kdp-verify', 'payload.json'), signedPayload(m));
    const forged = activate(root, 'C', verifier);
    assert.is(forged.code, 3);
    assert.match(String(forged.reply.error), /BAD SIGNATURE/);
  });
}

test('shell verifier accepts every shipped model (weightBits and other fields in the model object)', async () => {
  const root = board('board-shipped');
  let v = 10;
  for (const name of SHIPPED) {
    const dir = join(work, `shipped-${name}`);
    cpSync(join('models', name), dir, { recursive: true });
    await signModelDir(dir, key.privateKeyFile, { modelVersion: v++ });
    stage(root, dir, name);
    const r = activate(root, name, 'shell');
    assert.is(r.code, 0, `${name}: ${JSON.stringify(r.reply)}`);
    assert.is(r.reply.sha256, readManifest(dir).model.sha256);
    assert.is(active(root), name);
  }
});

for (const verifier of ['node', 'shell'] as const) {
  test(`${verifier} verifier checks the learned scorer file too: missing, or tampered → refused, nothing activated`, async () => {
    const root = board(`board-scorer-${verifier}`);
    const dir = join(work, `scorer-${verifier}`);
    cpSync('models/maze2d-medium', dir, { recursive: true });
    await signModelDir(dir, key.privateKeyFile, { modelVersion: 5 });
    const m = readManifest(dir);
    assert.ok(m.scorer, 'the shipped maze model ships a scorer');
    stage(root, dir, 'missing');
    rmSync(join(root, 'staging', 'missing', m.scorer!.file));
    const missing = activate(root, 'missing', verifier);
    assert.is(missing.code, 3);
    assert.match(String(missing.reply.error), /scorer|missing/);
    stage(root, dir, 'tampered');
    const sc = join(root, 'staging', 'tampered', m.scorer!.file);
    const bytes = readFileSync(sc); bytes[bytes.length - 9] = bytes[bytes.length - 9]! ^ 1; writeFileSync(sc, bytes);
    const tampered = activate(root, 'tampered', verifier);
    assert.is(tampered.code, 3);
    assert.match(String(tampered.reply.error), /sha256|tampered/);
    assert.not.ok(existsSync(join(root, 'active')), 'nothing activated');
    stage(root, dir, 'good');
    const good = activate(root, 'good', verifier);
    assert.is(good.code, 0, JSON.stringify(good.reply));
    assert.is(active(root), 'good');
  });
}

test('flash refuses a model whose env does not fit the board\'s robot, before connecting', async () => {
  const dir = join(work, 'umaze-for-arm');
  cpSync('models/maze2d-umaze', dir, { recursive: true });
  await signModelDir(dir, key.privateKeyFile);
  try {
    await flashModel({ host: '127.0.0.1', port: 1, user: 'nobody', remoteDir: '~/kdp', modelDir: dir, robot: 'so100' });
    assert.unreachable('flashed a maze model to an arm');
  } catch (e) {
    assert.instance(e, ModelError);
    assert.is((e as ModelError).code, 'E_MODEL_MISMATCH');
    assert.match((e as Error).message, /trained for env "maze2d-umaze", but the board drives robot "so100"/);
  }
});

test.run();
