import { createInterface } from 'node:readline/promises';
import type { CommandSpec } from '../command.js';
import { optFlag, optNumber, optString, requireString } from '../command.js';
import { emitResult, say } from '../output.js';
import { ConfigError, UsageError } from '../../errors.js';
import {
  calibrationPath, isCalibrated, loadCalibration, recordRangesOfMotion, saveCalibration, setHalfTurnHomings, unlockForCalibration, writeCalibrationToServos,
} from '../../devices/so100/calibration.js';
import type { So100Calibration } from '../../devices/so100/calibration.js';
import { So100Arm } from '../../devices/so100/arm.js';
import { JOINTS, loadSo100Config } from '../../devices/so100/config.js';

export const command: CommandSpec = {
  name: 'calibrate so100',
  summary: 'calibrate an SO-100 arm (LeRobot-compatible JSON)',
  description: [
    'The lerobot SO-100 procedure: torque off; move the arm to the middle of its range (Enter) → homing offsets so',
    'every joint reads 2047 there; move every joint through its whole range (Enter to stop) → range_min/range_max',
    '(wrist_roll: 0..4095); write Homing_Offset and the position limits to the servos; save',
    '{joint: {id, drive_mode, homing_offset, range_min, range_max}} atomically to',
    '$XDG_CONFIG_HOME/kdp/calibration/so100/<id>.json (or --out). LeRobot calibration files load as they are:',
    '`--from ~/.cache/huggingface/lerobot/calibration/robots/so100_follower/my_arm.json` writes one to the servos.',
    '',
    '  kdp calibrate so100 --port /dev/ttyACM0 --id my_arm',
    '  kdp calibrate so100 --port /tmp/so100 --id sim_arm --yes --range-seconds 5 --json   (scripted; the simulator',
    '      moves the joints when started with `kdp sim so100 --pty /tmp/so100 --hand-sweep`)',
  ].join('\n'),
  options: {
    port: { type: 'string', placeholder: '<path>', description: 'serial port of the arm\'s bus adapter' },
    id: { type: 'string', placeholder: '<robot-id>', description: 'robot id: the calibration file name' },
    out: { type: 'string', placeholder: '<file>', description: 'write the calibration here instead of the default path' },
    from: { type: 'string', placeholder: '<file>', description: 'write an existing (LeRobot) calibration file to the servos instead' },
    yes: { type: 'boolean', description: 'no prompts: the arm is already mid-range; record ranges for --range-seconds' },
    'range-seconds': { type: 'string', placeholder: 'S', description: 'with --yes: how long to record the ranges of motion', default: '10' },
    baud: { type: 'string', placeholder: 'N', description: 'bus baud rate', default: '1000000' },
  },
  async run(ctx) {
    const port = requireString(ctx, 'port', 'run `kdp motors find-port` to find it');
    const robotId = requireString(ctx, 'id', 'e.g. --id my_arm (names the calibration file)');
    const out = optString(ctx, 'out') ?? calibrationPath(robotId);
    const from = optString(ctx, 'from');
    const yes = optFlag(ctx, 'yes');
    const rangeS = optNumber(ctx, 'range-seconds', 10, { min: 0 });
    const cfg = loadSo100Config();
    const arm = await So100Arm.connect({ port, baudRate: optNumber(ctx, 'baud', cfg.baudRate, { int: true }), config: cfg });
    try {
      // calibration is not time-critical: generous timeouts (100 ms × 4 attempts) instead of the tick budget
      await arm.setup(async () => {
      let cal: So100Calibration;
      if (from !== undefined) {
        cal = loadCalibration(from);
        for (const j of JOINTS) {
          if (cal[j].id !== cfg.ids[j]) throw new ConfigError(`/${j}/id is ${cal[j].id} but the arm uses id ${cfg.ids[j]}`, { file: from });
        }
        await writeCalibrationToServos(arm.bus, cal);
        if (!(await isCalibrated(arm.bus, cal))) throw new ConfigError('the servos do not hold the calibration after writing it', { file: from, hint: 'check Lock/EPROM writes and retry' });
      } else {
        if (!yes && !process.stdin.isTTY) throw new UsageError('calibration is interactive', 'use --yes --range-seconds S to script it, or --from <file>');
        const rl = yes ? undefined : createInterface({ input: process.stdin, output: process.stderr });
        try {
          await unlockForCalibration(arm.bus, arm.ids);
          for (const id of arm.ids) await arm.bus.write(id, 'Operating_Mode', 0);
          if (rl) await rl.question('Move the SO-100 to the middle of its range of motion and press Enter.');
          const offsets = await setHalfTurnHomings(arm.bus, cfg.ids);
          const ac = new AbortController();
          let ranges;
          if (rl) {
            say(ctx, 'Move every joint except wrist_roll through its entire range of motion, then press Enter.');
            const stop = rl.question('').then(() => ac.abort());
            ranges = await recordRangesOfMotion(arm.bus, cfg.ids, { signal: ac.signal });
            await stop;
          } else {
            say(ctx, `Recording the ranges of motion for ${rangeS} s: move every joint through its range.`);
            ranges = await recordRangesOfMotion(arm.bus, cfg.ids, { durationMs: rangeS * 1000, signal: ctx.signal });
          }
          const same = JOINTS.filter((j) => ranges[j][0] >= ranges[j][1]);
          if (same.length) throw new ConfigError(`no range of motion recorded for ${same.join(', ')} (min == max)`, { hint: 'move those joints during the recording (on the simulator: start it with `kdp sim so100 --hand-sweep`)' });
          cal = {} as So100Calibration;
          for (const j of JOINTS) cal[j] = { id: cfg.ids[j], drive_mode: 0, homing_offset: offsets[j], range_min: ranges[j][0], range_max: ranges[j][1] };
          await writeCalibrationToServos(arm.bus, cal);
        } finally { rl?.close(); }
      }
      saveCalibration(out, cal);
      emitResult(ctx, { path: out, robotId, calibration: cal }, () => [
        `Calibration saved to ${out}`,
        ...JOINTS.map((j) => `  ${j.padEnd(14)} id ${cal[j].id}  homing_offset ${String(cal[j].homing_offset).padStart(5)}  range ${cal[j].range_min}..${cal[j].range_max}`),
      ].join('\n'));
      });
    } finally {
      await arm.close();
    }
    return 0;
  },
};
