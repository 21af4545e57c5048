#!/usr/bin/env node
// Run a file of this project on arm64 under user-mode emulation:
//   node scripts/arm64/run.mjs [--host] [--print] [node options] <file.ts|.js|.mjs> [args...]
//   node scripts/arm64/run.mjs --setup          # fetch + verify the toolchain, print it (JSON)
// The file runs under the pinned aarch64 node (toolchain.mjs) via qemu-aarch64-static -L <sysroot>;
// .ts files run from copies transpiled on the host (transpile.mjs, hooks.mjs). --host runs the same
// command on this host's node instead (the x86-64 side of a comparison). Node options before the file
// (e.g. --expose-gc) go to the node being run. KDP_QEMU_CPU=cortex-a72 (etc.) picks the emulated CPU
// model. The exit code is the program's.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ToolchainError, emulatorCommand, nodeDir, NODE_ARM64, REPO_ROOT } from './toolchain.mjs';
import { transpileTree } from './transpile.mjs';

const LOADER = join(REPO_ROOT, 'scripts', 'arm64', 'loader.mjs');

/** The command that runs `file` on `target` ('arm64' emulated, or 'host'); transpiles first. */
export function commandFor(target, file, args = [], nodeArgs = [], { qemuCpu } = {}) {
  transpileTree();
  const nodeArgv = [...nodeArgs, '--import', pathToFileURL(LOADER).href, file, ...args];
  if (target === 'host') return { file: process.execPath, args: nodeArgv };
  const e = emulatorCommand(nodeArgv, qemuCpu ? { cpu: qemuCpu } : {});
  return { file: e.file, args: e.args };
}

/** Run and collect; resolves with { code, stdout, stderr }. */
export function runOn(target, file, args = [], { nodeArgs = [], env = {}, cwd = REPO_ROOT, timeoutMs = 0, qemuCpu } = {}) {
  const c = commandFor(target, file, args, nodeArgs, { qemuCpu });
  return new Promise((resolve, reject) => {
    const child = spawn(c.file, c.args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    const timer = timeoutMs ? setTimeout(() => { stderr += `\n[arm64] timeout after ${timeoutMs} ms\n`; child.kill('SIGKILL'); }, timeoutMs) : null;
    child.on('error', reject);
    child.on('close', (code, signal) => { if (timer) clearTimeout(timer); resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr }); });
  });
}

async function main(argv) {
  if (argv[0] === '--help' || argv[0] === '-h' || argv.length === 0) {
    process.stdout.write(`usage: node scripts/arm64/run.mjs [--host] [--print] [node options] <file> [args...]\n       node scripts/arm64/run.mjs --setup\n`);
    return argv.length === 0 ? 2 : 0;
  }
  if (argv[0] === '--setup') {
    const e = emulatorCommand([]);
    process.stdout.write(`${JSON.stringify({ qemu: e.qemu, sysroot: e.sysroot, node: e.node, nodeDir: nodeDir(), nodeVersion: NODE_ARM64.version, integrity: NODE_ARM64.integrity })}\n`);
    return 0;
  }
  let target = 'arm64';
  let print = false;
  const nodeArgs = [];
  let i = 0;
  for (; i < argv.length && argv[i].startsWith('-'); i++) {
    if (argv[i] === '--host') target = 'host';
    else if (argv[i] === '--print') print = true;
    else nodeArgs.push(argv[i]);
  }
  if (i >= argv.length) { process.stderr.write('error: no file to run (see --help)\n'); return 2; }
  const c = commandFor(target, argv[i], argv.slice(i + 1), nodeArgs);
  if (print) { process.stdout.write(`${[c.file, ...c.args].map((a) => (/^[\w./:=@+-]+$/.test(a) ? a : JSON.stringify(a))).join(' ')}\n`); return 0; }
  return new Promise((resolve) => {
    const child = spawn(c.file, c.args, { stdio: 'inherit' });
    child.on('close', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (e) => {
    if (e instanceof ToolchainError) {
      process.stderr.write(`error [${e.code}]: ${e.message}\n  hint: ${e.hint}\n`);
      process.exitCode = 3;
    } else throw e;
  });
}
