/**
 * Reading untrusted parquet bytes with bounds: the decode runs in a worker thread with a capped heap
 * and a deadline, so a malformed file that would make the decoder allocate gigabytes, spin, or throw
 * from an async path becomes one typed DatasetError, and the process keeps running.
 */
import { Worker } from 'node:worker_threads';
import { DatasetError } from '../errors.js';

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

export function decodeParquetRows(bytes: Uint8Array, columns: string[], where: string, limits: ParquetLimits = {}): Promise<Array<Record<string, unknown>>> {
  const timeoutMs = limits.timeoutMs ?? 20_000;
  const hint = 'the episode file is corrupt or truncated; re-download or re-record the dataset';
  return new Promise((resolve, reject) => {
    let settled = false;
    const w = new Worker(WORKER, {
      workerData: { bytes, columns, maxRows: limits.maxRows ?? 10_000_000, maxUncompressedBytes: limits.maxUncompressedBytes ?? 512 * 1024 * 1024 },
      resourceLimits: { maxOldGenerationSizeMb: limits.maxHeapMb ?? 768, maxYoungGenerationSizeMb: 64 },
      stdout: true, stderr: true,
    });
    const finish = (err: DatasetError | null, rows?: Array<Record<string, unknown>>): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      void w.terminate();
      if (err) reject(err); else resolve(rows!);
    };
    const timer = setTimeout(() => finish(new DatasetError(`${where}: parquet decoding did not finish within ${timeoutMs} ms`, { hint })), timeoutMs);
    w.on('message', (m: { ok: boolean; rows?: Array<Record<string, unknown>>; error?: string }) => {
      if (m.ok) finish(null, m.rows);
      else finish(new DatasetError(`${where}: not a readable parquet file (${String(m.error).split('\n')[0]!.slice(0, 300)})`, { hint }));
    });
    w.on('error', (e: Error & { code?: string }) => finish(new DatasetError(
      e.code === 'ERR_WORKER_OUT_OF_MEMORY' ? `${where}: decoding needs more than ${limits.maxHeapMb ?? 768} MB (malformed sizes?)` : `${where}: not a readable parquet file (${e.message.split('\n')[0]!.slice(0, 300)})`, { hint })));
    w.on('exit', (code) => finish(new DatasetError(`${where}: the parquet decoder stopped (exit ${code})`, { hint })));
  });
}
