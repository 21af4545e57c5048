// Reads D4RL-layout HDF5 files in a child process (plain JS so it starts without the TS loader; see
// src/util/isolated-child.ts). h5wasm can abort on a corrupt file, after which every later call in that
// instance fails: such a reply asks the parent to replace this process. Declared dataset sizes are checked
// against a cap before any value is read, so a mutated shape cannot make the library allocate gigabytes.
// Requests: {id, op: 'read', path, names, maxBytes} → per name {kind: missing|group|dataset, shape, dtype, data};
//           {id, op: 'dtypes', path} → {dtypes: {key: {dtype, shape}}}.
import { statSync } from 'node:fs';
import * as h5 from 'h5wasm/node';

await h5.ready;
const M = h5.Module;
// HDF5 errors become exceptions (with HDF5's message) instead of a diagnostic dump on stderr
M.activate_throwing_error_handler?.();

const NUMERIC = [Float32Array, Float64Array, Int8Array, Uint8Array, Int16Array, Uint16Array, Int32Array, Uint32Array];

function message(e) { return e instanceof Error ? e.message : String(e); }

class KeyError extends Error { constructor(key, cause) { super(message(cause)); this.key = key; } }

function read({ path, names, maxBytes }) {
  const f = new h5.File(path, 'r');
  try {
    const keys = f.keys();
    if (!Array.isArray(keys)) throw new Error('no readable keys');
    const infos = keys.includes('infos') ? f.get('infos') : undefined;
    const infoKeys = infos instanceof h5.Group ? infos.keys() : [];
    const out = {};
    let total = 0;
    for (const name of names) {
      let ds;
      try { ds = f.get(name); } catch { ds = undefined; }
      if (!ds) { out[name] = { kind: 'missing' }; continue; }
      if (!(ds instanceof h5.Dataset)) { out[name] = { kind: 'group' }; continue; }
      let shape, dtype, itemSize;
      try {
        shape = ds.shape ?? [];
        dtype = String(ds.dtype);
        itemSize = ds.metadata?.size ?? 8;
      } catch (e) { throw new KeyError(name, e); }
      const count = shape.reduce((a, b) => a * b, 1);
      if (!Number.isSafeInteger(count) || count < 0) throw new KeyError(name, new Error(`impossible shape [${shape.join(', ')}]`));
      total += count * itemSize;
      if (total > maxBytes) {
        throw new KeyError(name, new Error(`the datasets declare more than ${maxBytes} bytes (at ${name}: shape [${shape.join(', ')}] × ${itemSize} bytes)`));
      }
      let v;
      try { v = ds.value; } catch (e) { throw new KeyError(name, e); }
      // numbers only: strings, compounds and 64-bit integers (BigInt) are not a trajectory
      const numeric = NUMERIC.some((T) => v instanceof T);
      out[name] = { kind: 'dataset', shape, dtype, data: numeric ? v : null };
    }
    return { ok: true, keys, infoKeys, entries: out };
  } finally {
    try { f.close(); } catch { /* already broken */ }
  }
}

function dtypes({ path }) {
  const f = new h5.File(path, 'r');
  const out = {};
  try {
    const walk = (prefix) => {
      const g = prefix ? f.get(prefix) : f;
      if (!g || !(g instanceof h5.Group)) return;
      for (const k of g.keys()) {
        const p = prefix ? `${prefix}/${k}` : k;
        const e = f.get(p);
        if (e instanceof h5.Dataset) {
          const md = e.metadata;
          const members = md.enum_type?.members;
          const isBool = md.type === 8 && members !== undefined && members.FALSE === 0 && members.TRUE === 1 && Object.keys(members).length === 2;
          out[p] = { dtype: isBool ? 'bool' : String(e.dtype), shape: e.shape ?? [] };
        } else if (e instanceof h5.Group) walk(p);
      }
    };
    walk('');
  } finally {
    try { f.close(); } catch { /* already broken */ }
  }
  return { ok: true, dtypes: out };
}

// A file that failed to open can stay half-open inside the library, which then answers a later open of the
// same file (device + inode) from that stale state: such a request goes to a fresh process instead.
const failed = new Set();

process.on('message', (req) => {
  let reply;
  let file;
  try {
    const st = statSync(req.path);
    file = `${st.dev}:${st.ino}`;
  } catch { file = undefined; }
  if (file !== undefined && failed.has(file)) {
    process.send({ id: req.id, ok: false, stale: true, recycle: true });
    return;
  }
  try {
    reply = req.op === 'dtypes' ? dtypes(req) : read(req);
  } catch (e) {
    const text = message(e);
    if (file !== undefined) failed.add(file);
    reply = { ok: false, error: text, key: e instanceof KeyError ? e.key : undefined, recycle: /Aborted\(/.test(text) };
  }
  process.send({ ...reply, id: req.id, rssBytes: process.memoryUsage.rss() });
});
process.on('uncaughtException', (e) => { process.send?.({ id: -1, ok: false, error: message(e), recycle: true }); });
process.on('disconnect', () => process.exit(0));
