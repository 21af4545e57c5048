#!/usr/bin/env node
// kdp-slot — board-side model slot tool for kdp-edge (issue 7). Plain Node ≥ 18 ESM, no dependencies:
// `kdp flash` uploads it next to the model and runs it ON THE BOARD; `kdp serve` imports the same functions.
//
// Layout under ROOT (e.g. ~/kdp):
//   trusted_keys/<keyId>.pub   ed25519 public keys (SPKI PEM) the board accepts
//   staging/<slot>/            uploads in progress (never loaded)
//   slots/<slot>/              verified models: manifest.json + the files it names (model, scorer, ...)
//   active   -> slots/<slot>   symlink, switched atomically with rename(2)
//   previous -> slots/<slot>   the slot that was active before (for rollback)
//
// Usage: node kdp-slot.mjs verify   --root ROOT --dir DIR
//        node kdp-slot.mjs activate --root ROOT --slot SLOT
//        node kdp-slot.mjs rollback --root ROOT
//        node kdp-slot.mjs status   --root ROOT
// Prints one JSON line; exit 0 ok, 3 integrity failure (nothing changed), 4 other error.
import { createHash, createPublicKey, verify as edVerify } from 'node:crypto';
import { createReadStream, closeSync, fsyncSync, lstatSync, mkdirSync, openSync, readFileSync, readdirSync, readlinkSync,
  renameSync, rmSync, statSync, symlinkSync, existsSync, writeSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export class SlotIntegrityError extends Error {
  constructor(message) { super(message); this.name = 'SlotIntegrityError'; this.integrity = true; }
}

/**
 * Canonical JSON (RFC 8785 JCS style): object keys sorted by UTF-16 code units, no whitespace,
 * ECMAScript number and string serialization; non-finite numbers and undefined values are rejected.
 */
export function canonicalJson(value) {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean': return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError('canonicalJson: non-finite number');
      return JSON.stringify(value);
    case 'string': return JSON.stringify(value);
    case 'object':
      if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v)).join(',')}]`;
      return `{${Object.keys(value).filter((k) => value[k] !== undefined).sort()
        .map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k])}`).join(',')}}`;
    default: throw new TypeError(`canonicalJson: cannot encode ${typeof value}`);
  }
}

/** The bytes an ed25519 signature covers: the manifest without `signature`, canonical, UTF-8. */
export function signedPayload(manifest) {
  const { signature: _omit, ...rest } = manifest;
  return Buffer.from(canonicalJson(rest), 'utf8');
}

/** keyId = first 16 hex chars of SHA-256 over the SPKI DER public key. */
export function keyIdOf(publicKey) {
  return createHash('sha256').update(publicKey.export({ type: 'spki', format: 'der' })).digest('hex').slice(0, 16);
}

export function loadTrustedKeys(dir) {
  const keys = new Map();
  let names = [];
  try { names = readdirSync(dir); } catch { return keys; }
  for (const n of names) {
    if (!n.endsWith('.pub')) continue;
    try {
      const k = createPublicKey(readFileSync(join(dir, n)));
      if (k.asymmetricKeyType === 'ed25519') keys.set(keyIdOf(k), k);
    } catch { /* not a key; ignore */ }
  }
  return keys;
}

/** SHA-256 of a file, streamed in small chunks so a caller's event loop keeps running. */
export function sha256File(path, chunkBytes = 64 * 1024) {
  return new Promise((resolvePromise, reject) => {
    const h = createHash('sha256');
    let bytes = 0;
    const s = createReadStream(path, { highWaterMark: chunkBytes });
    s.on('data', (c) => { h.update(c); bytes += c.length; });
    s.on('error', reject);
    s.on('end', () => resolvePromise({ sha256: h.digest('hex'), bytes }));
  });
}

function fail(msg) { throw new SlotIntegrityError(msg); }

