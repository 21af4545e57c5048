/**
 * Decoders: one CRTP packet (header + payload, `len` bytes of `buf`) → a typed message, or a `ProtocolError`
 * (E_FRAME) for anything malformed. Never any other exception, whatever the bytes (fuzzed in test/protocols/crtp and
 * test/soak). Two directions because ports mean different things each way:
 *  - `decodeUplink`: host → Crazyflie (what the simulator receives)
 *  - `decodeDownlink`: Crazyflie → host (what the client receives)
 * Values are returned in the units of the matching encoder (cflib conventions: pitch and legacy yaw-rate
 * negations are undone, so encode → decode round-trips).
 */
import { ProtocolError } from '../../errors.js';
import { readF32, readI16, readU16, readU24, readU32 } from './bytes.js';
import { GenericSetpointType } from './commander.js';
import { HlCommand } from './high-level.js';
import { LogChannel, LogControl, TocCommand } from './log.js';
import { CRTP_MAX_DATA_SIZE, CrtpPort, headerChannel, headerPort, isNullHeader } from './packet.js';
import { ParamChannel, ParamMisc } from './param.js';
import { decompressQuaternion } from './quat.js';
import { LinkChannel, PlatformChannel } from './service.js';

export interface LogVarRef { fetchAs: number; storedAs: number; id: number; address?: number }

export type UplinkMessage =
  | { kind: 'null' }
  | { kind: 'linkEcho'; data: Uint8Array }
  | { kind: 'linkSource' }
  | { kind: 'linkSink' }
  | { kind: 'rpyt'; roll: number; pitch: number; yawrate: number; thrust: number }
  | { kind: 'stop' }
  | { kind: 'velocityWorld'; vx: number; vy: number; vz: number; yawrate: number; legacy: boolean }
  | { kind: 'zDistance'; roll: number; pitch: number; yawrate: number; z: number; legacy: boolean }
  | { kind: 'altHold'; roll: number; pitch: number; yawrate: number; vz: number }
  | { kind: 'hover'; vx: number; vy: number; yawrate: number; z: number; legacy: boolean }
  | { kind: 'position'; x: number; y: number; z: number; yaw: number }
  | { kind: 'fullState'; pos: [number, number, number]; vel: [number, number, number]; acc: [number, number, number]; quat: [number, number, number, number]; ratesRadS: [number, number, number] }
  | { kind: 'manual'; roll: number; pitch: number; yawrate: number; thrust: number; rate: boolean }
  | { kind: 'cppm'; channels: number[] }
  | { kind: 'notifySetpointsStop'; remainValidMs: number }
  | { kind: 'hlSetGroupMask'; groupMask: number }
  | { kind: 'hlTakeoff' | 'hlLand'; groupMask: number; height: number; yaw: number; useCurrentYaw: boolean; duration: number; legacy: boolean }
  | { kind: 'hlTakeoffWithVelocity' | 'hlLandWithVelocity'; groupMask: number; height: number; heightIsRelative: boolean; yaw: number; useCurrentYaw: boolean; velocity: number }
  | { kind: 'hlStop'; groupMask: number }
  | { kind: 'hlGoTo'; groupMask: number; relative: boolean; linear: boolean; x: number; y: number; z: number; yaw: number; duration: number }
  | { kind: 'hlStartTrajectory'; groupMask: number; relativePosition: boolean; relativeYaw: boolean; reversed: boolean; trajectoryId: number; timeScale: number }
  | { kind: 'hlDefineTrajectory'; trajectoryId: number; location: number; type: number; offset: number; nPieces: number }
  | { kind: 'hlSpiral'; groupMask: number; sideways: boolean; clockwise: boolean; phi: number; r0: number; rf: number; dz: number; duration: number }
  | { kind: 'tocInfo'; port: number; v2: boolean }
  | { kind: 'tocItem'; port: number; id: number; v2: boolean }
  | { kind: 'logCreate' | 'logAppend'; blockId: number; vars: LogVarRef[]; v2: boolean }
  | { kind: 'logStart'; blockId: number; periodMs: number }
  | { kind: 'logStop' | 'logDelete'; blockId: number }
  | { kind: 'logReset' }
  | { kind: 'paramRead'; id: number }
  | { kind: 'paramWrite'; id: number; value: Uint8Array }
  | { kind: 'paramSetByName'; group: string; name: string; type: number; value: Uint8Array }
  | { kind: 'paramMisc'; cmd: number; id: number }
  | { kind: 'platformVersion'; cmd: number }
  | { kind: 'platformCommand'; cmd: number; data: Uint8Array }
  | { kind: 'supervisor'; channel: number; cmd: number; data: Uint8Array }
  | { kind: 'other'; port: number; channel: number; data: Uint8Array };

