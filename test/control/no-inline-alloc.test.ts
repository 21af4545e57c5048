// The zero-allocation claim of the control loops must not depend on what V8's optimising compiler chooses to
// inline: its budgets, and the order its background compiles finish on a loaded host, decide that — not our code.
// A double passed to, or returned from, a call that is not inlined is boxed (16 B); on a loaded 2-core CI host
// such calls made ~17–160 B per tick in a loop that measured clean here. So each loop runs in a child with
// --no-turbo-inlining (every call stays a call) and must still allocate nothing per tick.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const CHILD = fileURLToPath(new URL('./loop-alloc-child.ts', import.meta.url));
const TICKS = 20_000;

function measure(which: string): { gcCount: number; heapGrowthBytes: number } {
  const r = spawnSync(process.execPath, ['--expose-gc', '--no-turbo-inlining', '--import', 'tsx', CHILD, which, String(TICKS)], { encoding: 'utf8', timeout: 120_000 });
  assert.is(r.status, 0, `child for ${which} exited ${r.status}: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

for (const [which, what] of [['maze', 'the maze loop with learned selection (npm start)'], ['reach', 'the SO-100 reach controller'], ['pick-place', 'the SO-100 pick-place controller with its learned progress selection']] as const) {
  test(`${what} allocates nothing per tick even when V8 inlines no call (${TICKS.toLocaleString('en')} ticks, real planner)`, () => {
    const r = measure(which);
    assert.is(r.gcCount, 0, `GC events during ${TICKS} ticks: ${r.gcCount} (heap growth ${r.heapGrowthBytes} B)`);
    // < 1 KB over the window: a one-off (a lazily created map) passes, 16 B per tick (320 KB) does not
    assert.ok(r.heapGrowthBytes < 1024, `young generation grew ${r.heapGrowthBytes} B over ${TICKS} ticks`);
  });
}

test.run();
