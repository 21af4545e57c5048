/**
 * Reading untrusted parquet bytes with bounds: the decode runs in a worker thread with a capped heap
 * and a deadline, so a malformed file that would make the decoder allocate gigabytes, spin, or throw
 * from an async path becomes one typed DatasetError, and the process keeps running.
 */
import { Worker } from 'node:worker_threads';
import { DatasetError, ShapeError } from '../errors.js';

export interface ParquetLimits {
  /** wall-clock budget for one file (default 20 s) */
  timeoutMs?: number;
  /** heap of the decoding worker, MB (default 768) */
  maxHeapMb?: number;
  /** rows the footer may declare (default 10,000,000) */
  maxRows?: number;
  /** sum of declared uncompressed column-chunk sizes (default 512 MB) */
  maxUncompressedBytes?: number;
}

const WORKER = new URL('./parquet-worker.mjs', import.meta.url);

export interface FlatColumns { n: number; flat: Float32Array[]; episodeIndex: Float64Array }

/** Rows of `columns` as objects (tests, small files). */
export function decodeParquetRows(bytes: Uint8Array, columns: string[], where: string, limits: ParquetLimits = {}): Promise<Array<Record<string, unknown>>> {
  return runWorker(bytes, columns, null, where, limits) as Promise<Array<Record<string, unknown>>>;
}

/**
 * The list columns `columns` (each `dims[i]` floats per row) flattened row-major inside the worker, plus
 * `episode_index` per row: only typed arrays cross back. A row of the wrong width is a ShapeError.
 */
export function decodeParquetColumns(bytes: Uint8Array, columns: string[], dims: number[], where: string, limits: ParquetLimits = {}): Promise<FlatColumns> {
  return runWorker(bytes, [...columns, 'episode_index'], dims, where, limits) as Promise<FlatColumns>;
}

function runWorker(bytes: Uint8Array, columns: string[], dims: number[] | null, where: string, limits: ParquetLimits): Promise<unknown> {
  const timeoutMs = limits.timeoutMs ?? 20_000;
  const hint = 'the episode file is corrupt or truncated; re-download or re-record the dataset';
  return new Promise((resolve, reject) => {
    let settled = false;
    const w = new Worker(WORKER, {
      workerData: { bytes, columns, dims, maxRows: limits.maxRows ?? 1_000_000, maxUncompressedBytes: limits.maxUncompressedBytes ?? 256 * 1024 * 1024 },
      resourceLimits: { maxOldGenerationSizeMb: limits.maxHeapMb ?? 512, maxYoungGenerationSizeMb: 32 },
      stdout: true, stderr: true,
    });
    const finish = (err: Error | null, value?: unknown): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      void w.terminate();
      if (err) reject(err); else resolve(value);
    };
    const timer = setTimeout(() => finish(new DatasetError(`${where}: parquet decoding did not finish within ${timeoutMs} ms`, { hint })), timeoutMs);
    w.on('message', (m: { ok: boolean; rows?: unknown; n?: number; flat?: Float32Array[]; epi?: Float64Array; error?: string; shape?: { column: string; expected: number; got: number | string } }) => {
      if (m.ok) finish(null, m.rows ?? { n: m.n, flat: m.flat, episodeIndex: m.epi });
      else if (m.shape) finish(new ShapeError(`${where} ${m.shape.column} per frame`, m.shape.expected, m.shape.got, 'meta/info.json features and the parquet data disagree'));
      else finish(new DatasetError(`${where}: not a readable parquet file (${String(m.error).split('\n')[0]!.slice(0, 300)})`, { hint }));
    });
    w.on('error', (e: Error & { code?: string }) => finish(new DatasetError(
      e.code === 'ERR_WORKER_OUT_OF_MEMORY' ? `${where}: decoding needs more than ${limits.maxHeapMb ?? 512} MB (malformed sizes?)` : `${where}: not a readable parquet file (${e.message.split('\n')[0]!.slice(0, 300)})`, { hint })));
    w.on('exit', (code) => finish(new DatasetError(`${where}: the parquet decoder stopped (exit ${code})`, { hint })));
  });
}
