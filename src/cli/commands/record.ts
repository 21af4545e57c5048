/**
 * `kdp record --robot so100 --leader-port P --follower-port Q --task "..." --episodes N --out DIR [--fps 30]
 *   [--episode-seconds S] [--reset-seconds S] --json`
 * Leader → follower teleoperation recorded as a LeRobot v3.0 dataset (src/arm/teleop-record.ts).
 */
import { resolve } from 'node:path';
import { UsageError } from '../../errors.js';
import { loadCalibration } from '../../devices/so100/calibration.js';
import { loadSo100Config } from '../../devices/so100/config.js';
import { applyKey, recordTeleop } from '../../arm/teleop-record.js';
import type { RecordKeys, RecordResult } from '../../arm/teleop-record.js';
import { optNumber, optString, requireString, type CommandSpec } from '../command.js';
import { emitResult, say } from '../output.js';

export const command: CommandSpec = {
  name: 'record',
  summary: 'teleoperate the SO-100 from a leader arm and record a LeRobot dataset',
  description: [
    'Reads the leader arm\'s joint positions (torque off: you move it by hand) and writes them, through both arms\'',
    'calibrations, as goal positions to the follower at --fps. Every frame records observation.state (the follower\'s',
    'positions) and action (the goals sent) in LeRobot\'s SO-100 units (the profile\'s normalisation: −100..100 of',
    'the calibrated range or degrees; gripper 0–100 %) into a LeRobot',
    'v3.0 dataset at --out: meta/info.json, meta/stats.json, meta/tasks.parquet, meta/episodes/…, data/chunk-000/',
    'file-NNN.parquet. An existing dataset with the same fps and features is appended to (resume); each episode is',
    'committed atomically when it ends, so an interruption never loses saved episodes.',
    '',
    'Keys (when stdin is a terminal): → or s  end the episode now and save it;  ← or r  re-record the episode;',
    'Esc or q  save the episode and stop; during the reset → ends the reset early. Ctrl-C saves the episode in',
    'progress and stops (exit 130). --out must be a new or empty folder, or a LeRobot v3.0 dataset to append to.',
    'Between episodes, --reset-seconds of teleoperation without recording (to put the scene back).',
    '',
    'Safety: the follower\'s torque is on only while recording and is turned off on every exit; a servo fault or a',
    'lost bus stops at once with torque off (exit 3; the episode in progress is dropped, saved ones stay).',
    'Without --leader-calibration/--follower-calibration both arms map raw ticks 0..4095 (uncalibrated servos).',
    '--json prints {out, resumed, episodesRecorded, framesRecorded, totalEpisodes, totalFrames, fps, rerecorded,',
    'lateFrames, trackingError, outcome, torqueOff}; a progress line per episode goes to stderr.',
    'Exit code: 0 done, 2 usage error, 3 fault, 130 interrupted.',
    '',
    'Examples:',
    '  kdp record --robot so100 --leader-port /dev/ttyACM1 --follower-port /dev/ttyACM0 --task "pick the cube" --episodes 10 --out data/my-task',
    '  (calibrations: --leader-calibration FILE --follower-calibration FILE, written by `kdp calibrate so100`)',
    '  kdp sim so100 --pty /tmp/follower --leader-pty /tmp/leader &',
    '  kdp record --robot so100 --leader-port /tmp/leader --follower-port /tmp/follower --task "follow" --episodes 5 --out data/sim-teleop --json',
  ].join('\n'),
  options: {
    robot: { type: 'string', placeholder: 'so100', default: 'so100', description: 'robot type (only so100; its profile: boards/robots/so100.json)' },
    'leader-port': { type: 'string', placeholder: '<tty>', description: 'serial port of the leader arm\'s bus adapter' },
    'follower-port': { type: 'string', placeholder: '<tty>', description: 'serial port of the follower arm\'s bus adapter' },
    task: { type: 'string', placeholder: '<text>', description: 'task description stored with every episode' },
    episodes: { type: 'string', placeholder: 'N', default: '1', description: 'episodes to record (appended to an existing dataset)' },
    out: { type: 'string', placeholder: '<dir>', description: 'dataset folder (created, or appended to)' },
    fps: { type: 'string', placeholder: 'N', default: '30', description: 'control and recording rate (Hz, 1–100)' },
    'episode-seconds': { type: 'string', placeholder: 'S', default: '20', description: 'length of an episode' },
    'reset-seconds': { type: 'string', placeholder: 'S', default: '5', description: 'teleoperation without recording between episodes' },
    'leader-calibration': { type: 'string', placeholder: '<file.json>', description: 'LeRobot calibration of the leader arm' },
    'follower-calibration': { type: 'string', placeholder: '<file.json>', description: 'LeRobot calibration of the follower arm' },
    baud: { type: 'string', placeholder: 'N', description: 'bus baud rate (default: the profile\'s, 1000000)' },
    'bus-timeout': { type: 'string', placeholder: 'ms', description: 'per-attempt bus timeout of a frame (default: the profile\'s, 12; raise it on a loaded host)' },
  },
  async run(ctx) {
    const robot = optString(ctx, 'robot') ?? 'so100';
    if (robot !== 'so100') throw new UsageError(`--robot ${robot} is not supported`, 'only --robot so100');
    const leaderPort = requireString(ctx, 'leader-port', 'the leader arm\'s adapter, e.g. --leader-port /dev/ttyACM1 (`kdp motors find-port`; `kdp sim so100 --leader-pty P` simulates one)');
    const followerPort = requireString(ctx, 'follower-port', 'the follower arm\'s adapter, e.g. --follower-port /dev/ttyACM0');
    if (resolve(leaderPort) === resolve(followerPort)) throw new UsageError('--leader-port and --follower-port are the same port', 'the leader and the follower are two arms on two adapters');
    const task = requireString(ctx, 'task', 'describe the task, e.g. --task "pick the cube"');
    const out = requireString(ctx, 'out', 'the dataset folder, e.g. --out data/my-task');
    const episodes = optNumber(ctx, 'episodes', 1, { int: true, min: 1, max: 100000 });
    const fps = optNumber(ctx, 'fps', 30, { int: true, min: 1, max: 100 });
    const episodeSeconds = optNumber(ctx, 'episode-seconds', 20, { min: 0.05, max: 3600 });
    const resetSeconds = optNumber(ctx, 'reset-seconds', 5, { min: 0, max: 3600 });
    const config = loadSo100Config('so100');
    const baudRate = optNumber(ctx, 'baud', config.baudRate, { int: true, min: 1 });
    const busTimeoutMs = optString(ctx, 'bus-timeout') === undefined ? undefined : optNumber(ctx, 'bus-timeout', 12, { min: 1, max: 5000 });
    const lcalFile = optString(ctx, 'leader-calibration');
    const fcalFile = optString(ctx, 'follower-calibration');
    const leaderCalibration = lcalFile ? loadCalibration(lcalFile) : undefined;
    const followerCalibration = fcalFile ? loadCalibration(fcalFile) : undefined;

    const keys: RecordKeys = { rerecord: false, endEpisode: false, stop: false };
    const stdin = process.stdin;
    const tty = stdin.isTTY === true;
    const onKey = (d: Buffer): void => {
      const s = d.toString();
      if (s === '\x03') process.kill(process.pid, 'SIGINT'); // raw mode swallows Ctrl-C
      else applyKey(s, keys);
    };
    if (tty) {
      stdin.setRawMode(true);
      stdin.on('data', onKey);
      stdin.resume();
      say(ctx, 'keys: → or s end episode · ← or r re-record · Esc or q stop · Ctrl-C save and quit');
    }
    let result: RecordResult;
    try {
      result = await recordTeleop({
        leaderPort, followerPort, out: resolve(out), task, episodes, fps, episodeSeconds, resetSeconds, config, baudRate, ...(busTimeoutMs !== undefined ? { busTimeoutMs } : {}),
        ...(leaderCalibration ? { leaderCalibration } : {}), ...(followerCalibration ? { followerCalibration } : {}),
        keys, signal: ctx.signal,
        onEvent: (e) => {
          if (ctx.json) { process.stderr.write(JSON.stringify(e) + '\n'); return; }
          if (e.event === 'episode') say(ctx, `episode ${e.episode}/${e.of} saved as #${e.datasetEpisode}: ${e.frames} frames in ${e.seconds} s, tracking error ${e.trackingError}${e.lateFrames ? `, ${e.lateFrames} late frames` : ''}`);
          else if (e.event === 'rerecord') say(ctx, `re-recording episode ${e.episode} (${e.framesDropped} frames dropped)`);
          else if (e.event === 'reset') say(ctx, `reset the scene: ${e.seconds} s`);
          else say(ctx, `leader ${e.leader} → follower ${e.follower}; ${e.resumed ? `appending to ${e.existingEpisodes} episodes` : 'new dataset'}`);
        },
      });
    } finally {
      if (tty) { stdin.off('data', onKey); stdin.setRawMode(false); stdin.pause(); }
    }
    emitResult(ctx, result, () => [
      `${result.outcome}: recorded ${result.episodesRecorded} episodes (${result.framesRecorded} frames at ${result.fps} fps) into ${result.out}; the dataset has ${result.totalEpisodes} episodes, ${result.totalFrames} frames`,
      `follower tracking error ${result.trackingError} (mean, recorded units); ${result.rerecorded} re-recorded; ${result.lateFrames} late frames; torque off: ${result.torqueOff}`,
      ...(result.fault ? [`fault: ${result.fault}`] : []),
    ].join('\n'));
    return result.outcome === 'fault' ? 3 : result.outcome === 'aborted' ? 130 : 0;
  },
};
