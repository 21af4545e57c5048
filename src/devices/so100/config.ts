/**
 * SO-100 defaults (lerobot `so_follower`): joint names, servo ids, normalisation modes, joint/velocity limits
 * and rates. `boards/robots/so100.json` (robot profile, owned by the profile schema) overrides these when present;
 * see `loadSo100Profile`.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadSo100Profile } from '../../boards/schema.js';
import type { So100Profile } from '../../boards/schema.js';

export const JOINTS = ['shoulder_pan', 'shoulder_lift', 'elbow_flex', 'wrist_flex', 'wrist_roll', 'gripper'] as const;
export type JointName = (typeof JOINTS)[number];
export type NormMode = 'degrees' | 'range_m100_100' | 'range_0_100';

export interface So100Config {
  /** Servo id per joint (lerobot: 1..6 in JOINTS order). */
  ids: Record<JointName, number>;
  normModes: Record<JointName, NormMode>;
  /** Joint position limits in the simulator's joint frame (rad; 0 = servo mid-range 2048). */
  jointLimitsRad: Record<JointName, [number, number]>;
  /** Joint speed limits (rad/s) the arm loop must respect. */
  velocityLimitsRadS: Record<JointName, number>;
  baudRate: number;
  /** Control loop rate (Hz). */
  controlHz: number;
  /** Bus attempt timeout (ms) and retries; the loss of the bus is reported after timeoutMs·(retries+1). */
  busTimeoutMs: number;
  busRetries: number;
  /** lerobot `max_relative_target` in ticks (undefined = no clip). */
  maxRelativeTargetTicks: number | undefined;
}

export const DEFAULT_SO100: So100Config = {
  ids: { shoulder_pan: 1, shoulder_lift: 2, elbow_flex: 3, wrist_flex: 4, wrist_roll: 5, gripper: 6 },
  normModes: { shoulder_pan: 'degrees', shoulder_lift: 'degrees', elbow_flex: 'degrees', wrist_flex: 'degrees', wrist_roll: 'degrees', gripper: 'range_0_100' },
  jointLimitsRad: {
    shoulder_pan: [-2.0, 2.0], shoulder_lift: [-1.7, 1.7], elbow_flex: [-1.6, 1.6],
    wrist_flex: [-1.8, 1.8], wrist_roll: [-3.0, 3.0], gripper: [-0.2, 1.7],
  },
  velocityLimitsRadS: { shoulder_pan: 3.0, shoulder_lift: 3.0, elbow_flex: 3.0, wrist_flex: 4.0, wrist_roll: 4.0, gripper: 4.0 },
  baudRate: 1_000_000,
  controlHz: 50,
  busTimeoutMs: 12,
  busRetries: 2,
  maxRelativeTargetTicks: undefined,
};

export function idsInOrder(cfg: So100Config = DEFAULT_SO100): Uint8Array {
  return Uint8Array.from(JOINTS.map((j) => cfg.ids[j]));
}

/** Map a validated robot profile (`boards/robots/so100.json`) onto the runtime config. */
export function so100ConfigFromProfile(p: So100Profile): So100Config {
  const cfg: So100Config = structuredClone(DEFAULT_SO100);
  cfg.baudRate = p.bus.baud;
  cfg.controlHz = p.controlRateHz.default;
  cfg.maxRelativeTargetTicks = Math.round((p.maxRelativeTargetDeg * 4096) / 360);
  for (const j of p.joints) {
    cfg.ids[j.name] = j.id;
    cfg.normModes[j.name] = j.normMode;
    cfg.jointLimitsRad[j.name] = [(j.positionLimitsDeg[0] * Math.PI) / 180, (j.positionLimitsDeg[1] * Math.PI) / 180];
    cfg.velocityLimitsRadS[j.name] = (j.maxVelocityDegPerS * Math.PI) / 180;
  }
  // the gripper's "degrees" in the profile are 0..100 % of its range: keep the simulator's jaw limits
  cfg.jointLimitsRad.gripper = DEFAULT_SO100.jointLimitsRad.gripper;
  return cfg;
}

/** The SO-100 config from `boards/robots/<name>.json` when it exists, the built-in defaults otherwise. */
export function loadSo100Config(nameOrPath = 'so100'): So100Config {
  if (nameOrPath === 'so100' && !existsSync(fileURLToPath(new URL('../../../boards/robots/so100.json', import.meta.url)))) return DEFAULT_SO100;
  return so100ConfigFromProfile(loadSo100Profile(nameOrPath));
}
