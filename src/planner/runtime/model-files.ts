/**
 * Resolve `--model`: a model directory (model.tflite + manifest.json, as `kdp export` writes) or a
 * bare .tflite path. Returns the bytes and the manifest when there is one.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ModelError } from '../../errors.js';
import type { ModelManifest } from '../manifest.js';

export interface ModelFiles {
  tflitePath: string;
  bytes: Uint8Array;
  manifest: ModelManifest | null;
}

export function readModelFiles(path: string): ModelFiles {
  if (!existsSync(path)) throw new ModelError('E_MODEL_IO', `model not found: ${path}`, { hint: 'pass a model directory (model.tflite + manifest.json) or a .tflite file' });
  let tflitePath = path;
  let manifest: ModelManifest | null = null;
  if (statSync(path).isDirectory()) {
    const mPath = join(path, 'manifest.json');
    if (existsSync(mPath)) {
      try {
        manifest = JSON.parse(readFileSync(mPath, 'utf8')) as ModelManifest;
      } catch (e) {
        throw new ModelError('E_MODEL_IO', `${mPath}: not valid JSON`, { cause: e });
      }
    }
    tflitePath = join(path, manifest?.model?.file ?? 'model.tflite');
    if (!existsSync(tflitePath)) throw new ModelError('E_MODEL_IO', `${path} has no ${manifest?.model?.file ?? 'model.tflite'}`, { hint: 'export one with `kdp export`' });
  }
  return { tflitePath, bytes: new Uint8Array(readFileSync(tflitePath)), manifest };
}
