// `kdp record` end to end: `kdp sim so100 --pty F --leader-pty L` (follower + scripted leader arm, each on its own
// socat pty pair, real serialport) and `kdp record` as child processes; the dataset is read back with our loader.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadLeRobot } from '../../src/data/lerobot.js';
import { writeFileSync } from 'node:fs';
import { SO100_FEATURE_NAMES, applyKey, leaderToFollower, rawCalibration, recordTeleop } from '../../src/arm/teleop-record.js';
import type { RecordKeys } from '../../src/arm/teleop-record.js';
import { JOINTS, loadSo100Config } from '../../src/devices/so100/config.js';
import type { So100Calibration } from '../../src/devices/so100/calibration.js';
import { serializeCalibration } from '../../src/devices/so100/calibration.js';
import type { RecordResult } from '../../src/arm/teleop-record.js';
import { startSimChild } from '../sim/so100/harness.js';
import { requireTool } from '../helpers/tools.js';
import type { SimChild } from '../sim/so100/harness.js';
import type { SimState } from '../../src/sim/so100/sim-so100.js';

const BIN = fileURLToPath(new URL('../../dist/cli/bin.mjs', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'kdp-record-'));
const F = join(dir, 'follower'), L = join(dir, 'leader'), OUT = join(dir, 'ds');
let sim: SimChild;

interface Run { code: number | null; result: RecordResult | undefined; stdout: string; stderr: string; events: Array<Record<string, unknown>> }

function kdp(args: string[], options: { onEvent?: (e: Record<string, unknown>, kill: (s: NodeJS.Signals) => void) => void; timeoutMs?: number } = {}): Promise<Run> {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, KDP_LOG_LEVEL: 'warn' } });
  let stdout = '', stderr = '', buf = '';
  const events: Array<Record<string, unknown>> = [];
  child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString(); buf += d.toString();
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const l = buf.slice(0, i); buf = buf.slice(i + 1);
      try { const e = JSON.parse(l) as Record<string, unknown>; events.push(e); options.onEvent?.(e, (s) => child.kill(s)); } catch { /* a human line */ }
    }
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`kdp ${args[0]} did not finish; stderr: ${stderr}`)); }, options.timeoutMs ?? 60000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      let result: RecordResult | undefined;
      try { result = JSON.parse(stdout.trim().split('\n').pop() ?? '') as RecordResult; } catch { result = undefined; }
      resolve({ code, result, stdout, stderr, events });
    });
  });
}

const record = (extra: string[], o?: Parameters<typeof kdp>[1]): Promise<Run> => kdp(['record', '--robot', 'so100', '--leader-port', L, '--follower-port', F, '--task', 'follow the leader', '--out', OUT, '--fps', '20', '--reset-seconds', '0', '--bus-timeout', '100', '--json', ...extra], o);

async function followerTorque(): Promise<number[]> {
  const st = await sim.send({ cmd: 'state' }) as SimState;
  return st.servos.map((s) => s.torqueEnable);
}

test.before(async () => {
  requireTool('socat');
  sim = await startSimChild(F, ['--leader-pty', L]);
  assert.is((sim.ready as { leaderPty?: string }).leaderPty, L);
});

