// Shared set-up for the SO-100 integration tests: a socat pty pair, the simulator on one end (in-process,
// real serialport) and a FeetechBus on the other.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { getPriority, setPriority, tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { FeetechBus } from '../../../src/devices/feetech/bus.js';
import type { FeetechBusOptions } from '../../../src/devices/feetech/bus.js';
import { createPtyPair } from '../../../src/sim/so100/pty-pair.js';
import type { PtyPair } from '../../../src/sim/so100/pty-pair.js';
import { SimSo100 } from '../../../src/sim/so100/sim-so100.js';
import type { SimSo100Options } from '../../../src/sim/so100/sim-so100.js';
import { SerialTransport } from '../../../src/links/serial.js';



export interface Rig {
  dir: string;
  pair: PtyPair;
  sim: SimSo100;
  transport: SerialTransport;
  bus: FeetechBus;
  close(): Promise<void>;
}

export async function makeRig(simOptions: SimSo100Options = {}, busOptions: Omit<FeetechBusOptions, 'transport'> = {}): Promise<Rig> {
  const dir = mkdtempSync(join(tmpdir(), 'kdp-so100-'));
  const pair = await createPtyPair(join(dir, 'host'), join(dir, 'sim'));
  const sim = await SimSo100.create(simOptions);
  await sim.serve(pair.b);
  sim.start();
  const transport = new SerialTransport({ path: pair.a, baudRate: 1_000_000 });
  // functional tests: a generous timeout (the CI host is shared); deadline tests set their own budget
  const bus = new FeetechBus({ transport, timeoutMs: 250, ...busOptions });
  await bus.open();
  return {
    dir, pair, sim, transport, bus,
    async close() {
      await bus.close();
      await sim.close();
      await pair.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Assert that `p` rejects with an instance of `cls` or an error whose message matches `re`. */
export async function rejects(p: Promise<unknown>, expected: (new (...a: never[]) => Error) | RegExp): Promise<Error> {
  try { await p; } catch (e) {
    if (expected instanceof RegExp ? !expected.test((e as Error).message) : !(e instanceof expected)) throw new Error(`rejected with the wrong error: ${(e as Error).stack}`);
    return e as Error;
  }
  throw new Error('expected a rejection');
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Raising priority needs root / CAP_SYS_NICE. */
export function canRenice(): boolean {
  try { const p = getPriority(); setPriority(p); return process.getuid?.() === 0; } catch { return false; }
}

/** Renice every thread of this process (nice is per thread on Linux). */
export function reniceSelf(nice: number): boolean {
  if (!canRenice()) return false;
  try {
    for (const tid of readdirSync('/proc/self/task')) setPriority(Number(tid), nice);
    return true;
  } catch { return false; }
}

const BIN = fileURLToPath(new URL('../../../dist/cli/bin.mjs', import.meta.url));

export interface SimChild {
  child: ChildProcess;
  ready: { pty: string; simPty: string; socatPid: number; pid: number };
  /** Send a control command and wait for its JSON answer. */
  send(cmd: object): Promise<unknown>;
  stop(): Promise<void>;
}

/** Run `kdp sim so100 --pty <path> --json` as a child process and wait for its ready line. */
export async function startSimChild(ptyPath: string, extra: string[] = [], options: { nice?: number } = {}): Promise<SimChild> {
  const argv = [process.execPath, BIN, 'sim', 'so100', '--pty', ptyPath, '--json', ...extra];
  // `nice -n N` execs node, so every thread (libuv pool included: serial I/O goes through it) inherits it
  const [cmd, ...args] = options.nice !== undefined && canRenice() ? ['nice', '-n', String(options.nice), ...argv] : argv;
  const child = spawn(cmd!, args, {
    stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, KDP_LOG_LEVEL: 'warn' },
  });
  const lines: string[] = [];
  const waiters: ((l: string) => void)[] = [];
  let buf = '';
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
  child.stdout!.on('data', (d: Buffer) => {
    buf += d.toString();
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const l = buf.slice(0, i); buf = buf.slice(i + 1);
      const w = waiters.shift();
      if (w) w(l); else lines.push(l);
    }
  });
  const next = (timeoutMs = 15000): Promise<string> => new Promise((resolve, reject) => {
    const l = lines.shift();
    if (l !== undefined) { resolve(l); return; }
    const t = setTimeout(() => reject(new Error(`sim child: no output within ${timeoutMs} ms; stderr: ${stderr}`)), timeoutMs);
    waiters.push((x) => { clearTimeout(t); resolve(x); });
  });
  const ready = JSON.parse(await next()) as SimChild['ready'];
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return {
    child, ready,
    async send(cmd) { child.stdin!.write(JSON.stringify(cmd) + '\n'); return JSON.parse(await next(5000)); },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
      try { process.kill(ready.socatPid, 0); process.kill(ready.socatPid, 'SIGTERM'); } catch { /* already gone */ }
    },
  };
}
