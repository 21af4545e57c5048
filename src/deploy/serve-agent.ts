import { realpath, readlink, open } from 'node:fs/promises';
import { constants, watch, type FSWatcher } from 'node:fs';
import { createHash } from 'node:crypto';
import { basename, join, resolve } from 'node:path';
import { IntegrityError, KdpError } from '../errors.js';
import { childLogger } from '../log.js';
import { routesModel, type LoadedModel } from '../planner/model-loader.js';
import type { ModelManifest } from '../planner/manifest.js';
import type { TelemetrySink } from '../devices/mavlink/telemetry.js';
import { loadTrustedKeys, parseManifest, verifyManifestSignature } from './remote/kdp-slot.mjs';
import { checkContainedFile, readRegularFile } from '../util/safe-read.js';
import { MAX_MANIFEST_BYTES, MAX_MODEL_FILE_BYTES, validateManifest } from '../planner/manifest-schema.js';

/**
 * The board agent's model side (`kdp serve`): watch <models>/active, load + validate a new slot OFF the control
 * tick, and install it BETWEEN ticks (`acquire()` at the top of a tick is O(1)). Unsigned/tampered/unloadable
 * models are refused and the old one keeps running.
 */

/**
 * What a loader returns: the one `LoadedModel` (folder, manifest, the model's, scorer's and routes' bytes — exactly the
 * bytes whose sha256 was checked) plus the slot it came from. The runtime wraps the default loader and adds its
 * interpreter/arena.
 */
export interface SlotModel extends LoadedModel {
  /** `dir` is the real path of the slot directory (the symlink resolved once, so a concurrent switch cannot mix files) */
  slot: string;
  keyId: string;
  /** called after the model was swapped out (off the tick) */
  dispose?(): void;
}

export type ModelLoader<M extends SlotModel = SlotModel> = (dir: string, signal?: AbortSignal) => Promise<M>;

export interface ModelLoaderOptions {
  /** directory of trusted ed25519 public keys (`<root>/trusted_keys`) */
  trustedKeysDir: string;
  /** read/hash granularity; each chunk is one async read so ticks interleave (default 64 KiB) */
  chunkBytes?: number;
}

/**
 * Default loader: manifest + ed25519 signature (trusted keys re-read on every load, so key rotation needs no
 * restart) + size + sha256 over the bytes actually kept. All I/O async and chunked: never blocks a tick for long.
 */
export function createModelLoader(o: ModelLoaderOptions): ModelLoader {
  const chunk = o.chunkBytes ?? 64 * 1024;
  return async (dir: string, signal?: AbortSignal): Promise<SlotModel> => {
    let real: string;
    try {
      real = await realpath(dir);
    } catch (e) {
      throw new IntegrityError(`cannot resolve ${dir}: ${(e as Error).message}`);
    }
    let manifest: ModelManifest;
    let keyId: string;
    try {
      // regular files only: a FIFO or device here would block the thread pool (and with it SIGINT handling)
      const mf = checkContainedFile(real, 'manifest.json', { maxBytes: MAX_MANIFEST_BYTES, plainName: true });
      const text = Buffer.from(readRegularFile(mf.real, MAX_MANIFEST_BYTES)).toString('utf8');
      const m = parseManifest(text, real);
      keyId = verifyManifestSignature(m, loadTrustedKeys(o.trustedKeysDir), real);
      manifest = validateManifest(m, join(real, 'manifest.json'));
    } catch (e) {
      throw e instanceof KdpError ? e : new IntegrityError((e as Error).message);
    }
    const modelBytes = await readVerified(real, manifest.model, 'model', chunk, signal);
    const scorerBytes = manifest.scorer ? await readVerified(real, manifest.scorer, 'scorer', chunk, signal) : undefined;
    const loaded: SlotModel = { dir: real, slot: basename(real), manifest, bytes: modelBytes, ...(scorerBytes ? { scorerBytes } : {}), keyId };
    // a hierarchical model's route generator, verified like the rest (the loop plans with it)
    if (manifest.routes) loaded.routes = routesModel(loaded, await readVerified(real, manifest.routes, 'routes', chunk, signal));
    return loaded;
  };
}