test('records 2 episodes leader → follower over the ptys; the LeRobot dataset reads back; the follower tracked the leader; torque off at the end', async () => {
  const r = await record(['--episodes', '2', '--episode-seconds', '1.5']);
  assert.is(r.code, 0, r.stderr);
  const res = r.result!;
  assert.is(res.outcome, 'done');
  assert.is(res.resumed, false);
  assert.is(res.episodesRecorded, 2);
  assert.is(res.framesRecorded, 60);
  assert.is(res.totalEpisodes, 2);
  assert.is(res.torqueOff, true);
  // a progress line per episode
  const eps = r.events.filter((e) => e.event === 'episode');
  assert.equal(eps.map((e) => [e.episode, e.of, e.datasetEpisode, e.frames]), [[1, 2, 0, 30], [2, 2, 1, 30]]);

  const info = JSON.parse(readFileSync(join(OUT, 'meta', 'info.json'), 'utf8')) as { codebase_version: string; robot_type: string; fps: number; features: Record<string, { names: string[] }> };
  assert.is(info.codebase_version, 'v3.0');
  assert.is(info.robot_type, 'so100_follower');
  assert.is(info.fps, 20);
  assert.equal(info.features['observation.state']!.names, [...SO100_FEATURE_NAMES]);
  const ds = await loadLeRobot(OUT);
  assert.is(ds.length, 60);
  assert.equal(Array.from(ds.episodeEnds), [30, 60]);
  assert.is(ds.stateDim, 6); assert.is(ds.actionDim, 6);

  // the leader sweeps every joint; the follower moved with it and stayed near the previous frame's command
  let err = 0, n = 0;
  const lo = new Array<number>(6).fill(Infinity), hi = new Array<number>(6).fill(-Infinity);
  for (let k = 0; k < ds.length; k++) {
    for (let i = 0; i < 6; i++) { const s = ds.observations[k * 6 + i]!; lo[i] = Math.min(lo[i]!, s); hi[i] = Math.max(hi[i]!, s); }
    if (k === 0 || k === 30) continue;
    for (let i = 0; i < 5; i++) { err += Math.abs(ds.observations[k * 6 + i]! - ds.actions[(k - 1) * 6 + i]!); n++; }
  }
  for (let i = 0; i < 5; i++) assert.ok(hi[i]! - lo[i]! > 3, `joint ${i} of the follower barely moved: ${lo[i]}..${hi[i]}`);
  const meanErr = err / n;
  assert.ok(meanErr < 4, `mean tracking error ${meanErr} (units of −100..100)`);
  assert.ok(Math.abs(meanErr - res.trackingError) < 0.05, `reported ${res.trackingError}, recomputed ${meanErr}`);

  // safety: the follower's torque was on while recording and is off now
  const st = await sim.send({ cmd: 'state' }) as SimState;
  assert.ok(st.servos.every((s) => s.torqueWrites > 0));
  assert.equal(st.servos.map((s) => s.torqueEnable), [0, 0, 0, 0, 0, 0]);
});

test('resume: a second run appends to the dataset with continuous indices', async () => {
  const r = await record(['--episodes', '1', '--episode-seconds', '0.5']);
  assert.is(r.code, 0, r.stderr);
  assert.is(r.result!.resumed, true);
  assert.is(r.result!.totalEpisodes, 3);
  assert.is(r.result!.totalFrames, 70);
  const ds = await loadLeRobot(OUT);
  assert.equal(Array.from(ds.episodeEnds), [30, 60, 70]);
});

test('Ctrl-C mid-episode saves the frames so far, exits 130 and leaves the torque off', async () => {
  let frames = 0;
  const r = await record(['--episodes', '3', '--episode-seconds', '30'], {
    onEvent: (e, kill) => { if (e.event === 'connected') setTimeout(() => kill('SIGINT'), 800); },
  });
  assert.is(r.code, 130, r.stderr);
  assert.is(r.result!.outcome, 'aborted');
  assert.is(r.result!.episodesRecorded, 1);
  frames = r.result!.framesRecorded;
  assert.ok(frames > 0 && frames < 600, `frames ${frames}`);
  assert.is((await loadLeRobot(OUT)).length, 70 + frames);
  assert.equal(await followerTorque(), [0, 0, 0, 0, 0, 0]);
});

test('a follower fault stops at once with torque off (exit 3); saved episodes stay, the episode in progress is dropped', async () => {
  const before = (await loadLeRobot(OUT)).episodeEnds.length;
  const r = await record(['--episodes', '2', '--episode-seconds', '30'], {
    onEvent: (e) => { if (e.event === 'connected') setTimeout(() => { void sim.send({ cmd: 'fault', id: 3, fault: 'overload' }); }, 500); },
  });
  assert.is(r.code, 3, r.stderr);
  assert.is(r.result!.outcome, 'fault');
  assert.match(r.result!.fault!, /overload/i, r.result!.fault);
  assert.is(r.result!.episodesRecorded, 0);
  assert.is((await loadLeRobot(OUT)).episodeEnds.length, before);
  assert.equal(await followerTorque(), [0, 0, 0, 0, 0, 0]);
  await sim.send({ cmd: 'clear' });
});

