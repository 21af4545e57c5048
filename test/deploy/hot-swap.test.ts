import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateSigningKey, signModelDir } from '../../src/deploy/keys.js';
import { activate, keyIdOf, swapLink } from '../../src/deploy/remote/kdp-slot.mjs';
import { ModelHotSwap, createModelLoader, type SlotModel } from '../../src/deploy/serve-agent.js';
import { MonotonicClock, VirtualClock, type Clock } from '../../src/control/clock.js';
import { FixedRateScheduler, tickPercentileUs } from '../../src/control/scheduler.js';
import { RecordingTelemetrySink } from '../../src/devices/mavlink/telemetry.js';
import { loadPublicKey } from '../../src/deploy/keys.js';
import { makeModelDir } from './fixtures.js';

const MODEL_BYTES = 1024 * 1024; // generous: exported KDP MLPs are ~0.1–0.5 MB

interface DummyModel extends SlotModel { weights: Float32Array; disposed: boolean }

interface ScenarioResult { misses: number; ticks: number; used: string[]; swaps: number; rejects: number; faults: string[]; line: string }

/**
 * A → (B valid) → (C tampered) → (D unsigned) → (E truncated) → (F valid), switched while a 500 Hz loop runs.
 * `onTickLoad`: the anti-pattern (load + hash inside the tick) for the control test.
 */
const gcs: { start: number; end: number; kind: number }[] = [];
if (process.env.KDP_DEBUG_MISSES) {
  const { PerformanceObserver } = await import('node:perf_hooks');
  new PerformanceObserver((l) => { for (const e of l.getEntries()) gcs.push({ start: e.startTime, end: e.startTime + e.duration, kind: ((e as unknown as { detail: { kind: number } }).detail).kind }); }).observe({ entryTypes: ['gc'] });
}

