// Decodes LeRobot episode parquet files in a child process (plain JS so it loads without the TS loader;
// a worker thread is not enough: V8 can abort the whole process on one huge allocation). The parent
// bounds its heap (--max-old-space-size) and its time (kill); here the footer's declared sizes are
// checked against caps before hyparquet allocates anything for them. One request per IPC message,
// answered once with its id.
import { parquetMetadata, parquetReadObjects } from 'hyparquet';

let id, bytes, columns, maxRows, maxUncompressedBytes, dims;
// every reply names its request (src/util/isolated-child.ts); after an error the parent starts a fresh
// process, since a decoder that failed may still throw from an async path later
const parentPort = { postMessage: (m) => process.send({ ...m, id, rssBytes: process.memoryUsage.rss(), recycle: !m.ok }) };

function big(v) { return typeof v === 'bigint' ? Number(v) : v; }

async function run() {
  const ab = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  const meta = parquetMetadata(ab);
  const declared = big(meta.num_rows);
  if (!Number.isSafeInteger(declared) || declared < 0 || declared > maxRows) throw new Error(`footer declares ${declared} rows (limit ${maxRows})`);
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
  const rows = await parquetReadObjects({ file: ab, columns, metadata: meta });
  if (!dims) { parentPort.postMessage({ ok: true, rows }); return; }
  // flatten here: the parent receives a few typed arrays (transferred), never a million row objects
  const n = rows.length;
  const flat = dims.map((d) => new Float32Array(n * d));
  const epi = new Float64Array(n);
  for (let r = 0; r < n; r++) {
    const row = rows[r];
    for (let c = 0; c < dims.length; c++) {
      const v = row[columns[c]], d = dims[c];
      const arr = Array.isArray(v) || ArrayBuffer.isView(v) ? v : null;
      if (!arr || arr.length !== d) { parentPort.postMessage({ ok: false, shape: { column: columns[c], expected: d, got: arr ? arr.length : typeof v } }); return; }
      for (let k = 0; k < d; k++) flat[c][r * d + k] = Number(arr[k]);
    }
    epi[r] = Number(row.episode_index ?? 0);
  }
  parentPort.postMessage({ ok: true, n, flat, epi });
}

process.on('message', (req) => {
  ({ id, bytes, columns, maxRows, maxUncompressedBytes, dims } = req);
  bytes = new Uint8Array(bytes.buffer ?? bytes, bytes.byteOffset ?? 0, bytes.byteLength ?? bytes.length);
  run().catch((e) => parentPort.postMessage({ ok: false, error: e instanceof Error ? e.message : String(e) }));
});
process.on('unhandledRejection', (e) => { parentPort.postMessage({ ok: false, error: e instanceof Error ? e.message : String(e) }); });
process.on('uncaughtException', (e) => { parentPort.postMessage({ ok: false, error: e instanceof Error ? e.message : String(e) }); });
process.on('disconnect', () => process.exit(0));