export type DownlinkMessage =
  | { kind: 'null' }
  | { kind: 'console'; text: string }
  | { kind: 'linkEcho'; data: Uint8Array }
  | { kind: 'linkSource'; text: string }
  | { kind: 'tocInfo'; port: number; count: number; crc: number; maxBlocks: number; maxOps: number }
  | { kind: 'tocItem'; port: number; id: number; type: number; group: string; name: string }
  | { kind: 'tocItemMissing'; port: number }
  | { kind: 'logControl'; cmd: number; blockId: number; errno: number }
  | { kind: 'logData'; blockId: number; timestampMs: number; data: Uint8Array }
  | { kind: 'paramRead'; id: number; status: number; value: Uint8Array }
  | { kind: 'paramWrite'; id: number; value: Uint8Array }
  | { kind: 'paramSetByName'; group: string; name: string; errno: number; value: Uint8Array }
  | { kind: 'paramUpdated'; id: number; value: Uint8Array }
  | { kind: 'paramMisc'; cmd: number; data: Uint8Array }
  | { kind: 'platformVersion'; cmd: number; version: number; text: string }
  | { kind: 'hlReply'; cmd: number; errno: number }
  | { kind: 'memCount'; count: number }
  | { kind: 'other'; port: number; channel: number; data: Uint8Array };

function fail(msg: string, buf: Uint8Array, len: number): never {
  throw new ProtocolError('E_FRAME', msg, buf.subarray(0, Math.max(0, Math.min(len, buf.length))));
}

function need(buf: Uint8Array, len: number, n: number, what: string): void {
  if (len < n) fail(`${what}: need ${n} bytes, got ${len}`, buf, len);
}

function checkLen(buf: Uint8Array, len: number): void {
  if (!Number.isInteger(len) || len < 1 || len > buf.length) fail(`packet length ${len} out of range 1..${buf.length}`, buf, Math.max(0, Math.min(buf.length, 31)));
  if (len > CRTP_MAX_DATA_SIZE + 1) fail(`payload of ${len - 1} bytes exceeds the ${CRTP_MAX_DATA_SIZE}-byte CRTP limit`, buf, len);
}

/** A NUL-terminated string starting at `off`; returns [text, offset after NUL] or fails. */
function cstr(buf: Uint8Array, off: number, len: number, what: string): [string, number] {
  let s = '';
  for (let i = off; i < len; i++) {
    const c = buf[i]!;
    if (c === 0) return [s, i + 1];
    s += String.fromCharCode(c);
  }
  return fail(`${what}: missing NUL terminator`, buf, len);
}

function ascii(buf: Uint8Array, off: number, len: number): string {
  let s = '';
  for (let i = off; i < len; i++) s += String.fromCharCode(buf[i]!);
  return s;
}

const f = readF32;

