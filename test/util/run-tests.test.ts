// scripts/run-tests.mjs counts what really ran: skips are counted and shown, a suite that runs 0 tests fails,
// a failure next to a skip is not hidden, and KDP_TEST_VERBOSE lists only failing suites as failed.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const F = 'test/fixtures/runner/';

function run(files: string[], env: NodeJS.ProcessEnv = {}): { status: number; out: string; last: string } {
  const r = spawnSync(process.execPath, ['scripts/run-tests.mjs', ...files.map((f) => F + f)], {
    cwd: ROOT, encoding: 'utf8', timeout: 120_000, env: { ...process.env, KDP_TEST_VERBOSE: '', ...env },
  });
  const lines = r.stdout.trim().split('\n');
  return { status: r.status ?? -1, out: r.stdout, last: lines[lines.length - 1]! };
}

test('passes and skips are counted on the closing line; exit 0', () => {
  const r = run(['one-pass-one-skip.test.ts']);
  assert.is(r.last, '1 passed, 0 failed, 1 skipped');
  assert.is(r.status, 0, r.out);
  assert.match(r.out, /ok {3}test\/fixtures\/runner\/one-pass-one-skip\.test\.ts {2}\(1 passed, 0 failed, 1 skipped/);
});

test('a suite that runs 0 tests fails and says so', () => {
  const r = run(['zero-tests.test.ts']);
  assert.is(r.last, '0 passed, 1 failed, 0 skipped');
  assert.is(r.status, 1);
  assert.match(r.out, /FAIL test\/fixtures\/runner\/zero-tests\.test\.ts.*ran 0 tests/);
});

test('a failure next to a skip is counted as a failure', () => {
  const r = run(['one-fail.test.ts', 'one-pass-one-skip.test.ts']);
  assert.is(r.last, '1 passed, 1 failed, 2 skipped');
  assert.is(r.status, 1);
  assert.match(r.out, /failed suites: test\/fixtures\/runner\/one-fail\.test\.ts\n/);
});

test('KDP_TEST_VERBOSE prints every suite\'s output but lists only failing suites as failed', () => {
  const r = run(['one-pass-one-skip.test.ts'], { KDP_TEST_VERBOSE: '1' });
  assert.match(r.out, /Total:\s+1/);
  assert.not.match(r.out, /failed suites/);
  assert.is(r.status, 0);
});

test.run();
