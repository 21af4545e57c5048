import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { dirname, basename, join, resolve, sep } from 'node:path';
import { toIoError } from '../errors.js';

/**
 * mkdir -p, one level at a time. Node 20's `mkdirSync(p, { recursive: true })` spins forever on some
 * pseudo file systems (a path under /proc), so a wrong --out would hang instead of failing; this fails
 * with the OS error of the first level that cannot be created (ENOENT, EROFS, EACCES, ENOTDIR).
 */
export function ensureDir(dir: string): void {
  const abs = resolve(dir);
  const parts = abs.split(sep).filter(Boolean);
  let cur = abs.startsWith(sep) ? sep : '';
  for (const p of parts) {
    cur = cur === sep ? `${sep}${p}` : join(cur, p);
    try {
      mkdirSync(cur);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'EEXIST') throw e;
      if (!statSync(cur).isDirectory()) {
        const err = new Error(`ENOTDIR: not a directory, mkdir '${cur}'`) as NodeJS.ErrnoException;
        err.code = 'ENOTDIR';
        throw err;
      }
    }
  }
}

/**
 * Write a file so that readers see either the old content or the new one, never a torn file:
 * write to a temp file in the same directory, fsync it, rename over the target, fsync the directory.
 */
export function writeFileAtomic(path: string, data: Uint8Array | string): void {
  writeFilesAtomic([[path, data]]);
}

export function writeJsonAtomic(path: string, value: unknown): void {
  writeFileAtomic(path, JSON.stringify(value, null, 2) + '\n');
}

/**
 * Several files that belong together (a model and its manifest): every file is staged as a fsynced
 * temp file first; only when all are complete are they renamed into place, in the order given (put
 * the file readers check first — the manifest — last). On failure the temps are removed and no
 * target is touched.
 */
export function writeFilesAtomic(files: ReadonlyArray<readonly [path: string, data: Uint8Array | string]>): void {
  const temps: Array<[tmp: string, path: string]> = [];
  let current = files[0]?.[0] ?? '.';
  try {
    for (const [path, data] of files) {
      current = path;
      ensureDir(dirname(path));
      const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now()}.tmp`);
      temps.push([tmp, path]);
      writeSynced(tmp, typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
    }
  } catch (e) {
    for (const [tmp] of temps) rmSync(tmp, { force: true });
    throw toIoError(e, `cannot write ${current}`, dirname(current));
  }
  try {
    for (const [tmp, path] of temps) { current = path; renameSync(tmp, path); }
  } catch (e) {
    throw toIoError(e, `cannot rename into ${current}`, dirname(current));
  }
  for (const dir of new Set(temps.map(([, path]) => dirname(path)))) fsyncDir(dir);
}

/** Write `bytes` to `path` and fsync it (no rename: the caller stages the file). */
export function writeSynced(path: string, bytes: Uint8Array): void {
  const fd = openSync(path, 'w', 0o644);
  try {
    let off = 0;
    while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** fsync a folder so a rename inside it is durable (best effort). */
export function fsyncDir(dir: string): void {
  try {
    const fd = openSync(dir, 'r');
    try { fsyncSync(fd); } finally { closeSync(fd); }
  } catch {
    // some filesystems refuse fsync on directories; the rename is still atomic
  }
}
