import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { IntegrityError } from '../../src/errors.js';
import { generateSigningKey, signModelDir } from '../../src/deploy/keys.js';
import { boardStatus, flashModel, rollbackBoard, type BoardTarget } from '../../src/deploy/flash.js';
import { HostKeyError } from '../../src/deploy/known-hosts.js';
import { loadTrustedKeys, verifyModelDir } from '../../src/deploy/remote/kdp-slot.mjs';
import { createModelLoader } from '../../src/deploy/serve-agent.js';
import { runKdp } from '../helpers/cli.js';
import { HAVE_SSHD, makeModelDir, startSshd, type Sshd } from './fixtures.js';

const BIN = fileURLToPath(new URL('../../dist/cli/bin.mjs', import.meta.url));
let sshd: Sshd;
let work: string;
let key: ReturnType<typeof generateSigningKey>;
let target: BoardTarget;

test.before(async () => {
  if (!HAVE_SSHD) throw new Error('openssh-server is not installed (apt-get install -y openssh-server); the flash tests need a real sshd');
  sshd = await startSshd();
  work = mkdtempSync(join(tmpdir(), 'kdp-flash-'));
  key = generateSigningKey(join(work, 'deploy.key'));
  target = { host: '127.0.0.1', port: sshd.port, user: 'root', identityFile: sshd.clientKey, knownHostsFile: sshd.knownHosts, remoteDir: sshd.remoteRoot };
});

