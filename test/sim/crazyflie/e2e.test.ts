import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Crazyflie } from '../../../src/devices/crazyflie/crazyflie.js';
import { SimCrazyflie } from '../../../src/sim/crazyflie/firmware.js';
import { SimUdpServer } from '../../../src/sim/crazyflie/udp-server.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
/** Wait for `seconds` of simulated time (the machine may be loaded: never trust wall time for sim progress). */
async function simFor(sim: SimCrazyflie, seconds: number, wallLimitMs = 20_000): Promise<void> {
  const target = sim.timeMs + seconds * 1000;
  const until = Date.now() + wallLimitMs;
  while (sim.timeMs < target && Date.now() < until) await sleep(5);
}
async function until(cond: () => boolean, wallLimitMs = 10_000): Promise<void> {
  const end = Date.now() + wallLimitMs;
  while (!cond() && Date.now() < end) await sleep(5);
}
/** In-process client and simulator share one event loop on a shared 2-core box: be lenient on silence here
 *  (link-loss timing is measured against a separate simulator process in link-loss.test.ts). */
const lenient = { linkTimeoutMs: 2000 };
const cacheDir = mkdtempSync(join(tmpdir(), 'kdp-cf-toc-'));

async function withSim<T>(speed: number, fn: (sim: SimCrazyflie, uri: string) => Promise<T>): Promise<T> {
  const sim = await SimCrazyflie.create();
  const server = new SimUdpServer(sim, { host: '127.0.0.1', port: 0, speed });
  const addr = await server.start();
  try { return await fn(sim, `udp://127.0.0.1:${addr.port}`); } finally { await server.stop(); sim.dispose(); }
}

test('connect over UDP: echo, protocol version, TOCs (cached on disk by CRC, atomically), params', async () => {
  await withSim(1, async (sim, uri) => {
    const cf = new Crazyflie({ cacheDir, ...lenient });
    const events: string[] = [];
    cf.on('linkEstablished', () => events.push('linkEstablished'));
    cf.on('connected', (e) => events.push(`connected:${e.tocFromCache.log}`));
    cf.on('fullyConnected', () => events.push('fullyConnected'));
    await cf.connect(uri);
    assert.equal(events, ['linkEstablished', 'connected:false', 'fullyConnected']);
    assert.is(cf.protocolVersion, 12);
    assert.is(cf.log.toc?.size, sim.logTocSize);
    assert.is(cf.param.toc?.size, sim.paramTocSize);
    assert.is(cf.param.get('stabilizer.estimator'), 2);
    assert.ok(readdirSync(cacheDir).every((f) => !f.endsWith('.tmp')));
    assert.is(readdirSync(cacheDir).length, 2);
    await cf.close();
    const cf2 = new Crazyflie({ cacheDir, ...lenient });
    const c2 = cf2.next('connected', 3000);
    await cf2.connect(uri);
    const [info] = await c2;
    assert.equal(info.tocFromCache, { log: true, param: true });
    // params: write with echo, read back, read-only refused locally
    await cf2.param.set('posCtlPid.xKp', 2.5);
    assert.is(sim.controller.gains.posKp, 2.5);
    assert.is(await cf2.param.read('posCtlPid.xKp'), 2.5);
    try { await cf2.param.set('firmware.revision0', 1); assert.unreachable(); } catch (e) { assert.instance(e, TypeError); }
    assert.is(await cf2.param.setByName('stabilizer.controller', 0x08, 1), 0);
    await cf2.close();
  });
});

