/**
 * The simulated Crazyflie: MuJoCo physics + cascaded controller behind the firmware's CRTP services.
 * Transport-agnostic: feed uplink packets with `onPacket`, receive downlink packets through the sink
 * (`setSink`, e.g. UDP) or pull them with `nextDownlink` (radio ACK payloads, `RadioEndpoint`).
 * Time is the simulation's own clock: `advance(seconds)` runs physics + firmware tasks; the UDP server calls it in
 * real time, tests call it directly (a 2-second watchdog test runs in milliseconds).
 *
 * Firmware behaviour modelled (firmware-bridge/crazyflie/README.md): link echo/source/null; platform protocol version 12, firmware
 * version and device type; log TOC v2, block create/append/start/stop/delete/reset with the firmware's error codes
 * and 24-bit timestamps, blocks streamed at their period; param TOC v2, read, write (echo; read-only ignored;
 * unknown → ENOENT), set-by-name; memory count 0; generic setpoints incl. legacy types, legacy RPYT with the thrust
 * lock, notify-setpoint-stop; high-level commander (takeoff/land/go_to/stop; define/start trajectory answered);
 * commander priorities (HL 1 < CRTP 2); setpoint watchdog (level after 500 ms, motors off after 2000 ms);
 * supervisor arming/emergency stop and tumble detection. Never throws on any input.
 */
import { ProtocolError } from '../../errors.js';
import { readU16, writeF32, writeU16 } from '../../protocols/crtp/bytes.js';
import { decodeUplink, type UplinkMessage } from '../../protocols/crtp/decode.js';
import { Errno, LOG_MAX_BLOCKS, LOG_MAX_LEN, LOG_MAX_OPS, LogControl, encodeLogControlReply, encodeLogDataHeader, encodeLogTocInfoReply, encodeTocItemReply } from '../../protocols/crtp/log.js';
import { CRTP_PROTOCOL_VERSION, CrtpPort, crtpHeader } from '../../protocols/crtp/packet.js';
import { PARAM_ENOENT, ParamChannel, encodeParamReadReply } from '../../protocols/crtp/param.js';
import { LINK_SOURCE_MAGIC, PlatformChannel } from '../../protocols/crtp/service.js';
import { LogType, ParamType, logTypeSize, paramIsReadOnly, paramTypeSize, readParamValue, writeLogValue, writeParamValue } from '../../protocols/crtp/types.js';
import { CascadedController, copySetpoint, newSetpoint, type Setpoint } from './controller.js';
import { HlPlanner } from './hl-planner.js';
import { CF21, type Obstacle } from '../../devices/crazyflie/vehicle.js';
import { clearance } from '../../envs/cf-nav/obstacles.js';
import { QuadPhysics } from './physics.js';

export const WDT_STABILIZE_MS = 500;
export const WDT_SHUTDOWN_MS = 2000;
const PRIO_DISABLE = 0;
const PRIO_HIGHLEVEL = 1;
const PRIO_CRTP = 2;

interface LogVar { group: string; name: string; type: number; get: () => number }
interface ParamVar { group: string; name: string; type: number; get: () => number; set?: (v: number) => void }
interface LogBlock { id: number; vars: { v: LogVar; fetchAs: number }[]; periodMs: number; running: boolean; nextMs: number }

export interface SimCounters {
  packetsIn: number; packetsOut: number; decodeErrors: number;
  setpoints: number; stopSetpoints: number; notifyStops: number; hlCommands: number;
  watchdogStabilize: number; watchdogShutdown: number; collisions: number; tumbles: number;
}

export interface SimEvent { kind: 'stopSetpoint' | 'notifySetpointsStop' | 'watchdogStabilize' | 'watchdogShutdown' | 'collision' | 'tumble' | 'hl'; timeMs: number; detail?: string }