test('leaderToFollower maps through both calibrations (normalised value preserved); keys map to flags', () => {
  const cfg = loadSo100Config('so100');
  const modes = JOINTS.map((j) => cfg.normModes[j]);
  const lcal = rawCalibration(cfg), fcal = rawCalibration(cfg);
  for (const j of JOINTS) { lcal[j] = { ...lcal[j], range_min: 1548, range_max: 2548 }; fcal[j] = { ...fcal[j], range_min: 1048, range_max: 3048 }; }
  const out = leaderToFollower([2048, 1548, 2548, 1798, 2048, 1798], lcal, fcal, modes, new Int32Array(6));
  // −100..100 joints: the same fraction of the (twice as wide) follower range; gripper 0..100: 25 % of its range
  assert.equal(Array.from(out), [2048, 1048, 3048, 1548, 2048, 1548]);
  const same = leaderToFollower([100, 2000, 4000, 3000, 1, 4095], rawCalibration(cfg), rawCalibration(cfg), modes, new Int32Array(6));
  for (const [i, v] of [100, 2000, 4000, 3000, 1, 4095].entries()) assert.ok(Math.abs(same[i]! - v) <= 1, `joint ${i}: ${same[i]} vs ${v}`);
  const keys: RecordKeys = { rerecord: false, endEpisode: false, stop: false };
  assert.ok(applyKey('\x1b[D', keys)); assert.ok(keys.rerecord);
  assert.ok(applyKey('s', keys)); assert.ok(keys.endEpisode);
  assert.ok(applyKey('\x1b', keys)); assert.ok(keys.stop);
  assert.not.ok(applyKey('x', keys));
});

test('keys: re-record drops the episode in progress, end-episode saves early, stop saves and ends (in-process, over the ptys)', async () => {
  const keys: RecordKeys = { rerecord: false, endEpisode: false, stop: false };
  const events: string[] = [];
  const out = join(dir, 'keys');
  const res = await recordTeleop({
    leaderPort: L, followerPort: F, out, task: 'keys', episodes: 3, fps: 20, episodeSeconds: 30, resetSeconds: 0, busTimeoutMs: 100,
    config: loadSo100Config('so100'), keys,
    onEvent: (e) => {
      events.push(e.event);
      if (e.event === 'connected') setTimeout(() => { keys.rerecord = true; }, 400);
      if (e.event === 'rerecord') setTimeout(() => { keys.endEpisode = true; }, 400);
      if (e.event === 'episode') setTimeout(() => { keys.stop = true; }, 400);
    },
  });
  assert.equal(events, ['connected', 'rerecord', 'episode', 'episode']);
  assert.is(res.rerecorded, 1);
  assert.is(res.episodesRecorded, 2);
  assert.is(res.outcome, 'stopped');
  assert.is(res.torqueOff, true);
  const ds = await loadLeRobot(out);
  assert.is(ds.episodeEnds.length, 2);
  assert.ok(ds.length < 100, `episodes were ended early by the keys: ${ds.length} frames`);
  assert.equal(await followerTorque(), [0, 0, 0, 0, 0, 0]);
});

test('a recorded 5-episode sim-teleop dataset trains a model (small sizes) that exports and runs', async () => {
  const out = join(dir, 'teleop5');
  const r = await kdp(['record', '--robot', 'so100', '--leader-port', L, '--follower-port', F, '--task', 'follow the leader', '--out', out,
    '--episodes', '5', '--episode-seconds', '0.8', '--fps', '30', '--reset-seconds', '0', '--bus-timeout', '100', '--json']);
  assert.is(r.code, 0, r.stderr);
  assert.is(r.result!.totalEpisodes, 5);
  const run = join(dir, 'teleop-run'), model = join(dir, 'teleop-model');
  const t = await kdp(['train', '--dataset', out, '--env', 'so100-teleop', '--out', run, '--steps', '30', '--hidden', '32,32', '--conditions', '8', '--samples', '4', '--positives', '4', '--json']);
  assert.is(t.code, 0, t.stderr);
  const tr = JSON.parse(t.stdout.trim().split('\n').pop()!) as { steps: number; finalLoss: number };
  assert.is(tr.steps, 30);
  assert.ok(Number.isFinite(tr.finalLoss));
  const e = await kdp(['export', '--checkpoint', run, '--out', model, '--json']);
  assert.is(e.code, 0, e.stderr);
  const manifest = JSON.parse(readFileSync(join(model, 'manifest.json'), 'utf8')) as { inputs: Array<{ name: string; shape: number[] }> };
  const noise = manifest.inputs[0]!, cond = manifest.inputs[1]!;
  assert.is(cond.shape[1], 6); // condition = the follower state (no goal)
  const ds = await loadLeRobot(out);
  const inputs = [
    Array.from({ length: noise.shape[0]! * noise.shape[1]! }, (_, i) => Math.sin(i)),
    Array.from({ length: cond.shape[0]! * 6 }, (_, i) => ds.observations[i % 6]!),
  ];
  const inFile = join(dir, 'teleop-in.json');
  writeFileSync(inFile, JSON.stringify({ inputs }));
  const inf = await kdp(['infer', '--model', model, '--input', inFile, '--json']);
  assert.is(inf.code, 0, inf.stderr);
  const outputs = (JSON.parse(inf.stdout.trim().split('\n').pop()!) as { outputs: number[][] }).outputs;
  assert.ok(outputs[0]!.length >= cond.shape[0]! * 6 && outputs[0]!.every(Number.isFinite));
});