/** Parse and check the shape of a manifest enough to verify it (the full schema is the runtime's). */
export function parseManifest(text, where) {
  let m;
  try { m = JSON.parse(text); } catch (e) { fail(`${where}: manifest.json is not valid JSON (${e.message})`); }
  if (!m || typeof m !== 'object' || Array.isArray(m)) fail(`${where}: manifest.json is not an object`);
  if (m.format !== 'kdp-model') fail(`${where}: manifest.format is ${JSON.stringify(m.format)}, expected "kdp-model"`);
  const f = m.model;
  if (!f || typeof f.file !== 'string' || typeof f.sha256 !== 'string' || typeof f.bytes !== 'number') {
    fail(`${where}: manifest.model must have file, sha256 and bytes`);
  }
  if (f.file !== basename(f.file) || f.file.startsWith('.') || f.file === 'manifest.json') fail(`${where}: manifest.model.file must be a plain file name, got ${JSON.stringify(f.file)}`);
  if (!/^[0-9a-f]{64}$/.test(f.sha256)) fail(`${where}: manifest.model.sha256 is not 64 lower-case hex chars`);
  // every other top-level entry that names a file (the learned plan scorer, a clearance model, ...) is part
  // of the model and checked exactly like it
  const names = new Set([f.file]);
  for (const [role, e] of Object.entries(m)) {
    if (role === 'model' || !e || typeof e !== 'object' || Array.isArray(e) || !('file' in e)) continue;
    if (typeof e.file !== 'string' || typeof e.sha256 !== 'string' || typeof e.bytes !== 'number') fail(`${where}: manifest.${role} must have file, sha256 and bytes`);
    if (e.file !== basename(e.file) || e.file.startsWith('.') || e.file === 'manifest.json' || names.has(e.file)) fail(`${where}: manifest.${role}.file must be a plain file name of its own, got ${JSON.stringify(e.file)}`);
    if (!/^[0-9a-f]{64}$/.test(e.sha256)) fail(`${where}: manifest.${role}.sha256 is not 64 lower-case hex chars`);
    names.add(e.file);
  }
  return m;
}

/** The files a manifest names, model first: every top-level entry with a `file` ({role, file, sha256, bytes}). */
export function modelFiles(manifest) {
  const out = [{ role: 'model', file: manifest.model.file, sha256: manifest.model.sha256, bytes: manifest.model.bytes }];
  for (const [role, e] of Object.entries(manifest)) {
    if (role !== 'model' && e && typeof e === 'object' && !Array.isArray(e) && typeof e.file === 'string') out.push({ role, file: e.file, sha256: e.sha256, bytes: e.bytes });
  }
  return out;
}

/** Check the signature of a parsed manifest against trusted keys (a Map keyId → KeyObject). */
export function verifyManifestSignature(manifest, trusted, where = 'manifest') {
  const sig = manifest.signature;
  if (!sig) fail(`${where}: model is not signed (no manifest.signature); sign it with \`kdp sign --key <key> <model-dir>\``);
  if (sig.alg !== 'ed25519' || typeof sig.value !== 'string' || typeof sig.keyId !== 'string') fail(`${where}: manifest.signature must be {alg:"ed25519", keyId, value}`);
  const key = trusted.get(sig.keyId);
  if (!key) fail(`${where}: signed by key ${sig.keyId}, which is not among the ${trusted.size} trusted key(s)`);
  const ok = edVerify(null, signedPayload(manifest), key, Buffer.from(sig.value, 'base64'));
  if (!ok) fail(`${where}: BAD SIGNATURE (manifest was modified after signing, or signed with another key)`);
  return sig.keyId;
}

