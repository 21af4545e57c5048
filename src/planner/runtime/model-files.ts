/**
 * Resolve `--model`: a model directory (model.tflite + manifest.json, as `kdp export` writes) or a
 * bare .tflite path. Returns the bytes and the manifest when there is one. A directory goes through the
 * same checks as every model load (manifest schema, readModelFile: containment, regular file, size
 * cap, sha256); a bare file must be a regular file under the size cap.
 */
import { existsSync, statSync } from 'node:fs';
import { ModelError } from '../../errors.js';
import type { ModelManifest } from '../manifest.js';
import { MAX_MODEL_FILE_BYTES } from '../manifest-schema.js';
import { readManifestFile, readModelFile } from '../model-file.js';
import { join } from 'node:path';
import { checkContainedFile, readRegularFile, SafeReadError } from '../../util/safe-read.js';

export interface ModelFiles {
  tflitePath: string;
  bytes: Uint8Array;
  manifest: ModelManifest | null;
}

export function readModelFiles(path: string): ModelFiles {
  if (!existsSync(path)) throw new ModelError('E_MODEL_IO', `model not found: ${path}`, { hint: 'pass a model directory (model.tflite + manifest.json) or a .tflite file' });
  if (statSync(path).isDirectory()) {
    if (!existsSync(join(path, 'manifest.json'))) {
      // a folder with just a model.tflite: the bare-file rules, inside the folder
      try {
        const c = checkContainedFile(path, 'model.tflite', { maxBytes: MAX_MODEL_FILE_BYTES, plainName: true });
        return { tflitePath: c.path, bytes: readRegularFile(c.real, MAX_MODEL_FILE_BYTES), manifest: null };
      } catch (e) {
        if (e instanceof SafeReadError) throw new ModelError('E_MODEL_IO', `${path} has no manifest.json and no usable model.tflite (${e.message})`, { hint: 'export one with `kdp export`' });
        throw e;
      }
    }
    const manifest = readManifestFile(path);
    return { tflitePath: join(path, manifest.model.file), bytes: readModelFile(path, manifest.model, 'model'), manifest };
  }
  try {
    return { tflitePath: path, bytes: readRegularFile(path, MAX_MODEL_FILE_BYTES), manifest: null };
  } catch (e) {
    if (e instanceof SafeReadError) throw new ModelError(e.problem === 'not-regular' ? 'E_MODEL_SCHEMA' : 'E_MODEL_IO', e.message, { hint: 'pass a .tflite file or a model directory' });
    throw e;
  }
}
