import { closeSync, fstatSync, openSync, readFileSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SFTPWrapper } from 'ssh2';
import { ConfigError, IntegrityError, KdpError, ModelError, TransportError } from '../errors.js';
import { loadRobotProfile, ROBOT_ENVS } from '../boards/schema.js';
import { childLogger } from '../log.js';
import { checkModelFile, loadPublicKey, readManifest, verifyManifest } from './keys.js';
import { keyIdOf, modelFiles, signedPayload } from './remote/kdp-slot.mjs';
import { SshSession, shq, type SshOptions } from './ssh.js';

const log = childLogger('flash');
const REMOTE_DIR = fileURLToPath(new URL('./remote/', import.meta.url));
const CHUNK_BYTES = 32 * 1024;
const WINDOW = 16;

export interface BoardTarget extends SshOptions {
  /** remote root, e.g. `~/kdp` (relative to the login's home) or absolute */
  remoteDir: string;
  /** `auto` (node if present, else openssl+sha256sum), or force `shell` */
  remoteVerifier?: 'auto' | 'shell';
  /** node binary on the board (nvm installs are often not on the non-interactive PATH) */
  remoteNode?: string;
}

export interface FlashOptions extends BoardTarget {
  modelDir: string;
  /** install this public key into <remote>/trusted_keys first (provisioning) */
  trustKeyFile?: string;
  /** robot profile the board drives (--robot, or the host profile's deploy.robot): the model's env must fit it */
  robot?: string;
  onProgress?: (sentBytes: number, totalBytes: number, file: string) => void;
  signal?: AbortSignal;
}

export interface SlotResult {
  ok: true;
  action: 'activate' | 'rollback' | 'status';
  active: string | undefined;
  previous: string | undefined;
  sha256?: string;
  verifier: 'node' | 'shell';
  remoteDir: string;
  board: string;
}

/** Test knob only: a delay per uploaded chunk so a test can kill the process mid-upload. */
function chunkDelayMs(): number {
  const v = Number(process.env.KDP_FLASH_CHUNK_DELAY_MS ?? 0);
  return Number.isFinite(v) && v > 0 ? v : 0;
}

function sftpCall<T>(fn: (cb: (err: Error | null | undefined, v?: T) => void) => void, what: string): Promise<T> {
  return new Promise((resolve, reject) => fn((err, v) => (err ? reject(new TransportError(`${what}: ${err.message}`, { cause: err })) : resolve(v as T))));
}

async function mkdirp(sftp: SFTPWrapper, dir: string): Promise<void> {
  const parts = dir.split('/').filter(Boolean);
  let cur = dir.startsWith('/') ? '' : '.';
  for (const p of parts) {
    cur = `${cur}/${p}`;
    const exists = await new Promise<boolean>((resolve) => sftp.stat(cur, (err) => resolve(!err)));
    if (!exists) {
      await new Promise<void>((resolve, reject) => sftp.mkdir(cur, { mode: 0o755 }, (err) => {
        if (!err) { resolve(); return; }
        // raced with another mkdir: fine if it exists now
        sftp.stat(cur, (e2) => (e2 ? reject(new TransportError(`cannot create ${cur} on the board: ${err.message}`, { cause: err })) : resolve()));
      }));
    }
  }
}

/** Upload bytes (or a local file) to `remote` in chunks; fsync before close when the server supports it. */
async function upload(sftp: SFTPWrapper, source: { file: string } | { data: Buffer }, remote: string, mode: number,
  onProgress?: (sent: number) => void, signal?: AbortSignal): Promise<void> {
  const handle = await sftpCall<Buffer>((cb) => sftp.open(remote, 'w', { mode }, cb), `open ${remote}`);
  const delay = chunkDelayMs();
  let fd: number | undefined;
  try {
    if ('file' in source) fd = openSync(source.file, 'r');
    const size = fd !== undefined ? fstatSync(fd).size : (source as { data: Buffer }).data.length;
    // up to WINDOW writes in flight: over a real link each sequential write would cost one round trip
    const inflight = new Set<Promise<void>>();
    let acked = 0;
    for (let pos = 0; pos < size;) {
      if (signal?.aborted) throw new KdpError('E_ABORTED', 'flash interrupted');
      const n = Math.min(CHUNK_BYTES, size - pos);
      let chunk: Buffer;
      if (fd !== undefined) {
        chunk = Buffer.allocUnsafe(n);
        const got = readSync(fd, chunk, 0, n, pos);
        if (got !== n) throw new TransportError(`${remote}: local file changed while uploading`);
      } else {
        chunk = (source as { data: Buffer }).data.subarray(pos, pos + n);
      }
      const at = pos;
      const w = sftpCall<void>((cb) => sftp.write(handle, chunk, 0, n, at, (err) => cb(err)), `write ${remote}`)
        .then(() => { acked += n; onProgress?.(acked); });
      inflight.add(w);
      void w.then(() => inflight.delete(w), () => undefined);
      pos += n;
      if (inflight.size >= (delay ? 1 : WINDOW)) await Promise.race(inflight);
      if (delay) await new Promise((r) => setTimeout(r, delay));
    }
    await Promise.all(inflight);
    await new Promise<void>((resolve) => {
      try { sftp.ext_openssh_fsync(handle, () => resolve()); } catch { resolve(); }
    });
  } finally {
    if (fd !== undefined) closeSync(fd);
    await new Promise<void>((resolve) => sftp.close(handle, () => resolve()));
  }
}

