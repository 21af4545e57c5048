/**
 * A socat pty pair: `socat -d -d pty,raw,echo=0,link=A pty,raw,echo=0,link=B`. Bytes written on one end come
 * out of the other, so a real `serialport` can sit on each end (the host bus on A, the simulator on B).
 */
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, lstatSync } from 'node:fs';
import { TransportError } from '../../errors.js';

export interface PtyPair {
  /** Link for the host side (the bus). */
  a: string;
  /** Link for the device side (the simulator). */
  b: string;
  readonly pid: number;
  /** Kill socat (SIGTERM) and wait for it to exit. Idempotent. */
  close(): Promise<void>;
  readonly exited: Promise<number | null>;
}

export function hasSocat(): boolean {
  return spawnSync('socat', ['-V'], { stdio: 'ignore' }).status === 0;
}

/** Start socat and wait (≤ timeoutMs) until both links exist. */
export async function createPtyPair(a: string, b: string, timeoutMs = 5000): Promise<PtyPair> {
  if (!hasSocat()) {
    throw new TransportError('socat is not installed', { hint: 'apt-get install socat (needed to create a pty pair)', code: 'E_NO_SOCAT' });
  }
  const child: ChildProcess = spawn('socat', ['-d', '-d', `pty,raw,echo=0,link=${a}`, `pty,raw,echo=0,link=${b}`], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => { stderr += d.toString(); });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let dead = false;
  void exited.then(() => { dead = true; });
  const t0 = Date.now();
  const isLink = (p: string): boolean => { try { return lstatSync(p).isSymbolicLink() && existsSync(p); } catch { return false; } };
  while (!(isLink(a) && isLink(b) && /starting data transfer loop/.test(stderr))) {
    if (dead) throw new TransportError(`socat exited before the pty pair was ready: ${stderr.trim()}`);
    if (Date.now() - t0 > timeoutMs) { child.kill('SIGKILL'); throw new TransportError(`socat did not create ${a} and ${b} within ${timeoutMs} ms: ${stderr.trim()}`); }
    await new Promise((r) => setTimeout(r, 10));
  }
  // never leave socat behind when this process ends without close() (a crash, an uncaught error)
  const onExit = (): void => { if (!dead) child.kill('SIGTERM'); };
  process.once('exit', onExit);
  const watchdog = tieToThisProcess(child.pid!);
  return {
    a, b, pid: child.pid ?? -1, exited,
    async close() {
      process.off('exit', onExit);
      if (!dead) { child.kill('SIGTERM'); await exited; }
      watchdog.end();
    },
  };
}

/**
 * Kill `pid` when this process dies, however it dies (SIGKILL included, where no 'exit' handler runs):
 * a tiny `sh` holds the read end of a pipe whose write end only this process has; when the kernel
 * closes it at our death, `read` returns and the shell sends SIGTERM. Node has no PR_SET_PDEATHSIG;
 * this is the portable equivalent. Returns the pipe (end() it after a normal close).
 */
function tieToThisProcess(pid: number): { end(): void } {
  const w = spawn('sh', ['-c', 'read _; kill -TERM "$1" 2>/dev/null', 'kdp-socat-watchdog', String(pid)], { stdio: ['pipe', 'ignore', 'ignore'] });
  w.on('error', () => { /* no sh: the exit handler still covers normal exits */ });
  w.unref();
  const stdin = w.stdin as (NodeJS.WritableStream & { unref?: () => void; end(): void }) | null;
  stdin?.on('error', () => { /* the watchdog already ended */ });
  stdin?.unref?.();
  return { end: () => { try { stdin?.end(); } catch { /* gone */ } } };
}
