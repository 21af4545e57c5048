import { PassThrough } from 'node:stream';
import {
  MavLinkPacketParser, MavLinkPacketSignature, MavLinkPacketSplitter, MavLinkProtocolV2, common, minimal,
  type MavLinkData, type MavLinkPacket,
} from 'node-mavlink';
import { childLogger } from '../../log.js';
import { FrameSigner, loadSigningKey } from '../../protocols/mavlink/signing.js';
import { openMavlinkLink, UdpLink, type LinkCounters, type MavlinkLink } from '../../links/mavlink.js';
import { parseMavlinkTarget, type MavlinkTarget } from '../../links/mavlink-target.js';

/**
 * What the control loop calls. Every method copies its arguments into preallocated slots and returns:
 * no I/O, no allocation proportional to calls, never throws, never waits. A rate-limited timer (off the
 * control tick) turns the latest values into MAVLink frames.
 */
export interface TelemetrySink {
  /** Latest vehicle state (local frame; see `frame` option). */
  publishState(s: Readonly<StateSample>): void;
  /** The selected plan (first ≤ 5 waypoints are sent). */
  publishPlan(p: Readonly<PlanSample>): void;
  /** Loop statistics, sent as NAMED_VALUE_FLOAT. */
  publishStats(s: Readonly<PlanStatsSample>): void;
  /** A fault: sent as STATUSTEXT (chunked if > 50 chars). Bounded queue; excess is counted, not queued. */
  fault(text: string, severity?: FaultSeverity): void;
}

export interface StateSample {
  /** ms since boot; omitted → the sink's own clock */
  timeBootMs?: number;
  xM: number; yM: number; zM: number;
  vxMps: number; vyMps: number; vzMps: number;
}

export interface PlanSample {
  /** number of valid waypoints in the arrays (≥ 0; only the first 5 are sent) */
  count: number;
  posXM: ArrayLike<number>; posYM: ArrayLike<number>; posZM?: ArrayLike<number>;
  velXMps?: ArrayLike<number>; velYMps?: ArrayLike<number>; velZMps?: ArrayLike<number>;
}

export interface PlanStatsSample {
  latencyP50Us: number;
  latencyP99Us: number;
  deadlineMisses: number;
  candidates: number;
  /** optional extras for the board agent */
  modelSwaps?: number;
  modelRejects?: number;
}

export type FaultSeverity = 'emergency' | 'alert' | 'critical' | 'error' | 'warning' | 'notice' | 'info';

const SEVERITY: Record<FaultSeverity, common.MavSeverity> = {
  emergency: common.MavSeverity.EMERGENCY, alert: common.MavSeverity.ALERT, critical: common.MavSeverity.CRITICAL,
  error: common.MavSeverity.ERROR, warning: common.MavSeverity.WARNING, notice: common.MavSeverity.NOTICE, info: common.MavSeverity.INFO,
};

/** NAMED_VALUE_FLOAT names (≤ 10 chars, MAVLink limit). */
export const STAT_NAMES = ['plan_p50us', 'plan_p99us', 'dl_misses', 'candidates', 'mdl_swaps', 'mdl_reject'] as const;

export const MAV_COMP_ID_ONBOARD_COMPUTER = 191;
const WAYPOINTS = 5;
const FAULT_SLOTS = 16;
const STATUSTEXT_CHUNK = 50;
const UINT16_MAX = 65535;

export interface MavlinkTelemetryOptions {
  sysid?: number;
  compid?: number;
  /** MAVLink 2 signing key (32 bytes) */
  signingKey?: Buffer;
  linkId?: number;
  /** `ned` (default): values are sent as given; `flu` (x fwd, y left, z up, e.g. Crazyflie world): y and z negated */
  frame?: 'ned' | 'flu';
  heartbeatHz?: number;
  stateHz?: number;
  planHz?: number;
  statsHz?: number;
  /** our own TIMESYNC requests (0 = only answer requests) */
  timesyncHz?: number;
  /** injectable clocks for tests */
  nowMs?: () => number;
  nowNs?: () => bigint;
  /** don't start the timer (tests call `flush()` by hand) */
  manual?: boolean;
}

export interface TelemetryCounters extends LinkCounters {
  heartbeats: number;
  faultsSent: number;
  faultsDropped: number;
  timesyncAnswered: number;
  timesyncRttUs: number | undefined;
  rxPackets: number;
  rxRejected: number;
  flushErrors: number;
}