function decodeGeneric(buf: Uint8Array, len: number): UplinkMessage {
  need(buf, len, 2, 'generic setpoint');
  const t = buf[1]!;
  const four = (what: string): void => need(buf, len, 18, what);
  switch (t) {
    case GenericSetpointType.STOP: return { kind: 'stop' };
    case GenericSetpointType.VELOCITY_WORLD_LEGACY: four('velocity_world');
      return { kind: 'velocityWorld', vx: f(buf, 2), vy: f(buf, 6), vz: f(buf, 10), yawrate: -f(buf, 14), legacy: true };
    case GenericSetpointType.VELOCITY_WORLD: four('velocity_world');
      return { kind: 'velocityWorld', vx: f(buf, 2), vy: f(buf, 6), vz: f(buf, 10), yawrate: f(buf, 14), legacy: false };
    case GenericSetpointType.Z_DISTANCE_LEGACY: four('zdistance');
      return { kind: 'zDistance', roll: f(buf, 2), pitch: f(buf, 6), yawrate: -f(buf, 10), z: f(buf, 14), legacy: true };
    case GenericSetpointType.Z_DISTANCE: four('zdistance');
      return { kind: 'zDistance', roll: f(buf, 2), pitch: f(buf, 6), yawrate: f(buf, 10), z: f(buf, 14), legacy: false };
    case GenericSetpointType.ALT_HOLD: four('altHold');
      return { kind: 'altHold', roll: f(buf, 2), pitch: f(buf, 6), yawrate: f(buf, 10), vz: f(buf, 14) };
    case GenericSetpointType.HOVER_LEGACY: four('hover');
      return { kind: 'hover', vx: f(buf, 2), vy: f(buf, 6), yawrate: -f(buf, 10), z: f(buf, 14), legacy: true };
    case GenericSetpointType.HOVER: four('hover');
      return { kind: 'hover', vx: f(buf, 2), vy: f(buf, 6), yawrate: f(buf, 10), z: f(buf, 14), legacy: false };
    case GenericSetpointType.POSITION: four('position');
      return { kind: 'position', x: f(buf, 2), y: f(buf, 6), z: f(buf, 10), yaw: f(buf, 14) };
    case GenericSetpointType.FULL_STATE: {
      need(buf, len, 30, 'full_state');
      const q = decompressQuaternion(readU32(buf, 20), [0, 0, 0, 0]) as [number, number, number, number];
      const m = (o: number): number => readI16(buf, o) / 1000;
      return {
        kind: 'fullState', pos: [m(2), m(4), m(6)], vel: [m(8), m(10), m(12)], acc: [m(14), m(16), m(18)], quat: q,
        ratesRadS: [m(24), m(26), m(28)],
      };
    }
    case GenericSetpointType.MANUAL: need(buf, len, 17, 'manual');
      return { kind: 'manual', roll: f(buf, 2), pitch: -f(buf, 6), yawrate: f(buf, 10), thrust: readU16(buf, 14), rate: buf[16] !== 0 };
    case GenericSetpointType.CPPM_EMU: {
      need(buf, len, 11, 'cppmEmu');
      const nAux = buf[2]! & 0x0f;
      need(buf, len, 11 + 2 * nAux, 'cppmEmu aux');
      const channels: number[] = [];
      for (let i = 0; i < 4 + nAux; i++) channels.push(readU16(buf, 3 + 2 * i));
      return { kind: 'cppm', channels };
    }
    default: return fail(`unknown generic setpoint type ${t}`, buf, len);
  }
}

function decodeHl(buf: Uint8Array, len: number): UplinkMessage {
  need(buf, len, 2, 'high-level command');
  const c = buf[1]!;
  switch (c) {
    case HlCommand.SET_GROUP_MASK: need(buf, len, 3, 'set_group_mask'); return { kind: 'hlSetGroupMask', groupMask: buf[2]! };
    case HlCommand.STOP: need(buf, len, 3, 'stop'); return { kind: 'hlStop', groupMask: buf[2]! };
    case HlCommand.TAKEOFF: case HlCommand.LAND: need(buf, len, 11, 'takeoff/land');
      return { kind: c === HlCommand.TAKEOFF ? 'hlTakeoff' : 'hlLand', groupMask: buf[2]!, height: f(buf, 3), yaw: 0, useCurrentYaw: true, duration: f(buf, 7), legacy: true };
    case HlCommand.TAKEOFF_2: case HlCommand.LAND_2: need(buf, len, 16, 'takeoff2/land2');
      return { kind: c === HlCommand.TAKEOFF_2 ? 'hlTakeoff' : 'hlLand', groupMask: buf[2]!, height: f(buf, 3), yaw: f(buf, 7), useCurrentYaw: buf[11] !== 0, duration: f(buf, 12), legacy: false };
    case HlCommand.TAKEOFF_WITH_VELOCITY: case HlCommand.LAND_WITH_VELOCITY: need(buf, len, 17, 'takeoff/land with velocity');
      return { kind: c === HlCommand.TAKEOFF_WITH_VELOCITY ? 'hlTakeoffWithVelocity' : 'hlLandWithVelocity', groupMask: buf[2]!, height: f(buf, 3), heightIsRelative: buf[7] !== 0, yaw: f(buf, 8), useCurrentYaw: buf[12] !== 0, velocity: f(buf, 13) };
    case HlCommand.GO_TO: need(buf, len, 24, 'go_to');
      return { kind: 'hlGoTo', groupMask: buf[2]!, relative: buf[3] !== 0, linear: false, x: f(buf, 4), y: f(buf, 8), z: f(buf, 12), yaw: f(buf, 16), duration: f(buf, 20) };
    case HlCommand.GO_TO_2: need(buf, len, 25, 'go_to2');
      return { kind: 'hlGoTo', groupMask: buf[2]!, relative: buf[3] !== 0, linear: buf[4] !== 0, x: f(buf, 5), y: f(buf, 9), z: f(buf, 13), yaw: f(buf, 17), duration: f(buf, 21) };
    case HlCommand.START_TRAJECTORY: need(buf, len, 10, 'start_trajectory');
      return { kind: 'hlStartTrajectory', groupMask: buf[2]!, relativePosition: buf[3] !== 0, relativeYaw: false, reversed: buf[4] !== 0, trajectoryId: buf[5]!, timeScale: f(buf, 6) };
    case HlCommand.START_TRAJECTORY_2: need(buf, len, 11, 'start_trajectory2');
      return { kind: 'hlStartTrajectory', groupMask: buf[2]!, relativePosition: buf[3] !== 0, relativeYaw: buf[4] !== 0, reversed: buf[5] !== 0, trajectoryId: buf[6]!, timeScale: f(buf, 7) };
    case HlCommand.DEFINE_TRAJECTORY: need(buf, len, 10, 'define_trajectory');
      return { kind: 'hlDefineTrajectory', trajectoryId: buf[2]!, location: buf[3]!, type: buf[4]!, offset: readU32(buf, 5), nPieces: buf[9]! };
    case HlCommand.SPIRAL: need(buf, len, 25, 'spiral');
      return { kind: 'hlSpiral', groupMask: buf[2]!, sideways: buf[3] !== 0, clockwise: buf[4] !== 0, phi: f(buf, 5), r0: f(buf, 9), rf: f(buf, 13), dz: f(buf, 17), duration: f(buf, 21) };
    default: return fail(`unknown high-level command ${c}`, buf, len);
  }
}

