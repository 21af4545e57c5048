/**
 * Setpoint encoders (firmware-bridge/crazyflie/README.md, "Setpoints"). Each writes header + payload into a caller-owned buffer
 * (≥ 31 bytes is always enough) and returns the packet length. No allocation.
 * Argument conventions follow cflib's `Commander` (degrees, deg/s, m, m/s); the legacy-protocol fallbacks
 * (protocol ≤ 8 → generic types 1/2/5 with the yaw rate negated) are applied when `protocolVersion` says so.
 */
import { writeF32, writeI16, writeU16, writeU32 } from './bytes.js';
import { CrtpPort, crtpHeader, ensureCapacity } from './packet.js';
import { compressQuaternionBits } from './quat.js';

export const GenericSetpointType = {
  STOP: 0,
  VELOCITY_WORLD_LEGACY: 1,
  Z_DISTANCE_LEGACY: 2,
  CPPM_EMU: 3,
  ALT_HOLD: 4,
  HOVER_LEGACY: 5,
  FULL_STATE: 6,
  POSITION: 7,
  VELOCITY_WORLD: 8,
  Z_DISTANCE: 9,
  HOVER: 10,
  MANUAL: 11,
} as const;

export const GenericMetaCommand = { NOTIFY_SETPOINT_STOP: 0 } as const;

const H_RPYT = crtpHeader(CrtpPort.COMMANDER, 0);
const H_GENERIC = crtpHeader(CrtpPort.COMMANDER_GENERIC, 0);
const H_META = crtpHeader(CrtpPort.COMMANDER_GENERIC, 1);

/** Negation as cflib's Python does it on ints: 0 stays +0 (the golden vectors have 00 00 00 00, not -0.0). */
function neg(v: number): number { return v === 0 ? 0 : -v; }

function checkThrust(thrust: number): void {
  if (!(thrust >= 0 && thrust <= 0xffff)) throw new RangeError(`"thrust" must be 0..65535, got ${thrust}`);
}

/** Legacy RPYT setpoint (port 3). cflib negates pitch on the wire. `thrust` 0..65535 (0 unlocks the thrust lock). */
export function encodeRpyt(out: Uint8Array, rollDeg: number, pitchDeg: number, yawrateDegS: number, thrust: number): number {
  ensureCapacity(out, 15);
  checkThrust(thrust);
  out[0] = H_RPYT;
  writeF32(out, 1, rollDeg);
  writeF32(out, 5, neg(pitchDeg));
  writeF32(out, 9, yawrateDegS);
  writeU16(out, 13, Math.trunc(thrust));
  return 15;
}

/** Generic "stop" setpoint: motors off. */
export function encodeStopSetpoint(out: Uint8Array): number {
  ensureCapacity(out, 2);
  out[0] = H_GENERIC;
  out[1] = GenericSetpointType.STOP;
  return 2;
}

function four(out: Uint8Array, type: number, a: number, b: number, c: number, d: number): number {
  ensureCapacity(out, 18);
  out[0] = H_GENERIC;
  out[1] = type;
  writeF32(out, 2, a);
  writeF32(out, 6, b);
  writeF32(out, 10, c);
  writeF32(out, 14, d);
  return 18;
}

/** World-frame velocity (m/s) + yaw rate (deg/s). */
export function encodeVelocityWorld(out: Uint8Array, vx: number, vy: number, vz: number, yawrateDegS: number, protocolVersion = 12): number {
  return protocolVersion > 8
    ? four(out, GenericSetpointType.VELOCITY_WORLD, vx, vy, vz, yawrateDegS)
    : four(out, GenericSetpointType.VELOCITY_WORLD_LEGACY, vx, vy, vz, neg(yawrateDegS));
}

/** Roll/pitch (deg), yaw rate (deg/s), absolute height (m). */
export function encodeZDistance(out: Uint8Array, rollDeg: number, pitchDeg: number, yawrateDegS: number, zM: number, protocolVersion = 12): number {
  return protocolVersion > 8
    ? four(out, GenericSetpointType.Z_DISTANCE, rollDeg, pitchDeg, yawrateDegS, zM)
    : four(out, GenericSetpointType.Z_DISTANCE_LEGACY, rollDeg, pitchDeg, neg(yawrateDegS), zM);
}

