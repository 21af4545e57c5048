#!/usr/bin/env node
// Entry point: loads TypeScript sources through tsx's loader so the package runs from a clone without a build.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('./main.ts');
process.exitCode = await main(process.argv.slice(2));