function decodeToc(buf: Uint8Array, len: number, port: number): UplinkMessage {
  need(buf, len, 2, 'TOC request');
  const c = buf[1]!;
  switch (c) {
    case TocCommand.GET_INFO_V2: return { kind: 'tocInfo', port, v2: true };
    case TocCommand.GET_INFO_V1: return { kind: 'tocInfo', port, v2: false };
    case TocCommand.GET_ITEM_V2: need(buf, len, 4, 'TOC item v2'); return { kind: 'tocItem', port, id: readU16(buf, 2), v2: true };
    case TocCommand.GET_ITEM_V1: need(buf, len, 3, 'TOC item v1'); return { kind: 'tocItem', port, id: buf[2]!, v2: false };
    default: return fail(`unknown TOC command ${c}`, buf, len);
  }
}

function decodeLogControl(buf: Uint8Array, len: number): UplinkMessage {
  need(buf, len, 2, 'log control');
  const c = buf[1]!;
  switch (c) {
    case LogControl.RESET: return { kind: 'logReset' };
    case LogControl.DELETE_BLOCK: case LogControl.STOP_BLOCK: need(buf, len, 3, 'log block command');
      return { kind: c === LogControl.DELETE_BLOCK ? 'logDelete' : 'logStop', blockId: buf[2]! };
    case LogControl.START_BLOCK: need(buf, len, 4, 'start block'); return { kind: 'logStart', blockId: buf[2]!, periodMs: buf[3]! * 10 };
    case LogControl.START_BLOCK_V2: need(buf, len, 5, 'start block v2'); return { kind: 'logStart', blockId: buf[2]!, periodMs: readU16(buf, 3) };
    case LogControl.CREATE_BLOCK: case LogControl.APPEND_BLOCK: case LogControl.CREATE_BLOCK_V2: case LogControl.APPEND_BLOCK_V2: {
      need(buf, len, 3, 'create/append block');
      const v2 = c >= LogControl.CREATE_BLOCK_V2;
      const vars: LogVarRef[] = [];
      let i = 3;
      while (i < len) {
        const t = buf[i]!;
        if (v2) {
          need(buf, len, i + 3, 'block variable');
          const id = readU16(buf, i + 1);
          i += 3;
          if (id === 0xffff) { need(buf, len, i + 4, 'raw address'); vars.push({ fetchAs: t & 0x0f, storedAs: t >> 4, id, address: readU32(buf, i) }); i += 4; }
          else vars.push({ fetchAs: t & 0x0f, storedAs: t >> 4, id });
        } else {
          need(buf, len, i + 2, 'block variable');
          const id = buf[i + 1]!;
          i += 2;
          if (id === 0xff) { need(buf, len, i + 4, 'raw address'); vars.push({ fetchAs: t & 0x0f, storedAs: t >> 4, id: 0xffff, address: readU32(buf, i) }); i += 4; }
          else vars.push({ fetchAs: t & 0x0f, storedAs: t >> 4, id });
        }
      }
      const create = c === LogControl.CREATE_BLOCK || c === LogControl.CREATE_BLOCK_V2;
      return { kind: create ? 'logCreate' : 'logAppend', blockId: buf[2]!, vars, v2 };
    }
    default: return fail(`unknown log control command ${c}`, buf, len);
  }
}

