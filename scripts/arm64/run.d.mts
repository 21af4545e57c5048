export type Target = 'arm64' | 'host';
export function commandFor(target: Target, file: string, args?: string[], nodeArgs?: string[], opts?: { qemuCpu?: string }): { file: string; args: string[] };
export interface RunResult { code: number; stdout: string; stderr: string }
export function runOn(target: Target, file: string, args?: string[],
  opts?: { nodeArgs?: string[]; env?: Record<string, string>; cwd?: string; timeoutMs?: number; qemuCpu?: string }): Promise<RunResult>;
