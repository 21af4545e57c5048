// Host-side half of running the project's TypeScript on the emulated arm64 node: esbuild (an x86-64
// binary, so it cannot run under the emulator at a useful speed) strips the types of every .ts file
// under src/, test/ and scripts/ into build/arm64/ts/<same path>.js; hooks.mjs serves those files in
// place of the .ts sources, so import.meta.url and every relative path stay those of the source tree.
import { mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { transformSync } from 'esbuild';
import { REPO_ROOT } from './toolchain.mjs';

export const TS_CACHE = join(REPO_ROOT, 'build', 'arm64', 'ts');
const DIRS = ['src', 'test', 'scripts'];
const SKIP = new Set(['node_modules', 'wasm']); // src/wasm is AssemblyScript, compiled by build-wasm.mjs

function* tsFiles(dir) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const st = statSync(p);
    if (st.isDirectory()) { if (!SKIP.has(name)) yield* tsFiles(p); } else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) yield [p, st.mtimeMs];
  }
}

/** Transpile what changed since the last run; returns { total, written }. */
export function transpileTree() {
  let total = 0;
  let written = 0;
  for (const d of DIRS) {
    for (const [src, mtime] of tsFiles(join(REPO_ROOT, d))) {
      total++;
      const out = join(TS_CACHE, relative(REPO_ROOT, src).replace(/\.ts$/, '.js'));
      let fresh = false;
      try { fresh = statSync(out).mtimeMs >= mtime; } catch { /* not yet */ }
      if (fresh) continue;
      const r = transformSync(readFileSync(src, 'utf8'), {
        loader: 'ts', format: 'esm', target: 'es2022', sourcemap: 'inline', sourcefile: src,
        tsconfigRaw: { compilerOptions: { verbatimModuleSyntax: true } },
      });
      mkdirSync(dirname(out), { recursive: true });
      const tmp = `${out}.${process.pid}.tmp`;
      writeFileSync(tmp, r.code);
      renameSync(tmp, out);
      written++;
    }
  }
  return { total, written };
}