/** One file the signed manifest names (model or scorer): contained, regular, exact size, sha256 over the bytes kept. */
async function readVerified(real: string, entry: { file: string; bytes: number; sha256: string }, role: string, chunk: number, signal?: AbortSignal): Promise<Uint8Array> {
  let file: string;
  try {
    file = checkContainedFile(real, entry.file, { maxBytes: MAX_MODEL_FILE_BYTES, plainName: true }).real;
  } catch (e) {
    throw new IntegrityError(`${real}: ${(e as Error).message}`);
  }
  const fh = await open(file, constants.O_RDONLY | constants.O_NONBLOCK).catch((e: Error) => { throw new IntegrityError(`${real}: cannot open ${entry.file}: ${e.message}`); });
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new IntegrityError(`${real}: ${entry.file} is not a regular file`);
    const size = st.size;
    if (size !== entry.bytes) throw new IntegrityError(`${real}: ${entry.file} is ${size} bytes, manifest says ${entry.bytes}`);
    const bytes = new Uint8Array(size);
    const h = createHash('sha256');
    let pos = 0;
    while (pos < size) {
      if (signal?.aborted) throw new KdpError('E_ABORTED', 'model load aborted');
      const { bytesRead } = await fh.read(bytes, pos, Math.min(chunk, size - pos), pos);
      if (bytesRead === 0) throw new IntegrityError(`${real}: ${entry.file} shrank while reading`);
      h.update(bytes.subarray(pos, pos + bytesRead));
      pos += bytesRead;
    }
    const sha = h.digest('hex');
    if (sha !== entry.sha256) throw new IntegrityError(`${real}: ${role} ${entry.file} sha256 ${sha.slice(0, 16)}… does not match the signed manifest (${entry.sha256.slice(0, 16)}…): tampered or truncated`);
    return bytes;
  } finally {
    await fh.close();
  }
}

export type SwapEvent =
  | { type: 'loaded'; slot: string; ms: number }
  | { type: 'swapped'; from: string; to: string; tick: number }
  | { type: 'rejected'; target: string; reason: string };

export interface ModelHotSwapOptions<M extends SlotModel> {
  /** deployment root: the directory holding `active` (and `previous`) */
  modelsDir: string;
  loader: ModelLoader<M>;
  /** readlink poll interval, ms (fs.watch is used too, but is not reliable on every filesystem) */
  pollMs?: number;
  telemetry?: TelemetrySink;
  onEvent?: (e: SwapEvent) => void;
}

export class ModelHotSwap<M extends SlotModel = SlotModel> {
  private readonly log = childLogger('serve');
  private cur: M | undefined;
  private pending: M | undefined;
  private currentTarget: string | undefined;
  private rejectedTarget: string | undefined;
  private loading: Promise<void> | undefined;
  private recheck = false;
  private pollTimer: NodeJS.Timeout | undefined;
  private watcher: FSWatcher | undefined;
  private readonly abort = new AbortController();
  private tickIndex = 0;
  readonly counters = { loads: 0, swaps: 0, rejects: 0 };

  constructor(private readonly o: ModelHotSwapOptions<M>) {}

  get current(): M {
    if (!this.cur) throw new KdpError('E_NOT_STARTED', 'ModelHotSwap.start() has not completed');
    return this.cur;
  }

