// Tools from Debian packages that tests need (`.ci/run` installs them). A missing tool fails the test with the
// package to install: a test that returns early when its tool is absent would count as a pass and prove nothing.
import { spawnSync } from 'node:child_process';

const TOOLS = {
  socat: { probe: ['socat', '-V'], pkg: 'socat' },
  flatc: { probe: ['flatc', '--version'], pkg: 'flatbuffers-compiler' },
  pyarmnn: { probe: ['/usr/bin/python3', '-c', 'import pyarmnn'], pkg: 'python3-pyarmnn' },
} as const;

export type Tool = keyof typeof TOOLS;

export function hasTool(tool: Tool): boolean {
  const [cmd, ...args] = TOOLS[tool].probe;
  return spawnSync(cmd, args, { stdio: 'ignore' }).status === 0;
}

/** Throws (fails the calling test) when `tool` is missing, naming the Debian package that provides it. */
export function requireTool(tool: Tool): void {
  if (!hasTool(tool)) {
    throw new Error(`${tool} is required by this test but is not installed → apt-get install ${TOOLS[tool].pkg} (bash .ci/run installs it)`);
  }
}