async function scenario(clock: Clock, label: string, onTickLoad = false, modelBytes = MODEL_BYTES): Promise<ScenarioResult> {
  const work = mkdtempSync(join(tmpdir(), 'kdp-hotswap-'));
  const root = join(work, 'board');
  try {
    const key = generateSigningKey(join(work, 'deploy.key'));
    mkdirSync(join(root, 'trusted_keys'), { recursive: true });
    cpSync(key.publicKeyFile, join(root, 'trusted_keys', `${keyIdOf(loadPublicKey(key.publicKeyFile))}.pub`));
    // slot A active at start
    const a = makeModelDir(join(work, 'src'), 'model-a', modelBytes, 1);
    await signModelDir(a, key.privateKeyFile);
    cpSync(a, join(root, 'staging', 'a'), { recursive: true });
    await activate(root, 'a');

    // dummy runtime on top of the real default loader (file reads + sha256 + signature), all off the tick
    const base = createModelLoader({ trustedKeysDir: join(root, 'trusted_keys') });
    const loader = async (dir: string): Promise<DummyModel> => {
      const m = await base(dir);
      const weights = new Float32Array(m.bytes.buffer, m.bytes.byteOffset, 256).slice();
      const dm: DummyModel = { ...m, weights, disposed: false, dispose() { dm.disposed = true; } };
      return dm;
    };
    const telemetry = new RecordingTelemetrySink();
    const swap = new ModelHotSwap<DummyModel>({ modelsDir: root, loader, pollMs: 20, telemetry });
    const first = await swap.start();
    assert.is(first.slot, 'a');
    // A2 must survive A's activation pruning: it is created after activate()

    // the flasher's side (a separate process on a real board) is prepared up front; during the loop the
    // test only switches the `active` symlink, exactly as `kdp-slot activate` does
    const prepare = async (name: string, seed: number, sign: boolean): Promise<string> => {
      const src = makeModelDir(join(work, 'src'), `model-${name}`, modelBytes, seed);
      if (sign) await signModelDir(src, key.privateKeyFile);
      cpSync(src, join(root, 'slots', name), { recursive: true });
      return join(root, 'slots', name);
    };
    // a2: same bytes as A, re-signed: swapped in during warm-up so the swap path is JIT-warm when counting starts
    cpSync(join(root, 'slots', 'a'), join(root, 'slots', 'a2'), { recursive: true });
    await prepare('b', 2, true);
    const c = await prepare('c', 3, true);
    const bytes = readFileSync(join(c, 'model.tflite'));
    bytes[7] = 0x42;
    writeFileSync(join(c, 'model.tflite'), bytes);
    const mc = JSON.parse(readFileSync(join(c, 'manifest.json'), 'utf8')) as { model: { sha256: string } };
    mc.model.sha256 = createHash('sha256').update(bytes).digest('hex');
    writeFileSync(join(c, 'manifest.json'), JSON.stringify(mc));
    await prepare('d', 4, false);
    const e = await prepare('e', 5, true);
    writeFileSync(join(e, 'model.tflite'), readFileSync(join(e, 'model.tflite')).subarray(0, 1000));
    await prepare('f', 6, true);

    const used: string[] = [];
    let acc = 0;
    let lastTarget = '';
    const loop = new FixedRateScheduler({
      periodUs: 2000,
      maxTicks: 1500,
      warmupTicks: 400,
      clock,
      onDeadlineMissed: (i, late, dur) => { if (process.env.KDP_DEBUG_MISSES) { const now = performance.now(); setTimeout(() => console.log(`miss ${label} tick=${i} dur=${dur.toFixed(0)}us used=${used.join(',')} gcs=${JSON.stringify(gcs.filter((g) => g.end > now - dur / 1000 - 1 && g.start < now + 1))}`), 50); } },
      tick: () => {
        if (onTickLoad) {
          // anti-pattern: look at the slot and hash the model inside the tick
          const t = readlinkSync(join(root, 'active'));
          if (t !== lastTarget) { lastTarget = t; createHash('sha256').update(readFileSync(join(root, t, 'model.tflite'))).digest(); }
        }
        const m = swap.acquire();
        // a stand-in for one plan step: touch the model's weights
        let s = 0;
        const w = m.weights;
        for (let i = 0; i < w.length; i++) s += w[i]!;
        acc += s;
        if (used[used.length - 1] !== m.slot) used.push(m.slot);
        if (m.disposed) throw new Error('a disposed model was used');
      },
    });
    loop.start();
    const at = (ticks: number): Promise<void> => new Promise((resolve) => {
      const check = (): void => { if (loop.stats.ticks >= ticks) resolve(); else setTimeout(check, 5); };
      check();
    });

    // warm-up: swap A → A2 (identical model) so the first counted swap does not pay for JIT tier-up
    await new Promise<void>((resolve) => { const c = (): void => { if (loop.stats.warmupTicks >= 50) resolve(); else setTimeout(c, 5); }; c(); });
    swapLink(root, 'active', 'slots/a2');
    // B: valid → swapped in at tick ~150
    await at(150);
    swapLink(root, 'active', 'slots/b');
    // C: tampered (signature no longer matches) → refused, B keeps running
    await at(450);
    swapLink(root, 'active', 'slots/c');
    // D: unsigned → refused
    await at(700);
    swapLink(root, 'active', 'slots/d');
    // E: truncated model file → refused
    await at(900);
    swapLink(root, 'active', 'slots/e');
    // F: valid → swapped in
    await at(1100);
    swapLink(root, 'active', 'slots/f');

    await loop.done;
    await swap.stop();
    const st = loop.stats;
    const p50 = tickPercentileUs(st, 50), p99 = tickPercentileUs(st, 99);
    const line = (`[figure] hot swap @500 Hz (${label}): ticks=${st.ticks} deadline_misses=${st.deadlineMisses} skipped=${st.skippedSlots} `
      + `tick p50=${p50.toFixed(1)}us p99=${p99.toFixed(1)}us max=${st.maxTickUs.toFixed(0)}us max_lateness=${st.maxLatenessUs.toFixed(0)}us `
      + `model=${modelBytes / 1048576} MiB swaps=${swap.counters.swaps} rejects=${swap.counters.rejects}`);
    console.log(line);
    assert.ok(Number.isFinite(acc));
    return { misses: st.deadlineMisses, ticks: st.ticks, used, swaps: swap.counters.swaps, rejects: swap.counters.rejects, faults: telemetry.faults, line };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

function checkSwaps(r: ScenarioResult): void {
  assert.equal(r.used, ['a', 'a2', 'b', 'f'], 'slots used by the loop, in order (C, D, E never ran)');
  assert.is(r.swaps, 3);
  assert.is(r.rejects, 3);
  assert.is(r.faults.length, 3);
  assert.match(r.faults[0]!, 'BAD SIGNATURE');
  assert.match(r.faults[1]!, 'not signed');
  assert.match(r.faults[2]!, 'bytes');
}

test('hot swap under a 500 Hz loop (2 ms virtual tick): 0 deadline misses; tampered/unsigned/truncated refused, old model keeps running', async () => {
  // the virtual clock is charged with each tick's real cost, so a host stall (another process preempting this one on a
  // loaded 2-core CI host: seen once, 4.2 ms) also reads as a miss. Loading on the tick misses on every swap (the control
  // test below, ≥ 3); a stall does not repeat on the same ticks: one re-run, printed, separates the two.
  let r = await scenario(new VirtualClock({ paceMs: 1, chargeRealCost: true }), 'virtual 2 ms tick');
  if (r.misses > 0) {
    console.log(`[note] ${r.misses} deadline miss(es) in the first run (max tick in its figure line above); re-running once`);
    r = await scenario(new VirtualClock({ paceMs: 1, chargeRealCost: true }), 'virtual 2 ms tick, second run');
  }
  assert.is(r.ticks, 1500);
  assert.is(r.misses, 0, 'deadline misses');
  checkSwaps(r);
});

test('control: loading + hashing the model ON the tick is caught as deadline misses', async () => {
  // 4 MiB so that one on-tick read + sha256 clearly exceeds 2 ms on any machine this runs on
  const r = await scenario(new VirtualClock({ paceMs: 1, chargeRealCost: true }), 'control: load on tick', true, 4 * 1024 * 1024);
  assert.ok(r.misses >= 3, `expected misses from on-tick hashing (5 slot changes), got ${r.misses}`);
});

test('same scenario on the real clock (figure only: wall-clock misses depend on the machine)', async () => {
  const r = await scenario(new MonotonicClock(), 'real clock');
  checkSwaps(r);
});

test('start() falls back to the previous slot when active is refused; nothing loadable → IntegrityError', async () => {
  const work = mkdtempSync(join(tmpdir(), 'kdp-hotswap-'));
  const root = join(work, 'board');
  try {
    const key = generateSigningKey(join(work, 'deploy.key'));
    mkdirSync(join(root, 'trusted_keys'), { recursive: true });
    cpSync(key.publicKeyFile, join(root, 'trusted_keys', 'k.pub'));
    const a = makeModelDir(join(work, 'src'), 'a', 4096);
    await signModelDir(a, key.privateKeyFile);
    cpSync(a, join(root, 'staging', 'a'), { recursive: true });
    await activate(root, 'a');
    const b = makeModelDir(join(work, 'src'), 'b', 4096);
    await signModelDir(b, key.privateKeyFile);
    cpSync(b, join(root, 'staging', 'b'), { recursive: true });
    await activate(root, 'b');
    writeFileSync(join(root, 'slots', 'b', 'model.tflite'), 'tampered');
    const tel = new RecordingTelemetrySink();
    const swap = new ModelHotSwap({ modelsDir: root, loader: createModelLoader({ trustedKeysDir: join(root, 'trusted_keys') }), telemetry: tel });
    const m = await swap.start();
    assert.is(m.slot, 'a');
    assert.is(tel.faults.length, 1);
    await swap.stop();
    writeFileSync(join(root, 'slots', 'a', 'manifest.json'), '{}');
    const swap2 = new ModelHotSwap({ modelsDir: root, loader: createModelLoader({ trustedKeysDir: join(root, 'trusted_keys') }) });
    try { await swap2.start(); assert.unreachable(); } catch (e) { assert.match((e as Error).message, 'no loadable model'); }
    await swap2.stop();
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});

test.run();