/** Host → Crazyflie. */
export function decodeUplink(buf: Uint8Array, len: number): UplinkMessage {
  checkLen(buf, len);
  const h = buf[0]!;
  if (isNullHeader(h)) return { kind: 'null' };
  const port = headerPort(h);
  const ch = headerChannel(h);
  switch (port) {
    case CrtpPort.LINKCTRL:
      if (ch === LinkChannel.ECHO) return { kind: 'linkEcho', data: buf.subarray(1, len) };
      if (ch === LinkChannel.SOURCE) return { kind: 'linkSource' };
      return { kind: 'linkSink' };
    case CrtpPort.COMMANDER:
      if (ch !== 0) break;
      need(buf, len, 15, 'rpyt setpoint');
      return { kind: 'rpyt', roll: f(buf, 1), pitch: -f(buf, 5), yawrate: f(buf, 9), thrust: readU16(buf, 13) };
    case CrtpPort.COMMANDER_GENERIC:
      if (ch === 0) return decodeGeneric(buf, len);
      if (ch === 1) {
        need(buf, len, 2, 'meta command');
        if (buf[1] !== 0) fail(`unknown meta command ${buf[1]}`, buf, len);
        need(buf, len, 6, 'notify_setpoint_stop');
        return { kind: 'notifySetpointsStop', remainValidMs: readU32(buf, 2) };
      }
      break;
    case CrtpPort.SETPOINT_HL:
      if (ch === 0) return decodeHl(buf, len);
      break;
    case CrtpPort.LOGGING:
      if (ch === LogChannel.TOC) return decodeToc(buf, len, port);
      if (ch === LogChannel.CONTROL) return decodeLogControl(buf, len);
      break;
    case CrtpPort.PARAM:
      if (ch === ParamChannel.TOC) return decodeToc(buf, len, port);
      if (ch === ParamChannel.READ) { need(buf, len, 3, 'param read'); return { kind: 'paramRead', id: readU16(buf, 1) }; }
      if (ch === ParamChannel.WRITE) { need(buf, len, 4, 'param write'); return { kind: 'paramWrite', id: readU16(buf, 1), value: buf.subarray(3, len) }; }
      need(buf, len, 2, 'param misc');
      if (buf[1] === ParamMisc.SET_BY_NAME) {
        const [group, i] = cstr(buf, 2, len, 'set-by-name group');
        const [name, j] = cstr(buf, i, len, 'set-by-name name');
        need(buf, len, j + 2, 'set-by-name type/value');
        return { kind: 'paramSetByName', group, name, type: buf[j]!, value: buf.subarray(j + 1, len) };
      }
      need(buf, len, 4, 'param misc');
      return { kind: 'paramMisc', cmd: buf[1]!, id: readU16(buf, 2) };
    case CrtpPort.PLATFORM:
      need(buf, len, 2, 'platform command');
      if (ch === PlatformChannel.VERSION) return { kind: 'platformVersion', cmd: buf[1]! };
      if (ch === PlatformChannel.COMMAND) return { kind: 'platformCommand', cmd: buf[1]!, data: buf.subarray(2, len) };
      break;
    case CrtpPort.SUPERVISOR:
      need(buf, len, 2, 'supervisor command');
      return { kind: 'supervisor', channel: ch, cmd: buf[1]!, data: buf.subarray(2, len) };
    default: break;
  }
  return { kind: 'other', port, channel: ch, data: buf.subarray(1, len) };
}

