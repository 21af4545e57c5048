/**
 * Reading untrusted parquet bytes with bounds: the decode runs in a child process with a capped heap
 * and a deadline (src/util/isolated-child.ts), so a malformed file that would make the decoder allocate
 * gigabytes, spin, or throw from an async path becomes one typed DatasetError, and this process keeps running.
 */
import { fileURLToPath } from 'node:url';
import { DatasetError, ShapeError } from '../errors.js';
import { describeChildFailure, IsolatedChild } from '../util/isolated-child.js';

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

const WORKER = fileURLToPath(new URL('./parquet-worker.mjs', import.meta.url));

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

const decoders = new Map<number, IsolatedChild>();

/** The largest RSS a decoding process reported, MB (campaigns). */
export function parquetDecoderPeakRssMb(): number {
  return Math.round(Math.max(0, ...[...decoders.values()].map((d) => d.peakRssBytes)) / 2 ** 20);
}

async function runWorker(bytes: Uint8Array, columns: string[], dims: number[] | null, where: string, limits: ParquetLimits): Promise<unknown> {
  const timeoutMs = limits.timeoutMs ?? 20_000;
  const heapMb = limits.maxHeapMb ?? 512;
  const hint = 'the episode file is corrupt or truncated; re-download or re-record the dataset';
  const decoder = decoders.get(heapMb) ?? new IsolatedChild(WORKER, { heapMb, recycleRssMb: Math.min(heapMb, 512) });
  decoders.set(heapMb, decoder);
  const m = await decoder.request({ bytes, columns, dims, maxRows: limits.maxRows ?? 1_000_000, maxUncompressedBytes: limits.maxUncompressedBytes ?? 256 * 1024 * 1024 }, timeoutMs,
    (why) => new DatasetError(`${where}: ${describeChildFailure(why.kind === 'timeout' ? 'parquet decoding' : 'the parquet decoder', why, heapMb)}`, { hint })) as unknown as
    { ok: boolean; rows?: unknown; n?: number; flat?: Float32Array[]; epi?: Float64Array; error?: string; shape?: { column: string; expected: number; got: number | string } };
  if (m.ok) return m.rows ?? { n: m.n, flat: m.flat, episodeIndex: m.epi };
  if (m.shape) throw new ShapeError(`${where} ${m.shape.column} per frame`, m.shape.expected, m.shape.got, 'meta/info.json features and the parquet data disagree');
  throw new DatasetError(`${where}: not a readable parquet file (${String(m.error).split('\n')[0]!.slice(0, 300)})`, { hint });
}
