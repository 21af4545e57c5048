// The shipped tree: dist/ (built by scripts/build-dist.mjs before the suites run) mirrors src/ file for file, every
// file a module finds through `new URL(…, import.meta.url)` exists from dist/ too, the compiled code imports only
// runtime dependencies, and the shipped `kdp` runs with every devDependency refused (a board after npm ci --omit=dev).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { builtinModules } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SRC = join(ROOT, 'src');
const DIST = join(ROOT, 'dist');
const BIN = join(DIST, 'cli/bin.mjs');
const REFUSE_DEV = fileURLToPath(new URL('../fixtures/dist/refuse-dev-deps.mjs', import.meta.url));
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  bin: Record<string, string>; dependencies: Record<string, string>; devDependencies: Record<string, string>;
};

function files(dir: string, out: string[] = []): string[] {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) files(p, out);
    else out.push(p);
  }
  return out;
}

const srcFiles = files(SRC).filter((f) => !f.startsWith(join(SRC, 'wasm') + '/'));
const distJs = files(DIST).filter((f) => /\.[mc]?js$/.test(f));

test('package.json: kdp runs the compiled entry; tsx is a devDependency; typescript builds at install', () => {
  assert.is(pkg.bin.kdp, './dist/cli/bin.mjs');
  assert.ok(existsSync(BIN), 'dist/cli/bin.mjs missing: run `npm run build`');
  assert.ok(pkg.devDependencies.tsx && !pkg.dependencies.tsx, 'tsx must be a devDependency');
  assert.ok(pkg.dependencies.typescript, 'the prepare script compiles src/ on the board: typescript must be a dependency');
});

test('dist/ mirrors src/: one module per TypeScript source, every other file copied byte for byte, nothing else', () => {
  const expected = new Set<string>();
  for (const f of srcFiles) {
    if (/\.d\.[mc]?ts$/.test(f)) continue;
    const out = join(DIST, relative(SRC, f)).replace(/\.([mc]?)ts$/, '.$1js');
    expected.add(out);
    assert.ok(existsSync(out), `${relative(ROOT, out)} missing (source ${relative(ROOT, f)})`);
    if (!/\.[mc]?ts$/.test(f)) assert.ok(readFileSync(out).equals(readFileSync(f)), `${relative(ROOT, out)} differs from its source`);
  }
  const extra = files(DIST).filter((f) => !expected.has(f) && !f.endsWith('.tsbuildinfo'));
  assert.equal(extra.map((f) => relative(ROOT, f)), [], 'files in dist/ that no source produces (stale)');
});