/** Crazyflie → host. */
export function decodeDownlink(buf: Uint8Array, len: number): DownlinkMessage {
  checkLen(buf, len);
  const h = buf[0]!;
  if (isNullHeader(h)) return { kind: 'null' };
  const port = headerPort(h);
  const ch = headerChannel(h);
  switch (port) {
    case CrtpPort.CONSOLE: return { kind: 'console', text: ascii(buf, 1, len) };
    case CrtpPort.LINKCTRL:
      if (ch === LinkChannel.ECHO) return { kind: 'linkEcho', data: buf.subarray(1, len) };
      if (ch === LinkChannel.SOURCE) return { kind: 'linkSource', text: ascii(buf, 1, len) };
      break;
    case CrtpPort.LOGGING: case CrtpPort.PARAM:
      if (ch === 0) {
        need(buf, len, 2, 'TOC reply');
        const c = buf[1]!;
        if (c === TocCommand.GET_INFO_V2) {
          need(buf, len, 8, 'TOC info reply');
          const log = port === CrtpPort.LOGGING;
          if (log) need(buf, len, 10, 'log TOC info reply');
          return { kind: 'tocInfo', port, count: readU16(buf, 2), crc: readU32(buf, 4), maxBlocks: log ? buf[8]! : 0, maxOps: log ? buf[9]! : 0 };
        }
        if (c === TocCommand.GET_ITEM_V2) {
          if (len === 2) return { kind: 'tocItemMissing', port };
          need(buf, len, 7, 'TOC item reply');
          const [group, i] = cstr(buf, 5, len, 'TOC item group');
          const [name] = cstr(buf, i, len, 'TOC item name');
          return { kind: 'tocItem', port, id: readU16(buf, 2), type: buf[4]!, group, name };
        }
        return fail(`unknown TOC reply ${c}`, buf, len);
      }
      if (port === CrtpPort.LOGGING) {
        if (ch === LogChannel.CONTROL) { need(buf, len, 4, 'log control reply'); return { kind: 'logControl', cmd: buf[1]!, blockId: buf[2]!, errno: buf[3]! }; }
        if (ch === LogChannel.DATA) { need(buf, len, 5, 'log data'); return { kind: 'logData', blockId: buf[1]!, timestampMs: readU24(buf, 2), data: buf.subarray(5, len) }; }
        break;
      }
      if (ch === ParamChannel.READ) { need(buf, len, 4, 'param read reply'); return { kind: 'paramRead', id: readU16(buf, 1), status: buf[3]!, value: buf.subarray(4, len) }; }
      if (ch === ParamChannel.WRITE) { need(buf, len, 4, 'param write reply'); return { kind: 'paramWrite', id: readU16(buf, 1), value: buf.subarray(3, len) }; }
      need(buf, len, 2, 'param misc reply');
      if (buf[1] === ParamMisc.SET_BY_NAME) {
        const [group, i] = cstr(buf, 2, len, 'set-by-name group');
        const [name, j] = cstr(buf, i, len, 'set-by-name name');
        need(buf, len, j + 1, 'set-by-name errno');
        return { kind: 'paramSetByName', group, name, errno: buf[j]!, value: buf.subarray(j + 1, len) };
      }
      if (buf[1] === ParamMisc.VALUE_UPDATED) { need(buf, len, 5, 'value updated'); return { kind: 'paramUpdated', id: readU16(buf, 2), value: buf.subarray(4, len) }; }
      return { kind: 'paramMisc', cmd: buf[1]!, data: buf.subarray(2, len) };
    case CrtpPort.PLATFORM:
      if (ch === PlatformChannel.VERSION) {
        need(buf, len, 2, 'version reply');
        const cmd = buf[1]!;
        if (cmd === 0) { need(buf, len, 3, 'protocol version reply'); return { kind: 'platformVersion', cmd, version: buf[2]!, text: '' }; }
        return { kind: 'platformVersion', cmd, version: -1, text: ascii(buf, 2, len).replace(/\0.*$/s, '') };
      }
      break;
    case CrtpPort.SETPOINT_HL:
      need(buf, len, 5, 'high-level reply');
      return { kind: 'hlReply', cmd: buf[1]!, errno: buf[4]! };
    case CrtpPort.MEM:
      if (ch === 0 && len >= 3 && buf[1] === 1) return { kind: 'memCount', count: buf[2]! };
      break;
    default: break;
  }
  return { kind: 'other', port, channel: ch, data: buf.subarray(1, len) };
}
