// Shared by the arm64 suite: run a file of this repository on the emulated aarch64 node and on this
// host's node (scripts/arm64/run.mjs), and parse a program's JSON line.
import * as assert from 'uvu/assert';
import { runOn, type RunResult, type Target } from '../../scripts/arm64/run.mjs';

export { runOn };

/** Emulated runs are slow (≈ 20–50× a native core): generous, but a hang still fails the suite. */
export const ARM64_TIMEOUT_MS = 600_000;

export async function runJson<T>(target: Target, file: string, args: string[] = [], env: Record<string, string> = {}, qemuCpu?: string): Promise<{ json: T; run: RunResult }> {
  const run = await runOn(target, file, args, { env: { KDP_LOG_LEVEL: 'warn', ...env }, timeoutMs: ARM64_TIMEOUT_MS, ...(qemuCpu ? { qemuCpu } : {}) });
  assert.is(run.code, 0, `${target} ${file} ${args.join(' ')} exited ${run.code}:\n${run.stderr.slice(-2000)}`);
  const line = run.stdout.trim().split('\n').pop() ?? '';
  return { json: JSON.parse(line) as T, run };
}

/** Both sides at once (the emulated one dominates the time). */
export async function onBoth<T>(file: string, args: string[] = [], env: Record<string, string> = {}): Promise<{ arm64: T; host: T }> {
  const [a, h] = await Promise.all([runJson<T>('arm64', file, args, env), runJson<T>('host', file, args, env)]);
  return { arm64: a.json, host: h.json };
}
