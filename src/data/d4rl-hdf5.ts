import { closeSync, existsSync, openSync, readFileSync, readSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describeChildFailure, IsolatedChild } from '../util/isolated-child.js';
import { DatasetError, IoError, KdpError, ShapeError, toIoError } from '../errors.js';
import { ensureDir, writeFileAtomic } from '../util/atomic-write.js';
import { checkDims, episodeEndsFromFlags, validateDataset } from './dataset.js';
import type { ExpectedDims, TrajectoryDataset } from './dataset.js';

/**
 * D4RL's HDF5 layout (what `d4rl.qlearning_dataset`/`get_dataset` read): top-level datasets
 * observations (N×S, float32), actions (N×A, float32), rewards (N, float32), terminals (N, bool),
 * timeouts (N, bool), and infos/goal (N×2), infos/qpos, infos/qvel (float32). Booleans are stored the
 * way h5py stores numpy bool: an HDF5 ENUM {FALSE = 0, TRUE = 1} over int8.
 */
export interface D4rlArrays {
  observations: Float32Array;
  actions: Float32Array;
  rewards: Float32Array;
  terminals: Uint8Array;
  timeouts: Uint8Array;
  goals?: Float32Array;
  qpos?: Float32Array;
  qvel?: Float32Array;
}

type H5 = typeof import('h5wasm/node');
let h5Promise: Promise<H5> | undefined;
async function h5(): Promise<H5> {
  h5Promise ??= (async () => {
    const mod = await import('h5wasm/node');
    await mod.ready;
    return mod;
  })();
  return h5Promise;
}

const BOOL_PLACEHOLDER = 'kdp_h5py_bool_enum_placeholder';

export interface WriteD4rlOptions {
  stateDim: number;
  actionDim: number;
  goalDim?: number;
  qposDim?: number;
  qvelDim?: number;
  /** gzip level (D4RL's script uses h5py's compression="gzip", level 4); 0 = none */
  gzip?: number;
}