  /** Load the active slot (falling back to `previous` if active is refused), then start watching. */
  async start(): Promise<M> {
    const root = resolve(this.o.modelsDir);
    const errors: string[] = [];
    for (const link of ['active', 'previous']) {
      const target = await readlink(join(root, link)).catch(() => undefined);
      if (target === undefined) { errors.push(`${link}: missing`); continue; }
      try {
        // load what the link points at NOW (a flash may switch `active` while we load)
        this.cur = await this.o.loader(resolve(root, target), this.abort.signal);
        if (link === 'active') this.currentTarget = target;
        else this.currentTarget = await readlink(join(root, 'active')).catch(() => undefined);
        this.counters.loads++;
        if (link === 'previous') {
          this.rejectedTarget = this.currentTarget;
          this.o.telemetry?.fault(`active model refused; running previous ${this.cur.slot}`, 'warning');
          this.log.warn({ errors }, 'active slot refused at start; running the previous slot');
        }
        break;
      } catch (e) {
        errors.push(`${link}: ${(e as Error).message}`);
      }
    }
    if (!this.cur) {
      throw new IntegrityError(`no loadable model under ${root}:\n  ${errors.join('\n  ')}`, 'flash a signed model (kdp flash) or check <root>/trusted_keys');
    }
    this.pollTimer = setInterval(() => this.check(), this.o.pollMs ?? 250);
    this.pollTimer.unref();
    try {
      this.watcher = watch(root, { persistent: false }, (_ev, name) => { if (name === 'active') this.check(); });
      this.watcher.on('error', () => { this.watcher?.close(); this.watcher = undefined; });
    } catch { /* polling alone */ }
    return this.cur;
  }

  /**
   * Call at the top of every tick. O(1): installs a model that finished loading since the last tick.
   * Never throws, never awaits.
   */
  acquire(): M {
    const p = this.pending;
    if (p !== undefined) {
      const old = this.cur;
      this.cur = p;
      this.pending = undefined;
      this.counters.swaps++;
      const tick = this.tickIndex;
      setImmediate(() => {
        try { old?.dispose?.(); } catch { /* a dispose failure must not reach the loop */ }
        this.o.onEvent?.({ type: 'swapped', from: old?.slot ?? '', to: p.slot, tick });
      });
    }
    this.tickIndex++;
    return this.cur!;
  }

  /** Look at `active`; start a load if it changed. Runs on timers/watch events, never inside a tick. */
  check(): void {
    if (this.loading) { this.recheck = true; return; }
    this.loading = this.checkAsync().finally(() => {
      this.loading = undefined;
      if (this.recheck) { this.recheck = false; this.check(); }
    });
  }

  /** Resolves when no load is in progress (tests). */
  async idle(): Promise<void> {
    while (this.loading) await this.loading;
  }

  private async checkAsync(): Promise<void> {
    const root = resolve(this.o.modelsDir);
    const target = await readlink(join(root, 'active')).catch(() => undefined);
    if (target === undefined || target === this.currentTarget || target === this.rejectedTarget) return;
    const t0 = performance.now();
    try {
      const m = await this.o.loader(resolve(root, target), this.abort.signal);
      this.counters.loads++;
      if (this.pending) { const stale = this.pending; setImmediate(() => stale.dispose?.()); }
      this.pending = m;
      this.currentTarget = target;
      this.rejectedTarget = undefined;
      this.o.onEvent?.({ type: 'loaded', slot: m.slot, ms: performance.now() - t0 });
      this.log.info({ slot: m.slot, ms: Math.round(performance.now() - t0) }, 'new model loaded; swapping at the next tick');
    } catch (e) {
      if (this.abort.signal.aborted) return;
      this.counters.rejects++;
      this.rejectedTarget = target;
      const reason = (e as Error).message;
      this.o.telemetry?.fault(`model refused: ${reason}`, 'error');
      this.o.onEvent?.({ type: 'rejected', target, reason });
      this.log.error({ target, reason }, 'new model refused; keeping the current one');
    }
  }

  async stop(): Promise<void> {
    this.abort.abort();
    if (this.pollTimer) clearInterval(this.pollTimer);
    this.watcher?.close();
    await this.loading?.catch(() => undefined);
  }
}
