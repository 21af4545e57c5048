/**
 * Opening what a model folder holds: manifest.json (size cap, JSON, schema) and any file the manifest
 * names (`model`, `scorer`, …) through one function, readModelFile: a plain file name inside the
 * folder (symlinks resolved and kept inside), a regular file (never a FIFO or device), size equal to
 * the manifest's and under the cap before reading, sha256 equal to the manifest's.
 */
import { createHash } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ModelError } from '../errors.js';
import { checkContainedFile, readRegularFile, SafeReadError } from '../util/safe-read.js';
import { MANIFEST_FILE, type ModelFileEntry, type ModelManifest } from './manifest.js';
import { MAX_MANIFEST_BYTES, MAX_MODEL_FILE_BYTES, validateManifest } from './manifest-schema.js';

function asModelError(e: unknown, hint: string): never {
  if (e instanceof SafeReadError) {
    throw new ModelError(e.problem === 'name' || e.problem === 'outside' || e.problem === 'not-regular' ? 'E_MODEL_SCHEMA' : 'E_MODEL_IO', e.message, { hint });
  }
  throw e;
}

export function requireModelDir(dir: string): void {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new ModelError('E_MODEL_IO', `no model directory at ${dir}`, { hint: 'pass a folder with manifest.json + model.tflite (e.g. models/maze2d-umaze), made by `kdp export`' });
  }
}

/** manifest.json of a model folder: regular file, ≤ 4 MB, JSON, the manifest schema. */
export function readManifestFile(dir: string): ModelManifest {
  requireModelDir(dir);
  let bytes: Uint8Array;
  try {
    const c = checkContainedFile(dir, MANIFEST_FILE, { maxBytes: MAX_MANIFEST_BYTES, plainName: true });
    bytes = readRegularFile(c.real, MAX_MANIFEST_BYTES);
  } catch (e) {
    if (e instanceof SafeReadError && e.problem === 'missing') throw new ModelError('E_MODEL_IO', `${dir} has no manifest.json`, { hint: 'export the model with `kdp export --checkpoint RUN --out DIR`' });
    asModelError(e, 'manifest.json must be a regular file of the model folder, as `kdp export` writes it');
  }
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (e) {
    throw new ModelError('E_MODEL_SCHEMA', `${join(dir, MANIFEST_FILE)} is not valid JSON`, { cause: e, hint: 're-export the model' });
  }
  return validateManifest(value, join(dir, MANIFEST_FILE));
}

/**
 * Read one file a manifest names (`manifest.model`, `manifest.scorer`, …) from the model folder `dir`,
 * with every check; returns its bytes. The one way any loader opens a model's files.
 */
export function readModelFile(dir: string, entry: ModelFileEntry, what = 'model'): Uint8Array {
  const hint = 'the model folder is incomplete or was modified; re-export (`kdp export`) or re-flash it';
  let bytes: Uint8Array;
  try {
    if (entry.bytes > MAX_MODEL_FILE_BYTES) throw new SafeReadError('too-large', `${what} file is declared as ${entry.bytes} bytes, more than the ${MAX_MODEL_FILE_BYTES}-byte limit`, entry.file);
    const c = checkContainedFile(dir, entry.file, { maxBytes: MAX_MODEL_FILE_BYTES, plainName: true });
    if (c.size !== entry.bytes) throw new ModelError('E_MODEL_IO', `${c.path}: ${c.size} bytes, the manifest says ${entry.bytes}`, { hint });
    bytes = readRegularFile(c.real, entry.bytes);
  } catch (e) {
    asModelError(e, hint);
  }
  const sha = createHash('sha256').update(bytes).digest('hex');
  if (sha !== entry.sha256) {
    throw new ModelError('E_MODEL_IO', `${join(dir, entry.file)}: sha256 ${sha.slice(0, 12)}… does not match the manifest (${entry.sha256.slice(0, 12)}…)`, { hint });
  }
  return bytes;
}
