#!/usr/bin/env node
// Runs each uvu suite in its own Node process (isolation: one crashing suite cannot hide the others;
// --expose-gc for allocation tests), two at a time, and prints one closing line "N passed, N failed".
//   node scripts/run-tests.mjs                 # test/**/*.test.ts except bench/soak/hw/arm64
//   node scripts/run-tests.mjs --suite bench   # test/bench/*.ts (long, prints figures, still asserts)
//   node scripts/run-tests.mjs --suite arm64   # test/arm64/*.ts (emulated aarch64 node vs this host; needs qemu)
//   node scripts/run-tests.mjs test/foo.test.ts ...
import { spawn } from 'node:child_process';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { availableParallelism } from 'node:os';

const args = process.argv.slice(2);
const suiteIdx = args.indexOf('--suite');
const suite = suiteIdx >= 0 ? args[suiteIdx + 1] : 'unit';
const explicit = args.filter((a, i) => !a.startsWith('--') && args[i - 1] !== '--suite');
const EXCLUDED = new Set(['bench', 'soak', 'hw', 'arm64', 'helpers', 'fixtures']);

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

const files = explicit.length ? explicit : suite === 'unit' ? walk('test') : walk(join('test', suite));
const timeoutMs = Number(process.env.KDP_TEST_TIMEOUT_MS ?? (suite === 'unit' ? 300_000 : 3_600_000));
const jobs = Number(process.env.KDP_TEST_JOBS ?? Math.min(2, availableParallelism()));

let passed = 0;
let failed = 0;
const failures = [];

function runOne(file) {
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', file], {
      stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, FORCE_COLOR: '0', KDP_LOG_LEVEL: process.env.KDP_LOG_LEVEL ?? 'warn' },
    });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { out += d; });
    const timer = setTimeout(() => { out += `\n[run-tests] TIMEOUT after ${timeoutMs} ms\n`; child.kill('SIGKILL'); }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      const total = Number(/Total:\s+(\d+)/.exec(out)?.[1] ?? 0);
      const ok = Number(/Passed:\s+(\d+)/.exec(out)?.[1] ?? 0);
      const skipped = Number(/Skipped:\s+(\d+)/.exec(out)?.[1] ?? 0);
      let p = ok;
      let f = total - ok - skipped;
      if (code !== 0 && f === 0) f = Math.max(1, total - ok); // crash or timeout outside a test
      passed += p;
      failed += f;
      const secs = ((Date.now() - started) / 1000).toFixed(1);
      const status = code === 0 && f === 0 ? 'ok  ' : 'FAIL';
      process.stdout.write(`${status} ${relative('.', file)}  (${p} passed, ${f} failed, ${secs}s)\n`);
      if (status === 'FAIL' || process.env.KDP_TEST_VERBOSE) {
        failures.push(file);
        process.stdout.write(out.split('\n').map((l) => `    ${l}`).join('\n') + '\n');
      } else {
        // still show figures printed by bench suites
        const figures = out.split('\n').filter((l) => l.startsWith('[figure]'));
        if (figures.length) process.stdout.write(figures.map((l) => `    ${l}`).join('\n') + '\n');
      }
      resolve();
    });
  });
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
console.log(`${passed} passed, ${failed} failed`);
process.exitCode = failed > 0 ? 1 : 0;
