#!/usr/bin/env node
// Builds every AssemblyScript kernel in src/wasm/*.ts into build/wasm/<name>.wasm.
// Runs on `npm ci` (the `prepare` script) so no prebuilt binary is committed; `npm run build:wasm` rebuilds.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const srcDir = join(root, 'src', 'wasm');
const outDir = join(root, 'build', 'wasm');
const asc = join(root, 'node_modules', 'assemblyscript', 'bin', 'asc.js');
if (!existsSync(asc)) {
  console.error('build-wasm: assemblyscript is not installed; run `npm ci` first');
  process.exit(1);
}
mkdirSync(outDir, { recursive: true });
const sources = existsSync(srcDir) ? readdirSync(srcDir).filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts')) : [];
const force = process.argv.includes('--force');
// src/wasm/lib/*.ts are shared sources the modules import (not modules): a change there rebuilds all
const libDir = join(srcDir, 'lib');
const libMtime = existsSync(libDir) ? Math.max(0, ...readdirSync(libDir).map((f) => statSync(join(libDir, f)).mtimeMs)) : 0;
for (const file of sources) {
  const src = join(srcDir, file);
  const out = join(outDir, file.replace(/\.ts$/, '.wasm'));
  if (!force && existsSync(out) && statSync(out).mtimeMs > Math.max(statSync(src).mtimeMs, libMtime)) continue;
  // *_relaxed.ts modules use relaxed SIMD and are loaded only where the engine supports it
  // (and, having no static data, need only one page of the memory they share with kdp_kernels)
  const relaxed = file.endsWith('_relaxed.ts');
  execFileSync(process.execPath, [asc, src, '--enable', relaxed ? 'simd,relaxed-simd' : 'simd', '-O3', '--noAssert', '--runtime', 'stub',
    '--initialMemory', relaxed ? '1' : '16', '--importMemory', '--outFile', out], { stdio: 'inherit', cwd: root });
  console.error(`build-wasm: ${file} -> build/wasm/${file.replace(/\.ts$/, '.wasm')}`);
}