/** A sink that drops everything (telemetry disabled). */
export class NullTelemetrySink implements TelemetrySink {
  publishState(): void {}
  publishPlan(): void {}
  publishStats(): void {}
  fault(): void {}
}

/** Records calls (latest value per kind, every fault) for loop tests. */
export class RecordingTelemetrySink implements TelemetrySink {
  states = 0; plans = 0; statsCount = 0;
  lastState: StateSample | undefined;
  lastStats: PlanStatsSample | undefined;
  readonly faults: string[] = [];
  publishState(s: Readonly<StateSample>): void { this.states++; this.lastState = { ...s }; }
  publishPlan(): void { this.plans++; }
  publishStats(s: Readonly<PlanStatsSample>): void { this.statsCount++; this.lastStats = { ...s }; }
  fault(text: string): void { this.faults.push(text); }
}

/**
 * MAVLink telemetry over a `MavlinkLink`: HEARTBEAT (MAV_TYPE_ONBOARD_CONTROLLER) at 1 Hz, LOCAL_POSITION_NED,
 * TRAJECTORY_REPRESENTATION_WAYPOINTS, NAMED_VALUE_FLOAT, STATUSTEXT, TIMESYNC (answers requests).
 */
export class MavlinkTelemetry implements TelemetrySink {
  private readonly log = childLogger('mavlink');
  private readonly protocol: MavLinkProtocolV2;
  private readonly signer: FrameSigner | undefined;
  private readonly nowMs: () => number;
  private readonly nowNs: () => bigint;
  private readonly bootMs: number;
  private readonly sign: number;
  private seq = 0;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  // ---- preallocated slots (written by the loop, read by the flusher) ----
  private readonly state = new Float64Array(7); // timeBootMs, x, y, z, vx, vy, vz
  private stateDirty = false;
  private stateHasTime = false;
  private readonly plan = new Float32Array(6 * WAYPOINTS); // posX, posY, posZ, velX, velY, velZ
  private planCount = 0;
  private planDirty = false;
  private readonly stats = new Float64Array(STAT_NAMES.length);
  private readonly statsPresent = new Uint8Array(STAT_NAMES.length);
  private statsDirty = false;
  private readonly faultText: string[] = new Array<string>(FAULT_SLOTS).fill('');
  private readonly faultSeverity = new Uint8Array(FAULT_SLOTS);
  private faultHead = 0;
  private faultCount = 0;
  private statusTextId = 0;
  private critical = false;

  // ---- reused message objects ----
  private readonly hb = new minimal.Heartbeat();
  private readonly lpn = new common.LocalPositionNed();
  private readonly traj = new common.TrajectoryRepresentationWaypoints();
  private readonly nvf = new common.NamedValueFloat();
  private readonly st = new common.StatusText();
  private readonly ts = new common.TimeSync();

  private readonly periods: { hb: number; state: number; plan: number; stats: number; timesync: number };
  private readonly due = { hb: 0, state: 0, plan: 0, stats: 0, timesync: 0 };
  private pendingTimesyncNs = -1n;
  private readonly splitter = new MavLinkPacketSplitter();
  private readonly input = new PassThrough();

  readonly counters: TelemetryCounters;