function crc32(bytes: Uint8Array): number {
  let c = ~0;
  for (let i = 0; i < bytes.length; i++) {
    c ^= bytes[i]!;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ~c >>> 0;
}

export interface SimOptions {
  obstacles?: readonly Obstacle[];
  start?: [number, number, number];
  startYawDeg?: number;
  /** Require arming before motors spin (CONFIG_MOTORS_REQUIRE_ARMING); default false (auto-arm, as CF2.x). */
  requireArming?: boolean;
}

export class SimCrazyflie {
  readonly physics: QuadPhysics;
  readonly controller = new CascadedController();
  readonly planner = new HlPlanner();
  readonly obstacles: readonly Obstacle[];
  readonly counters: SimCounters = { packetsIn: 0, packetsOut: 0, decodeErrors: 0, setpoints: 0, stopSetpoints: 0, notifyStops: 0, hlCommands: 0, watchdogStabilize: 0, watchdogShutdown: 0, collisions: 0, tumbles: 0 };
  /** Recent notable events (bounded). */
  readonly events: SimEvent[] = [];
  onEvent: ((e: SimEvent) => void) | undefined;
  lastSetpointKind = '';
  thrustLocked = true;
  armed: boolean;
  emergencyStopped = false;
  tumbled = false;

  private readonly current = newSetpoint();
  private readonly crtpSp = newSetpoint();
  private readonly hlSp = newSetpoint();
  private priority = PRIO_DISABLE;
  private spTimestampMs = -1e9;
  private wdtLevel: 0 | 1 | 2 = 2;
  private readonly logVars: LogVar[];
  private readonly params: ParamVar[];
  private readonly logCrc: number;
  private readonly paramCrc: number;
  private readonly blocks = new Map<number, LogBlock>();
  private sink: ((pkt: Uint8Array, len: number) => void) | undefined;
  private readonly down: Uint8Array[] = [];
  private readonly tx = new Uint8Array(32);
  private simMs = 0;
  private tickCount = 0;
  private inCollision: boolean[];
  private tumbleMs = 0;
  private vbat = 4.15;
  private consoleSent = false;
  private readonly paramValues = { estimator: 2, controller: 1, enHighLevel: 1, resetEstimation: 0, posKp: 0, velKp: 0, rateKp: 0, stabModeRoll: 1, stabModeYaw: 0 };

  private constructor(physics: QuadPhysics, o: SimOptions) {
    this.physics = physics;
    this.obstacles = o.obstacles ?? [];
    this.inCollision = this.obstacles.map(() => false);
    this.armed = !o.requireArming;
    const s = physics.state;
    const c = this.controller;
    const f = (g: string, n: string, get: () => number): LogVar => ({ group: g, name: n, type: LogType.FLOAT, get });
    this.logVars = [
      f('stateEstimate', 'x', () => s.pos[0]!), f('stateEstimate', 'y', () => s.pos[1]!), f('stateEstimate', 'z', () => s.pos[2]!),
      f('stateEstimate', 'vx', () => s.vel[0]!), f('stateEstimate', 'vy', () => s.vel[1]!), f('stateEstimate', 'vz', () => s.vel[2]!),
      f('stateEstimate', 'ax', () => s.acc[0]! / CF21.gravity), f('stateEstimate', 'ay', () => s.acc[1]! / CF21.gravity), f('stateEstimate', 'az', () => s.acc[2]! / CF21.gravity),
      f('stateEstimate', 'roll', () => (s.rpy[0]! * 180) / Math.PI), f('stateEstimate', 'pitch', () => (-s.rpy[1]! * 180) / Math.PI), f('stateEstimate', 'yaw', () => (s.rpy[2]! * 180) / Math.PI),
      f('stateEstimate', 'qx', () => s.quat[1]!), f('stateEstimate', 'qy', () => s.quat[2]!), f('stateEstimate', 'qz', () => s.quat[3]!), f('stateEstimate', 'qw', () => s.quat[0]!),
      f('stabilizer', 'roll', () => (s.rpy[0]! * 180) / Math.PI), f('stabilizer', 'pitch', () => (-s.rpy[1]! * 180) / Math.PI), f('stabilizer', 'yaw', () => (s.rpy[2]! * 180) / Math.PI),
      f('stabilizer', 'thrust', () => c.out.cmdThrustRaw),
      f('ctrltarget', 'x', () => this.current.position[0]!), f('ctrltarget', 'y', () => this.current.position[1]!), f('ctrltarget', 'z', () => this.current.position[2]!),
      f('gyro', 'x', () => (s.omega[0]! * 180) / Math.PI), f('gyro', 'y', () => (s.omega[1]! * 180) / Math.PI), f('gyro', 'z', () => (s.omega[2]! * 180) / Math.PI),
      f('pm', 'vbat', () => this.vbat),
      { group: 'pm', name: 'state', type: LogType.INT8, get: () => 0 },
      { group: 'motor', name: 'm1', type: LogType.UINT16, get: () => Math.round((s.motorN[0]! / CF21.maxThrustPerMotorN) * 65535) },
      { group: 'motor', name: 'm2', type: LogType.UINT16, get: () => Math.round((s.motorN[1]! / CF21.maxThrustPerMotorN) * 65535) },
      { group: 'motor', name: 'm3', type: LogType.UINT16, get: () => Math.round((s.motorN[2]! / CF21.maxThrustPerMotorN) * 65535) },
      { group: 'motor', name: 'm4', type: LogType.UINT16, get: () => Math.round((s.motorN[3]! / CF21.maxThrustPerMotorN) * 65535) },
      { group: 'supervisor', name: 'info', type: LogType.UINT16, get: () => this.supervisorInfo() },
      { group: 'sys', name: 'armed', type: LogType.UINT8, get: () => (this.armed ? 1 : 0) },
      { group: 'sim', name: 'collisions', type: LogType.UINT16, get: () => this.counters.collisions },
      { group: 'sim', name: 'stopSetpoints', type: LogType.UINT16, get: () => this.counters.stopSetpoints },
    ];
    const pv = this.paramValues;
    const g = c.gains;
    pv.posKp = g.posKp; pv.velKp = g.velKp; pv.rateKp = g.rateKp;
    this.params = [
      { group: 'stabilizer', name: 'estimator', type: ParamType.UINT8, get: () => pv.estimator, set: (v) => { pv.estimator = v; } },
      { group: 'stabilizer', name: 'controller', type: ParamType.UINT8, get: () => pv.controller, set: (v) => { pv.controller = v; } },
      { group: 'stabilizer', name: 'stop', type: ParamType.UINT8, get: () => (this.emergencyStopped ? 1 : 0), set: (v) => { this.emergencyStopped = v !== 0; } },
      { group: 'commander', name: 'enHighLevel', type: ParamType.UINT8, get: () => pv.enHighLevel, set: (v) => { pv.enHighLevel = v; } },
      { group: 'kalman', name: 'resetEstimation', type: ParamType.UINT8, get: () => pv.resetEstimation, set: (v) => { pv.resetEstimation = v; } },
      { group: 'flightmode', name: 'stabModeRoll', type: ParamType.UINT8, get: () => pv.stabModeRoll, set: (v) => { pv.stabModeRoll = v; } },
      { group: 'flightmode', name: 'stabModeYaw', type: ParamType.UINT8, get: () => pv.stabModeYaw, set: (v) => { pv.stabModeYaw = v; } },
      { group: 'posCtlPid', name: 'xKp', type: ParamType.FLOAT, get: () => g.posKp, set: (v) => { if (v > 0 && v < 20) g.posKp = v; } },
      { group: 'velCtlPid', name: 'vxKp', type: ParamType.FLOAT, get: () => g.velKp, set: (v) => { if (v > 0 && v < 40) g.velKp = v; } },
      { group: 'pid_rate', name: 'roll_kp', type: ParamType.FLOAT, get: () => g.rateKp, set: (v) => { if (v > 0 && v < 500) g.rateKp = v; } },
      { group: 'motorPowerSet', name: 'enable', type: ParamType.UINT8, get: () => 0, set: () => { /* not modelled */ } },
      { group: 'firmware', name: 'revision0', type: ParamType.UINT32 | ParamType.RONLY, get: () => 0x5eed0001 },
      { group: 'firmware', name: 'modified', type: ParamType.UINT8 | ParamType.RONLY, get: () => 0 },
      { group: 'deck', name: 'bcFlow2', type: ParamType.UINT8 | ParamType.RONLY, get: () => 0 },
      { group: 'sim', name: 'massG', type: ParamType.FLOAT | ParamType.RONLY, get: () => CF21.massKg * 1000 },
    ];
    this.logCrc = crc32(Buffer.from(this.logVars.map((v) => `${v.type}${v.group}.${v.name}`).join(';')));
    this.paramCrc = crc32(Buffer.from(this.params.map((v) => `${v.type}${v.group}.${v.name}`).join(';')));
    const st = o.start ?? [0, 0, 0.015];
    physics.reset(st[0], st[1], st[2], ((o.startYawDeg ?? 0) * Math.PI) / 180);
    this.controller.reset(((o.startYawDeg ?? 0) * Math.PI) / 180);
  }

  static async create(o: SimOptions = {}): Promise<SimCrazyflie> {
    const physics = await QuadPhysics.create(o.obstacles ?? []);
    // warm the WASM code paths (ground contact, flight) so the first real-time ticks are not 30× slower
    const warm = new Float64Array(4).fill(0.1);
    for (let i = 0; i < 400; i++) physics.step(warm);
    return new SimCrazyflie(physics, o);
  }

  dispose(): void { this.physics.dispose(); }

  get timeMs(): number { return this.simMs; }
  get state(): QuadPhysics['state'] { return this.physics.state; }
  get motorsRunning(): boolean { return this.physics.state.motorN.some((m) => m > 1e-4) && !this.current.motorsOff; }
  get motorCommandZero(): boolean { return this.controller.motorCmdN.every((m) => m === 0); }
  get watchdogLevel(): 0 | 1 | 2 { return this.wdtLevel; }
  get logTocSize(): number { return this.logVars.length; }
  get paramTocSize(): number { return this.params.length; }
  get logTocCrc(): number { return this.logCrc; }
  get activeBlocks(): number { let n = 0; for (const b of this.blocks.values()) if (b.running) n++; return n; }

  setSink(sink: ((pkt: Uint8Array, len: number) => void) | undefined): void { this.sink = sink; }
  /** Pull interface (radio ACK payloads): next queued downlink packet. */
  nextDownlink(): Uint8Array | undefined { return this.down.shift(); }

  private supervisorInfo(): number {
    let v = 0;
    if (this.armed) v |= 1 << 1;
    if (this.motorsRunning) v |= 1 << 3;
    if (this.tumbled) v |= 1 << 5;
    if (this.thrustLocked) v |= 1 << 6;
    return v;
  }

  private emit(len: number): void {
    this.counters.packetsOut++;
    if (this.sink) this.sink(this.tx, len);
    else { if (this.down.length > 256) this.down.shift(); this.down.push(this.tx.slice(0, len)); }
  }

  private event(kind: SimEvent['kind'], detail?: string): void {
    const e: SimEvent = detail === undefined ? { kind, timeMs: this.simMs } : { kind, timeMs: this.simMs, detail };
    if (this.events.length > 500) this.events.shift();
    this.events.push(e);
    try { this.onEvent?.(e); } catch { /* observers must not break the firmware */ }
  }

  // ---------------------------------------------------------------- uplink
  onPacket(buf: Uint8Array, len = buf.length): void {
    this.counters.packetsIn++;
    let m: UplinkMessage;
    try { m = decodeUplink(buf, len); } catch (e) {
      if (e instanceof ProtocolError) { this.counters.decodeErrors++; return; }
      this.counters.decodeErrors++;
      return;
    }
    try { this.handle(m, buf, len); } catch { this.counters.decodeErrors++; }
  }

  private handle(m: UplinkMessage, buf: Uint8Array, len: number): void {
    const tx = this.tx;
    if (!this.consoleSent && m.kind !== 'null') { this.consoleSent = true; this.console('SYS: Crazyflie 2.1 (kdp sim)\n'); }
    switch (m.kind) {
      case 'null': tx[0] = 0xf3; this.emit(1); return;
      case 'linkEcho': for (let i = 0; i < len; i++) tx[i] = buf[i]!; this.emit(len); return;
      case 'linkSource': {
        tx[0] = crtpHeader(CrtpPort.LINKCTRL, 1, 0);
        tx.fill(0, 1, 31);
        for (let i = 0; i < LINK_SOURCE_MAGIC.length; i++) tx[1 + i] = LINK_SOURCE_MAGIC.charCodeAt(i);
        this.emit(31);
        return;
      }
      case 'linkSink': return;
      case 'platformVersion': {
        tx[0] = crtpHeader(CrtpPort.PLATFORM, PlatformChannel.VERSION, 0);
        tx[1] = m.cmd;
        if (m.cmd === 0) { tx[2] = CRTP_PROTOCOL_VERSION; this.emit(3); return; }
        const text = m.cmd === 1 ? '2025.02+kdp-sim' : m.cmd === 2 ? 'CF21' : '';
        for (let i = 0; i < text.length; i++) tx[2 + i] = text.charCodeAt(i);
        this.emit(2 + text.length);
        return;
      }
      case 'platformCommand':
        if (m.cmd === 1) { this.armed = m.data[0] === 1; tx[0] = crtpHeader(CrtpPort.PLATFORM, 0, 0); tx[1] = 1; tx[2] = 1; this.emit(3); }
        else if (m.cmd === 2) this.recover();
        return;
      case 'supervisor':
        if (m.channel === 1) {
          if (m.cmd === 1) this.armed = m.data[0] === 1;
          else if (m.cmd === 2) this.recover();
          else if (m.cmd === 3) { this.emergencyStopped = true; this.armed = false; }
          tx[0] = crtpHeader(CrtpPort.SUPERVISOR, 1, 0); tx[1] = m.cmd; tx[2] = 1; this.emit(3);
        } else if (m.channel === 0) { tx[0] = crtpHeader(CrtpPort.SUPERVISOR, 0, 0); tx[1] = m.cmd; writeU16(tx, 2, this.supervisorInfo()); this.emit(4); }
        return;
      case 'tocInfo': {
        const log = m.port === CrtpPort.LOGGING;
        if (!m.v2) return; // TOC v1 is obsolete (protocol ≥ 4)
        this.emit(encodeLogTocInfoReply(tx, log ? this.logVars.length : this.params.length, log ? this.logCrc : this.paramCrc, m.port));
        return;
      }
      case 'tocItem': {
        if (!m.v2) return;
        const log = m.port === CrtpPort.LOGGING;
        const item = log ? this.logVars[m.id] : this.params[m.id];
        if (!item) { this.emit(encodeTocItemReply(tx, m.id, 0, null, '', m.port)); return; }
        this.emit(encodeTocItemReply(tx, m.id, item.type, item.group, item.name, m.port));
        return;
      }
      case 'logCreate': case 'logAppend': this.logCreateAppend(m.kind === 'logCreate', m.blockId, m.vars, m.v2); return;
      case 'logStart': {
        const b = this.blocks.get(m.blockId);
        const cmd = buf[1]!;
        if (!b) { this.emit(encodeLogControlReply(tx, cmd, m.blockId, Errno.ENOENT)); return; }
        b.periodMs = Math.max(1, m.periodMs);
        b.running = true;
        b.nextMs = this.simMs + b.periodMs;
        this.emit(encodeLogControlReply(tx, cmd, m.blockId, 0));
        return;
      }
      case 'logStop': case 'logDelete': {
        const b = this.blocks.get(m.blockId);
        const cmd = m.kind === 'logStop' ? LogControl.STOP_BLOCK : LogControl.DELETE_BLOCK;
        if (!b) { this.emit(encodeLogControlReply(tx, cmd, m.blockId, Errno.ENOENT)); return; }
        if (m.kind === 'logStop') b.running = false; else this.blocks.delete(m.blockId);
        this.emit(encodeLogControlReply(tx, cmd, m.blockId, 0));
        return;
      }
      case 'logReset': this.blocks.clear(); this.emit(encodeLogControlReply(tx, LogControl.RESET, 0, 0)); return;
      case 'paramRead': {
        const p = this.params[m.id];
        if (!p) { this.emit(encodeParamReadReply(tx, m.id, PARAM_ENOENT, 0, 0)); return; }
        this.emit(encodeParamReadReply(tx, m.id, 0, p.type, p.get()));
        return;
      }
      case 'paramWrite': {
        const p = this.params[m.id];
        tx[0] = crtpHeader(CrtpPort.PARAM, ParamChannel.WRITE, 0);
        writeU16(tx, 1, m.id);
        if (!p) { tx[3] = PARAM_ENOENT; this.emit(4); return; }
        if (paramIsReadOnly(p.type) || m.value.length < paramTypeSize(p.type)) return; // silently ignored
        const v = readParamValue(m.value, 0, p.type);
        p.set?.(v);
        for (let i = 1; i < len; i++) tx[i] = buf[i]!;
        this.emit(len);
        return;
      }
      case 'paramSetByName': {
        const idx = this.params.findIndex((p) => p.group === m.group && p.name === m.name);
        let errno = 0;
        const p = this.params[idx];
        if (!p) errno = Errno.ENOENT;
        else if (paramIsReadOnly(p.type)) errno = Errno.EACCES;
        else if ((m.type & 0x0f) !== (p.type & 0x0f) || m.value.length < paramTypeSize(p.type)) errno = Errno.EINVAL;
        else p.set?.(readParamValue(m.value, 0, p.type));
        // reply: same packet with the type byte replaced by errno
        tx[0] = crtpHeader(CrtpPort.PARAM, ParamChannel.MISC, 0);
        let i = 1;
        const typeAt = len - m.value.length - 1;
        for (; i < typeAt; i++) tx[i] = buf[i]!;
        tx[i++] = errno;
        this.emit(i);
        if (errno === 0 && p) this.valueUpdated(idx, p);
        return;
      }
      case 'paramMisc': return;
      case 'other':
        if (m.port === CrtpPort.MEM && m.channel === 0 && m.data[0] === 1) { // number of memories
          tx[0] = crtpHeader(CrtpPort.MEM, 0, 0); tx[1] = 1; tx[2] = 0; this.emit(3);
        }
        return;
      default: this.handleSetpoint(m, buf, len);
    }
  }

  private valueUpdated(id: number, p: ParamVar): void {
    const tx = this.tx;
    tx[0] = crtpHeader(CrtpPort.PARAM, ParamChannel.MISC, 0);
    tx[1] = 1;
    writeU16(tx, 2, id);
    this.emit(4 + writeParamValue(tx, 4, p.type, p.get()));
  }

  private console(text: string): void {
    for (let i = 0; i < text.length; i += 30) {
      const n = Math.min(30, text.length - i);
      this.tx[0] = crtpHeader(CrtpPort.CONSOLE, 0, 0);
      for (let k = 0; k < n; k++) this.tx[1 + k] = text.charCodeAt(i + k);
      this.emit(1 + n);
    }
  }

  private logCreateAppend(create: boolean, blockId: number, vars: { fetchAs: number; id: number; address?: number }[], v2: boolean): void {
    const cmd = create ? (v2 ? LogControl.CREATE_BLOCK_V2 : LogControl.CREATE_BLOCK) : (v2 ? LogControl.APPEND_BLOCK_V2 : LogControl.APPEND_BLOCK);
    const reply = (errno: number): void => this.emit(encodeLogControlReply(this.tx, cmd, blockId, errno));
    let b = this.blocks.get(blockId);
    if (create && b) { reply(Errno.EEXIST); return; }
    if (!create && !b) { reply(Errno.ENOENT); return; }
    if (create && this.blocks.size >= LOG_MAX_BLOCKS) { reply(Errno.ENOMEM); return; }
    let ops = 0;
    for (const x of this.blocks.values()) ops += x.vars.length;
    if (ops + vars.length > LOG_MAX_OPS) { reply(Errno.ENOMEM); return; }
    const add: LogBlock['vars'] = [];
    for (const v of vars) {
      const lv = v.id === 0xffff ? undefined : this.logVars[v.id];
      if (!lv) { reply(Errno.ENOENT); return; }
      const fetchAs = v.fetchAs === 0 ? lv.type : v.fetchAs;
      if (logTypeSize(fetchAs) === 0) { reply(Errno.EINVAL); return; }
      add.push({ v: lv, fetchAs });
    }
    const bytes = (b?.vars ?? []).concat(add).reduce((s, x) => s + logTypeSize(x.fetchAs), 0);
    if (bytes > LOG_MAX_LEN) { reply(Errno.E2BIG); return; }
    if (!b) { b = { id: blockId, vars: [], periodMs: 100, running: false, nextMs: 0 }; this.blocks.set(blockId, b); }
    b.vars.push(...add);
    reply(0);
  }

  private handleSetpoint(m: UplinkMessage, _buf: Uint8Array, _len: number): void {
    const sp = this.crtpSp;
    const D = 180 / Math.PI;
    const reset = (): void => {
      sp.motorsOff = false; sp.velocityBody = false; sp.acceleration.fill(0); sp.velocity.fill(0); sp.rateDegS.fill(0);
      sp.mode.x = 'disable'; sp.mode.y = 'disable'; sp.mode.z = 'disable'; sp.mode.roll = 'disable'; sp.mode.pitch = 'disable'; sp.mode.yaw = 'disable';
    };
    switch (m.kind) {
      case 'stop':
        reset(); sp.motorsOff = true;
        this.counters.stopSetpoints++; this.event('stopSetpoint');
        this.planner.reset();
        this.thrustLocked = true;
        break;
      case 'rpyt': case 'manual': {
        reset();
        sp.mode.roll = m.kind === 'manual' && m.rate ? 'velocity' : 'abs';
        sp.mode.pitch = sp.mode.roll;
        sp.mode.yaw = 'velocity';
        sp.attitudeDeg[0] = m.roll; sp.attitudeDeg[1] = m.pitch;
        sp.rateDegS[0] = m.roll; sp.rateDegS[1] = m.pitch; sp.rateDegS[2] = m.yawrate;
        if (this.thrustLocked) { if (m.thrust === 0) this.thrustLocked = false; sp.thrustRaw = 0; }
        else sp.thrustRaw = Math.min(m.thrust, 60000);
        break;
      }
      case 'velocityWorld':
        reset(); sp.mode.x = 'velocity'; sp.mode.y = 'velocity'; sp.mode.z = 'velocity'; sp.mode.yaw = 'velocity';
        sp.velocity[0] = m.vx; sp.velocity[1] = m.vy; sp.velocity[2] = m.vz; sp.rateDegS[2] = m.yawrate;
        break;
      case 'zDistance':
        reset(); sp.mode.roll = 'abs'; sp.mode.pitch = 'abs'; sp.mode.yaw = 'velocity'; sp.mode.z = 'abs';
        sp.attitudeDeg[0] = m.roll; sp.attitudeDeg[1] = m.pitch; sp.rateDegS[2] = m.yawrate; sp.position[2] = m.z;
        break;
      case 'altHold':
        reset(); sp.mode.roll = 'abs'; sp.mode.pitch = 'abs'; sp.mode.yaw = 'velocity'; sp.mode.z = 'velocity';
        sp.attitudeDeg[0] = m.roll; sp.attitudeDeg[1] = m.pitch; sp.rateDegS[2] = m.yawrate; sp.velocity[2] = m.vz;
        break;
      case 'hover':
        reset(); sp.mode.x = 'velocity'; sp.mode.y = 'velocity'; sp.mode.z = 'abs'; sp.mode.yaw = 'velocity'; sp.velocityBody = true;
        sp.velocity[0] = m.vx; sp.velocity[1] = m.vy; sp.rateDegS[2] = m.yawrate; sp.position[2] = m.z;
        break;
      case 'position':
        reset(); sp.mode.x = 'abs'; sp.mode.y = 'abs'; sp.mode.z = 'abs'; sp.mode.yaw = 'abs';
        sp.position[0] = m.x; sp.position[1] = m.y; sp.position[2] = m.z; sp.attitudeDeg[2] = m.yaw;
        break;
      case 'fullState': {
        reset(); sp.mode.x = 'abs'; sp.mode.y = 'abs'; sp.mode.z = 'abs'; sp.mode.yaw = 'abs';
        sp.position.set(m.pos); sp.velocity.set(m.vel); sp.acceleration.set(m.acc);
        const [qx, qy, qz, qw] = m.quat;
        sp.attitudeDeg[2] = Math.atan2(2 * (qw * qz + qx * qy), 1 - 2 * (qy * qy + qz * qz)) * D;
        break;
      }
      case 'cppm': return;
      case 'notifySetpointsStop':
        this.counters.notifyStops++; this.event('notifySetpointsStop', String(m.remainValidMs));
        // relax the priority so the high-level commander can take over
        if (this.priority === PRIO_CRTP) this.priority = PRIO_DISABLE;
        return;
      default:
        if (m.kind.startsWith('hl')) { this.handleHl(m); }
        return;
    }
    const finite = (a: Float64Array): boolean => Number.isFinite(a[0]!) && Number.isFinite(a[1]!) && Number.isFinite(a[2]!);
    if (!finite(sp.position) || !finite(sp.velocity) || !finite(sp.acceleration) || !finite(sp.attitudeDeg) || !finite(sp.rateDegS)) {
      this.counters.decodeErrors++; // the real firmware would fly into the weeds; the simulator refuses NaN/Inf setpoints
      return;
    }
    this.counters.setpoints++;
    this.lastSetpointKind = m.kind;
    if (!this.armed || this.emergencyStopped || this.tumbled) { sp.motorsOff = true; }
    if (m.kind !== 'stop' && m.kind !== 'rpyt' && m.kind !== 'manual') this.thrustLocked = false;
    this.setSetpoint(sp, PRIO_CRTP);
  }

  private setSetpoint(sp: Setpoint, prio: number): boolean {
    if (prio < this.priority) return false;
    copySetpoint(this.current, sp);
    this.priority = prio;
    this.spTimestampMs = this.simMs;
    if (this.wdtLevel !== 0 && prio === PRIO_CRTP) this.wdtLevel = 0;
    if (prio === PRIO_CRTP) this.planner.reset();
    return true;
  }

  private hlReply(m: UplinkMessage, cmd: number, errno: number): void {
    const tx = this.tx;
    tx[0] = crtpHeader(CrtpPort.SETPOINT_HL, 0, 0);
    tx[1] = cmd; tx[2] = 0; tx[3] = 0; tx[4] = errno;
    void m;
    this.emit(5);
  }

  private handleHl(m: UplinkMessage): void {
    this.counters.hlCommands++;
    const s = this.physics.state;
    const now = this.simMs / 1000;
    const st = { pos: s.pos, vel: s.vel, yawRad: s.rpy[2]! };
    const busy = this.priority > PRIO_HIGHLEVEL;
    switch (m.kind) {
      case 'hlTakeoff': case 'hlTakeoffWithVelocity': {
        const h = m.height;
        const yaw = m.useCurrentYaw ? s.rpy[2]! : m.yaw;
        const z = 'velocity' in m && m.heightIsRelative ? s.pos[2]! + h : h;
        const dur = 'velocity' in m ? Math.abs(z - s.pos[2]!) / Math.max(0.05, m.velocity) : m.duration;
        if (busy || !this.armed || this.emergencyStopped) { this.hlReply(m, 7, busy ? Errno.EBUSY : Errno.EACCES); return; }
        this.planner.reset();
        this.planner.start(now, [s.pos[0]!, s.pos[1]!, z, yaw], dur, st);
        this.event('hl', `takeoff z=${z.toFixed(2)}`);
        this.hlReply(m, 7, 0);
        return;
      }
      case 'hlLand': case 'hlLandWithVelocity': {
        if (busy) { this.hlReply(m, 8, Errno.EBUSY); return; }
        const yaw = m.useCurrentYaw ? (this.planner.state === 'idle' ? s.rpy[2]! : this.planner.ref[3]!) : m.yaw;
        const ref = this.planner.state === 'flying' ? this.planner.ref : s.pos;
        const dur = 'velocity' in m ? Math.abs(s.pos[2]! - m.height) / Math.max(0.05, m.velocity) : m.duration;
        this.planner.start(now, [ref[0]!, ref[1]!, m.height, yaw], dur, st, false, true);
        this.event('hl', 'land');
        this.hlReply(m, 8, 0);
        return;
      }
      case 'hlStop': this.planner.stop(); this.event('hl', 'stop'); this.hlReply(m, 3, 0); return;
      case 'hlGoTo': {
        if (busy) { this.hlReply(m, 12, Errno.EBUSY); return; }
        if (this.planner.state !== 'flying') { this.hlReply(m, 12, Errno.EINVAL); return; }
        const ref = this.planner.ref;
        const goal = m.relative ? [ref[0]! + m.x, ref[1]! + m.y, ref[2]! + m.z, ref[3]! + m.yaw] : [m.x, m.y, m.z, m.yaw];
        this.planner.start(now, goal, m.duration, st, m.linear);
        this.event('hl', `goto ${goal.map((v) => v.toFixed(2)).join(',')}`);
        this.hlReply(m, 12, 0);
        return;
      }
      case 'hlDefineTrajectory': this.hlReply(m, 6, 0); return;
      case 'hlStartTrajectory': this.hlReply(m, 13, Errno.ENOEXEC); return; // trajectory memory not simulated
      default: this.hlReply(m, 0, Errno.EINVAL);
    }
  }

  private recover(): void { this.tumbled = false; this.emergencyStopped = false; this.tumbleMs = 0; }

  // ---------------------------------------------------------------- time
  /** Run the firmware + physics for `seconds` of simulated time. */
  advance(seconds: number): void {
    const dt = this.physics.dtS;
    const n = Math.max(0, Math.round(seconds / dt));
    for (let i = 0; i < n; i++) this.tick(dt);
  }

  private tick(dt: number): void {
    const s = this.physics.state;
    const nowS = this.simMs / 1000;
    // high-level commander produces its setpoint at priority 1
    if (this.planner.evaluate(nowS, this.hlSp)) this.setSetpoint(this.hlSp, PRIO_HIGHLEVEL);
    // setpoint watchdog
    const age = this.simMs - this.spTimestampMs;
    if (age > WDT_SHUTDOWN_MS) {
      if (this.wdtLevel < 2) { this.wdtLevel = 2; this.counters.watchdogShutdown++; this.event('watchdogShutdown'); }
      this.current.motorsOff = true;
      this.priority = PRIO_DISABLE;
      this.thrustLocked = true;
    } else if (age > WDT_STABILIZE_MS && this.wdtLevel < 1) {
      this.wdtLevel = 1;
      this.counters.watchdogStabilize++;
      this.event('watchdogStabilize');
      const c = this.current;
      c.mode.x = 'disable'; c.mode.y = 'disable'; c.mode.roll = 'abs'; c.mode.pitch = 'abs'; c.mode.yaw = 'velocity';
      c.attitudeDeg[0] = 0; c.attitudeDeg[1] = 0; c.rateDegS.fill(0);
      if (c.mode.z === 'velocity') c.velocity[2] = 0;
    }
    // supervisor: tumble detection
    if (!this.current.motorsOff && (Math.abs(s.rpy[0]!) > Math.PI / 3 || Math.abs(s.rpy[1]!) > Math.PI / 3)) {
      this.tumbleMs += dt * 1000;
      if (this.tumbleMs > 500 && !this.tumbled) { this.tumbled = true; this.counters.tumbles++; this.event('tumble'); }
    } else this.tumbleMs = 0;
    const sp = this.current;
    const off = sp.motorsOff || !this.armed || this.emergencyStopped || this.tumbled;
    if (off && !sp.motorsOff) { sp.motorsOff = true; }
    this.physics.step(this.controller.update(sp, s, dt));
    this.tickCount++;
    this.simMs = Math.round(this.tickCount * dt * 1000 * 1000) / 1000;
    // battery: slow drain with thrust, sag under load
    const load = (s.motorN[0]! + s.motorN[1]! + s.motorN[2]! + s.motorN[3]!) / (4 * CF21.maxThrustPerMotorN);
    this.vbat = Math.max(3.0, 4.15 - 0.0005 * this.simMs / 1000 * (0.2 + load) - 0.35 * load);
    this.checkCollisions();
    this.streamLogs();
  }

  private checkCollisions(): void {
    const p = this.physics.state.pos;
    for (let i = 0; i < this.obstacles.length; i++) {
      const hit = clearance(this.obstacles[i]!, p[0]!, p[1]!, p[2]!, CF21.bodyRadiusM) < 0;
      if (hit && !this.inCollision[i]) { this.counters.collisions++; this.event('collision', `obstacle ${i}`); }
      this.inCollision[i] = hit;
    }
  }

  /** Minimum clearance (m) to any obstacle from the current position (Infinity without obstacles). */
  clearance(): number {
    const p = this.physics.state.pos;
    let best = Infinity;
    for (const o of this.obstacles) best = Math.min(best, clearance(o, p[0]!, p[1]!, p[2]!, CF21.bodyRadiusM));
    return best;
  }

  private streamLogs(): void {
    if (this.blocks.size === 0) return;
    const now = this.simMs;
    for (const b of this.blocks.values()) {
      if (!b.running || now < b.nextMs) continue;
      b.nextMs += b.periodMs;
      if (b.nextMs <= now) b.nextMs = now + b.periodMs;
      let i = encodeLogDataHeader(this.tx, b.id, Math.floor(now));
      for (const x of b.vars) i += writeLogValue(this.tx, i, x.fetchAs, x.v.get());
      this.emit(i);
    }
  }
}

// keep tree-shakers honest about helpers used only in some paths
void readU16; void writeF32;