async function resolveRemoteRoot(sftp: SFTPWrapper, remoteDir: string): Promise<string> {
  const home = await sftpCall<string>((cb) => sftp.realpath('.', cb), 'realpath');
  if (remoteDir === '~') return home;
  if (remoteDir.startsWith('~/')) return `${home}/${remoteDir.slice(2)}`;
  if (remoteDir.startsWith('/')) return remoteDir.replace(/\/+$/, '');
  return `${home}/${remoteDir}`;
}

function slotName(name: string, sha256: string): string {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*$/, 'Z');
  const safe = name.replace(/[^A-Za-z0-9._-]/g, '-').replace(/^[._-]+/, '').slice(0, 48) || 'model';
  return `${safe}-${sha256.slice(0, 12)}-${stamp}`;
}

function slotCommand(t: BoardTarget, root: string, args: string[]): string {
  const env = [t.remoteVerifier === 'shell' ? 'KDP_SLOT_NO_NODE=1' : '', t.remoteNode ? `KDP_NODE=${shq(t.remoteNode)}` : ''].filter(Boolean).join(' ');
  return `${env ? `${env} ` : ''}sh ${shq(`${root}/bin/kdp-slot.sh`)} ${args.map(shq).join(' ')}`;
}

function parseSlotReply(r: { code: number; stdout: string; stderr: string }, board: string, root: string): SlotResult {
  const line = r.stdout.trim().split('\n').pop() ?? '';
  let j: Record<string, unknown> | undefined;
  try { j = JSON.parse(line) as Record<string, unknown>; } catch { j = undefined; }
  if (r.code === 0 && j?.ok === true) {
    return { ok: true, action: j.action as SlotResult['action'], active: (j.active as string) || undefined, previous: (j.previous as string) || undefined,
      ...(typeof j.sha256 === 'string' ? { sha256: j.sha256 } : {}), verifier: j.verifier === 'shell' ? 'shell' : 'node', remoteDir: root, board };
  }
  const msg = typeof j?.error === 'string' ? j.error : (r.stderr.trim() || r.stdout.trim() || `exit ${r.code}`);
  if (r.code === 3 || j?.integrity === true) {
    throw new IntegrityError(`the board refused the model: ${msg}`, 'the active model was not changed; re-sign (`kdp sign`) or re-export the model, and check the board trusts your key (--trust)');
  }
  throw new TransportError(`board-side slot tool failed: ${msg}`, { code: 'E_REMOTE', hint: `inspect ${root} on the board; \`sh ${root}/bin/kdp-slot.sh status ${root}\`` });
}

async function installTools(sftp: SFTPWrapper, root: string): Promise<void> {
  await mkdirp(sftp, `${root}/bin`);
  for (const f of ['kdp-slot.mjs', 'kdp-slot.sh']) {
    const tmp = `${root}/bin/.${f}.${process.pid}.tmp`;
    await upload(sftp, { data: readFileSync(join(REMOTE_DIR, f)) }, tmp, 0o755);
    await sftpCall<void>((cb) => sftp.ext_openssh_rename(tmp, `${root}/bin/${f}`, (e) => cb(e)), `install ${f}`);
  }
}

/**
 * Deploy models/X to a board: local checks → SSH (known_hosts, key auth) → upload to staging/<slot> →
 * board-side verify (sha256 + ed25519 against the board's trusted keys) → atomic switch of `active`.
 */