test.after(async () => {
  await sshd?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

const root = (): string => sshd.remoteRoot;
const activeSlot = (): string | undefined => { try { return readlinkSync(join(root(), 'active')).split('/').pop(); } catch { return undefined; } };
const previousSlot = (): string | undefined => { try { return readlinkSync(join(root(), 'previous')).split('/').pop(); } catch { return undefined; } };
const activeSha = (): string => createHash('sha256').update(readFileSync(join(root(), 'active', 'model.tflite'))).digest('hex');
const sha = (dir: string): string => (JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as { model: { sha256: string } }).model.sha256;

async function expectError<T extends Error>(p: Promise<unknown>, cls: new (...a: never[]) => T): Promise<T> {
  try { await p; } catch (e) { assert.instance(e, cls); return e as T; }
  throw new Error(`expected ${cls.name}`);
}

let modelA: string;
let modelB: string;

test('unsigned model → refused locally before connecting', async () => {
  const m = makeModelDir(work, 'unsigned');
  const e = await expectError(flashModel({ ...target, modelDir: m }), IntegrityError);
  assert.match(e.message, 'not signed');
  assert.is(existsSync(join(root(), 'bin')), false);
});

test('first flash (with --trust): verified on the board, active points at the new slot', async () => {
  modelA = makeModelDir(work, 'model-a', 96 * 1024);
  await signModelDir(modelA, key.privateKeyFile);
  const r = await flashModel({ ...target, modelDir: modelA, trustKeyFile: key.publicKeyFile });
  assert.is(r.verifier, 'node');
  assert.is(r.active, r.slot);
  assert.is(r.previous, undefined);
  assert.is(activeSlot(), r.slot);
  assert.is(activeSha(), sha(modelA));
  assert.ok(existsSync(join(root(), 'trusted_keys', `${key.keyId}.pub`)));
  assert.equal(readdirSync(join(root(), 'staging')), []);
  assert.ok(statSync(join(root(), 'active')).isDirectory());
});

test('second flash: active → B, previous → A; rollback swaps back; status reads both', async () => {
  const slotA = activeSlot();
  modelB = makeModelDir(work, 'model-b', 80 * 1024);
  await signModelDir(modelB, key.privateKeyFile);
  const r = await flashModel({ ...target, modelDir: modelB });
  assert.is(activeSlot(), r.slot);
  assert.is(previousSlot(), slotA);
  assert.is(activeSha(), sha(modelB));
  const rb = await rollbackBoard(target);
  assert.is(rb.active, slotA);
  assert.is(activeSlot(), slotA);
  assert.is(previousSlot(), r.slot);
  assert.is(activeSha(), sha(modelA));
  const st = await boardStatus(target);
  assert.is(st.active, slotA);
  assert.is(st.previous, r.slot);
  // roll forward again via the CLI
  const cli = runKdp(['rollback', '--host', `root@127.0.0.1`, '--port', String(sshd.port), '--identity', sshd.clientKey,
    '--known-hosts', sshd.knownHosts, '--remote-dir', root(), '--json']);
  assert.is(cli.status, 0, cli.stderr);
  assert.is((JSON.parse(cli.stdout) as { active: string }).active, r.slot);
  assert.is(activeSha(), sha(modelB));
});

test('unknown host key → refused with the fingerprint and how to add it; mismatch → HOST KEY MISMATCH', async () => {
  const before = activeSlot();
  const unknown = await expectError(flashModel({ ...target, modelDir: modelA, knownHostsFile: sshd.emptyKnownHosts }), HostKeyError);
  assert.is(unknown.problem, 'unknown');
  assert.match(unknown.message, `[127.0.0.1]:${sshd.port}`);
  assert.match(unknown.message, /SHA256:[A-Za-z0-9+/]{43}/);
  assert.match(unknown.message, 'ssh-keyscan -p');
  const missingFile = await expectError(rollbackBoard({ ...target, knownHostsFile: join(work, 'nope') }), HostKeyError);
  assert.is(missingFile.problem, 'unknown');
  const mismatch = await expectError(flashModel({ ...target, modelDir: modelA, knownHostsFile: sshd.wrongKnownHosts }), HostKeyError);
  assert.is(mismatch.problem, 'mismatch');
  assert.match(mismatch.message, 'HOST KEY MISMATCH');
  assert.is(activeSlot(), before);
  // and through the CLI: exit 1, E_HOST_KEY
  const cli = runKdp(['flash', '--host', 'root@127.0.0.1', '--port', String(sshd.port), '--identity', sshd.clientKey,
    '--known-hosts', sshd.emptyKnownHosts, '--remote-dir', root(), '--model', modelA]);
  assert.is(cli.status, 1);
  assert.match(cli.stderr, 'E_HOST_KEY');
});

test('tampered model → refused on the board (node and shell verifiers); active unchanged', async () => {
  const before = activeSlot();
  const t = makeModelDir(work, 'model-t', 64 * 1024);
  await signModelDir(t, key.privateKeyFile);
  // tamper after signing, keeping manifest and file consistent so only the signature can catch it
  const bytes = readFileSync(join(t, 'model.tflite'));
  bytes[100] = (bytes[100]! + 1) & 0xff;
  writeFileSync(join(t, 'model.tflite'), bytes);
  const m = JSON.parse(readFileSync(join(t, 'manifest.json'), 'utf8')) as { model: { sha256: string } };
  m.model.sha256 = createHash('sha256').update(bytes).digest('hex');
  writeFileSync(join(t, 'manifest.json'), JSON.stringify(m));
  const e1 = await expectError(flashModel({ ...target, modelDir: t }), IntegrityError);
  assert.match(e1.message, 'BAD SIGNATURE');
  assert.is(activeSlot(), before);
  const e2 = await expectError(flashModel({ ...target, modelDir: t, remoteVerifier: 'shell' }), IntegrityError);
  assert.match(e2.message, 'BAD SIGNATURE');
  assert.is(activeSlot(), before);
  assert.equal(readdirSync(join(root(), 'staging')), []);
  // signed by a key the board does not trust
  const other = generateSigningKey(join(work, 'other.key'));
  const u = makeModelDir(work, 'model-u', 16 * 1024);
  await signModelDir(u, other.privateKeyFile);
  const e3 = await expectError(flashModel({ ...target, modelDir: u }), IntegrityError);
  assert.match(e3.message, 'not among');
  assert.is(activeSlot(), before);
});

test('shell verifier (no node on the board) flashes and rolls back too', async () => {
  const c = makeModelDir(work, 'model-c', 40 * 1024);
  await signModelDir(c, key.privateKeyFile);
  const before = activeSlot();
  const r = await flashModel({ ...target, modelDir: c, remoteVerifier: 'shell' });
  assert.is(r.verifier, 'shell');
  assert.is(activeSlot(), r.slot);
  assert.is(activeSha(), sha(c));
  const rb = await rollbackBoard({ ...target, remoteVerifier: 'shell' });
  assert.is(rb.verifier, 'shell');
  assert.is(activeSlot(), before);
});

test('a model with a learned scorer: both files uploaded and verified on the board, and the board agent loads both', async () => {
  const m = join(work, 'maze-with-scorer');
  cpSync('models/maze2d-umaze', m, { recursive: true });
  await signModelDir(m, key.privateKeyFile);
  const man = JSON.parse(readFileSync(join(m, 'manifest.json'), 'utf8')) as { model: { bytes: number }; scorer: { file: string; bytes: number; sha256: string } };
  let last = { sent: 0, total: 0 };
  const r = await flashModel({ ...target, modelDir: m, onProgress: (sent, total) => { last = { sent, total }; } });
  assert.is(activeSlot(), r.slot);
  assert.is(last.total, man.model.bytes + man.scorer.bytes, 'progress counts the scorer');
  assert.is(last.sent, last.total);
  const onBoard = readFileSync(join(root(), 'active', man.scorer.file));
  assert.is(createHash('sha256').update(onBoard).digest('hex'), man.scorer.sha256);
  const loaded = await createModelLoader({ trustedKeysDir: join(root(), 'trusted_keys') })(join(root(), 'active'));
  assert.is(loaded.scorerBytes?.length, man.scorer.bytes);
});

test('kill -9 of `kdp flash` mid-upload: the old model stays active and loadable; the next flash succeeds', async () => {
  const before = activeSlot()!;
  const beforeSha = activeSha();
  const big = makeModelDir(work, 'model-big', 1024 * 1024);
  await signModelDir(big, key.privateKeyFile);
  const child = spawn(process.execPath, [BIN, 'flash', '--host', 'root@127.0.0.1', '--port', String(sshd.port), '--identity', sshd.clientKey,
    '--known-hosts', sshd.knownHosts, '--remote-dir', root(), '--model', big], {
    stdio: 'ignore', env: { ...process.env, KDP_FLASH_CHUNK_DELAY_MS: '15', KDP_LOG_LEVEL: 'warn' },
  });
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_c, sig) => resolve(sig)));
  // wait until the model file is partly uploaded into staging
  const deadline = Date.now() + 30_000;
  let partial = 0;
  while (Date.now() < deadline) {
    const staging = join(root(), 'staging');
    for (const s of existsSync(staging) ? readdirSync(staging) : []) {
      const f = join(staging, s, 'model.tflite');
      if (existsSync(f)) partial = statSync(f).size;
    }
    if (partial > 64 * 1024) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  child.kill('SIGKILL');
  assert.is(await exited, 'SIGKILL');
  assert.ok(partial > 0 && partial < 1024 * 1024, `killed mid-upload (partial ${partial} B)`);
  // the board still runs the old model: active unchanged, verifies, and the serve loader accepts it
  assert.is(activeSlot(), before);
  assert.is(activeSha(), beforeSha);
  const v = await verifyModelDir(join(root(), 'active'), loadTrustedKeys(join(root(), 'trusted_keys')));
  assert.is(v.sha256, beforeSha);
  const loaded = await createModelLoader({ trustedKeysDir: join(root(), 'trusted_keys') })(join(root(), 'active'));
  assert.is(loaded.manifest.model.sha256, beforeSha);
  // a new flash cleans the dead staging dir and goes through
  const r = await flashModel({ ...target, modelDir: big });
  assert.is(activeSlot(), r.slot);
  assert.is(activeSha(), sha(big));
  assert.equal(readdirSync(join(root(), 'staging')), []);
  assert.is(previousSlot(), before);
});

test.run();
