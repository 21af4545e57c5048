import { createPrivateKey, createPublicKey, generateKeyPairSync, sign as edSign, type KeyObject } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { ConfigError, IntegrityError, ModelError } from '../errors.js';
import { writeFileAtomic, writeJsonAtomic } from '../util/atomic-write.js';
import type { ModelManifest } from '../planner/manifest.js';
import { keyIdOf, modelFiles, signedPayload, verifyManifestSignature } from './remote/kdp-slot.mjs';
import { readManifestFile, readModelFile } from '../planner/model-file.js';

/**
 * Model signing (ed25519, node:crypto).
 *   deploy.key      private key, PKCS#8 PEM, mode 0600 — stays on the build machine
 *   deploy.key.pub  public key, SPKI PEM — installed on boards under <remote-dir>/trusted_keys/<keyId>.pub
 * The signature covers the manifest without its `signature` field in canonical JSON (sorted keys, no
 * whitespace; see kdp-slot.mjs `canonicalJson`); the manifest records the model's sha256 and size, so the
 * .tflite bytes are covered too.
 */

export interface GeneratedKey { privateKeyFile: string; publicKeyFile: string; keyId: string }

export function publicKeyFileFor(privateKeyFile: string): string {
  return `${privateKeyFile}.pub`;
}

export function generateSigningKey(privateKeyFile: string, opts: { force?: boolean } = {}): GeneratedKey {
  const publicKeyFile = publicKeyFileFor(privateKeyFile);
  if (!opts.force && (existsSync(privateKeyFile) || existsSync(publicKeyFile))) {
    throw new ConfigError(`refusing to overwrite an existing key`, { file: privateKeyFile, hint: 'pick another file name, or delete the old key if you really mean to rotate it' });
  }
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  writePrivateFile(privateKeyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }) as string);
  writeFileAtomic(publicKeyFile, publicKey.export({ type: 'spki', format: 'pem' }) as string);
  return { privateKeyFile, publicKeyFile, keyId: keyIdOf(publicKey) };
}

/** Like writeFileAtomic, but the temp file is created 0600 so the key is never readable by others. */
function writePrivateFile(file: string, text: string): void {
  mkdirSync(dirname(resolve(file)), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  const fd = openSync(tmp, 'wx', 0o600);
  try { writeSync(fd, text); fsyncSync(fd); } finally { closeSync(fd); }
  renameSync(tmp, file);
}

export function loadPrivateKey(file: string): KeyObject {
  let pem: Buffer;
  try {
    pem = readFileSync(file);
  } catch (e) {
    throw new ConfigError(`cannot read signing key: ${(e as Error).message}`, { file, cause: e, hint: 'create one with `kdp sign --generate-key deploy.key`' });
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch (e) {
    throw new ConfigError('not a PEM private key', { file, cause: e, hint: 'expected the PKCS#8 PEM written by `kdp sign --generate-key`' });
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new ConfigError(`key type is ${key.asymmetricKeyType ?? 'unknown'}, expected ed25519`, { file });
  return key;
}

export function loadPublicKey(file: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPublicKey(readFileSync(file));
  } catch (e) {
    throw new ConfigError(`cannot read public key: ${(e as Error).message}`, { file, cause: e, hint: 'expected the SPKI PEM `<key>.pub` written by `kdp sign --generate-key`' });
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new ConfigError(`key type is ${key.asymmetricKeyType ?? 'unknown'}, expected ed25519`, { file });
  return key;
}

/** manifest.json of a model folder, checked against the one manifest schema (see planner/model-file.ts). */
export function readManifest(modelDir: string): ModelManifest {
  return readManifestFile(modelDir);
}

/**
 * Check that the model file matches the manifest's sha256/bytes (local side, before signing or
 * flashing): the same readModelFile every loader uses, so a symlink to /dev/zero or a FIFO is refused
 * instead of hashed forever.
 */
export async function checkModelFile(modelDir: string, m: ModelManifest): Promise<void> {
  try {
    // every file the manifest names (model, scorer, clearance, ...): the set the board verifies
    for (const f of modelFiles(m as never)) readModelFile(modelDir, f, f.role);
  } catch (e) {
    if (e instanceof ModelError && /sha256|bytes, the manifest says/.test(e.message)) {
      throw new IntegrityError(`${e.message.split('\n')[0]} (manifest.model: ${m.model.bytes} B, ${m.model.sha256.slice(0, 16)}…)`,
        're-export the model (`kdp export`) instead of editing files by hand');
    }
    throw e;
  }
}

export interface SignResult { manifestFile: string; keyId: string; sha256: string; signature: string; modelVersion: number }

/** Sign models/X/manifest.json in place (atomically). Any previous signature is replaced. */
export async function signModelDir(modelDir: string, privateKeyFile: string, opts: { modelVersion?: number } = {}): Promise<SignResult> {
  const key = loadPrivateKey(privateKeyFile);
  const manifest = readManifest(modelDir);
  await checkModelFile(modelDir, manifest);
  const { signature: _old, ...rest } = manifest;
  // the board refuses versions below the newest it ran: an explicit one, else the manifest's, else the signing time
  const modelVersion = opts.modelVersion ?? manifest.modelVersion ?? Math.floor(Date.now() / 1000);
  const unsigned = { ...rest, modelVersion };
  const keyId = keyIdOf(createPublicKey(key));
  const value = edSign(null, signedPayload(unsigned), key).toString('base64');
  const signed: ModelManifest = { ...unsigned, signature: { alg: 'ed25519', keyId, value } };
  const manifestFile = join(modelDir, 'manifest.json');
  writeJsonAtomic(manifestFile, signed);
  return { manifestFile, keyId, sha256: manifest.model.sha256, signature: value, modelVersion };
}

/** Verify a manifest's signature against given public keys (throws IntegrityError). */
export function verifyManifest(m: ModelManifest, publicKeys: KeyObject[]): string {
  const trusted = new Map(publicKeys.map((k) => [keyIdOf(k), k] as const));
  try {
    return verifyManifestSignature(m as never, trusted);
  } catch (e) {
    throw new IntegrityError((e as Error).message);
  }
}