test('typed log stream, takeoff / hover / streamed position / land, close → stop setpoint', async () => {
  await withSim(4, async (sim, uri) => {
    const cf = new Crazyflie({ cacheDir, ...lenient });
    await cf.connect(uri);
    const st = await cf.subscribeState(20);
    const battery = await cf.log.subscribe(['pm.vbat', 'supervisor.info'], { periodMs: 100 });
    await simFor(sim, 0.3);
    assert.ok(st.updates >= 5, `state updates ${st.updates}`);
    assert.ok(battery.get('pm.vbat') > 3.7 && battery.get('pm.vbat') < 4.3, `vbat ${battery.get('pm.vbat')}`);
    assert.is(await cf.highLevel.takeoff(0.5, 1.5), 0);
    await simFor(sim, 2.8);
    assert.ok(Math.abs(st.get('stateEstimate.z') - 0.5) < 0.05, `hover z ${st.get('stateEstimate.z')}`);
    await cf.commander.unlockThrust();
    cf.commander.setPosition(0.4, -0.2, 0.6, 0);
    await simFor(sim, 3);
    const p = st.toObject();
    assert.ok(Math.hypot(p['stateEstimate.x'] - 0.4, p['stateEstimate.y'] + 0.2, p['stateEstimate.z'] - 0.6) < 0.06, `position ${JSON.stringify(p)}`);
    assert.ok(cf.commander.stats.periodic > 10, 'setpoints kept flowing');
    assert.is(await cf.highLevel.land(0, 1.5), 0, 'HL accepted after notify-setpoint-stop');
    await simFor(sim, 2.5);
    assert.ok(st.get('stateEstimate.z') < 0.05, `landed z ${st.get('stateEstimate.z')}`);
    assert.ok(sim.motorCommandZero, 'motors off after land');
    const stopsBefore = sim.counters.stopSetpoints;
    const notifyBefore = sim.counters.notifyStops;
    await cf.close();
    await until(() => sim.counters.stopSetpoints > stopsBefore);
    await sleep(20);
    assert.is(sim.counters.stopSetpoints, stopsBefore + 1, 'the simulator saw the stop setpoint');
    assert.is(sim.counters.notifyStops, notifyBefore + 1, 'and notify-setpoint-stop');
    assert.is(cf.state, 'disconnected');
  });
});

test('closing mid-flight: the simulator sees a stop setpoint and the motors stop', async () => {
  await withSim(4, async (sim, uri) => {
    const cf = new Crazyflie({ cacheDir, fetchParams: false, ...lenient });
    await cf.connect(uri);
    cf.commander.setPosition(0, 0, 0.5);
    await simFor(sim, 2);
    assert.ok(sim.state.pos[2]! > 0.3);
    await cf.close();
    await until(() => sim.counters.stopSetpoints > 0);
    await simFor(sim, 0.05);
    assert.is(sim.counters.stopSetpoints, 1);
    assert.ok(sim.motorCommandZero);
  });
});

test('no setpoints for 2 s (client stops streaming without a stop) → the simulated motors stop', async () => {
  await withSim(4, async (sim, uri) => {
    const cf = new Crazyflie({ cacheDir, fetchParams: false, ...lenient, failsafe: { mode: 'none' } });
    await cf.connect(uri);
    cf.commander.setPosition(0, 0, 0.5);
    await simFor(sim, 2);
    assert.ok(sim.state.pos[2]! > 0.4);
    await cf.commander.stopStreaming({ notify: false });
    await simFor(sim, 0.6);
    assert.is(sim.watchdogLevel, 1, 'levelled after 500 ms');
    assert.not.ok(sim.motorCommandZero);
    await simFor(sim, 1.6);
    assert.is(sim.watchdogLevel, 2);
    assert.ok(sim.motorCommandZero, 'motors off after 2 s without setpoints');
    assert.is(sim.counters.stopSetpoints, 0, 'no stop setpoint was involved');
    await cf.close();
  });
});

test('failsafe: setpoint stream stalls → hover at the last position → land via the high-level commander', async () => {
  await withSim(4, async (sim, uri) => {
    const cf = new Crazyflie({ cacheDir, fetchParams: false, ...lenient, failsafe: { staleMs: 200, hoverMs: 300, landDurationS: 1 } });
    await cf.connect(uri);
    await cf.subscribeState(20);
    const stages: string[] = [];
    cf.on('failsafe', (e) => stages.push(e.stage));
    for (let i = 0; i < 25; i++) { cf.commander.setPosition(0.2, 0, 0.5); await sleep(20); }
    await simFor(sim, 1.5);
    // the "planner" stops updating; the commander keeps the stream alive, then fails safe
    await until(() => stages.length >= 2);
    assert.equal(stages, ['hover', 'land']);
    await until(() => sim.counters.notifyStops >= 1);
    await simFor(sim, 1.6);
    assert.ok(sim.state.pos[2]! < 0.05, `landed z=${sim.state.pos[2]}`);
    assert.is(sim.counters.watchdogShutdown, 0, 'no watchdog cut: the failsafe landed it');
    await cf.close();
  });
});

test.run();