test('calibrations both sides: refused while the servos do not hold them; recorded once written with kdp calibrate --from', async () => {
  const cfg = loadSo100Config('so100');
  const cal = (lo: number, hi: number): So100Calibration => {
    const c = rawCalibration(cfg);
    for (const j of JOINTS) c[j] = { ...c[j], range_min: j === 'wrist_roll' ? 0 : lo, range_max: j === 'wrist_roll' ? 4095 : hi };
    return c;
  };
  const lf = join(dir, 'leader.json'), ff = join(dir, 'follower.json');
  writeFileSync(lf, serializeCalibration(cal(1348, 2748)));
  writeFileSync(ff, serializeCalibration(cal(1048, 3048)));
  const out = join(dir, 'calibrated');
  const args = ['--episodes', '1', '--episode-seconds', '1', '--leader-calibration', lf, '--follower-calibration', ff];
  const bad = await kdp(['record', '--robot', 'so100', '--leader-port', L, '--follower-port', F, '--task', 't', '--out', out, '--bus-timeout', '100', '--json', ...args]);
  assert.is(bad.code, 1, bad.stderr);
  assert.match(bad.stderr, /E_CONFIG.*leader arm .* does not hold the given calibration/);
  for (const [port, file] of [[L, lf], [F, ff]] as const) {
    const c = await kdp(['calibrate', 'so100', '--port', port, '--id', 'rec_test', '--from', file, '--out', join(dir, `written-${port === L ? 'l' : 'f'}.json`), '--json']);
    assert.is(c.code, 0, c.stderr);
  }
  const ok = await kdp(['record', '--robot', 'so100', '--leader-port', L, '--follower-port', F, '--task', 't', '--out', out, '--fps', '20', '--reset-seconds', '0', '--bus-timeout', '100', '--json', ...args]);
  assert.is(ok.code, 0, ok.stderr);
  assert.is(ok.result!.framesRecorded, 20);
  assert.ok(ok.result!.trackingError < 6, `tracking ${ok.result!.trackingError}`);
  const ds = await loadLeRobot(out);
  for (let k = 0; k < ds.length * 6; k++) assert.ok(ds.observations[k]! >= -100 && ds.observations[k]! <= 100);
  assert.equal(await followerTorque(), [0, 0, 0, 0, 0, 0]);
});

test('kdp record --help and clear usage errors (exit 2, no stack trace)', async () => {
  const h = await kdp(['record', '--help']);
  assert.is(h.code, 0);
  for (const flag of ['--leader-port', '--follower-port', '--task', '--episodes', '--out', '--fps', '--episode-seconds', '--json']) assert.ok(h.stdout.includes(flag), flag);
  for (const [args, re] of [
    [['--follower-port', F, '--task', 't', '--out', OUT], /--leader-port is required/],
    [['--leader-port', L, '--follower-port', L, '--task', 't', '--out', OUT], /same port/],
    [['--robot', 'koch', '--leader-port', L, '--follower-port', F, '--task', 't', '--out', OUT], /--robot koch is not supported/],
    [['--leader-port', L, '--follower-port', F, '--out', OUT], /--task is required/],
    [['--leader-port', L, '--follower-port', F, '--task', 't', '--out', OUT, '--fps', '0'], /--fps must be ≥ 1/],
  ] as const) {
    const r = await kdp(['record', ...args]);
    assert.is(r.code, 2, r.stderr);
    assert.match(r.stderr, re);
    assert.not.match(r.stderr, /\n\s+at /);
  }
  // appending with another fps is refused before any motor moves
  const m = await record(['--episodes', '1', '--fps', '25']);
  assert.is(m.code, 1);
  assert.match(m.stderr, /E_DATASET.*recorded at 20 fps, not 25/);
  assert.not.match(m.stderr, /\n\s+at /);
});

test.after(async () => {
  await sim?.stop();
  const lp = (sim?.ready as { leaderSocatPid?: number } | undefined)?.leaderSocatPid;
  if (lp) { try { process.kill(lp, 'SIGTERM'); } catch { /* gone */ } }
  rmSync(dir, { recursive: true, force: true });
});
test.run();