/** Write a D4RL-layout HDF5 file atomically (temp file in the same directory, then rename). */
export async function writeD4rlHdf5(path: string, a: D4rlArrays, opts: WriteD4rlOptions): Promise<void> {
  const n = a.rewards.length;
  const need = (name: string, arr: { length: number } | undefined, dim: number): void => {
    if (arr && arr.length !== n * dim) throw new ShapeError(`${name} length`, n * dim, arr.length);
  };
  need('observations', a.observations, opts.stateDim);
  need('actions', a.actions, opts.actionDim);
  need('terminals', a.terminals, 1);
  need('timeouts', a.timeouts, 1);
  need('infos/goal', a.goals, opts.goalDim ?? 2);
  need('infos/qpos', a.qpos, opts.qposDim ?? 2);
  need('infos/qvel', a.qvel, opts.qvelDim ?? 2);

  const mod = await h5();
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${Date.now()}.h5tmp`);
  try {
    ensureDir(dir);
  } catch (e) {
    throw toIoError(e, `cannot create the output folder ${dir}`, dir);
  }
  const gzip = opts.gzip ?? 4;
  // HDF5 failures (a write refused by a full disk) become exceptions instead of a dump on stderr
  const M = mod.Module as unknown as { activate_throwing_error_handler?: () => number; deactivate_throwing_error_handler?: () => number };
  M.activate_throwing_error_handler?.();
  try {
    const f = new mod.File(tmp, 'w', { libver: ['earliest', 'latest'] });
    try {
      const put = (g: InstanceType<H5['Group']>, name: string, data: Float32Array, cols: number): void => {
        const shape = cols === 1 ? [n] : [n, cols];
        const rowsPerChunk = Math.max(1, Math.min(n, Math.floor(262144 / (4 * cols))));
        const chunks = cols === 1 ? [rowsPerChunk] : [rowsPerChunk, cols];
        g.create_dataset({ name, data, shape, dtype: '<f', ...(gzip > 0 && n > 0 ? { chunks, compression: 'gzip' as const, compression_opts: gzip } : {}) });
      };
      const putBool = (name: string, data: Uint8Array): void => {
        const i8 = new Int8Array(data.buffer, data.byteOffset, data.length);
        const rowsPerChunk = Math.max(1, Math.min(n, 262144));
        f.create_dataset({
          name, data: new Map([[BOOL_PLACEHOLDER, i8]]), dtype: [[BOOL_PLACEHOLDER, '<b']], shape: [n],
          ...(gzip > 0 && n > 0 ? { chunks: [rowsPerChunk], compression: 'gzip' as const, compression_opts: gzip } : {}),
        });
      };
      put(f, 'observations', a.observations, opts.stateDim);
      put(f, 'actions', a.actions, opts.actionDim);
      put(f, 'rewards', a.rewards, 1);
      putBool('terminals', a.terminals);
      putBool('timeouts', a.timeouts);
      if (a.goals || a.qpos || a.qvel) {
        f.create_group('infos');
        const g = f.get('infos') as InstanceType<H5['Group']>;
        if (a.goals) put(g, 'goal', a.goals, opts.goalDim ?? 2);
        if (a.qpos) put(g, 'qpos', a.qpos, opts.qposDim ?? 2);
        if (a.qvel) put(g, 'qvel', a.qvel, opts.qvelDim ?? 2);
      }
    } finally {
      f.close();
    }
    const bytes = readFileSync(tmp);
    const patched = patchBoolEnums(bytes);
    if (patched !== 2) {
      throw new IoError(`the HDF5 file written to ${dir} is incomplete (${patched} of 2 boolean datasets found)`, dir,
        { hint: 'the disk is probably full or the file size limited: free space and run the command again' });
    }
    writeFileAtomic(path, bytes);
  } catch (e) {
    if (e instanceof KdpError) throw e;
    const io = toIoError(e, `cannot write ${path}`, dir);
    if (io !== e) throw io;
    const text = e instanceof Error ? e.message : String(e);
    const why = /error message = '([^']+)'/.exec(text)?.[1] ?? text.split('\n').map((l) => l.trim()).find((l) => /write failed/i.test(l)) ?? text.split('\n')[0];
    throw new IoError(`cannot write ${path}: HDF5 write failed (${why!.slice(0, 200)})`, dir,
      { hint: 'the disk is probably full, read-only or the file size limited: free space or choose another --out', cause: e });
  } finally {
    M.deactivate_throwing_error_handler?.();
    rmSync(tmp, { force: true });
  }
}

/**
 * h5wasm cannot create ENUM datatypes, so booleans are written as a one-member int8 compound whose
 * (unique) member name marks the datatype message; this rewrites each such message body in place
 * into h5py's bool ENUM. The message keeps its size (the enum body is shorter; the rest is zero
 * padding, which libhdf5 ignores). Requires object-header v1 messages (libver "earliest").
 * Returns the number of messages patched.
 */
function patchBoolEnums(buf: Buffer): number {
  const enumBody = Buffer.from([
    0x18, 0x02, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, // enum v1, 2 members, size 1
    0x10, 0x08, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x08, 0x00, // base: int8 LE signed, offset 0, precision 8
    0x46, 0x41, 0x4c, 0x53, 0x45, 0x00, 0x00, 0x00, // "FALSE" padded to 8
    0x54, 0x52, 0x55, 0x45, 0x00, 0x00, 0x00, 0x00, // "TRUE" padded to 8
    0x00, 0x01, // values
  ]);
  let count = 0;
  let from = 0;
  for (;;) {
    const at = buf.indexOf(BOOL_PLACEHOLDER, from);
    if (at < 0) break;
    from = at + 1;
    const body = at - 8;
    const hdr = body - 8;
    if (hdr < 0) continue;
    const msgType = buf.readUInt16LE(hdr);
    const msgSize = buf.readUInt16LE(hdr + 2);
    // compound v1 (0x16), one member, size 1
    if (msgType !== 3 || buf[body] !== 0x16 || buf.readUInt16LE(body + 1) !== 1 || buf.readUInt32LE(body + 4) !== 1) continue;
    if (msgSize < enumBody.length) continue;
    buf.fill(0, body, body + msgSize);
    enumBody.copy(buf, body);
    count++;
  }
  return count;
}

const HDF5_MAGIC = Buffer.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]);

function looksLikeHdf5(path: string, size: number): boolean {
  const fd = openSync(path, 'r');
  try {
    const b = Buffer.alloc(8);
    // the superblock may sit at 0, 512, 1024, 2048, ...
    for (let off = 0; off + 8 <= size; off = off === 0 ? 512 : off * 2) {
      readSync(fd, b, 0, 8, off);
      if (b.equals(HDF5_MAGIC)) return true;
      if (off > 1 << 20) break;
    }
    return false;
  } finally {
    closeSync(fd);
  }
}

export interface Hdf5Limits {
  /** wall-clock budget for reading one file (default 180 s: a 4 M-step gzip file takes ~10 s) */
  timeoutMs?: number;
  /** heap of the reading process, MB (default 1024) */
  maxHeapMb?: number;
  /** sum of the declared sizes of the datasets read, bytes (default 4 GiB) */
  maxBytes?: number;
}

export interface LoadOptions {
  /** throw ShapeError when the dims differ */
  expect?: ExpectedDims;
  limits?: Hdf5Limits;
}

const REQUIRED = ['observations', 'actions'] as const;
const READ = ['observations', 'actions', 'rewards', 'terminals', 'timeouts', 'infos/goal'];

interface Entry { kind: 'missing' | 'group' | 'dataset'; shape?: number[]; dtype?: string; data?: ArrayLike<number> | null }
interface ReadReply { ok: boolean; keys?: string[]; infoKeys?: string[]; entries?: Record<string, Entry>; dtypes?: Record<string, { dtype: string; shape: number[] }>; error?: string; key?: string; stale?: boolean }

const WORKER = fileURLToPath(new URL('./hdf5-worker.mjs', import.meta.url));
const readers = new Map<number, IsolatedChild>();

/**
 * One request to the HDF5 reading process: the library runs there so that a corrupt file which makes it
 * abort, allocate gigabytes or spin costs that process, never this one (h5wasm cannot be re-initialised
 * after an abort, so in-process every later read would fail too).
 */
async function askReader(path: string, msg: Record<string, unknown>, limits: Hdf5Limits): Promise<ReadReply> {
  const heapMb = limits.maxHeapMb ?? 1024;
  const reader = readers.get(heapMb) ?? new IsolatedChild(WORKER, { heapMb, recycleRssMb: 768 });
  readers.set(heapMb, reader);
  const hint = 'the file is damaged or not a D4RL dataset; regenerate it with kdp dataset maze2d or download it again';
  const ask = (): Promise<ReadReply> => reader.request({ ...msg, path }, limits.timeoutMs ?? 180_000, (why) => new DatasetError(
    `${path}: ${describeChildFailure(why.kind === 'timeout' ? 'reading the HDF5 file' : 'the HDF5 reader', why, heapMb)}`, { hint })) as unknown as Promise<ReadReply>;
  let reply = await ask();
  if (reply.stale) reply = await ask(); // this file failed before in that process: a fresh one reads it
  if (!reply.ok) throw corrupt(path, new Error(reply.error ?? 'unknown error'), reply.key);
  return reply;
}

/** The largest RSS an HDF5 reading process reported, MB (campaigns). */
export function hdf5ReaderPeakRssMb(): number {
  return Math.round(Math.max(0, ...[...readers.values()].map((r) => r.peakRssBytes)) / 2 ** 20);
}

/** Load a D4RL-layout HDF5 file into a TrajectoryDataset (read in a bounded child process). */
export async function loadD4rlHdf5(path: string, opts: LoadOptions = {}): Promise<TrajectoryDataset> {
  if (!existsSync(path)) {
    throw new DatasetError(`dataset not found: ${path}`, { hint: 'check the path, or generate one: kdp dataset maze2d --maze umaze --out data/maze2d-umaze.hdf5' });
  }
  const st = statSync(path);
  if (st.isDirectory()) {
    throw new DatasetError(`${path} is a directory, not an HDF5 file`, { hint: 'for a LeRobot dataset folder use loadLeRobot / pass the folder with meta/info.json' });
  }
  if (!st.isFile()) {
    throw new DatasetError(`${path} is not a regular file (a FIFO, socket or device)`, { hint: 'pass a D4RL .hdf5 file on disk' });
  }
  if (!looksLikeHdf5(path, st.size)) {
    throw new DatasetError(`${path} is not an HDF5 file (no HDF5 signature)`, { hint: 'pass a D4RL .hdf5 file (observations, actions, terminals, timeouts ...) or regenerate it with kdp dataset maze2d' });
  }
  const limits = opts.limits ?? {};
  const reply = await askReader(path, { op: 'read', names: READ, maxBytes: limits.maxBytes ?? 4 * 2 ** 30 }, limits);
  const keys = reply.keys ?? [];
  const entries = reply.entries ?? {};
  if (keys.length === 0) throw corrupt(path, new Error('no readable keys'));
  const missing = REQUIRED.filter((k) => !keys.includes(k));
  if (missing.length) {
    throw new DatasetError(`${path} lacks the D4RL key(s) ${missing.join(', ')} (has: ${keys.join(', ')})`, {
      hint: 'a D4RL dataset needs observations and actions (plus terminals/timeouts for episode ends); regenerate it with kdp dataset maze2d',
    });
  }
  const read = (key: string, required = false): { data: ArrayLike<number>; shape: number[] } | undefined => {
    const e = entries[key];
    if (!e || e.kind !== 'dataset') {
      if (!required && (!e || e.kind === 'missing')) return undefined;
      throw new DatasetError(`${path}: "${key}" is ${e?.kind === 'group' ? 'a group' : 'missing'}, not a dataset`, {
        hint: `a D4RL file stores ${key} as an N×dim numeric dataset at the top level; regenerate it with kdp dataset maze2d`,
      });
    }
    if (!e.data) {
      throw new DatasetError(`${path}: "${key}" has dtype ${String(e.dtype)}, expected numbers (float32/float64/int/bool)`, {
        hint: 'store observations, actions, rewards and goals as float32 and terminals/timeouts as bool',
      });
    }
    return { data: e.data, shape: e.shape ?? [] };
  };
  const obs = read('observations', true)!;
  const act = read('actions', true)!;
  if (obs.shape.length !== 2 || act.shape.length !== 2) {
    throw new ShapeError('observations/actions rank', '2 (N×dim)', `${obs.shape.length} and ${act.shape.length}`, 'observations must be N×stateDim and actions N×actionDim');
  }
  const n = obs.shape[0]!;
  const stateDim = obs.shape[1]!;
  const actionDim = act.shape[1]!;
  if (act.shape[0] !== n) throw new ShapeError('actions rows', n, act.shape[0]!, 'observations and actions must have one row per step');
  if (obs.data.length !== n * stateDim || act.data.length !== n * actionDim) throw corrupt(path, new Error('data shorter than its shape'));
  const term = read('terminals');
  const tout = read('timeouts');
  for (const [k, v] of [['terminals', term], ['timeouts', tout]] as const) {
    if (v && v.data.length !== n) throw new ShapeError(`${k} length`, n, v.data.length);
  }
  const goal = (reply.infoKeys ?? []).includes('goal') ? read('infos/goal', true) : undefined;
  let goalDim = 0;
  if (goal) {
    goalDim = goal.shape[1] ?? 1;
    if (goal.shape[0] !== n) throw new ShapeError('infos/goal rows', n, goal.shape[0]!);
  }
  const rew = read('rewards');
  const ds: TrajectoryDataset = {
    source: path,
    format: 'd4rl-hdf5',
    stateDim, actionDim, goalDim,
    length: n,
    observations: toF32(obs.data),
    actions: toF32(act.data),
    episodeEnds: episodeEndsFromFlags(n, term?.data, tout?.data),
  };
  if (goal) ds.goals = toF32(goal.data);
  if (rew) {
    if (rew.data.length !== n) throw new ShapeError(`${path}: rewards length`, n, rew.data.length, 'rewards needs one value per step (row)');
    ds.rewards = toF32(rew.data);
  }
  checkDims(ds, opts.expect);
  validateDataset(ds);
  return ds;
}

function toF32(x: ArrayLike<number>): Float32Array {
  return x instanceof Float32Array ? x : Float32Array.from(x);
}

function corrupt(path: string, cause: unknown, key?: string): DatasetError {
  const raw = cause instanceof Error ? cause.message : String(cause);
  if (/Aborted\(/.test(raw)) {
    return new DatasetError(`${path}: corrupt HDF5: the HDF5 library aborted while reading it${key ? ` (${key})` : ''}`, {
      hint: 'the file is damaged; regenerate or download it again', cause,
    });
  }
  // HDF5's error stack: keep the innermost "in FUNC(): message" line
  const lines = raw.split('\n').map((l) => l.trim()).filter((l) => /\(\): /.test(l));
  const why = lines.length ? lines[lines.length - 1]!.replace(/^.*?in (\w+\(\)): /, '$1: ') : raw.split('\n')[0]!;
  return new DatasetError(`${path}: corrupt or truncated HDF5${key ? ` (reading ${key})` : ''}: ${why}`, {
    hint: 'the file is damaged (interrupted download or write?); regenerate it with kdp dataset maze2d or download it again',
    cause,
  });
}

/** The dtype strings of a file's datasets, e.g. {observations: '<f', terminals: 'bool'} (tests, `dataset info`). */
export async function hdf5Dtypes(path: string, limits: Hdf5Limits = {}): Promise<Record<string, { dtype: string; shape: number[] }>> {
  const st = statSync(path);
  if (!st.isFile()) throw new DatasetError(`${path} is not a regular file`, { hint: 'pass a D4RL .hdf5 file on disk' });
  return (await askReader(path, { op: 'dtypes' }, limits)).dtypes ?? {};
}
