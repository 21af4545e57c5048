#!/usr/bin/env node
// Entry point of `kdp`. The shipped one is dist/cli/bin.mjs (package.json "bin"): plain Node on the compiled
// main.js, no loader. This same file in the source tree (node src/cli/bin.mjs) runs the TypeScript sources
// through tsx's loader, a devDependency, for development without a build.
import { existsSync } from 'node:fs';

if (existsSync(new URL('./main.ts', import.meta.url))) {
  // h5wasm ships its WebAssembly inlined in a 4 MB JavaScript file. Imported through tsx's loader, that file is
  // scanned like a source file and the process peaks at ~700 MB RSS; imported before the loader is registered it
  // costs ~40 MB, and later imports get this cached instance. Only the commands that read or write HDF5 pay for it.
  const HDF5_COMMANDS = new Set(['dataset', 'train', 'demo']);
  if (HDF5_COMMANDS.has(process.argv[2] ?? '')) await import('h5wasm/node');
  const { register } = await import('tsx/esm/api');
  register();
}
const { main } = await import('./main.js');
process.exitCode = await main(process.argv.slice(2));
