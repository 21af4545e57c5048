/**
 * High-level commander encoders (port 8, firmware-bridge/crazyflie/README.md). Yaw in radians here. `groupMask` 0 = all.
 * The `*_2` command ids are used when the protocol allows (GO_TO_2 ≥ 8, START_TRAJECTORY_2 ≥ 10).
 */
import { writeF32, writeU32 } from './bytes.js';
import { CrtpPort, crtpHeader, ensureCapacity } from './packet.js';

export const HlCommand = {
  SET_GROUP_MASK: 0,
  TAKEOFF: 1,
  LAND: 2,
  STOP: 3,
  GO_TO: 4,
  START_TRAJECTORY: 5,
  DEFINE_TRAJECTORY: 6,
  TAKEOFF_2: 7,
  LAND_2: 8,
  TAKEOFF_WITH_VELOCITY: 9,
  LAND_WITH_VELOCITY: 10,
  SPIRAL: 11,
  GO_TO_2: 12,
  START_TRAJECTORY_2: 13,
} as const;

export const TrajectoryLocation = { INVALID: 0, MEM: 1 } as const;
export const TrajectoryType = { POLY4D: 0, POLY4D_COMPRESSED: 1 } as const;

const H_HL = crtpHeader(CrtpPort.SETPOINT_HL, 0);

function takeoffLand(out: Uint8Array, cmd: number, heightM: number, durationS: number, yawRad: number | null, groupMask: number): number {
  ensureCapacity(out, 16);
  out[0] = H_HL;
  out[1] = cmd;
  out[2] = groupMask & 0xff;
  writeF32(out, 3, heightM);
  writeF32(out, 7, yawRad ?? 0);
  out[11] = yawRad === null ? 1 : 0;
  writeF32(out, 12, durationS);
  return 16;
}

/** Take off to an absolute height. `yawRad === null` → keep the current yaw. */
export function encodeHlTakeoff(out: Uint8Array, heightM: number, durationS: number, yawRad: number | null = 0, groupMask = 0): number {
  return takeoffLand(out, HlCommand.TAKEOFF_2, heightM, durationS, yawRad, groupMask);
}

export function encodeHlLand(out: Uint8Array, heightM: number, durationS: number, yawRad: number | null = 0, groupMask = 0): number {
  return takeoffLand(out, HlCommand.LAND_2, heightM, durationS, yawRad, groupMask);
}

export function encodeHlStop(out: Uint8Array, groupMask = 0): number {
  ensureCapacity(out, 3);
  out[0] = H_HL;
  out[1] = HlCommand.STOP;
  out[2] = groupMask & 0xff;
  return 3;
}

export interface HlGoToOptions { relative?: boolean; linear?: boolean; groupMask?: number; protocolVersion?: number }

export function encodeHlGoTo(out: Uint8Array, x: number, y: number, z: number, yawRad: number, durationS: number, o: HlGoToOptions = {}): number {
  ensureCapacity(out, 25);
  out[0] = H_HL;
  let i = 1;
  if ((o.protocolVersion ?? 12) >= 8) {
    out[i++] = HlCommand.GO_TO_2;
    out[i++] = (o.groupMask ?? 0) & 0xff;
    out[i++] = o.relative ? 1 : 0;
    out[i++] = o.linear ? 1 : 0;
  } else {
    out[i++] = HlCommand.GO_TO;
    out[i++] = (o.groupMask ?? 0) & 0xff;
    out[i++] = o.relative ? 1 : 0;
  }
  writeF32(out, i, x); writeF32(out, i + 4, y); writeF32(out, i + 8, z); writeF32(out, i + 12, yawRad); writeF32(out, i + 16, durationS);
  return i + 20;
}

export interface HlStartTrajectoryOptions { relativePosition?: boolean; relativeYaw?: boolean; reversed?: boolean; groupMask?: number; protocolVersion?: number }

export function encodeHlStartTrajectory(out: Uint8Array, trajectoryId: number, timeScale = 1, o: HlStartTrajectoryOptions = {}): number {
  ensureCapacity(out, 11);
  out[0] = H_HL;
  let i = 1;
  if ((o.protocolVersion ?? 12) >= 10) {
    out[i++] = HlCommand.START_TRAJECTORY_2;
    out[i++] = (o.groupMask ?? 0) & 0xff;
    out[i++] = o.relativePosition ? 1 : 0;
    out[i++] = o.relativeYaw ? 1 : 0;
  } else {
    out[i++] = HlCommand.START_TRAJECTORY;
    out[i++] = (o.groupMask ?? 0) & 0xff;
    out[i++] = o.relativePosition ? 1 : 0;
  }
  out[i++] = o.reversed ? 1 : 0;
  out[i++] = trajectoryId & 0xff;
  writeF32(out, i, timeScale);
  return i + 4;
}

/** Define a trajectory stored in the trajectory memory (`location` MEM) at `offset` with `nPieces`. */
export function encodeHlDefineTrajectory(out: Uint8Array, trajectoryId: number, offset: number, nPieces: number, type: number = TrajectoryType.POLY4D): number {
  ensureCapacity(out, 10);
  out[0] = H_HL;
  out[1] = HlCommand.DEFINE_TRAJECTORY;
  out[2] = trajectoryId & 0xff;
  out[3] = TrajectoryLocation.MEM;
  out[4] = type & 0xff;
  writeU32(out, 5, offset >>> 0);
  out[9] = nPieces & 0xff;
  return 10;
}
