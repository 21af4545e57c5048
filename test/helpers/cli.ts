import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../dist/cli/bin.mjs', import.meta.url));

export interface CliResult { status: number; stdout: string; stderr: string }

/** Run the real `kdp` binary in a child process (as a user would). */
export function runKdp(args: string[], opts: { cwd?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): CliResult {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd: opts.cwd, encoding: 'utf8', timeout: opts.timeoutMs ?? 120_000,
    env: { ...process.env, KDP_LOG_LEVEL: 'warn', ...opts.env },
  });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}