test('every file reached through new URL(literal, import.meta.url) exists from dist/', () => {
  let checked = 0;
  for (const f of distJs) {
    for (const m of readFileSync(f, 'utf8').matchAll(/new URL\(\s*(['"])([^'"`]+)\1\s*,\s*import\.meta\.url\s*\)/g)) {
      const rel = m[2]!;
      // bin.mjs probes for main.ts to tell the source tree (tsx) from the compiled one: absent in dist by design
      if (f === BIN && rel === './main.ts') continue;
      const target = fileURLToPath(new URL(rel, pathToFileURL(f)));
      assert.ok(existsSync(target), `${relative(ROOT, f)}: new URL('${rel}') → ${target} does not exist`);
      checked++;
    }
  }
  assert.ok(checked >= 10, `only ${checked} URLs found: the pattern no longer matches the compiled code`);
});

test('every command module the CLI registry names is compiled (main.ts imports ./commands/<module>.js)', async () => {
  const { COMMANDS } = await import(pathToFileURL(join(DIST, 'cli/registry.js')).href) as { COMMANDS: Record<string, { module: string }> };
  const modules = new Set(Object.values(COMMANDS).map((c) => c.module));
  assert.ok(modules.size > 10);
  for (const m of modules) assert.ok(existsSync(join(DIST, 'cli/commands', `${m}.js`)), `dist/cli/commands/${m}.js missing`);
});

test('compiled code imports node builtins, runtime dependencies and files inside dist/ only', () => {
  const builtins = new Set(builtinModules);
  const deps = new Set(Object.keys(pkg.dependencies));
  const bad: string[] = [];
  let imports = 0;
  for (const f of distJs) {
    // tsc writes one import per line; comment lines (which may quote an import as usage) are skipped
    const code = readFileSync(f, 'utf8').split('\n').filter((l) => !/^\s*(\/\/|\*|\/\*)/.test(l)).join('\n');
    const specs = [
      ...code.matchAll(/^\s*(?:import|export)\b[^'"\n;]*?\bfrom\s*(['"])([^'"\n]+)\1/gm),
      ...code.matchAll(/^\s*import\s*(['"])([^'"\n]+)\1/gm),
      ...code.matchAll(/\b(?:import|require)\(\s*(['"])([^'"\n]+)\1\s*\)/g),
    ].map((m) => m[2]!);
    for (const s of specs) {
      imports++;
      if (s.startsWith('node:') || builtins.has(s)) continue;
      if (s.startsWith('.')) {
        const target = join(dirname(f), s);
        if (!target.startsWith(DIST + '/') || !existsSync(target)) bad.push(`${relative(ROOT, f)}: ${s} (not a file in dist/)`);
        continue;
      }
      const name = s.startsWith('@') ? s.split('/').slice(0, 2).join('/') : s.split('/')[0]!;
      // the development branch of bin.mjs (source tree only) registers tsx
      if (f === BIN && name === 'tsx') continue;
      if (!deps.has(name)) bad.push(`${relative(ROOT, f)}: ${s} (${pkg.devDependencies[name] ? 'a devDependency' : 'not a dependency'})`);
    }
  }
  assert.ok(imports > 500, `only ${imports} imports parsed`);
  assert.equal(bad, []);
});

test('tests run the shipped kdp: only suites about the development entry name src/cli/bin.mjs', () => {
  // these compare the two entries on purpose (memory through tsx, start time, the refusing hook)
  const allowed = new Set(['test/cli/memory.test.ts', 'test/perf/cli-start.test.ts', 'test/dist/dist-tree.test.ts']);
  const offenders = files(join(ROOT, 'test')).filter((f) => /\.[mc]?ts$/.test(f))
    .filter((f) => !allowed.has(relative(ROOT, f)) && /src\/cli\/bin\.mjs/.test(readFileSync(f, 'utf8')))
    .map((f) => relative(ROOT, f));
  assert.equal(offenders, [], 'spawn dist/cli/bin.mjs (the shipped entry) instead');
});

/** The shipped kdp with every devDependency refused at resolution. */
function kdpWithoutDevDeps(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', REFUSE_DEV, BIN, ...args], {
    cwd: ROOT, encoding: 'utf8', timeout: 120_000, env: { ...process.env, KDP_LOG_LEVEL: 'warn' },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('the refusing hook works: the source-tree entry (tsx) fails under it', () => {
  const r = spawnSync(process.execPath, ['--import', REFUSE_DEV, join(SRC, 'cli/bin.mjs'), '--version'], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
  assert.is.not(r.status, 0);
  assert.match(r.stderr, /devDependency "tsx"/);
});

test('shipped kdp runs without devDependencies: --help, --version, board check, bench on a shipped model', () => {
  const help = kdpWithoutDevDeps(['--help']);
  assert.is(help.status, 0, help.stderr);
  assert.match(help.stdout, /Usage: kdp <command>/);
  const version = kdpWithoutDevDeps(['--version']);
  assert.is(version.stdout.trim(), JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version);
  // board check exits 1 when this host FAILs a check of the Pi profile; the JSON report is what matters here
  const check = kdpWithoutDevDeps(['board', 'check', '--board', 'rpi5', '--json']);
  assert.not.match(check.stderr, /devDependency|E_INTERNAL/, check.stderr);
  const report = JSON.parse(check.stdout) as { checks: unknown[] };
  assert.ok(Array.isArray(report.checks) && report.checks.length > 5, check.stdout);
  const bench = kdpWithoutDevDeps(['bench', '--model', 'models/maze2d-umaze', '--candidates', '4', '--iterations', '20', '--warmup', '2', '--json']);
  assert.is(bench.status, 0, bench.stderr);
  const b = JSON.parse(bench.stdout) as { backend: string; iterations: number; kernels: { backend: string } };
  assert.is(b.backend, 'kdp');
  assert.is(b.iterations, 20);
  // the kernels were found from dist/ (build/wasm, build/native at the same depth as from src/)
  assert.ok(['native', 'wasm'].includes(b.kernels.backend), bench.stdout);
});

test('the serve agent starts from dist/ without devDependencies and refuses an empty models folder with a typed error', () => {
  const empty = mkdtempSync(join(tmpdir(), 'kdp-dist-serve-'));
  const r = kdpWithoutDevDeps(['serve', '--models', empty, '--json']);
  assert.is(r.status, 1, r.stderr);
  assert.not.match(r.stderr, /devDependency|E_INTERNAL/, r.stderr);
  assert.is((JSON.parse(r.stdout) as { code: string }).code, 'E_INTEGRITY');
  rmSync(empty, { recursive: true, force: true });
});

test.run();
