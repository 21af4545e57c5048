import { existsSync, readFileSync } from 'node:fs';
import { writeJsonAtomic } from '../util/atomic-write.js';

/** How a dataset file was made, kept beside it as `<file>.provenance.json`. */
export interface DatasetProvenance {
  command: string;
  seed: number;
  steps: number;
  env: string;
}

export function provenancePath(datasetPath: string): string {
  return `${datasetPath}.provenance.json`;
}

export function writeDatasetProvenance(datasetPath: string, p: DatasetProvenance): void {
  writeJsonAtomic(provenancePath(datasetPath), p);
}

/** The sidecar if present and readable; undefined otherwise (datasets from elsewhere have none). */
export function readDatasetProvenance(datasetPath: string): DatasetProvenance | undefined {
  const p = provenancePath(datasetPath);
  if (!existsSync(p)) return undefined;
  try {
    const v = JSON.parse(readFileSync(p, 'utf8')) as DatasetProvenance;
    return typeof v.command === 'string' ? v : undefined;
  } catch {
    return undefined;
  }
}