/** Full check of a model directory: manifest shape, signature, size and sha256 of every file it names. */
export async function verifyModelDir(dir, trusted) {
  const where = dir;
  let text;
  try { text = readFileSync(join(dir, 'manifest.json'), 'utf8'); } catch (e) { fail(`${where}: cannot read manifest.json (${e.code ?? e.message})`); }
  const manifest = parseManifest(text, where);
  const keyId = verifyManifestSignature(manifest, trusted, where);
  let bytes = 0;
  for (const f of modelFiles(manifest)) {
    const file = join(dir, f.file);
    let st;
    try { st = lstatSync(file); } catch (e) { fail(`${where}: ${f.role} file ${f.file} missing (${e.code ?? e.message})`); }
    if (!st.isFile()) fail(`${where}: ${f.file} is not a regular file`);
    if (st.size !== f.bytes) fail(`${where}: ${f.file} is ${st.size} bytes, manifest says ${f.bytes}`);
    const { sha256 } = await sha256File(file);
    if (sha256 !== f.sha256) fail(`${where}: ${f.file} sha256 ${sha256} does not match manifest ${f.sha256} (tampered or truncated)`);
    if (f.role === 'model') bytes = st.size;
  }
  return { manifest, keyId, sha256: manifest.model.sha256, bytes };
}

/** manifest.modelVersion (signed; absent = 0). */
export function modelVersionOf(manifest) {
  const v = manifest.modelVersion;
  if (v === undefined) return 0;
  if (!Number.isSafeInteger(v) || v < 0) fail(`manifest.modelVersion must be a non-negative integer, got ${JSON.stringify(v)}`);
  return v;
}

/** The highest model version ever activated on this board (ROOT/version-floor; rollback does not lower it). */
export function readVersionFloor(root) {
  let text;
  try { text = readFileSync(join(root, 'version-floor'), 'utf8'); } catch { return 0; }
  const v = Number(text.trim());
  return Number.isSafeInteger(v) && v >= 0 ? v : 0;
}

function writeVersionFloor(root, v) {
  const tmp = join(root, `.version-floor.${process.pid}.tmp`);
  const fd = openSync(tmp, 'w', 0o644);
  try { writeSync(fd, `${v}\n`); fsyncSync(fd); } finally { closeSync(fd); }
  renameSync(tmp, join(root, 'version-floor'));
  fsyncDir(root);
}

function fsyncDir(dir) {
  try { const fd = openSync(dir, 'r'); try { fsyncSync(fd); } finally { closeSync(fd); } } catch { /* best effort */ }
}

function readLink(root, name) {
  try { return readlinkSync(join(root, name)); } catch { return undefined; }
}

/** Point ROOT/name at target atomically: symlink to a temp name, then rename(2) over the old link. */
export function swapLink(root, name, target) {
  const tmp = join(root, `.${name}.${process.pid}.${Date.now()}.tmp`);
  rmSync(tmp, { force: true });
  symlinkSync(target, tmp);
  renameSync(tmp, join(root, name));
  fsyncDir(root);
}

function slotOf(link) { return link === undefined ? undefined : basename(link); }

export function status(root) {
  const active = slotOf(readLink(root, 'active'));
  const previous = slotOf(readLink(root, 'previous'));
  let slots = [];
  try { slots = readdirSync(join(root, 'slots')).sort(); } catch { /* none yet */ }
  let staging = [];
  try { staging = readdirSync(join(root, 'staging')).sort(); } catch { /* none */ }
  return { root, active, previous, slots, staging, trustedKeys: [...loadTrustedKeys(join(root, 'trusted_keys')).keys()] };
}

function checkSlotName(slot) {
  if (typeof slot !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(slot)) throw new Error(`bad slot name ${JSON.stringify(slot)}`);
}

