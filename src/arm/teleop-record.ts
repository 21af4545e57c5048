/**
 * Leader → follower teleoperation of the SO-100, recorded as a LeRobot dataset (what LeRobot's `record` does for
 * `so100_leader` + `so100_follower`, without cameras).
 *
 * Per frame at `fps`: SYNC_READ the leader's and the follower's present positions; map every leader joint through
 * the leader's calibration to its normalised value (the profile's mode: −100..100 or degrees; gripper 0–100 %) and back to ticks through the
 * follower's calibration; SYNC_WRITE those as the follower's goals (clamped to the follower's range). The frame
 * records `observation.state` = the follower's normalised positions (read before the write) and `action` = the
 * normalised goals actually sent. Units and feature names follow LeRobot's SO-100 (`shoulder_pan.pos`, …).
 *
 * Safety: the leader's torque is off (it is moved by hand); the follower's torque is on only while recording and
 * is turned off on every exit (done, stopped, Ctrl-C, fault, error). A follower fault (error bit, silent bus, lost
 * port) stops at once (So100Arm's safe stop); the episode in progress is dropped, saved episodes stay.
 */
import { ConfigError, SafetyStopError } from '../errors.js';
import { LeRobotWriter } from '../data/lerobot-writer.js';
import { So100Arm } from '../devices/so100/arm.js';
import type { So100Calibration } from '../devices/so100/calibration.js';
import { isCalibrated, normalize, unnormalize } from '../devices/so100/calibration.js';
import type { NormMode, So100Config } from '../devices/so100/config.js';
import { JOINTS } from '../devices/so100/config.js';

/** LeRobot's SO-100 feature names (`<motor>.pos`). */
export const SO100_FEATURE_NAMES: readonly string[] = JOINTS.map((j) => `${j}.pos`);

/** Keys the operator presses during recording (LeRobot: → end episode, ← re-record, Esc stop). Set by the CLI. */
export interface RecordKeys {
  /** Discard the episode in progress and record it again. */
  rerecord: boolean;
  /** End the episode in progress now and save it. */
  endEpisode: boolean;
  /** Save the episode in progress and stop recording. */
  stop: boolean;
}

export type RecordEvent =
  | { event: 'connected'; leader: string; follower: string; resumed: boolean; existingEpisodes: number }
  | { event: 'episode'; episode: number; of: number; datasetEpisode: number; frames: number; seconds: number; lateFrames: number; trackingError: number }
  | { event: 'rerecord'; episode: number; framesDropped: number }
  | { event: 'reset'; seconds: number };

export interface RecordOptions {
  leaderPort: string;
  followerPort: string;
  out: string;
  task: string;
  episodes: number;
  fps: number;
  episodeSeconds: number;
  /** Teleoperation without recording between episodes (time to put the scene back). */
  resetSeconds: number;
  config: So100Config;
  leaderCalibration?: So100Calibration;
  followerCalibration?: So100Calibration;
  baudRate?: number;
  /** Per-attempt bus timeout (ms) of a frame's exchanges (default: the profile's). */
  busTimeoutMs?: number;
  keys?: RecordKeys;
  signal?: AbortSignal;
  onEvent?: (e: RecordEvent) => void;
}

export interface RecordResult {
  out: string;
  resumed: boolean;
  episodesRecorded: number;
  framesRecorded: number;
  /** Dataset totals after recording (existing + new). */
  totalEpisodes: number;
  totalFrames: number;
  fps: number;
  rerecorded: number;
  /** Frames that started more than one period late (host stalls). */
  lateFrames: number;
  /**
   * Mean |follower position − previous frame's action| over the five arm joints (not the gripper), all recorded
   * frames, in the recorded units (the profile's normalisation: −100..100 of the calibrated range, or degrees).
   */
  trackingError: number;
  outcome: 'done' | 'stopped' | 'aborted' | 'fault';
  fault?: string;
  torqueOff: boolean;
}