  constructor(readonly link: MavlinkLink, private readonly opts: MavlinkTelemetryOptions = {}) {
    const sysid = opts.sysid ?? 1;
    const compid = opts.compid ?? MAV_COMP_ID_ONBOARD_COMPUTER;
    this.protocol = new MavLinkProtocolV2(sysid, compid, opts.signingKey ? MavLinkProtocolV2.IFLAG_SIGNED : 0);
    this.nowMs = opts.nowMs ?? (() => performance.now());
    this.nowNs = opts.nowNs ?? (() => process.hrtime.bigint());
    this.signer = opts.signingKey ? new FrameSigner(opts.signingKey, opts.linkId ?? 0) : undefined;
    this.sign = opts.frame === 'flu' ? -1 : 1;
    this.bootMs = this.nowMs();
    const period = (hz: number | undefined, dflt: number): number => (hz === 0 ? Infinity : 1000 / (hz ?? dflt));
    this.periods = {
      hb: period(opts.heartbeatHz, 1), state: period(opts.stateHz, 10), plan: period(opts.planHz, 5),
      stats: period(opts.statsHz, 1), timesync: period(opts.timesyncHz, 0.2),
    };
    const lc = link.counters;
    // live view over the link's counters plus our own
    this.counters = {
      get framesSent() { return lc.framesSent; }, get bytesSent() { return lc.bytesSent; },
      get sendErrors() { return lc.sendErrors; }, get framesDropped() { return lc.framesDropped; },
      get bytesReceived() { return lc.bytesReceived; }, get lastError() { return lc.lastError; },
      heartbeats: 0, faultsSent: 0, faultsDropped: 0, timesyncAnswered: 0, timesyncRttUs: undefined,
      rxPackets: 0, rxRejected: 0, flushErrors: 0,
    } as TelemetryCounters;

    this.hb.type = minimal.MavType.ONBOARD_CONTROLLER;
    this.hb.autopilot = minimal.MavAutopilot.INVALID;
    this.hb.baseMode = 0 as minimal.MavModeFlag;
    this.hb.customMode = 0;
    this.hb.mavlinkVersion = 3;

    this.input.pipe(this.splitter).pipe(new MavLinkPacketParser()).on('data', (pkt: MavLinkPacket) => this.onPacket(pkt));
    this.splitter.on('error', () => { this.counters.rxRejected++; });
    link.onData((chunk) => { if (!this.closed) this.input.write(chunk); });
    // udpin: with a key, only a sender whose frame carries a valid signature may become the peer
    const key = opts.signingKey;
    if (key && link instanceof UdpLink) link.setPeerGate((d) => containsFrameSignedWith(d, key));

    if (!opts.manual) {
      const minPeriod = Math.min(this.periods.hb, this.periods.state, this.periods.plan, this.periods.stats, this.periods.timesync, 1000);
      this.timer = setInterval(() => this.flush(), Math.max(10, Math.floor(minPeriod / 2)));
      this.timer.unref();
      setImmediate(() => this.flush());
    }
  }

  // ------------------------------------------------------------------ hot path (loop side)

  publishState(s: Readonly<StateSample>): void {
    const st = this.state;
    this.stateHasTime = s.timeBootMs !== undefined;
    st[0] = s.timeBootMs ?? 0;
    st[1] = s.xM; st[2] = this.sign * s.yM; st[3] = this.sign * s.zM;
    st[4] = s.vxMps; st[5] = this.sign * s.vyMps; st[6] = this.sign * s.vzMps;
    this.stateDirty = true;
  }

  publishPlan(p: Readonly<PlanSample>): void {
    const n = p.count > WAYPOINTS ? WAYPOINTS : p.count > 0 ? p.count | 0 : 0;
    const buf = this.plan;
    buf.fill(NaN);
    const sgn = this.sign;
    for (let i = 0; i < n; i++) {
      buf[i] = p.posXM[i] ?? NaN;
      buf[WAYPOINTS + i] = sgn * (p.posYM[i] ?? NaN);
      if (p.posZM) buf[2 * WAYPOINTS + i] = sgn * (p.posZM[i] ?? NaN);
      if (p.velXMps) buf[3 * WAYPOINTS + i] = p.velXMps[i] ?? NaN;
      if (p.velYMps) buf[4 * WAYPOINTS + i] = sgn * (p.velYMps[i] ?? NaN);
      if (p.velZMps) buf[5 * WAYPOINTS + i] = sgn * (p.velZMps[i] ?? NaN);
    }
    this.planCount = n;
    this.planDirty = true;
  }

  publishStats(s: Readonly<PlanStatsSample>): void {
    const v = this.stats;
    const present = this.statsPresent;
    v[0] = s.latencyP50Us; v[1] = s.latencyP99Us; v[2] = s.deadlineMisses; v[3] = s.candidates;
    present[0] = 1; present[1] = 1; present[2] = 1; present[3] = 1;
    if (s.modelSwaps !== undefined) { v[4] = s.modelSwaps; present[4] = 1; }
    if (s.modelRejects !== undefined) { v[5] = s.modelRejects; present[5] = 1; }
    this.statsDirty = true;
  }

  fault(text: string, severity: FaultSeverity = 'error'): void {
    if (this.faultCount >= FAULT_SLOTS) { this.counters.faultsDropped++; return; }
    const slot = (this.faultHead + this.faultCount) % FAULT_SLOTS;
    this.faultText[slot] = typeof text === 'string' ? text : String(text);
    this.faultSeverity[slot] = SEVERITY[severity] ?? common.MavSeverity.ERROR;
    this.faultCount++;
    if (severity === 'critical' || severity === 'alert' || severity === 'emergency') this.critical = true;
  }

