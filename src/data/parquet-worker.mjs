// Decodes one LeRobot episode parquet file inside a worker thread (plain JS so it loads without the TS
// loader). The parent bounds its heap (resourceLimits) and its time (terminate); here the footer's
// declared sizes are checked against caps before hyparquet allocates anything for them.
import { parentPort, workerData } from 'node:worker_threads';
import { parquetMetadata, parquetReadObjects } from 'hyparquet';

const { bytes, columns, maxRows, maxUncompressedBytes } = workerData;

function big(v) { return typeof v === 'bigint' ? Number(v) : v; }

async function run() {
  const ab = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  const meta = parquetMetadata(ab);
  const rows = big(meta.num_rows);
  if (!Number.isSafeInteger(rows) || rows < 0 || rows > maxRows) throw new Error(`footer declares ${rows} rows (limit ${maxRows})`);
  let total = 0;
  for (const rg of meta.row_groups ?? []) {
    const n = big(rg.num_rows);
    if (!Number.isSafeInteger(n) || n < 0 || n > maxRows) throw new Error(`a row group declares ${n} rows (limit ${maxRows})`);
    for (const c of rg.columns ?? []) {
      const u = big(c.meta_data?.total_uncompressed_size ?? 0), z = big(c.meta_data?.total_compressed_size ?? 0);
      if (!Number.isSafeInteger(u) || u < 0 || !Number.isSafeInteger(z) || z < 0 || z > bytes.byteLength) throw new Error('a column chunk declares an impossible size');
      total += u;
      if (total > maxUncompressedBytes) throw new Error(`column chunks decompress to more than ${maxUncompressedBytes} bytes`);
    }
  }
  const out = await parquetReadObjects({ file: ab, columns, metadata: meta });
  // plain values only across the thread boundary (BigInt survives structured clone)
  parentPort.postMessage({ ok: true, rows: out });
}

run().catch((e) => parentPort.postMessage({ ok: false, error: e instanceof Error ? e.message : String(e) }));
