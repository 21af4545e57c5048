// Shared set-up for the `kdp arm` tests and the 50-target bench: held-out reach episodes, and `kdp arm` as a child
// process against `kdp sim so100` (test/sim/so100/harness.ts) over a socat pty.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ArmResult } from '../../src/arm/run-arm.js';
import { sampleStart, sampleTarget } from '../../src/envs/so100/reach-task.js';
import { samplePickPlace } from '../../src/envs/so100/pick-place-task.js';
import type { So100Config } from '../../src/devices/so100/config.js';
import { Rng } from '../../src/util/rng.js';

const BIN = fileURLToPath(new URL('../../dist/cli/bin.mjs', import.meta.url));
export const MODEL_DIR = fileURLToPath(new URL('../../models/so100-reach', import.meta.url));
export const PP_MODEL_DIR = fileURLToPath(new URL('../../models/so100-pick-place', import.meta.url));

/**
 * Held-out pick-and-place episode i: start pose (jaw angle included), cube and place, drawn like the dataset's
 * (`kdp dataset so100-pick-place` uses seed S's stream; these use 4242 + i).
 */
export function heldOutPickPlace(i: number, _cfg?: So100Config): { q0: number[]; cube: [number, number]; place: [number, number] } {
  const rng = new Rng(4242 + i);
  const { cube, place } = samplePickPlace(rng);
  const q0 = sampleStart(rng);
  q0[5] = rng.range(0.2, 0.8);
  return { q0, cube, place };
}

/** Held-out episode i: the same draw as `So100ReachEnv.reset(4242 + i)` (the dataset used seed 0's stream). */
export function heldOut(i: number, cfg: So100Config): { q0: number[]; target: [number, number, number] } {
  const rng = new Rng(4242 + i);
  let t = sampleTarget(rng, cfg);
  while (!t) t = sampleTarget(rng, cfg);
  return { target: t.target, q0: sampleStart(rng) };
}

export interface CliRun { code: number | null; result: ArmResult | undefined; stdout: string; stderr: string; ms: number }

/** `kdp arm --port P --task pick-place --cube x,y --place x,y --json ...` as a child process. */
export function runPickPlaceCli(port: string, cube: readonly number[], place: readonly number[], extra: string[] = [], options: { timeoutMs?: number } = {}): Promise<CliRun> {
  return runArmCli(port, [], ['--task', 'pick-place', '--model', PP_MODEL_DIR, '--cube', cube.join(','), '--place', place.join(','), ...extra], { ...options, raw: true });
}

/** `kdp arm --port P --target x,y,z --json ...` as a child process (`raw`: only --port, --json and `extra`). */
export function runArmCli(port: string, target: readonly number[], extra: string[] = [], options: { timeoutMs?: number; raw?: boolean; onSpawn?: (kill: (sig: NodeJS.Signals) => void, stderrLines: (cb: (l: string) => void) => void) => void } = {}): Promise<CliRun> {
  const t0 = performance.now();
  const args = options.raw ? ['--json', ...extra] : ['--model', MODEL_DIR, '--task', 'reach', '--target', target.join(','), '--json', ...extra];
  const child = spawn(process.execPath, [BIN, 'arm', '--port', port, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, KDP_LOG_LEVEL: 'warn' },
  });
  let stdout = '', stderr = '';
  const lineCbs: ((l: string) => void)[] = [];
  let errBuf = '';
  child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString(); errBuf += d.toString();
    let i;
    while ((i = errBuf.indexOf('\n')) >= 0) { const l = errBuf.slice(0, i); errBuf = errBuf.slice(i + 1); for (const cb of lineCbs) cb(l); }
  });
  options.onSpawn?.((sig) => child.kill(sig), (cb) => lineCbs.push(cb));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`kdp arm did not finish within ${options.timeoutMs ?? 60000} ms; stderr: ${stderr}`)); }, options.timeoutMs ?? 60000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      const line = stdout.trim().split('\n').pop() ?? '';
      let result: ArmResult | undefined;
      try { result = JSON.parse(line) as ArmResult; } catch { result = undefined; }
      resolve({ code, result, stdout, stderr, ms: performance.now() - t0 });
    });
  });
}