/** A calibration that maps raw ticks 0..4095 as they are (servos never calibrated). */
export function rawCalibration(config: So100Config): So100Calibration {
  const cal = {} as So100Calibration;
  for (const j of JOINTS) cal[j] = { id: config.ids[j], drive_mode: 0, homing_offset: 0, range_min: 0, range_max: 4095 };
  return cal;
}

/**
 * Leader ticks → follower goal ticks through both calibrations: leader raw → normalised (leader's range) →
 * follower raw (follower's range), per joint in JOINTS order, as LeRobot's teleoperation does.
 */
export function leaderToFollower(leaderTicks: ArrayLike<number>, lcal: So100Calibration, fcal: So100Calibration, modes: readonly NormMode[], out: Int32Array): Int32Array {
  for (let i = 0; i < 6; i++) {
    const j = JOINTS[i]!;
    out[i] = unnormalize(normalize(leaderTicks[i]!, lcal[j], modes[i]!), fcal[j], modes[i]!);
  }
  return out;
}

/** Operator keys → flags (terminal bytes: arrows, Esc, letters). Returns false for keys it does not know. */
export function applyKey(bytes: string, keys: RecordKeys): boolean {
  if (bytes === '\x1b[C' || bytes === 's') keys.endEpisode = true;
  else if (bytes === '\x1b[D' || bytes === 'r') keys.rerecord = true;
  else if (bytes === '\x1b' || bytes === 'q') keys.stop = true;
  else return false;
  return true;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function checkHeld(arm: So100Arm, cal: So100Calibration | undefined, side: string, port: string): Promise<void> {
  if (!cal) return;
  if (!(await arm.setup(() => isCalibrated(arm.bus, cal)))) {
    throw new ConfigError(`the ${side} arm on ${port} does not hold the given calibration (homing offsets / limits differ)`, {
      hint: `write it with \`kdp calibrate so100 --port ${port} --id <id> --from <file>\`, or calibrate the arm again`,
    });
  }
}

export async function recordTeleop(o: RecordOptions): Promise<RecordResult> {
  const emit = o.onEvent ?? ((): void => {});
  const keys = o.keys ?? { rerecord: false, endEpisode: false, stop: false };
  const writer = await LeRobotWriter.open(o.out, { fps: o.fps, robotType: 'so100_follower', stateNames: SO100_FEATURE_NAMES, actionNames: SO100_FEATURE_NAMES });
  const lcal = o.leaderCalibration ?? rawCalibration(o.config);
  const fcal = o.followerCalibration ?? rawCalibration(o.config);
  const modes = JOINTS.map((j) => o.config.normModes[j]);

  const bus = { ...(o.baudRate ? { baudRate: o.baudRate } : {}), ...(o.busTimeoutMs ? { timeoutMs: o.busTimeoutMs } : {}) };
  const leader = await So100Arm.connect({ port: o.leaderPort, config: o.config, ...bus });
  let follower: So100Arm | undefined;
  let torqueOff = false;
  let outcome: RecordResult['outcome'] = 'done';
  let fault: string | undefined;
  let episodesRecorded = 0, framesRecorded = 0, rerecorded = 0, lateFrames = 0, errSum = 0, errN = 0;
  try {
    await leader.setup(() => leader.disableTorque()); // moved by hand
    await checkHeld(leader, o.leaderCalibration, 'leader', o.leaderPort);
    follower = await So100Arm.connect({ port: o.followerPort, config: o.config, calibration: fcal, ...bus });
    await checkHeld(follower, o.followerCalibration, 'follower', o.followerPort);
    await follower.configure(); // LeRobot's settings, then torque on (holds its pose)
    emit({ event: 'connected', leader: o.leaderPort, follower: o.followerPort, resumed: writer.resumed, existingEpisodes: writer.totalEpisodes });

    const f = follower;
    const maxFrames = Math.max(1, Math.round(o.episodeSeconds * o.fps));
    const states = new Float32Array(maxFrames * 6), actions = new Float32Array(maxFrames * 6);
    const goal = new Int32Array(6);
    const periodMs = 1000 / o.fps;
    const aborted = (): boolean => o.signal?.aborted === true;

    /** Teleoperate for up to `frames` frames; records into states/actions when `record`. Returns frames done. */
    const teleop = async (frames: number, record: boolean): Promise<number> => {
      let next = performance.now();
      let k = 0;
      for (; k < frames; k++) {
        // → also ends the reset early; ← only means something while recording
        if (aborted() || keys.stop || keys.endEpisode || (record && keys.rerecord)) break;
        await leader.readState();
        await f.readState();
        leaderToFollower(leader.positionTicks, lcal, fcal, modes, goal);
        const sent = await f.writeGoals(goal);
        if (record) {
          for (let i = 0; i < 6; i++) {
            const s = normalize(f.positionTicks[i]!, fcal[JOINTS[i]!], modes[i]!);
            states[k * 6 + i] = s;
            actions[k * 6 + i] = normalize(sent[i]!, fcal[JOINTS[i]!], modes[i]!);
            if (k > 0 && JOINTS[i] !== 'gripper') { errSum += Math.abs(s - actions[(k - 1) * 6 + i]!); errN++; }
          }
        }
        // fixed-rate schedule; after a stall, restart the schedule rather than bursting to catch up
        next += periodMs;
        const now = performance.now();
        if (now > next + periodMs) { if (record) lateFrames++; next = now; } else if (next > now) await sleep(next - now);
      }
      return k;
    };

    for (let ep = 0; ep < o.episodes; ep++) {
      keys.endEpisode = false; keys.rerecord = false; // keys pressed between episodes do not carry over
      const t0 = performance.now();
      const late0 = lateFrames, err0 = [errSum, errN] as const;
      const n = await teleop(maxFrames, true);
      if (keys.rerecord && !aborted() && !keys.stop) {
        keys.rerecord = false;
        rerecorded++;
        errSum = err0[0]; errN = err0[1];
        emit({ event: 'rerecord', episode: ep + 1, framesDropped: n });
        ep--;
        continue;
      }
      keys.endEpisode = false;
      if (n > 0) {
        const idx = await writer.addEpisode({ states: states.subarray(0, n * 6), actions: actions.subarray(0, n * 6), task: o.task });
        episodesRecorded++; framesRecorded += n;
        const epErr = errN > err0[1] ? (errSum - err0[0]) / (errN - err0[1]) : 0;
        emit({ event: 'episode', episode: ep + 1, of: o.episodes, datasetEpisode: idx, frames: n, seconds: Math.round(performance.now() - t0) / 1000, lateFrames: lateFrames - late0, trackingError: Math.round(epErr * 100) / 100 });
      }
      if (aborted()) { outcome = 'aborted'; break; }
      if (keys.stop) { outcome = 'stopped'; break; }
      if (ep + 1 < o.episodes && o.resetSeconds > 0) {
        emit({ event: 'reset', seconds: o.resetSeconds });
        await teleop(Math.round(o.resetSeconds * o.fps), false);
        if (aborted()) { outcome = 'aborted'; break; }
        if (keys.stop) { outcome = 'stopped'; break; }
      }
    }
  } catch (e) {
    if (!(e instanceof SafetyStopError)) throw e;
    outcome = 'fault';
    fault = e.message;
  } finally {
    // torque off on the follower (confirmed per servo unless the bus failed), then the ports close
    if (follower) {
      try { await follower.close(); torqueOff = true; } catch { torqueOff = false; }
    }
    await leader.close().catch(() => {});
  }
  return {
    out: o.out, resumed: writer.resumed, episodesRecorded, framesRecorded, totalEpisodes: writer.totalEpisodes, totalFrames: writer.totalFrames,
    fps: o.fps, rerecorded, lateFrames, trackingError: Math.round((errN ? errSum / errN : 0) * 100) / 100, outcome,
    ...(fault !== undefined ? { fault } : {}), torqueOff,
  };
}