/** Body-frame vx/vy (m/s), yaw rate (deg/s), absolute height (m). Type 10, or legacy type 5 for protocol ≤ 8. */
export function encodeHover(out: Uint8Array, vx: number, vy: number, yawrateDegS: number, zM: number, protocolVersion = 12): number {
  return protocolVersion > 8
    ? four(out, GenericSetpointType.HOVER, vx, vy, yawrateDegS, zM)
    : four(out, GenericSetpointType.HOVER_LEGACY, vx, vy, neg(yawrateDegS), zM);
}

/** Roll/pitch (deg), yaw rate (deg/s), vertical velocity (m/s). */
export function encodeAltHold(out: Uint8Array, rollDeg: number, pitchDeg: number, yawrateDegS: number, vzMps: number): number {
  return four(out, GenericSetpointType.ALT_HOLD, rollDeg, pitchDeg, yawrateDegS, vzMps);
}

/** Absolute position (m) and yaw (deg). */
export function encodePosition(out: Uint8Array, x: number, y: number, z: number, yawDeg: number): number {
  return four(out, GenericSetpointType.POSITION, x, y, z, yawDeg);
}

/** Caller-owned full-state setpoint (SI units; rates in rad/s, encoded as mrad/s as the firmware decodes them). */
export interface FullStateSetpoint {
  x: number; y: number; z: number;
  vx: number; vy: number; vz: number;
  ax: number; ay: number; az: number;
  qx: number; qy: number; qz: number; qw: number;
  rollRateRadS: number; pitchRateRadS: number; yawRateRadS: number;
}

function i16(v: number): number {
  const r = Math.round(v);
  return r > 32767 ? 32767 : r < -32768 ? -32768 : r;
}

export function encodeFullState(out: Uint8Array, s: FullStateSetpoint): number {
  ensureCapacity(out, 30);
  out[0] = H_GENERIC;
  out[1] = GenericSetpointType.FULL_STATE;
  writeI16(out, 2, i16(s.x * 1000)); writeI16(out, 4, i16(s.y * 1000)); writeI16(out, 6, i16(s.z * 1000));
  writeI16(out, 8, i16(s.vx * 1000)); writeI16(out, 10, i16(s.vy * 1000)); writeI16(out, 12, i16(s.vz * 1000));
  writeI16(out, 14, i16(s.ax * 1000)); writeI16(out, 16, i16(s.ay * 1000)); writeI16(out, 18, i16(s.az * 1000));
  writeU32(out, 20, compressQuaternionBits(s.qx, s.qy, s.qz, s.qw));
  writeI16(out, 24, i16(s.rollRateRadS * 1000)); writeI16(out, 26, i16(s.pitchRateRadS * 1000)); writeI16(out, 28, i16(s.yawRateRadS * 1000));
  return 30;
}

/** Manual setpoint (type 11): thrust in percent 0..100 → 10001 + pct·(60000−10001)/100; cflib negates pitch. */
export function encodeManual(out: Uint8Array, rollDeg: number, pitchDeg: number, yawrateDegS: number, thrustPercent: number, rate: boolean): number {
  if (!(thrustPercent >= 0 && thrustPercent <= 100)) throw new RangeError(`"thrustPercent" must be 0..100, got ${thrustPercent}`);
  ensureCapacity(out, 17);
  out[0] = H_GENERIC;
  out[1] = GenericSetpointType.MANUAL;
  writeF32(out, 2, rollDeg);
  writeF32(out, 6, neg(pitchDeg));
  writeF32(out, 10, yawrateDegS);
  writeU16(out, 14, Math.trunc(10001 + (thrustPercent * (60000 - 10001)) / 100));
  out[16] = rate ? 1 : 0;
  return 17;
}

/** Meta command: lower the priority of streamed setpoints so the high-level commander can take over. */
export function encodeNotifySetpointsStop(out: Uint8Array, remainValidMs = 0): number {
  ensureCapacity(out, 6);
  out[0] = H_META;
  out[1] = GenericMetaCommand.NOTIFY_SETPOINT_STOP;
  writeU32(out, 2, remainValidMs >>> 0);
  return 6;
}
