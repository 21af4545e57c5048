// The wire codecs on arm64: their own golden-vector suites (CRTP, CPX, Feetech, MAVLink telemetry and
// signing) run unchanged on the emulated aarch64 node; each must pass every test it has.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runOn, ARM64_TIMEOUT_MS } from './harness.js';

const SUITES = ['test/protocols/crtp/codec.test.ts', 'test/protocols/crtp/cpx.test.ts', 'test/protocols/feetech/codec.test.ts', 'test/devices/mavlink/telemetry.test.ts'];

for (const file of SUITES) {
  test(`${file} passes on arm64`, async () => {
    // as scripts/run-tests.mjs runs them: --expose-gc (the allocation tests collect before measuring)
    const r = await runOn('arm64', file, [], { nodeArgs: ['--expose-gc'], env: { FORCE_COLOR: '0', KDP_LOG_LEVEL: 'warn' }, timeoutMs: ARM64_TIMEOUT_MS });
    const out = r.stdout + r.stderr;
    const total = Number(/Total:\s+(\d+)/.exec(out)?.[1] ?? 0);
    const passed = Number(/Passed:\s+(\d+)/.exec(out)?.[1] ?? -1);
    // the inner summary must not reach our own output: the runner counts the first "Total:" it sees
    const shown = out.slice(-3000).replace(/(Total|Passed|Skipped):/g, '$1 =');
    assert.ok(total > 0, `no uvu summary:\n${shown}`);
    assert.is(passed, total, `${file} on arm64: ${passed} of ${total} passed\n${shown}`);
    assert.is(r.code, 0);
  });
}

test.run();
