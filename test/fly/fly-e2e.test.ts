/**
 * `kdp fly` end to end against `kdp sim crazyflie` child processes (UDP loopback), with the shipped models/cf-nav,
 * on held-out layouts (seeds the dataset never drew): the CLI with --json, the in-process runner with telemetry,
 * Ctrl-C → land, and the geofence check on the goal. The 50-layout figure is test/perf/crazyflie-fly.test.ts.
 */
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { createInterface } from 'node:readline';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runFlight } from '../../src/fly/flight.js';
import { loadModelDir } from '../../src/planner/model-loader.js';
import { RecordingTelemetrySink } from '../../src/devices/mavlink/telemetry.js';
import { CLI, NAV_FENCE, NAV_FENCE_OBJ, heldOutLayout, spawnSim, writeLayoutFile } from './harness.js';

interface CliRun { code: number | null; stdout: string; events: Record<string, unknown>[] }

function runFlyCli(args: string[], onEvent?: (e: Record<string, unknown>, child: ReturnType<typeof spawn>) => void): Promise<CliRun> {
  const child = spawn(process.execPath, [CLI, 'fly', ...args, '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  const events: Record<string, unknown>[] = [];
  child.stdout!.on('data', (d: Buffer) => { stdout += d.toString(); });
  const rl = createInterface({ input: child.stderr! });
  rl.on('line', (line) => {
    try { const e = JSON.parse(line) as Record<string, unknown>; events.push(e); onEvent?.(e, child); } catch { /* log lines */ }
  });
  const killer = setTimeout(() => child.kill('SIGKILL'), 90_000);
  return new Promise((resolve) => child.once('exit', (code) => { clearTimeout(killer); rl.close(); resolve({ code, stdout, events }); }));
}

test('kdp fly refuses a goal outside the geofence (default crazyflie21 profile)', async () => {
  const r = await runFlyCli(['--uri', 'udp://127.0.0.1:9', '--goal', '1.5,0,0.5']);
  assert.is(r.code, 2);
  assert.match(r.stdout, /outside the geofence/);
});

test('kdp fly --json (the model alone: learned clearance scorer, no oracle) reaches the goal of a held-out layout with 0 collisions and lands', async () => {
  const layout = heldOutLayout(0);
  const file = writeLayoutFile(layout);
  const sim = await spawnSim(file, layout.start);
  // a MAVLink ground station on loopback: count the telemetry datagrams kdp fly sends
  const gcs = createSocket('udp4');
  let mavDatagrams = 0, mavV2 = 0;
  gcs.on('message', (m) => { mavDatagrams++; if (m[0] === 0xfd) mavV2++; });
  await new Promise<void>((r) => gcs.bind(0, '127.0.0.1', () => r()));
  let run: CliRun;
  try {
    run = await runFlyCli(['--uri', sim.uri, '--model', 'models/cf-nav', '--goal', layout.goal.join(','), '--obstacles', file, `--geofence=${NAV_FENCE}`, '--timeout', '30', '--mavlink', `udp:127.0.0.1:${gcs.address().port}`]);
  } finally {
    await new Promise<void>((r) => gcs.close(() => r()));
    const summary = await sim.stop();
    assert.ok(summary, 'simulator summary');
    assert.is(summary!.collisions, 0, 'simulator counted no collision');
    assert.ok(Number(summary!.stopSetpoints) >= 1, 'the client closed with a stop setpoint');
  }
  assert.is(run.code, 0, run.stdout);
  const r = JSON.parse(run.stdout.trim().split('\n').pop()!) as Record<string, unknown>;
  for (const k of ['reached', 'collisions', 'seconds', 'planLatencyUs', 'deadlineMisses']) assert.ok(k in r, `result has ${k}`);
  assert.is(r.reached, true);
  assert.is(r.collisions, 0);
  assert.is(r.landed, true);
  assert.is(r.selection, 'learned');
  assert.is(r.oracle, false, 'no obstacle list reached the planning');
  assert.is(r.shield, false);
  assert.is((r.limits as Record<string, number>).shieldScalings, 0);
  const lat = r.planLatencyUs as { p50: number; p99: number };
  assert.ok(lat.p50 > 0 && lat.p99 >= lat.p50);
  assert.ok(run.events.some((e) => e.event === 'takeoff') && run.events.some((e) => e.event === 'land'));
  assert.ok(mavDatagrams > 5 && mavV2 === mavDatagrams, `MAVLink 2 datagrams: ${mavDatagrams} (${mavV2} v2)`);
});

test('in-process flight with the known-obstacle safety layer: labelled oracle, telemetry published, limits enforced, goal reached', async () => {
  const layout = heldOutLayout(1);
  const sim = await spawnSim(writeLayoutFile(layout), layout.start);
  const tel = new RecordingTelemetrySink();
  try {
    const r = await runFlight({
      uri: sim.uri, model: loadModelDir('models/cf-nav'), goal: layout.goal, obstacles: layout.obstacles, fence: NAV_FENCE_OBJ,
      limits: { maxVelocityXyMps: 0.5, maxVelocityZMps: 0.5 }, timeoutS: 40, cacheDir: null, telemetry: tel, selection: 'oracle',
    });
    assert.is(r.selection, 'oracle');
    assert.is(r.oracle, true);
    assert.is(r.shield, true);
    assert.is(r.reached, true, JSON.stringify(r));
    assert.is(r.collisions, 0);
    assert.is(r.collisionSource, 'sim.collisions');
    assert.ok(r.ticks > 5 && r.plans > 5);
    assert.ok(tel.states > 5 && tel.plans > 5 && tel.statsCount > 5);
    // a 0.5 m/s cap on plans that fly at ~0.6 m/s: clamps are counted
    assert.ok(r.limits.speedClamps > 0, JSON.stringify(r.limits));
  } finally {
    await sim.stop();
  }
});

test('simulator killed mid-flight: the flight ends with linkLost, not by its timeout, and cleans up', async () => {
  const layout = heldOutLayout(3);
  const sim = await spawnSim(writeLayoutFile(layout), layout.start);
  let killed = false;
  const r = await runFlight({
    uri: sim.uri, model: loadModelDir('models/cf-nav'), goal: layout.goal, obstacles: layout.obstacles, fence: NAV_FENCE_OBJ,
    limits: { maxVelocityXyMps: 1, maxVelocityZMps: 0.5 }, timeoutS: 40, cacheDir: null,
    onEvent: (e) => { if (e.event === 'planning') setTimeout(() => { killed = true; sim.child.kill('SIGKILL'); }, 500); },
  });
  await sim.stop();
  assert.ok(killed);
  assert.is(r.outcome, 'linkLost');
  assert.is(r.reached, false);
  assert.is(r.landed, false);
  assert.is(r.collisionSource, 'sim.collisions');
  assert.ok(r.seconds < 40, `ended by the link watchdog, not the 40 s timeout (${r.seconds} s)`);
  // how soon after the kill it returns is a timing figure: test/perf/crazyflie-fly.test.ts measures and bounds it
});

test('Ctrl-C mid-flight: the CLI stops streaming and lands where it is', async () => {
  const layout = heldOutLayout(2);
  const file = writeLayoutFile(layout);
  const sim = await spawnSim(file, layout.start);
  let run: CliRun;
  try {
    let sent = false;
    run = await runFlyCli(['--uri', sim.uri, '--model', 'models/cf-nav', '--goal', layout.goal.join(','), '--obstacles', file, `--geofence=${NAV_FENCE}`], (e, child) => {
      if (e.event === 'planning' && !sent) { sent = true; setTimeout(() => child.kill('SIGINT'), 800); }
    });
  } finally {
    await sim.stop();
  }
  assert.is(run.code, 130);
  const r = JSON.parse(run.stdout.trim().split('\n').pop()!) as Record<string, unknown>;
  assert.is(r.outcome, 'aborted');
  assert.is(r.reached, false);
  assert.is(r.landed, true);
  assert.ok(sim.events.some((e) => e.event === 'notifySetpointsStop'), 'notify-setpoint-stop before landing');
  assert.ok(sim.events.some((e) => e.event === 'hl' && e.detail === 'land'), 'high-level land');
  assert.ok(sim.events.some((e) => e.event === 'stopSetpoint'), 'stop setpoint on close');
});

test.run();
