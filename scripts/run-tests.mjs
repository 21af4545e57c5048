#!/usr/bin/env node
// Runs each uvu suite in its own Node process (isolation: one crashing suite cannot hide the others;
// --expose-gc for allocation tests), two at a time, and prints one closing line "N passed, N failed, N skipped".
// A suite file that runs no test at all fails (a guard that returned early, a missing test.run()): it proves nothing.
// Skips are visible: uvu's `test.skip` (only for optional hardware, with the reason in the name) is counted.
// Before any suite it brings dist/ up to date (scripts/build-dist.mjs, incremental): suites import the TypeScript
// sources through tsx, but every test that runs `kdp` spawns the shipped dist/cli/bin.mjs, so that is what is tested.
//   node scripts/run-tests.mjs                 # test/**/*.test.ts except perf/soak/hw/arm64/examples
//   node scripts/run-tests.mjs --suite examples  # suites declaring `@suite examples`: README and --help examples end to end (~5 min)
//   node scripts/run-tests.mjs --suite perf    # test/perf/*.ts (`npm run bench`: long, prints figures, still asserts)
//   node scripts/run-tests.mjs --suite arm64   # test/arm64/*.ts (emulated aarch64 node vs this host; needs qemu)
//   node scripts/run-tests.mjs test/foo.test.ts ...
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
const suiteIdx = args.indexOf('--suite');
// `bench` is the suite's name before test/bench became test/perf
const suite = suiteIdx >= 0 ? (args[suiteIdx + 1] === 'bench' ? 'perf' : args[suiteIdx + 1]) : 'unit';
const explicit = args.filter((a, i) => !a.startsWith('--') && args[i - 1] !== '--suite');
const EXCLUDED = new Set(['perf', 'soak', 'hw', 'arm64', 'helpers', 'fixtures']);
// a unit-tree suite that declares `@suite NAME` in its first lines runs with --suite NAME instead of in
// `npm test` (test/cli/readme-examples.test.ts: `@suite examples`, ~5 min of end-to-end runs)
const declaredSuite = (f) => /@suite\s+(\S+)/.exec(readFileSync(f, 'utf8').slice(0, 400))?.[1];

function walk(dir, out = []) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) {
      if (dir === 'test' && EXCLUDED.has(name) && suite === 'unit') continue;
      walk(p, out);
    } else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

const files = explicit.length ? explicit
  : suite === 'unit' ? walk('test').filter((f) => declaredSuite(f) === undefined)
  : existsSync(join('test', suite)) ? walk(join('test', suite))
  : walk('test').filter((f) => declaredSuite(f) === suite);
const timeoutMs = Number(process.env.KDP_TEST_TIMEOUT_MS ?? (suite === 'unit' ? 300_000 : 3_600_000));
const jobs = Number(process.env.KDP_TEST_JOBS ?? Math.min(2, availableParallelism()));

// a runner started by a suite (test/util/run-tests.test.ts) finds dist/ already built by its parent
if (!process.env.KDP_DIST_BUILT) {
  const b = spawnSync(process.execPath, [fileURLToPath(new URL('./build-dist.mjs', import.meta.url))], { stdio: ['ignore', 'inherit', 'inherit'] });
  if (b.status !== 0) {
    console.log('build of dist/ failed (scripts/build-dist.mjs, output above): the CLI tests would run a stale kdp');
    console.log('0 passed, 1 failed, 0 skipped');
    process.exit(1);
  }
}

let passed = 0;
let failed = 0;
let skipped = 0;
const failures = [];

/** Counts from uvu's closing summary (its `Total` excludes skipped tests). */
function countsOf(out, exitCode) {
  const total = Number(/Total:\s+(\d+)/.exec(out)?.[1] ?? 0);
  const ok = Number(/Passed:\s+(\d+)/.exec(out)?.[1] ?? 0);
  const skip = Number(/Skipped:\s+(\d+)/.exec(out)?.[1] ?? 0);
  let f = total - ok;
  let reason = '';
  if (exitCode !== 0 && f === 0) { f = 1; reason = 'crashed or timed out outside a test'; }
  else if (total === 0 && skip === 0) { f = 1; reason = 'ran 0 tests'; }
  return { passed: ok, failed: f, skipped: skip, reason };
}

function runOne(file) {
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', file], {
      stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, KDP_DIST_BUILT: '1', FORCE_COLOR: '0', KDP_LOG_LEVEL: process.env.KDP_LOG_LEVEL ?? 'warn' },
    });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { out += d; });
    const limit = suiteTimeoutMs(file);
    const timer = setTimeout(() => { out += `\n[run-tests] TIMEOUT after ${limit} ms\n`; child.kill('SIGKILL'); }, limit);
    child.on('close', (code) => {
      clearTimeout(timer);
      const c = countsOf(out, code);
      passed += c.passed;
      failed += c.failed;
      skipped += c.skipped;
      const secs = ((Date.now() - started) / 1000).toFixed(1);
      const ok = code === 0 && c.failed === 0;
      const status = ok ? 'ok  ' : 'FAIL';
      const skip = c.skipped ? `, ${c.skipped} skipped` : '';
      process.stdout.write(`${status} ${relative('.', file)}  (${c.passed} passed, ${c.failed} failed${skip}, ${secs}s)${c.reason ? ` — ${c.reason}` : ''}\n`);
      if (!ok) failures.push(file);
      if (!ok || process.env.KDP_TEST_VERBOSE) {
        process.stdout.write(out.split('\n').map((l) => `    ${l}`).join('\n') + '\n');
      } else {
        // still show figures printed by bench suites, and why a test was skipped
        const figures = out.split('\n').filter((l) => l.startsWith('[figure]') || l.startsWith('[skip]'));
        if (figures.length) process.stdout.write(figures.map((l) => `    ${l}`).join('\n') + '\n');
      }
      resolve();
    });
  });
}

// a suite that runs many processes end to end (the README examples) declares `@timeout-s N` in its first lines
function suiteTimeoutMs(f) {
  const m = /@timeout-s (\d+)/.exec(readFileSync(f, 'utf8').slice(0, 400));
  return m && !process.env.KDP_TEST_TIMEOUT_MS ? Math.max(timeoutMs, Number(m[1]) * 1000) : timeoutMs;
}

// suites that measure real-time behaviour (link loss within 100 ms, serial stalls) declare `@serial` in their
// first lines and run alone after the parallel phase, so another suite cannot steal their core
const isSerial = (f) => /@serial\b/.test(readFileSync(f, 'utf8').slice(0, 400));
const queue = files.filter((f) => !isSerial(f));
const serial = files.filter(isSerial);
await Promise.all(Array.from({ length: jobs }, async () => {
  while (queue.length) await runOne(queue.shift());
}));
for (const f of serial) await runOne(f);
if (files.length === 0) { console.log('no test files found'); failed += 1; }
if (failures.length) console.log(`\nfailed suites: ${failures.join(', ')}`);
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exitCode = failed > 0 ? 1 : 0;
