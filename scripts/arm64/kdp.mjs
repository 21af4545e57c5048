// `kdp` for the arm64 harness: the CLI's main() without tsx (whose esbuild binary is x86-64 only);
// the TypeScript comes from the host-transpiled copies. Usage: node scripts/arm64/run.mjs scripts/arm64/kdp.mjs demo --json
const { main } = await import('../../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
