import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname, basename, join } from 'node:path';

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
  try {
    for (const [path, data] of files) {
      mkdirSync(dirname(path), { recursive: true });
      const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now()}.tmp`);
      temps.push([tmp, path]);
      writeSynced(tmp, typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
    }
  } catch (e) {
    for (const [tmp] of temps) rmSync(tmp, { force: true });
    throw e;
  }
  for (const [tmp, path] of temps) renameSync(tmp, path);
  for (const dir of new Set(temps.map(([, path]) => dirname(path)))) fsyncDir(dir);
}

function writeSynced(path: string, bytes: Uint8Array): void {
  const fd = openSync(path, 'w', 0o644);
  try {
    let off = 0;
    while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function fsyncDir(dir: string): void {
  try {
    const fd = openSync(dir, 'r');
    try { fsyncSync(fd); } finally { closeSync(fd); }
  } catch {
    // some filesystems refuse fsync on directories; the rename is still atomic
  }
}
