// `node --import ./scripts/arm64/loader.mjs file.ts`: runs the project's TypeScript from its transpiled
// copies (see hooks.mjs). Works on any node ≥ 20.6; the arm64 harness passes it to the emulated node.
import { register } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
register('./hooks.mjs', import.meta.url, { data: { root, cache: process.env.KDP_ARM64_TS_CACHE ?? join(root, 'build', 'arm64', 'ts') } });
