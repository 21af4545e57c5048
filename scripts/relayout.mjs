#!/usr/bin/env node
// Move source files and rewrite every relative import (and `new URL('…', import.meta.url)`) that points at them,
// in src/, test/ and scripts/. Usage: node scripts/relayout.mjs MAP.json   (MAP: { "old/path": "new/path", … },
// file or folder paths relative to the repo root; folders move with everything under them). Uses `git mv`.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';

const root = process.cwd();
const map = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const walk = (d, out = []) => {
  for (const f of readdirSync(d)) {
    if (f === 'node_modules' || f.startsWith('.')) continue;
    const p = join(d, f);
    if (statSync(p).isDirectory()) walk(p, out); else out.push(relative(root, p));
  }
  return out;
};
const all = ['src', 'test', 'scripts'].filter((d) => existsSync(d)).flatMap((d) => walk(d));
// file-level move table
const moves = new Map();
for (const from of Object.keys(map)) if (!existsSync(from)) throw new Error(`no such path: ${from}`);
// folders first, then files: an explicit file entry wins over the folder it sits in
for (const [from, to] of Object.entries(map)) {
  if (statSync(from).isDirectory()) for (const f of all) if (f.startsWith(from + '/')) moves.set(f, to + f.slice(from.length));
}
for (const [from, to] of Object.entries(map)) if (!statSync(from).isDirectory()) moves.set(from, to);
const newPath = (p) => moves.get(p) ?? p;
const SPEC = /((?:import|export)\s[^'"]*?from\s*|import\(\s*|new URL\(\s*|import\s+)(['"])(\.\.?\/[^'"]*)\2/g;
let rewritten = 0;
const contents = new Map();
for (const f of all) {
  if (!/\.(ts|mts|mjs|js|cjs)$/.test(f)) continue;
  const src = readFileSync(f, 'utf8');
  const fNew = newPath(f);
  const out = src.replace(SPEC, (m, pre, q, spec) => {
    const abs = relative(root, resolve(dirname(f), spec));
    let target = abs, ext = '';
    if (!all.includes(abs) && !existsSync(abs)) {
      if (abs.endsWith('.js') && all.includes(abs.slice(0, -3) + '.ts')) { target = abs.slice(0, -3) + '.ts'; ext = 'js'; }
      else return m; // not a file we know (e.g. a folder URL); leave it
    }
    const movedTarget = newPath(target);
    if (movedTarget === target && fNew === f) return m;
    let rel = relative(dirname(fNew), ext ? movedTarget.slice(0, -3) + '.js' : movedTarget).split(sep).join('/');
    if (!rel.startsWith('.')) rel = './' + rel;
    if (spec.endsWith('/') && !rel.endsWith('/')) rel += '/';
    if (rel !== spec) rewritten++;
    return `${pre}${q}${rel}${q}`;
  });
  if (out !== src) contents.set(f, out);
}
for (const [from, to] of moves) {
  mkdirSync(dirname(to), { recursive: true });
  execFileSync('git', ['mv', from, to]);
}
for (const [f, text] of contents) writeFileSync(newPath(f), text);
console.log(`${moves.size} files moved, ${rewritten} import specifiers rewritten in ${contents.size} files`);