  // ------------------------------------------------------------------ flusher (timer side)

  /** Send whatever is due. Called by the timer; tests may call it directly. Never throws. */
  flush(): void {
    if (this.closed) return;
    try {
      const now = this.nowMs();
      const d = this.due;
      if (now >= d.hb) { d.hb = now + this.periods.hb; this.sendHeartbeat(); }
      while (this.faultCount > 0) this.sendFault();
      if (this.stateDirty && now >= d.state) { d.state = now + this.periods.state; this.sendState(now); }
      if (this.planDirty && now >= d.plan) { d.plan = now + this.periods.plan; this.sendPlan(now); }
      if (this.statsDirty && now >= d.stats) { d.stats = now + this.periods.stats; this.sendStats(now); }
      if (now >= d.timesync && Number.isFinite(this.periods.timesync)) { d.timesync = now + this.periods.timesync; this.sendTimesyncRequest(); }
    } catch (e) {
      this.counters.flushErrors++;
      if (this.counters.flushErrors === 1 || this.counters.flushErrors % 1000 === 0) this.log.warn({ err: e, count: this.counters.flushErrors }, 'telemetry flush failed');
    }
  }

  private timeBootMs(now: number): number {
    return Math.max(0, Math.floor(now - this.bootMs)) >>> 0;
  }

  private emit(msg: MavLinkData): void {
    let frame = this.protocol.serialize(msg, this.seq);
    this.seq = (this.seq + 1) & 0xff;
    if (this.signer) frame = this.signer.sign(frame);
    this.link.send(frame);
  }

  private sendHeartbeat(): void {
    this.hb.systemStatus = this.critical ? minimal.MavState.CRITICAL : minimal.MavState.ACTIVE;
    this.emit(this.hb);
    this.counters.heartbeats++;
  }

  private sendState(now: number): void {
    const s = this.state;
    const m = this.lpn;
    m.timeBootMs = this.stateHasTime ? (s[0]! >>> 0) : this.timeBootMs(now);
    m.x = s[1]!; m.y = s[2]!; m.z = s[3]!; m.vx = s[4]!; m.vy = s[5]!; m.vz = s[6]!;
    this.stateDirty = false;
    this.emit(m);
  }

  private sendPlan(now: number): void {
    const b = this.plan;
    const m = this.traj;
    const slice = (k: number): number[] => Array.from(b.subarray(k * WAYPOINTS, (k + 1) * WAYPOINTS));
    m.timeUsec = BigInt(Math.floor((now - this.bootMs) * 1000));
    m.validPoints = this.planCount;
    m.posX = slice(0); m.posY = slice(1); m.posZ = slice(2);
    m.velX = slice(3); m.velY = slice(4); m.velZ = slice(5);
    const nan = [NaN, NaN, NaN, NaN, NaN];
    m.accX = nan; m.accY = nan; m.accZ = nan; m.posYaw = nan; m.velYaw = nan;
    m.command = [UINT16_MAX, UINT16_MAX, UINT16_MAX, UINT16_MAX, UINT16_MAX] as unknown as common.MavCmd[];
    this.planDirty = false;
    this.emit(m);
  }

  private sendStats(now: number): void {
    const m = this.nvf;
    m.timeBootMs = this.timeBootMs(now);
    for (let i = 0; i < STAT_NAMES.length; i++) {
      if (!this.statsPresent[i]) continue;
      m.name = STAT_NAMES[i]!;
      m.value = this.stats[i]!;
      this.emit(m);
    }
    this.statsDirty = false;
  }

  private sendFault(): void {
    const slot = this.faultHead;
    const text = this.faultText[slot] ?? '';
    const severity = this.faultSeverity[slot]! as common.MavSeverity;
    this.faultText[slot] = '';
    this.faultHead = (this.faultHead + 1) % FAULT_SLOTS;
    this.faultCount--;
    const m = this.st;
    m.severity = severity;
    // MAVLink 2 STATUSTEXT: id ≠ 0 + chunk_seq for texts longer than one 50-char chunk
    const ascii = text.replace(/[^\x20-\x7e]/g, '?');
    const chunks = Math.max(1, Math.ceil(ascii.length / STATUSTEXT_CHUNK));
    if (chunks > 1) this.statusTextId = this.statusTextId >= UINT16_MAX ? 1 : this.statusTextId + 1;
    for (let c = 0; c < Math.min(chunks, 8); c++) {
      m.text = ascii.slice(c * STATUSTEXT_CHUNK, (c + 1) * STATUSTEXT_CHUNK);
      m.id = chunks > 1 ? this.statusTextId : 0;
      m.chunkSeq = c;
      this.emit(m);
    }
    this.counters.faultsSent++;
  }

