/**
 * `kdp arm --port /dev/ttyACM0 --model models/so100-reach --task reach --target x,y,z [--mavlink udp:HOST:PORT]
 *   [--calibration F] [--rate 50] [--timeout s] --json`
 * `kdp arm --port P --task pick-place --cube x,y --place x,y --json` (models/so100-pick-place)
 * The SO-100 untethered: servo bus + KDP planner in one process (src/arm/run-arm.ts).
 */
import { UsageError } from '../../errors.js';
import { runArm, type ArmResult } from '../../arm/run-arm.js';
import type { PickPlaceSelect } from '../../arm/pick-place-controller.js';
import { loadModelDir } from '../../planner/model-loader.js';
import { MAVLINK_OPTIONS } from '../mavlink-options.js';
import { openTelemetry } from '../../devices/mavlink/telemetry.js';
import { REACH_WORKSPACE } from '../../envs/so100/reach-task.js';
import { PP_WORKSPACE, pickPlacePitch } from '../../envs/so100/pick-place-task.js';
import { loadCalibration } from '../../devices/so100/calibration.js';
import { loadSo100Config } from '../../devices/so100/config.js';
import { optChoice, optNumber, optString, optVector, type CommandSpec } from '../command.js';
import { emitResult, say } from '../output.js';

export const command: CommandSpec = {
  name: 'arm',
  summary: 'run the SO-100 arm untethered with KDP planning',
  description: [
    'Connects to the six STS3215 servos on --port (ping + model check), configures them as LeRobot does and turns',
    'the torque on (the arm holds its pose), then at --rate Hz: SYNC_READ present positions → joint angles →',
    'N candidate plans of joint trajectories in one invoke (the so100-reach model) → the candidate whose planned',
    'joints end nearest the target (forward kinematics) → its goal joint angles, within the joint and velocity',
    'limits of --robot (boards/robots/so100.json) and ±maxRelativeTarget of the present position → SYNC_WRITE',
    'Goal_Position. Ends when the grasp point stays within --tol of the target for 5 ticks (reached), at',
    '--timeout, on Ctrl-C, or on a fault.',
    '',
    'Safety: a servo error bit (overload, voltage, overheat, angle, ...), a silent bus or a lost port stops at once',
    'with torque off on every joint and says why; every exit (reached, timeout, Ctrl-C, fault) turns the torque off.',
    'The target is x,y,z of the grasp point in m, table frame (origin under the pan axis, x forward, z up); the',
    `trained workspace is radius ${REACH_WORKSPACE.rMin}–${REACH_WORKSPACE.rMax} m, |pan| ≤ ${REACH_WORKSPACE.panMax} rad, height ${REACH_WORKSPACE.zMin}–${REACH_WORKSPACE.zMax} m.`,
    '--json prints {reached, finalErrorM, seconds, planLatencyUs: {p50, p99}, deadlineMisses, outcome, fault?, ...}.',
    'Torque off is confirmed by reading Torque_Enable back from every servo (retried for up to 3 s while the bus recovers).',
    '',
    '--task pick-place (model models/so100-pick-place): pick the cube at --cube x,y and put it at --place x,y (table',
    'xy in m). The cube position is the task input, like a goal: the arm never senses the cube. Per tick the planner',
    'sees the grasp point relative to the cube\'s and the place\'s spots, its height, the jaw and picked/holding; the',
    'model\'s learned progress scorer picks, of the N candidate grasp-point paths, the one predicted nearest the task\'s',
    'end (--select consistent|first: the ablations); the path is tracked through the arm\'s inverse kinematics; the',
    'gripper is open or closed as the plan says, and closes through a squeeze limit (goal at most 0.016 rad more',
    'closed than measured) so a jaw stopped by the cube stays under the servo\'s overload threshold. The cube and the',
    'place must both be reachable with the gripper pointing down. Ends when the jaw has held something while lifted, opened again',
    'and the grasp point rose (done), at --timeout (default 20 s), on Ctrl-C or a fault. --json prints {picked, placed,',
    'finalErrorM, seconds, planLatencyUs: {p50, p99}, deadlineMisses, outcome, ...}: picked/placed and finalErrorM',
    '(estimated cube-to-place distance at release; placed = within --tol) come from the arm\'s own joints.',
    `Cube and place positions: radius ${PP_WORKSPACE.rMin}–${PP_WORKSPACE.rMax} m, |pan| ≤ ${PP_WORKSPACE.panMax} rad (trained workspace).`,
    '',
    'Exit code: 0 reached / placed, 1 not reached or not placed, 2 usage error, 3 fault (safety stop), 4 torque off NOT confirmed',
    '(torqueOff false, torqueUnconfirmedIds lists the servos: cut their power), 130 interrupted.',
    '',
    'Examples:',
    '  kdp sim so100 --pty /tmp/so100 &',
    '  kdp arm --port /tmp/so100 --model models/so100-reach --task reach --target 0.2,0.05,0.1 --json',
    '  kdp sim so100 --pty /tmp/so100 --cube 0.2,0.05 &',
    '  kdp arm --port /tmp/so100 --task pick-place --cube 0.2,0.05 --place 0.18,-0.1 --json',
    '  nice -n -10 kdp arm --port /dev/ttyACM0 --calibration ~/.config/kdp/calibration/so100/my_arm.json --target 0.22,0,0.08 --mavlink udp:127.0.0.1:14550',
  ].join('\n'),
  options: {
    port: { type: 'string', placeholder: '<tty>', description: 'serial port of the servo bus adapter (`kdp motors find-port`)' },
    model: { type: 'string', placeholder: '<dir>', description: 'model folder (manifest.json + model.tflite): default models/so100-reach (reach), models/so100-pick-place (pick-place)' },
    task: { type: 'string', placeholder: 'reach|pick-place', default: 'reach', description: 'task' },
    target: { type: 'string', placeholder: '<x,y,z>', description: 'reach: grasp-point target in m (table frame)' },
    cube: { type: 'string', placeholder: '<x,y>', description: 'pick-place: where the cube is (table xy, m)' },
    place: { type: 'string', placeholder: '<x,y>', description: 'pick-place: where to put it (table xy, m)' },
    calibration: { type: 'string', placeholder: '<file.json>', description: 'LeRobot-format calibration (goal clamp to its ranges)' },
    robot: { type: 'string', placeholder: '<name|file>', default: 'so100', description: 'robot profile with the joint and velocity limits' },
    rate: { type: 'string', placeholder: 'Hz', description: 'control rate (default: the profile\'s, 50; the profile bounds it, 50–100)' },
    timeout: { type: 'string', placeholder: 's', description: 'give up after this many seconds of control (default 10; pick-place 20)' },
    tol: { type: 'string', placeholder: 'm', default: '0.02', description: 'reached: within this distance for 5 ticks; pick-place: placed within it' },
    candidates: { type: 'string', placeholder: 'N', default: '32', description: 'candidate plans per invoke' },
    select: { type: 'string', placeholder: 'learned|consistent|first', description: 'pick-place: candidate selection (default learned: the model\'s progress scorer; consistent / first are the ablations in docs/benchmarks.md)' },
    'bus-timeout': { type: 'string', placeholder: 'ms', description: 'per-attempt bus timeout of a tick (default 12; raise it on a loaded host)' },
    seed: { type: 'string', placeholder: 'S', default: '0', description: 'planner noise seed' },
    ...MAVLINK_OPTIONS,
  },
  async run(ctx) {
    const port = optString(ctx, 'port');
    if (!port) throw new UsageError('--port is required', 'the servo bus adapter, e.g. --port /dev/ttyACM0 (`kdp motors find-port` lists ports; `kdp sim so100 --pty P` makes a simulated one)');
    const task = optString(ctx, 'task') ?? 'reach';
    if (task !== 'reach' && task !== 'pick-place') throw new UsageError(`--task ${task} is not supported`, 'use --task reach (with --target x,y,z) or --task pick-place (with --cube x,y --place x,y)');
    let target: [number, number, number] | undefined;
    let cube: [number, number] | undefined;
    let place: [number, number] | undefined;
    if (task === 'reach') {
      for (const f of ['cube', 'place']) if (optString(ctx, f) !== undefined) throw new UsageError(`--${f} is for --task pick-place`, 'reach takes --target x,y,z');
      const t = optVector(ctx, 'target', 3);
      if (!t) throw new UsageError('--target is required', 'e.g. --target 0.2,0.05,0.1 (grasp point x,y,z in m)');
      target = t as [number, number, number];
      const r = Math.hypot(target[0], target[1]);
      if (r > 0.42 || target[2] < 0 || target[2] > 0.45) {
        throw new UsageError(`--target ${target.join(',')} is out of the arm's reach`, `the trained workspace: radius ${REACH_WORKSPACE.rMin}–${REACH_WORKSPACE.rMax} m, height ${REACH_WORKSPACE.zMin}–${REACH_WORKSPACE.zMax} m`);
      }
    } else {
      if (optString(ctx, 'target') !== undefined) throw new UsageError('--target is for --task reach', 'pick-place takes --cube x,y --place x,y');
      cube = optVector(ctx, 'cube', 2) as [number, number] | undefined;
      place = optVector(ctx, 'place', 2) as [number, number] | undefined;
      if (!cube || !place) throw new UsageError(`--task pick-place needs ${!cube ? '--cube x,y' : '--place x,y'}`, 'e.g. --cube 0.2,0.05 --place 0.18,-0.1 (table xy in m)');
      for (const [name, p] of [['cube', cube], ['place', place]] as const) {
        if (Math.hypot(p[0], p[1]) > 0.3 || Math.hypot(p[0], p[1]) < 0.1) {
          throw new UsageError(`--${name} ${p.join(',')} is out of the arm's pick-and-place reach`, `put it ${PP_WORKSPACE.rMin}–${PP_WORKSPACE.rMax} m from the base (trained workspace; 0.10–0.30 m is accepted), |pan| ≤ ${PP_WORKSPACE.panMax} rad`);
        }
      }
    }
    const select = optString(ctx, 'select') === undefined ? undefined : optChoice<PickPlaceSelect>(ctx, 'select', ['learned', 'consistent', 'first'], 'learned');
    if (select && task !== 'pick-place') throw new UsageError('--select is for --task pick-place', 'reach selects by the planned end point');
    const config = loadSo100Config(optString(ctx, 'robot') ?? 'so100');
    if (cube && place && pickPlacePitch(cube, place, config) === undefined) {
      throw new UsageError(`--cube ${cube.join(',')} --place ${place.join(',')}: the arm cannot reach both spots with the gripper pointing down`, `put them ${PP_WORKSPACE.rMin}–${PP_WORKSPACE.rMax} m from the base, |pan| ≤ ${PP_WORKSPACE.panMax} rad`);
    }
    const rateHz = optNumber(ctx, 'rate', config.controlHz, { min: 1, max: 1000 });
    if (rateHz < 50 || rateHz > 100) throw new UsageError(`--rate ${rateHz} is outside the profile's 50–100 Hz`);
    const calFile = optString(ctx, 'calibration');
    const calibration = calFile ? loadCalibration(calFile) : undefined;
    const model = loadModelDir(optString(ctx, 'model') ?? (task === 'reach' ? 'models/so100-reach' : 'models/so100-pick-place'));
    const busTimeout = optString(ctx, 'bus-timeout') === undefined ? undefined : optNumber(ctx, 'bus-timeout', 12, { min: 1, max: 5000 });
    const sysid = optString(ctx, 'mavlink-sysid');
    const tel = await openTelemetry({
      ...(optString(ctx, 'mavlink') !== undefined ? { target: optString(ctx, 'mavlink')! } : {}),
      ...(optString(ctx, 'mavlink-key') ? { signingKeyFile: optString(ctx, 'mavlink-key')! } : {}),
      ...(sysid ? { sysid: Number(sysid) } : {}),
      frame: 'flu',
    });
    let result: ArmResult;
    try {
      result = await runArm({
        port, model, task, ...(target ? { target } : {}), ...(cube && place ? { cube, place } : {}), config, ...(calibration ? { calibration } : {}), rateHz,
        timeoutS: optNumber(ctx, 'timeout', task === 'reach' ? 10 : 20, { min: 0.1 }), tolM: optNumber(ctx, 'tol', 0.02, { min: 0.001, max: 0.2 }),
        candidates: optNumber(ctx, 'candidates', 32, { int: true, min: 1, max: 1024 }), seed: optNumber(ctx, 'seed', 0, { int: true, min: 0 }),
        ...(select ? { select } : {}),
        ...(busTimeout !== undefined ? { busTimeoutMs: busTimeout } : {}),
        telemetry: tel.sink, signal: ctx.signal,
        onEvent: (e) => { if (ctx.json) process.stderr.write(JSON.stringify(e) + '\n'); else say(ctx, `${e.event} ${JSON.stringify({ ...e, event: undefined })}`); },
      });
    } finally {
      await tel.close();
    }
    emitResult(ctx, result, () => [
      task === 'pick-place'
        ? `${result.placed ? 'picked and placed' : result.picked ? 'picked, not placed' : 'not picked'} (${result.outcome}; estimated cube-to-place distance ${(result.finalErrorM * 100).toFixed(1)} cm after ${result.seconds} s)`
        : result.reached
          ? `reached the target within ${(result.finalErrorM * 100).toFixed(1)} cm in ${result.seconds} s`
          : `did not reach the target (${result.outcome}; ${(result.finalErrorM * 100).toFixed(1)} cm away after ${result.seconds} s)`,
      ...(result.fault ? [`fault: ${result.fault}`] : []),
      `plan latency p50 ${result.planLatencyUs.p50} µs, p99 ${result.planLatencyUs.p99} µs; ${result.deadlineMisses} deadline misses; ${result.ticks} ticks at ${result.rateHz} Hz (${result.lateTicks} late)`,
      `limits: ${JSON.stringify(result.limits)}; torque off: ${result.torqueOff}`,
    ].join('\n'));
    // torque that could not be confirmed off outranks every other outcome: exit 4, the ids are in the result
    if (!result.torqueOff) return 4;
    const success = task === 'pick-place' ? result.placed === true : result.reached === true;
    return success ? 0 : result.outcome === 'aborted' ? 130 : result.outcome === 'fault' ? 3 : 1;
  },
};
