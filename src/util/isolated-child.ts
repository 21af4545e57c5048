/**
 * A decoder for untrusted files that runs in a child process with a capped heap and a deadline per request.
 * A malformed file that makes a library abort, allocate gigabytes, spin or throw from an async path costs
 * that child, never this process. The child is kept warm between requests (starting one with the HDF5
 * library costs ~0.4 s) and replaced when it asks to be (its library is poisoned), grows past an RSS cap,
 * misses a deadline or dies. Requests run one at a time; an idle child does not keep this process alive and
 * stops after a short idle time.
 *
 * Child protocol (plain JS, see parquet-worker.mjs / hdf5-worker.mjs): a message `{id, ...request}` is
 * answered by exactly one `{id, ok, recycle?, rssBytes?, ...}`. A message with another id means the child
 * answered late (an async throw after its reply): the child is discarded.
 */
import { fork, type ChildProcess } from 'node:child_process';

export interface ChildReply { id: number; ok: boolean; recycle?: boolean; rssBytes?: number; [key: string]: unknown }

export type ChildFailure = { kind: 'timeout'; ms: number } | { kind: 'exit'; code: number | null; signal: string | null } | { kind: 'spawn'; message: string };

/** What a failed request says, for the caller's typed error: `<what> did not finish …` / `<what> stopped (…)`. */
export function describeChildFailure(what: string, why: ChildFailure, heapMb: number): string {
  if (why.kind === 'timeout') return `${what} did not finish within ${why.ms} ms`;
  if (why.kind === 'spawn') return `cannot start ${what} (${why.message})`;
  const oom = why.code === 134 || why.signal === 'SIGABRT' ? `: more than ${heapMb} MB needed, malformed sizes?` : '';
  return `${what} stopped (${why.signal ?? `exit ${why.code}`}${oom})`;
}

export interface IsolatedChildOptions {
  /** --max-old-space-size of the child, MB */
  heapMb: number;
  /** replace the child after a reply when its RSS is above this, MB (default 512) */
  recycleRssMb?: number;
  /** stop an idle child after this long, ms (default 2000): warm for a burst of files, gone during a long training */
  idleMs?: number;
}

export class IsolatedChild {
  private child: ChildProcess | undefined;
  private nextId = 1;
  private idleTimer: NodeJS.Timeout | undefined;
  private tail: Promise<unknown> = Promise.resolve();
  /** the largest RSS a child reported, bytes (campaigns report it next to their own) */
  peakRssBytes = 0;

  constructor(private readonly script: string, private readonly opts: IsolatedChildOptions) {}

  /** Send one request; resolves with the reply, or rejects with `fail(why)` (a typed error of the caller's). */
  request(msg: Record<string, unknown>, timeoutMs: number, fail: (why: ChildFailure) => Error): Promise<ChildReply> {
    const run = (): Promise<ChildReply> => this.once(msg, timeoutMs, fail);
    const p = this.tail.then(run, run);
    this.tail = p.catch(() => undefined);
    return p;
  }

  /** Stop the child now (tests; a process about to exit does not need it). */
  dispose(): void { this.discard(); }

  private once(msg: Record<string, unknown>, timeoutMs: number, fail: (why: ChildFailure) => Error): Promise<ChildReply> {
    const id = this.nextId++;
    return new Promise<ChildReply>((resolve, reject) => {
      let child: ChildProcess;
      clearTimeout(this.idleTimer);
      try {
        child = this.ensure();
      } catch (e) {
        reject(fail({ kind: 'spawn', message: e instanceof Error ? e.message : String(e) }));
        return;
      }
      let settled = false;
      const done = (err: Error | null, reply?: ChildReply): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        child.off('message', onMessage);
        child.off('exit', onExit);
        child.off('error', onError);
        if (err) reject(err); else resolve(reply!);
      };
      const onMessage = (m: ChildReply): void => {
        if (!m || m.id !== id) { this.discard(child); return; } // a late answer to an earlier request
        this.peakRssBytes = Math.max(this.peakRssBytes, m.rssBytes ?? 0);
        const over = (m.rssBytes ?? 0) > (this.opts.recycleRssMb ?? 512) * 2 ** 20;
        if (m.recycle || over) this.discard(child); else this.idle(child);
        done(null, m);
      };
      const onExit = (code: number | null, signal: NodeJS.Signals | null): void => { this.forget(child); done(fail({ kind: 'exit', code, signal })); };
      const onError = (e: Error): void => { this.discard(child); done(fail({ kind: 'spawn', message: e.message })); };
      const timer = setTimeout(() => { this.discard(child); done(fail({ kind: 'timeout', ms: timeoutMs })); }, timeoutMs);
      child.on('message', onMessage);
      child.on('exit', onExit);
      child.on('error', onError);
      child.ref();
      (child.channel as { ref?: () => void } | null | undefined)?.ref?.();
      child.send({ ...msg, id }, (e) => { if (e) { this.discard(child); done(fail({ kind: 'spawn', message: e.message })); } });
    });
  }

  private ensure(): ChildProcess {
    if (this.child && this.child.exitCode === null && this.child.signalCode === null && this.child.connected) return this.child;
    this.discard();
    const child = fork(this.script, [], {
      execArgv: [`--max-old-space-size=${this.opts.heapMb}`],
      serialization: 'advanced',
      stdio: ['ignore', 'ignore', 'ignore', 'ipc'],
    });
    child.on('error', () => this.forget(child)); // errors outside a request: just drop it
    child.on('exit', () => this.forget(child));
    this.child = child;
    return child;
  }

  /** Between requests the child must not hold this process open. */
  private idle(child: ChildProcess): void {
    child.unref();
    (child.channel as { unref?: () => void } | null | undefined)?.unref?.();
    this.idleTimer = setTimeout(() => this.discard(child), this.opts.idleMs ?? 2000);
    this.idleTimer.unref();
  }

  private forget(child: ChildProcess): void { if (this.child === child) this.child = undefined; }

  private discard(child: ChildProcess | undefined = this.child): void {
    if (!child) return;
    this.forget(child);
    try { child.kill('SIGKILL'); } catch { /* already gone */ }
  }
}
