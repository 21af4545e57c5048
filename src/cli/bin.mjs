#!/usr/bin/env node
// Entry point: loads TypeScript sources through tsx's loader so the package runs from a clone without a build.
import { register } from 'tsx/esm/api';

// h5wasm ships its WebAssembly inlined in a 4 MB JavaScript file. Imported through tsx's loader, that file is
// scanned like a source file and the process peaks at ~700 MB RSS; imported before the loader is registered it
// costs ~40 MB, and later imports get this cached instance. Only the commands that read or write HDF5 pay for it.
const HDF5_COMMANDS = new Set(['dataset', 'train', 'demo']);
if (HDF5_COMMANDS.has(process.argv[2] ?? '')) await import('h5wasm/node');

register();
const { main } = await import('./main.ts');
process.exitCode = await main(process.argv.slice(2));