export async function flashModel(o: FlashOptions): Promise<SlotResult & { slot: string; uploadedBytes: number }> {
  const manifest = readManifest(o.modelDir);
  await checkModelFile(o.modelDir, manifest);
  if (o.robot !== undefined) {
    const robot = loadRobotProfile(o.robot);
    const envs = ROBOT_ENVS[robot.kind];
    if (!envs.includes(manifest.env)) {
      throw new ModelError('E_MODEL_MISMATCH', `${o.modelDir} was trained for env "${manifest.env}", but the board drives robot "${robot.name}" (${robot.kind}: ${envs.join(', ')})`,
        { hint: `flash a model exported for ${envs.join(' or ')}, or pass the right --robot / board profile` });
    }
  }
  if (!manifest.signature) {
    throw new IntegrityError(`${o.modelDir} is not signed; the board would refuse it`, `sign it first: kdp sign --key deploy.key ${o.modelDir}`);
  }
  let trustPem: Buffer | undefined;
  let trustKeyId: string | undefined;
  if (o.trustKeyFile) {
    const pub = loadPublicKey(o.trustKeyFile);
    verifyManifest(manifest, [pub]);
    trustPem = readFileSync(o.trustKeyFile);
    trustKeyId = keyIdOf(pub);
  }
  // the model, its learned plan scorer when it ships one (the board's loop selects plans with it), the manifest
  const payload = modelFiles(manifest as never);
  const files = [
    ...payload.map((f) => ({ local: join(o.modelDir, f.file), name: f.file, bytes: f.bytes })),
    { local: join(o.modelDir, 'manifest.json'), name: 'manifest.json', bytes: 0 },
  ];
  const total = payload.reduce((a, f) => a + f.bytes, 0);
  let sentBefore = 0;
  const session = await SshSession.connect(o);
  try {
    const sftp = await session.sftp();
    const root = await resolveRemoteRoot(sftp, o.remoteDir);
    log.info({ board: session.description, root }, 'connected');
    for (const d of ['staging', 'slots', 'trusted_keys']) await mkdirp(sftp, `${root}/${d}`);
    await installTools(sftp, root);
    if (trustPem && trustKeyId) {
      const tmp = `${root}/trusted_keys/.${trustKeyId}.pub.tmp`;
      await upload(sftp, { data: trustPem }, tmp, 0o644);
      await sftpCall<void>((cb) => sftp.ext_openssh_rename(tmp, `${root}/trusted_keys/${trustKeyId}.pub`, (e) => cb(e)), 'install trusted key');
    }
    const slot = slotName(manifest.name ?? 'model', manifest.model.sha256);
    const staging = `${root}/staging/${slot}`;
    await mkdirp(sftp, `${staging}/.kdp-verify`);
    // payload + signature for the openssl fallback verifier (node verifies manifest.json itself)
    await upload(sftp, { data: signedPayload(manifest) }, `${staging}/.kdp-verify/payload.json`, 0o644);
    await upload(sftp, { data: Buffer.from(manifest.signature.value, 'base64') }, `${staging}/.kdp-verify/signature.bin`, 0o644);
    for (const f of files) {
      const before = sentBefore;
      await upload(sftp, { file: f.local }, `${staging}/${f.name}`, 0o644,
        f.bytes ? (n) => o.onProgress?.(before + n, total, f.name) : undefined, o.signal);
      sentBefore += f.bytes; // checked against the files by checkModelFile above
    }
    const r = await session.exec(slotCommand(o, root, ['activate', root, slot]));
    const res = parseSlotReply(r, session.description, root);
    return { ...res, slot, uploadedBytes: total };
  } finally {
    session.close();
  }
}

/** Switch the board back to its previous slot (verified again on the board first). */
export async function rollbackBoard(t: BoardTarget): Promise<SlotResult> {
  const session = await SshSession.connect(t);
  try {
    const sftp = await session.sftp();
    const root = await resolveRemoteRoot(sftp, t.remoteDir);
    const exists = await new Promise<boolean>((resolve) => sftp.stat(`${root}/bin/kdp-slot.sh`, (err) => resolve(!err)));
    if (!exists) throw new ConfigError(`${session.description}: no kdp deployment under ${root}`, { hint: 'flash a model first (kdp flash), or pass the right --remote-dir' });
    const r = await session.exec(slotCommand(t, root, ['rollback', root]));
    return parseSlotReply(r, session.description, root);
  } finally {
    session.close();
  }
}

/** Read the board's slot status. */
export async function boardStatus(t: BoardTarget): Promise<SlotResult> {
  const session = await SshSession.connect(t);
  try {
    const sftp = await session.sftp();
    const root = await resolveRemoteRoot(sftp, t.remoteDir);
    const r = await session.exec(slotCommand(t, root, ['status', root]));
    return parseSlotReply(r, session.description, root);
  } finally {
    session.close();
  }
}
