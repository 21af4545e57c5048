// @serial: timing-sensitive (real-time deadlines); runs alone after the parallel phase
// LeRobot-format calibration: file round trip, normalisation, servo round trip over the simulated bus,
// and `kdp calibrate so100` (from a LeRobot file, and the scripted procedure) against `kdp sim so100`.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../../../src/errors.js';
import {
  calibrationPath, isCalibrated, loadCalibration, normalize, parseCalibration, readCalibrationFromServos, saveCalibration,
  serializeCalibration, unnormalize, writeCalibrationToServos,
} from '../../../src/devices/so100/calibration.js';
import { DEFAULT_SO100, JOINTS } from '../../../src/devices/so100/config.js';
import { makeRig, sleep, startSimChild } from '../../sim/so100/harness.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/lerobot-so100-calibration.json', import.meta.url));
const BIN = fileURLToPath(new URL('../../../dist/cli/bin.mjs', import.meta.url));

function kdp(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, KDP_LOG_LEVEL: 'warn', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = ''; let stderr = '';
    c.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    c.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    c.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

test('a LeRobot calibration file loads as it is and serialises byte-identically', () => {
  const cal = loadCalibration(FIXTURE);
  assert.equal(cal.shoulder_pan, { id: 1, drive_mode: 0, homing_offset: -1470, range_min: 758, range_max: 3292 });
  assert.is(serializeCalibration(cal), readFileSync(FIXTURE, 'utf8'));
  const dir = mkdtempSync(join(tmpdir(), 'kdp-cal-'));
  const out = join(dir, 'sub', 'arm.json');
  saveCalibration(out, cal);
  assert.is(readFileSync(out, 'utf8'), readFileSync(FIXTURE, 'utf8'));
  rmSync(dir, { recursive: true, force: true });
});

test('invalid calibrations are refused with the field named', () => {
  const bad = JSON.parse(readFileSync(FIXTURE, 'utf8'));
  bad.elbow_flex.range_min = 'x';
  assert.throws(() => parseCalibration(bad), (e: Error) => e instanceof ConfigError && /elbow_flex\/range_min/.test(e.message));
  const missing = JSON.parse(readFileSync(FIXTURE, 'utf8'));
  delete missing.gripper;
  assert.throws(() => parseCalibration(missing), /missing joint "gripper"/);
});

test('default path under $XDG_CONFIG_HOME/kdp/calibration/so100/<id>.json', () => {
  assert.is(calibrationPath('my_arm', { XDG_CONFIG_HOME: '/x/cfg' }), '/x/cfg/kdp/calibration/so100/my_arm.json');
  assert.throws(() => calibrationPath('../evil', {}), /robot id/);
});

test('normalisation as lerobot (truncation, clamping, drive mode)', () => {
  const m = { id: 1, drive_mode: 0, homing_offset: 0, range_min: 1000, range_max: 3000 };
  assert.is(normalize(2000, m, 'range_m100_100'), 0);
  assert.is(normalize(500, m, 'range_m100_100'), -100);
  assert.is(normalize(2500, m, 'range_0_100'), 75);
  assert.is(normalize(2000, { ...m, drive_mode: 1 }, 'range_0_100'), 50);
  assert.ok(Math.abs(normalize(3000, m, 'degrees') - 1000 * 360 / 4095) < 1e-9);
  assert.is(unnormalize(50, m, 'range_m100_100'), 2500);
  assert.is(unnormalize(33.3, m, 'range_0_100'), 1666); // int(0.333*2000 + 1000) = 1666
  assert.is(unnormalize(-10, m, 'degrees'), Math.trunc(-10 * 4095 / 360 + 2000));
  for (let raw = 1000; raw <= 3000; raw += 37) {
    assert.ok(Math.abs(unnormalize(normalize(raw, m, 'range_m100_100'), m, 'range_m100_100') - raw) <= 1);
  }
});

test('servo round trip: write a LeRobot calibration to the simulated servos, read it back, is_calibrated', async () => {
  const rig = await makeRig();
  try {
    const cal = loadCalibration(FIXTURE);
    const before = await rig.bus.read(1, 'Present_Position');
    await writeCalibrationToServos(rig.bus, cal);
    assert.ok(await isCalibrated(rig.bus, cal));
    const back = await readCalibrationFromServos(rig.bus, DEFAULT_SO100.ids);
    for (const j of JOINTS) assert.equal(back[j], cal[j], j);
    // Present_Position = actual − Homing_Offset (mod 4096)
    const after = await rig.bus.read(1, 'Present_Position');
    assert.is(after, (before + 1470) % 4096);
    const st = rig.sim.state();
    assert.is(st.servos[3]!.homingOffset, -2039);
    const other = { ...cal, gripper: { ...cal.gripper, range_max: 3000 } };
    assert.not.ok(await isCalibrated(rig.bus, other));
  } finally { await rig.close(); }
});

test('kdp calibrate so100 --from <LeRobot file> and the scripted procedure, against kdp sim so100', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kdp-calcli-'));
  const start = [0.3, -0.25, 0.2, 0.1, 0, 0.2];
  const sim = await startSimChild(join(dir, 'arm'), ['--joints', start.join(',')]);
  try {
    const out = join(dir, 'from.json');
    const r1 = await kdp(['calibrate', 'so100', '--port', sim.ready.pty, '--id', 'x', '--from', FIXTURE, '--out', out, '--json']);
    assert.is(r1.status, 0, r1.stderr);
    assert.is(readFileSync(out, 'utf8'), readFileSync(FIXTURE, 'utf8'));
    const st1 = (await sim.send({ cmd: 'state' })) as { servos: { homingOffset: number; torqueEnable: number }[] };
    assert.equal(st1.servos.map((s) => s.homingOffset), [-1470, 157, 1105, -2039, 75, 1410]);
    assert.ok(st1.servos.every((s) => s.torqueEnable === 0), 'torque off after calibrate');

    // scripted procedure: the arm is at `start` (= mid-range); joints moved by "hand" while the ranges are recorded
    const cfgHome = join(dir, 'cfg');
    const run = kdp(['calibrate', 'so100', '--port', sim.ready.pty, '--id', 'sim_arm', '--yes', '--range-seconds', '2', '--json'], { XDG_CONFIG_HOME: cfgHome });
    // wait until the CLI has set the half-turn homings (offsets no longer the --from ones), then move the joints
    const fromOffsets = JSON.stringify([-1470, 157, 1105, -2039, 75, 1410]);
    for (let k = 0; ; k++) {
      const st = (await sim.send({ cmd: 'state' })) as { servos: { homingOffset: number }[] };
      const offs = st.servos.map((x) => x.homingOffset);
      if (JSON.stringify(offs) !== fromOffsets && offs.some((o) => o !== 0)) break;
      if (k > 400) throw new Error('calibrate never set the homings');
      await sleep(25);
    }
    await sleep(200);
    const lo = start.map((q, i) => (i === 4 ? q : q - 0.4));
    const hi = start.map((q, i) => (i === 4 ? q : q + 0.4));
    await sim.send({ cmd: 'move', joints: lo });
    await sleep(400);
    await sim.send({ cmd: 'move', joints: hi });
    await sleep(400);
    await sim.send({ cmd: 'move', joints: start });
    const r2 = await run;
    assert.is(r2.status, 0, r2.stderr + r2.stdout);
    const res = JSON.parse(r2.stdout) as { path: string };
    assert.is(res.path, join(cfgHome, 'kdp', 'calibration', 'so100', 'sim_arm.json'));
    const cal = loadCalibration(res.path);
    JOINTS.forEach((j, i) => {
      const actualMid = 2048 + start[i]! * 4096 / (2 * Math.PI);
      assert.ok(Math.abs(cal[j].homing_offset - (actualMid - 2047)) < 25, `${j} homing ${cal[j].homing_offset} vs ${actualMid - 2047}`);
      if (j === 'wrist_roll') { assert.equal([cal[j].range_min, cal[j].range_max], [0, 4095]); return; }
      const span = 0.4 * 4096 / (2 * Math.PI);
      assert.ok(Math.abs(cal[j].range_min - (2047 - span)) < 40, `${j} min ${cal[j].range_min}`);
      assert.ok(Math.abs(cal[j].range_max - (2047 + span)) < 40, `${j} max ${cal[j].range_max}`);
    });
    const st2 = (await sim.send({ cmd: 'state' })) as { servos: { homingOffset: number }[] };
    assert.equal(st2.servos.map((s) => s.homingOffset), JOINTS.map((j) => cal[j].homing_offset));
  } finally {
    await sim.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