  private sendTimesyncRequest(): void {
    const m = this.ts;
    this.pendingTimesyncNs = this.nowNs();
    m.tc1 = 0n;
    m.ts1 = this.pendingTimesyncNs;
    m.targetSystem = 0;
    m.targetComponent = 0;
    this.emit(m);
  }

  // ------------------------------------------------------------------ receive side

  private onPacket(pkt: MavLinkPacket): void {
    if (this.closed) return;
    this.counters.rxPackets++;
    const h = pkt.header;
    if (h.sysid === this.protocol.sysid && h.compid === this.protocol.compid) return; // our own echo
    if (this.signer) {
      if (!pkt.signature || !pkt.signature.matches(this.signer.key)) { this.counters.rxRejected++; return; }
    }
    if (h.msgid !== common.TimeSync.MSG_ID) return;
    try {
      const msg = pkt.protocol.data(pkt.payload, common.TimeSync);
      if (msg.tc1 === 0n) {
        // a request: answer only if addressed to us or broadcast
        if (msg.targetSystem !== 0 && msg.targetSystem !== this.protocol.sysid) return;
        const r = this.ts;
        r.tc1 = this.nowNs();
        r.ts1 = msg.ts1;
        r.targetSystem = h.sysid;
        r.targetComponent = h.compid;
        this.emit(r);
        this.counters.timesyncAnswered++;
      } else if (msg.ts1 === this.pendingTimesyncNs) {
        this.counters.timesyncRttUs = Number(this.nowNs() - msg.ts1) / 1000;
        this.pendingTimesyncNs = -1n;
      }
    } catch (e) {
      this.counters.rxRejected++;
      this.log.debug({ err: e }, 'bad TIMESYNC');
    }
  }

  /** Flush what is pending (faults first), then stop the timer and close the link. */
  async close(): Promise<void> {
    if (this.closed) return;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.due.state = 0; this.due.plan = 0; this.due.stats = 0;
    this.flush();
    this.closed = true;
    this.input.end();
    await this.link.close();
  }
}

export interface OpenTelemetryOptions extends Omit<MavlinkTelemetryOptions, 'signingKey'> {
  /** `--mavlink` value; undefined → telemetry off (NullTelemetrySink) */
  target?: string | MavlinkTarget;
  /** `--mavlink-key` file */
  signingKeyFile?: string;
}

export interface OpenedTelemetry {
  sink: TelemetrySink;
  /** undefined when disabled */
  telemetry: MavlinkTelemetry | undefined;
  close(): Promise<void>;
}

/** What `kdp fly|arm|serve` call with their `--mavlink` / `--mavlink-key` flags. */
export async function openTelemetry(o: OpenTelemetryOptions): Promise<OpenedTelemetry> {
  if (o.target === undefined) return { sink: new NullTelemetrySink(), telemetry: undefined, close: () => Promise.resolve() };
  const target = typeof o.target === 'string' ? parseMavlinkTarget(o.target) : o.target;
  const link = await openMavlinkLink(target);
  if (!link) return { sink: new NullTelemetrySink(), telemetry: undefined, close: () => Promise.resolve() };
  const signingKey = o.signingKeyFile ? loadSigningKey(o.signingKeyFile) : undefined;
  const { target: _t, signingKeyFile: _k, ...rest } = o;
  const t = new MavlinkTelemetry(link, { ...rest, ...(signingKey ? { signingKey } : {}) });
  return { sink: t, telemetry: t, close: () => t.close() };
}

/** Does the datagram hold a MAVLink 2 frame whose signature verifies with `key`? */
export function containsFrameSignedWith(d: Buffer, key: Buffer): boolean {
  for (let i = 0; i + 12 <= d.length; i++) {
    if (d[i] !== 0xfd || (d[i + 2]! & 1) === 0) continue;
    const len = 12 + d[i + 1]! + 13;
    if (i + len > d.length) continue;
    try {
      if (new MavLinkPacketSignature(d.subarray(i, i + len)).matches(key)) return true;
    } catch { /* not a frame */ }
  }
  return false;
}
