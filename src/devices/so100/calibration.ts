/**
 * LeRobot-compatible SO-100 calibration: one JSON file per robot id,
 * `{ "<joint>": { "id", "drive_mode", "homing_offset", "range_min", "range_max" }, … }`
 * (lerobot `MotorCalibration`, saved by `Robot._save_calibration`). Files written by lerobot load as they are.
 * Default location: `$XDG_CONFIG_HOME/kdp/calibration/so100/<id>.json` (XDG default `~/.config`).
 */
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../../errors.js';
import type { FeetechBus } from '../feetech/bus.js';
import { writeFileAtomic } from '../../util/atomic-write.js';
import type { JointName, NormMode } from './config.js';
import { JOINTS } from './config.js';

export interface MotorCalibration {
  id: number;
  drive_mode: number;
  homing_offset: number;
  range_min: number;
  range_max: number;
}
export type So100Calibration = Record<JointName, MotorCalibration>;

export function calibrationDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CONFIG_HOME && env.XDG_CONFIG_HOME !== '' ? env.XDG_CONFIG_HOME : join(homedir(), '.config');
  return join(base, 'kdp', 'calibration', 'so100');
}

export function calibrationPath(robotId: string, env: NodeJS.ProcessEnv = process.env): string {
  if (!/^[A-Za-z0-9_.-]+$/.test(robotId)) throw new ConfigError(`robot id "${robotId}" must be letters, digits, _ . -`);
  return join(calibrationDir(env), `${robotId}.json`);
}

const FIELDS = ['id', 'drive_mode', 'homing_offset', 'range_min', 'range_max'] as const;

/** Validate a parsed calibration object (LeRobot layout). Extra joints/fields are refused with a clear message. */
export function parseCalibration(data: unknown, file = '<calibration>'): So100Calibration {
  if (!data || typeof data !== 'object' || Array.isArray(data)) throw new ConfigError('a calibration is an object keyed by joint name', { file });
  const obj = data as Record<string, unknown>;
  const out: Partial<So100Calibration> = {};
  for (const j of JOINTS) {
    const m = obj[j];
    if (!m || typeof m !== 'object') {
      throw new ConfigError(`missing joint "${j}"`, { file, hint: `a LeRobot SO-100 calibration has ${JOINTS.join(', ')}` });
    }
    const rec = m as Record<string, unknown>;
    const cal = {} as MotorCalibration;
    for (const f of FIELDS) {
      const v = rec[f];
      if (typeof v !== 'number' || !Number.isInteger(v)) throw new ConfigError(`/${j}/${f} must be an integer, got ${JSON.stringify(v)}`, { file });
      cal[f] = v;
    }
    if (cal.range_min > cal.range_max || cal.range_min < 0 || cal.range_max > 4095) {
      throw new ConfigError(`/${j}: range_min ${cal.range_min} .. range_max ${cal.range_max} must satisfy 0 ≤ min ≤ max ≤ 4095`, { file });
    }
    if (Math.abs(cal.homing_offset) > 2047) throw new ConfigError(`/${j}/homing_offset ${cal.homing_offset} outside ±2047 (sign bit 11)`, { file });
    out[j] = cal;
  }
  const extra = Object.keys(obj).filter((k) => !(JOINTS as readonly string[]).includes(k));
  if (extra.length) throw new ConfigError(`unknown joint(s) ${extra.join(', ')}`, { file, hint: `expected ${JOINTS.join(', ')}` });
  return out as So100Calibration;
}

export function loadCalibration(file: string): So100Calibration {
  if (!existsSync(file)) throw new ConfigError('calibration file not found', { file, hint: 'run `kdp calibrate so100 --port <port> --id <robot id>`' });
  let data: unknown;
  try { data = JSON.parse(readFileSync(file, 'utf8')); } catch (e) { throw new ConfigError(`not valid JSON: ${(e as Error).message}`, { file }); }
  return parseCalibration(data, file);
}

/** Same layout and key order as lerobot writes (indent 4, joint order). */
export function serializeCalibration(cal: So100Calibration): string {
  const o: Record<string, MotorCalibration> = {};
  for (const j of JOINTS) {
    const m = cal[j];
    o[j] = { id: m.id, drive_mode: m.drive_mode, homing_offset: m.homing_offset, range_min: m.range_min, range_max: m.range_max };
  }
  return JSON.stringify(o, null, 4) + '\n';
}

export function saveCalibration(file: string, cal: So100Calibration): void {
  parseCalibration(cal, file);
  // lerobot writes indent 4; writeJsonAtomic would use 2
  writeFileAtomic(file, serializeCalibration(cal));
}

// ----------------------------------------------------------------------- servo side

/** Torque off and EPROM unlocked on `ids` (lerobot `torque_disabled`). */
export async function unlockForCalibration(bus: FeetechBus, ids: ArrayLike<number>): Promise<void> {
  for (let i = 0; i < ids.length; i++) {
    await bus.write(ids[i]!, 'Torque_Enable', 0);
    await bus.write(ids[i]!, 'Lock', 0);
  }
}

/** Write Homing_Offset, Min/Max_Position_Limit of every joint (torque off, unlocked first). */
export async function writeCalibrationToServos(bus: FeetechBus, cal: So100Calibration): Promise<void> {
  for (const j of JOINTS) {
    const m = cal[j];
    await bus.write(m.id, 'Torque_Enable', 0);
    await bus.write(m.id, 'Lock', 0);
    await bus.write(m.id, 'Homing_Offset', m.homing_offset);
    await bus.write(m.id, 'Min_Position_Limit', m.range_min);
    await bus.write(m.id, 'Max_Position_Limit', m.range_max);
  }
}

