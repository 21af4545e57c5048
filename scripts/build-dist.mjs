#!/usr/bin/env node
// Builds dist/: the whole src/ tree compiled to JavaScript (tsconfig.build.json, incremental) plus every
// non-TypeScript file of src/ copied beside it (workers, the board-side slot tool, schemas), so dist/ mirrors
// src/ file for file at the same depth and every `new URL('../../x', import.meta.url)` reaches the same place
// from either tree. Files in dist/ whose source is gone (a module moved or deleted) are removed, so a stale
// copy can never stand in for a broken import.
// Runs on `npm ci` (the `prepare` script, after the kernels), `npm run build`, and first in scripts/run-tests.mjs.
// Type checking is `npm run typecheck`; this emit skips it (noCheck), so the board needs no @types packages.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync, rmdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const srcDir = join(root, 'src');
const outDir = join(root, 'dist');
const buildInfo = join(outDir, '.tsbuildinfo');
// AssemblyScript kernel sources: built into build/wasm by build-wasm.mjs, not JavaScript (tsconfig.build.json excludes them)
const NOT_COMPILED = new Set([join(srcDir, 'wasm')]);
const TS_SOURCE = /\.([mc]?)ts$/;

let tsc;
try {
  tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
} catch {
  console.error('build-dist: typescript is not installed; run `npm ci` first');
  process.exit(1);
}

function files(dir, out = []) {
  if (!existsSync(dir)) return out;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) files(p, out);
    else out.push(p);
  }
  return out;
}

/** The dist/ file a source compiles to (`x.ts` → `x.js`, `x.mts` → `x.mjs`); undefined for declarations and kernel sources. */
function compiledPath(src) {
  if (/\.d\.[mc]?ts$/.test(src) || [...NOT_COMPILED].some((d) => src.startsWith(d + '/'))) return undefined;
  return join(outDir, relative(srcDir, src)).replace(TS_SOURCE, (_, m) => `.${m}js`);
}

const sources = files(srcDir);
const expected = new Set([buildInfo]);
const compiled = [];
const assets = [];
for (const f of sources) {
  if (TS_SOURCE.test(f)) {
    const out = compiledPath(f);
    if (out) { expected.add(out); compiled.push(out); }
  } else {
    if ([...NOT_COMPILED].some((d) => f.startsWith(d + '/'))) continue;
    expected.add(join(outDir, relative(srcDir, f)));
    assets.push(f);
  }
}

function runTsc() {
  try {
    execFileSync(process.execPath, [tsc, '-b', join(root, 'tsconfig.build.json')], { stdio: 'inherit', cwd: root });
  } catch {
    console.error('build-dist: tsc failed (output above)');
    process.exit(1);
  }
}
runTsc();
// tsc -b trusts its build info and does not notice a deleted output: rebuild from scratch if one is missing
if (compiled.some((f) => !existsSync(f))) {
  rmSync(buildInfo, { force: true });
  runTsc();
  const missing = compiled.filter((f) => !existsSync(f));
  if (missing.length) {
    console.error(`build-dist: tsc did not emit ${missing.map((f) => relative(root, f)).join(', ')}`);
    process.exit(1);
  }
}

// copy assets that changed: temp + rename, so a process starting from dist/ meanwhile reads the old file or the new one
let copied = 0;
for (const f of assets) {
  const dest = join(outDir, relative(srcDir, f));
  const s = statSync(f);
  if (existsSync(dest)) {
    const d = statSync(dest);
    if (d.size === s.size && d.mtimeMs >= s.mtimeMs && d.mode === s.mode) continue;
  }
  mkdirSync(dirname(dest), { recursive: true });
  const tmp = `${dest}.tmp-${process.pid}`;
  copyFileSync(f, tmp); // keeps the mode (kdp-slot.sh stays executable)
  renameSync(tmp, dest);
  copied++;
}

// remove what no source produces any more, then the folders that left empty
let removed = 0;
for (const f of files(outDir)) {
  if (expected.has(f) || f.endsWith('.map') && expected.has(f.slice(0, -4))) continue;
  rmSync(f, { force: true });
  removed++;
}
(function pruneDirs(dir) {
  for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) pruneDirs(join(dir, e.name));
  if (dir !== outDir && readdirSync(dir).length === 0) rmdirSync(dir);
})(outDir);

if (copied || removed || process.argv.includes('--verbose')) {
  console.error(`build-dist: src/ -> dist/ (${compiled.length} modules, ${copied} files copied, ${removed} stale removed)`);
}