/** Verify staging/SLOT, move it to slots/SLOT, previous := active, active := SLOT; prune other slots. */
export async function activate(root, slot, { keep = 2 } = {}) {
  checkSlotName(slot);
  const staged = join(root, 'staging', slot);
  const trusted = loadTrustedKeys(join(root, 'trusted_keys'));
  if (trusted.size === 0) fail(`${root}/trusted_keys has no ed25519 public keys; install one (kdp flash --trust <key>.pub)`);
  let result;
  try {
    result = await verifyModelDir(staged, trusted);
  } catch (e) {
    rmSync(staged, { recursive: true, force: true });
    throw e;
  }
  // replay protection: never activate a model older than the newest one this board has run
  const version = modelVersionOf(result.manifest);
  const floor = readVersionFloor(root);
  if (version < floor) {
    rmSync(staged, { recursive: true, force: true });
    fail(`${staged}: model version ${version} is older than version ${floor} this board already ran (replay of an older model?); use kdp rollback to go back on purpose`);
  }
  mkdirSync(join(root, 'slots'), { recursive: true });
  const dest = join(root, 'slots', slot);
  if (existsSync(dest)) rmSync(dest, { recursive: true, force: true });
  renameSync(staged, dest);
  fsyncDir(join(root, 'slots'));
  const before = readLink(root, 'active');
  if (before !== undefined && slotOf(before) !== slot) swapLink(root, 'previous', before);
  swapLink(root, 'active', join('slots', slot));
  // prune: keep active, previous and the newest `keep` others' worth of history; clear dead staging dirs
  const keepSet = new Set([slot, slotOf(readLink(root, 'previous'))]);
  const all = readdirSync(join(root, 'slots')).filter((s) => !keepSet.has(s))
    .map((s) => ({ s, t: lstatSync(join(root, 'slots', s)).mtimeMs })).sort((a, b) => b.t - a.t);
  for (const { s } of all.slice(Math.max(0, keep - keepSet.size))) rmSync(join(root, 'slots', s), { recursive: true, force: true });
  try { for (const s of readdirSync(join(root, 'staging'))) rmSync(join(root, 'staging', s), { recursive: true, force: true }); } catch { /* none */ }
  if (version > floor) writeVersionFloor(root, version);
  return { ok: true, action: 'activate', modelVersion: version, active: slot, previous: slotOf(readLink(root, 'previous')), name: result.manifest.name, sha256: result.sha256, bytes: result.bytes, keyId: result.keyId };
}

/** Swap active and previous after verifying the previous slot again. */
export async function rollback(root) {
  const prev = readLink(root, 'previous');
  if (prev === undefined) throw new Error(`${root}: no previous slot to roll back to`);
  const cur = readLink(root, 'active');
  const trusted = loadTrustedKeys(join(root, 'trusted_keys'));
  const result = await verifyModelDir(resolve(root, prev), trusted);
  swapLink(root, 'active', prev);
  if (cur !== undefined) swapLink(root, 'previous', cur);
  return { ok: true, action: 'rollback', active: slotOf(prev), previous: slotOf(cur), name: result.manifest.name, sha256: result.sha256 };
}

function arg(argv, name) {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
}

async function main(argv) {
  const cmd = argv[0];
  const root = arg(argv, 'root');
  try {
    if (!root) throw new Error('--root is required');
    let out;
    if (cmd === 'verify') {
      const dir = arg(argv, 'dir');
      if (!dir) throw new Error('--dir is required');
      const r = await verifyModelDir(resolve(root, dir), loadTrustedKeys(join(root, 'trusted_keys')));
      out = { ok: true, action: 'verify', name: r.manifest.name, sha256: r.sha256, bytes: r.bytes, keyId: r.keyId };
    } else if (cmd === 'activate') out = await activate(root, arg(argv, 'slot'));
    else if (cmd === 'rollback') out = await rollback(root);
    else if (cmd === 'status') out = { ok: true, action: 'status', ...status(root) };
    else throw new Error(`unknown command ${JSON.stringify(cmd)} (verify|activate|rollback|status)`);
    process.stdout.write(JSON.stringify({ ...out, verifier: 'node' }) + '\n');
    return 0;
  } catch (e) {
    const integrity = e instanceof SlotIntegrityError;
    process.stdout.write(JSON.stringify({ ok: false, integrity, error: e.message, verifier: 'node' }) + '\n');
    return integrity ? 3 : 4;
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = await main(process.argv.slice(2));
}