/** Read the calibration registers back (drive_mode is 0 on Feetech, as lerobot reads it). */
export async function readCalibrationFromServos(bus: FeetechBus, ids: Record<JointName, number>): Promise<So100Calibration> {
  const out = {} as So100Calibration;
  for (const j of JOINTS) {
    const id = ids[j];
    out[j] = {
      id, drive_mode: 0,
      homing_offset: await bus.read(id, 'Homing_Offset'),
      range_min: await bus.read(id, 'Min_Position_Limit'),
      range_max: await bus.read(id, 'Max_Position_Limit'),
    };
  }
  return out;
}

/** lerobot `is_calibrated`: the servos hold the file's homing offsets and limits. */
export async function isCalibrated(bus: FeetechBus, cal: So100Calibration): Promise<boolean> {
  const ids = Object.fromEntries(JOINTS.map((j) => [j, cal[j].id])) as Record<JointName, number>;
  const onServos = await readCalibrationFromServos(bus, ids);
  return JOINTS.every((j) => onServos[j].homing_offset === cal[j].homing_offset && onServos[j].range_min === cal[j].range_min && onServos[j].range_max === cal[j].range_max);
}

/**
 * lerobot `set_half_turn_homings`: reset Homing_Offset to 0 and the limits to 0..4095, read the present
 * position and write `Homing_Offset = position − 2047`, so that the present position reads 2047 (mid-range).
 */
export async function setHalfTurnHomings(bus: FeetechBus, ids: Record<JointName, number>): Promise<Record<JointName, number>> {
  const offsets = {} as Record<JointName, number>;
  for (const j of JOINTS) {
    const id = ids[j];
    await bus.write(id, 'Homing_Offset', 0);
    await bus.write(id, 'Min_Position_Limit', 0);
    await bus.write(id, 'Max_Position_Limit', 4095);
  }
  for (const j of JOINTS) {
    const id = ids[j];
    const pos = await bus.read(id, 'Present_Position');
    const off = Math.max(-2047, Math.min(2047, pos - 2047));
    await bus.write(id, 'Homing_Offset', off);
    offsets[j] = off;
  }
  return offsets;
}

/**
 * lerobot `record_ranges_of_motion`: poll the present positions until `signal` aborts (or `durationMs`),
 * tracking min/max per joint. `fullTurn` joints (wrist_roll) get 0..4095.
 */
export async function recordRangesOfMotion(bus: FeetechBus, ids: Record<JointName, number>, options: {
  signal?: AbortSignal; durationMs?: number; intervalMs?: number; fullTurn?: JointName[];
  onUpdate?: (positions: Int32Array, mins: Int32Array, maxes: Int32Array) => void;
} = {}): Promise<Record<JointName, [number, number]>> {
  const idArr = Uint8Array.from(JOINTS.map((j) => ids[j]));
  const pos = new Int32Array(6);
  const mins = new Int32Array(6).fill(4096);
  const maxes = new Int32Array(6).fill(-1);
  const t0 = Date.now();
  for (;;) {
    await bus.syncRead('Present_Position', idArr, pos);
    for (let i = 0; i < 6; i++) { mins[i] = Math.min(mins[i]!, pos[i]!); maxes[i] = Math.max(maxes[i]!, pos[i]!); }
    options.onUpdate?.(pos, mins, maxes);
    if (options.signal?.aborted) break;
    if (options.durationMs !== undefined && Date.now() - t0 >= options.durationMs) break;
    await new Promise((r) => setTimeout(r, options.intervalMs ?? 20));
  }
  const full = options.fullTurn ?? ['wrist_roll'];
  const out = {} as Record<JointName, [number, number]>;
  JOINTS.forEach((j, i) => { out[j] = full.includes(j) ? [0, 4095] : [mins[i]!, maxes[i]!]; });
  return out;
}

// ----------------------------------------------------------------------- normalisation (lerobot motors_bus)

/** Raw ticks → normalised value (lerobot `_normalize`). */
export function normalize(raw: number, m: MotorCalibration, mode: NormMode): number {
  const min = m.range_min; const max = m.range_max;
  if (mode === 'degrees') {
    const mid = (min + max) / 2;
    return ((raw - mid) * 360) / 4095;
  }
  if (max === min) throw new ConfigError(`joint id ${m.id}: range_min == range_max (${min}); recalibrate`);
  const v = Math.min(max, Math.max(min, raw));
  if (mode === 'range_m100_100') {
    const n = ((v - min) / (max - min)) * 200 - 100;
    return m.drive_mode ? -n : n;
  }
  const n = ((v - min) / (max - min)) * 100;
  return m.drive_mode ? 100 - n : n;
}

/** Normalised value → raw ticks (lerobot `_unnormalize`, Python `int()` = truncation). */
export function unnormalize(value: number, m: MotorCalibration, mode: NormMode): number {
  const min = m.range_min; const max = m.range_max;
  if (mode === 'degrees') return Math.trunc((value * 4095) / 360 + (min + max) / 2);
  if (mode === 'range_m100_100') {
    let n = m.drive_mode ? -value : value;
    n = Math.min(100, Math.max(-100, n));
    return Math.trunc(((n + 100) / 200) * (max - min) + min);
  }
  let n = m.drive_mode ? 100 - value : value;
  n = Math.min(100, Math.max(0, n));
  return Math.trunc((n / 100) * (max - min) + min);
}
