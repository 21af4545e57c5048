/**
 * Reading files named by untrusted data (a manifest's `model.file`, a dataset's `data_path`): the name
 * must stay inside its folder (after resolving symlinks), the target must be a regular file (not a FIFO,
 * device, socket or folder, which would hang or never end), and its size is checked against a cap before
 * a single byte is read. The file is opened non-blocking, so a FIFO swapped in after the check cannot
 * block either, and re-checked on the open descriptor.
 */
import { closeSync, constants, fstatSync, openSync, readSync, realpathSync, statSync } from 'node:fs';
import { isAbsolute, join, normalize, relative, sep } from 'node:path';

/** What went wrong, for the caller to turn into its own typed error. */
export type SafeReadProblem = 'name' | 'missing' | 'outside' | 'not-regular' | 'too-large' | 'io';

export class SafeReadError extends Error {
  constructor(readonly problem: SafeReadProblem, message: string, readonly path: string) { super(message); }
}

export interface SafeReadOptions {
  /** refuse files larger than this many bytes (checked before reading) */
  maxBytes: number;
  /** only a plain file name (no folders at all), e.g. a manifest's model.file */
  plainName?: boolean;
}

/** Check `rel` is a relative name that cannot leave `dir` lexically; returns the joined path. */
export function containedName(dir: string, rel: unknown, plainName = false): string {
  if (typeof rel !== 'string' || rel.length === 0 || rel.length > 4096 || rel.includes('\0')) {
    throw new SafeReadError('name', `file name ${JSON.stringify(rel)} is not a non-empty string`, String(rel));
  }
  if (isAbsolute(rel) || rel.includes('\\')) throw new SafeReadError('name', `file name ${JSON.stringify(rel)} must be relative to ${dir}`, rel);
  const parts = rel.split('/');
  if (parts.some((p) => p === '..' || p === '.' || p === '')) throw new SafeReadError('name', `file name ${JSON.stringify(rel)} must not contain "..", "." or empty parts`, rel);
  if (plainName && (parts.length !== 1 || rel.startsWith('.'))) throw new SafeReadError('name', `file name ${JSON.stringify(rel)} must be a plain file name inside ${dir} (no folders, not hidden)`, rel);
  return join(dir, normalize(rel));
}

/** Resolve symlinks and require the target to stay inside `dir` and be a regular file no larger than `maxBytes`. */
export function checkContainedFile(dir: string, rel: unknown, opts: SafeReadOptions): { path: string; real: string; size: number } {
  const path = containedName(dir, rel, opts.plainName);
  let realDir: string, real: string;
  try {
    realDir = realpathSync(dir);
    real = realpathSync(path);
  } catch (e) {
    throw new SafeReadError('missing', `${path} does not exist (${(e as NodeJS.ErrnoException).code ?? 'unreadable'})`, path);
  }
  const r = relative(realDir, real);
  if (r === '' || r.startsWith('..') || isAbsolute(r) || r.split(sep)[0] === '..') {
    throw new SafeReadError('outside', `${path} resolves to ${real}, outside ${realDir}`, path);
  }
  const st = statSync(real);
  if (!st.isFile()) throw new SafeReadError('not-regular', `${path} is not a regular file (${kindOf(st)})`, path);
  if (st.size > opts.maxBytes) throw new SafeReadError('too-large', `${path} is ${st.size} bytes, more than the ${opts.maxBytes}-byte limit`, path);
  return { path, real, size: st.size };
}

/** Read a regular file of at most `maxBytes` bytes without ever blocking on a FIFO or device. */
export function readRegularFile(path: string, maxBytes: number): Uint8Array {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new SafeReadError(code === 'ENOENT' ? 'missing' : 'io', `cannot open ${path} (${code ?? (e as Error).message})`, path);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new SafeReadError('not-regular', `${path} is not a regular file (${kindOf(st)})`, path);
    if (st.size > maxBytes) throw new SafeReadError('too-large', `${path} is ${st.size} bytes, more than the ${maxBytes}-byte limit`, path);
    const out = new Uint8Array(st.size);
    let off = 0;
    while (off < out.length) {
      const n = readSync(fd, out, off, out.length - off, off);
      if (n === 0) throw new SafeReadError('io', `${path} shrank while being read`, path);
      off += n;
    }
    return out;
  } finally {
    closeSync(fd);
  }
}

/** checkContainedFile + readRegularFile. */
export function readContainedFile(dir: string, rel: unknown, opts: SafeReadOptions): { path: string; bytes: Uint8Array } {
  const { path, real } = checkContainedFile(dir, rel, opts);
  return { path, bytes: readRegularFile(real, opts.maxBytes) };
}

function kindOf(st: { isDirectory(): boolean; isFIFO(): boolean; isCharacterDevice(): boolean; isBlockDevice(): boolean; isSocket(): boolean }): string {
  return st.isDirectory() ? 'a folder' : st.isFIFO() ? 'a FIFO' : st.isCharacterDevice() ? 'a character device' : st.isBlockDevice() ? 'a block device' : st.isSocket() ? 'a socket' : 'not a file';
}
