// Module hooks for the emulated node (registered by loader.mjs): `./x.js` that does not exist resolves
// to `./x.ts` (the TypeScript NodeNext convention, as tsx does), and a .ts file under the repository is
// loaded from its transpiled copy in build/arm64/ts/ (made on the host by transpile.mjs).
import { existsSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

let root = '';
let cache = '';

export function initialize(data) {
  root = data.root;
  cache = data.cache;
}

export async function resolve(specifier, context, next) {
  try {
    return await next(specifier, context);
  } catch (e) {
    const relativeJs = specifier.endsWith('.js') && (specifier.startsWith('.') || specifier.startsWith('file:') || specifier.startsWith('/'));
    if (e?.code === 'ERR_MODULE_NOT_FOUND' && relativeJs) return next(`${specifier.slice(0, -3)}.ts`, context);
    throw e;
  }
}

export async function load(url, context, next) {
  if (url.startsWith('file:') && url.endsWith('.ts')) {
    const rel = relative(root, fileURLToPath(url));
    if (rel.startsWith('..') || rel.split(sep)[0] === 'node_modules') return next(url, context);
    const js = join(cache, rel.replace(/\.ts$/, '.js'));
    if (!existsSync(js)) throw new Error(`${rel} has no transpiled copy in ${cache}: run it through scripts/arm64/run.mjs (it transpiles first)`);
    return { format: 'module', source: readFileSync(js, 'utf8'), shortCircuit: true };
  }
  return next(url, context);
}
