// @serial: timing-sensitive (real-time deadlines); runs alone after the parallel phase
// Killing the simulator mid-loop: the arm reports it within 100 ms, says why, and attempts the safe stop.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SafetyStopError } from '../../../src/errors.js';
import { So100Arm } from '../../../src/devices/so100/arm.js';
import { reniceSelf, sleep, startSimChild } from './harness.js';

/** The loop stopped before the kill: the shared host starved a process for longer than the tick budget. */
class FalseStop extends Error { constructor(readonly stop: SafetyStopError, readonly ticks: number) { super(`stopped before the kill (tick ${ticks}): ${stop.message}`); } }

/** Up to 5 tries: a try in which the (loaded) host itself made the bus look silent before the kill is repeated. */
async function measure(kind: 'SIGKILL' | 'SIGTERM'): Promise<{ err: SafetyStopError; afterKillMs: number; ticks: number; arm: So100Arm }> {
  for (let attempt = 1; ; attempt++) {
    const dir = mkdtempSync(join(tmpdir(), 'kdp-kill-'));
    // a control loop is deployed with a raised priority (docs/so100.md); do the same here when allowed, so a
    // shared, loaded test host starves the loop less (every thread: serial I/O runs on the libuv pool)
    const sim = await startSimChild(join(dir, 'arm'), [], { nice: -10 });
    let arm: So100Arm | undefined;
    try {
      arm = await So100Arm.connect({ port: sim.ready.pty });
      reniceSelf(-10);
      await arm.enableTorque();
      const r = await runUntilStop(arm, () => sim.child.kill(kind));
      return { ...r, arm };
    } catch (e) {
      if (!(e instanceof FalseStop) || attempt >= 5) throw e;
      console.log(`\n[figure] so100 kill test: false stop before the kill on a loaded host (try ${attempt}, tick ${e.ticks}): ${e.stop.reason.split('\n')[0]}`);
    } finally {
      await arm?.close();
      await sim.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  }
}

async function runUntilStop(arm: So100Arm, kill: () => void): Promise<{ err: SafetyStopError; afterKillMs: number; ticks: number }> {
  let killedAt = 0;
  let ticks = 0;
  let calm = 0;
  let retriesSeen = arm.bus.stats.retries;
  const goals = new Int32Array(6);
  for (;;) {
    try {
      await arm.readState();
      for (let i = 0; i < 6; i++) goals[i] = arm.positionTicks[i]!;
      await arm.writeGoals(goals);
    } catch (e) {
      if (!(e instanceof SafetyStopError)) throw e;
      if (killedAt === 0) throw new FalseStop(e, ticks);
      return { err: e, afterKillMs: performance.now() - killedAt, ticks };
    }
    ticks++;
    // warm-up (JIT, first GCs) with a generous budget, then the real per-tick budget from the config
    if (ticks === 1) arm.bus.timeoutMs = 100;
    if (ticks === 100) { arm.bus.timeoutMs = arm.config.busTimeoutMs; retriesSeen = arm.bus.stats.retries; calm = 0; }
    if (ticks > 100) {
      // kill once the loop has run 50 ticks in a row without a retry (the host is shared and often loaded)
      if (arm.bus.stats.retries !== retriesSeen) { retriesSeen = arm.bus.stats.retries; calm = 0; } else calm++;
      if (calm === 50 && killedAt === 0) { killedAt = performance.now(); kill(); }
    }
    if (ticks > 3000) throw new Error('never stopped');
    await sleep(10); // 100 Hz
  }
}

test('SIGKILL of the simulator (its socat pty pair dies with it): safe stop within 100 ms', async () => {
  const r = await measure('SIGKILL');
  console.log(`\n[figure] so100 sim SIGKILL → SafetyStopError after ${r.afterKillMs.toFixed(1)} ms (${r.err.reason.split(':')[0]}; ${r.ticks} ticks at 100 Hz before)`);
  assert.ok(r.afterKillMs < 100, `took ${r.afterKillMs} ms`);
  assert.match(r.err.message, /serial port lost|servo bus silent/);
  // the pty pair dies with the simulator, so the truthful report is that the torque-off frames could not go out
  // (on hardware: the adapter is gone); either way the stop says which
  assert.match(r.err.message, /torque off (sent|could not be sent)/);
  assert.ok(r.arm.stopLatencyMs !== undefined && r.arm.stopLatencyMs < 100);
});

test('simulator and its pty pair gone (SIGTERM): port lost → safe stop within 100 ms', async () => {
  const r = await measure('SIGTERM');
  console.log(`\n[figure] so100 sim SIGTERM (pty pair closed) → SafetyStopError after ${r.afterKillMs.toFixed(1)} ms: ${r.err.reason.split(':')[0]}`);
  assert.ok(r.afterKillMs < 100, `took ${r.afterKillMs} ms`);
  assert.match(r.err.message, /serial port lost|servo bus silent/);
});

test('SIGKILL of `kdp sim so100` leaves no socat behind', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kdp-kill-socat-'));
  const sim = await startSimChild(join(dir, 'arm'));
  const alive = (pid: number): boolean => { try { process.kill(pid, 0); return true; } catch { return false; } };
  try {
    assert.ok(alive(sim.ready.socatPid), 'socat runs while the simulator does');
    sim.child.kill('SIGKILL');
    const end = Date.now() + 5000;
    while (alive(sim.ready.socatPid) && Date.now() < end) await sleep(20);
    assert.not.ok(alive(sim.ready.socatPid), `socat ${sim.ready.socatPid} outlived the SIGKILLed simulator`);
  } finally {
    await sim.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
