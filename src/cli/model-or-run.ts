import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { NormalizerJson, WindowLayout } from '../model/checkpoint-format.js';
import { readCheckpointMeta } from '../model/checkpoint-io.js';
import { MANIFEST_FILE } from '../planner/manifest.js';
import { readManifestFile } from '../planner/model-file.js';

/**
 * The window layout and normalizer of what a flag names: an exported model folder (its manifest) or a
 * `kdp train` run (its newest checkpoint's metadata; the weights are not read).
 */
export function modelOrRunMeta(dir: string): { layout: WindowLayout; normalizer: NormalizerJson } {
  const m = existsSync(join(dir, MANIFEST_FILE)) ? readManifestFile(dir) : readCheckpointMeta(dir);
  return { layout: m.layout, normalizer: m.normalizer };
}
