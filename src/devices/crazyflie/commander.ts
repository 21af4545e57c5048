/**
 * Streaming setpoints: the current setpoint lives encoded in a preallocated buffer and is re-sent by a timer at
 * `rateHz` (default 50, never below 10) so the firmware's 500 ms watchdog never fires while the app is alive.
 * Setters encode into that buffer and send at once (no allocation on this path; periodic paths never throw).
 *
 * Failsafe (configurable): if the app stops updating the setpoint for `staleMs` while streaming (planner stalled,
 * process starved) — or `failsafe()` is called, or link quality stays below `minLinkQuality` — the commander holds
 * a position setpoint at the last known position for `hoverMs`, then sends notify-setpoint-stop and lands with the
 * high-level commander. Modes: 'land' (default), 'hover' (hold until updates resume), 'stop' (motors off), 'none'.
 */
import { encodeFullState, encodeHover, encodeManual, encodeNotifySetpointsStop, encodePosition, encodeRpyt, encodeStopSetpoint, encodeVelocityWorld, encodeZDistance, type FullStateSetpoint } from '../../protocols/crtp/commander.js';
import { encodeHlLand } from '../../protocols/crtp/high-level.js';
import type { CfCore } from './core.js';
import { TypedEmitter } from './emitter.js';

export interface FailsafeOptions {
  mode: 'land' | 'hover' | 'stop' | 'none';
  /** No setpoint update for this long while streaming → failsafe. */
  staleMs: number;
  /** Hover time before landing. */
  hoverMs: number;
  landDurationS: number;
  /** Link quality (0..100) below which, sustained for `lowQualityMs`, the failsafe starts; 0 = off. */
  minLinkQuality: number;
  lowQualityMs: number;
}
export const DEFAULT_FAILSAFE: FailsafeOptions = { mode: 'land', staleMs: 500, hoverMs: 1000, landDurationS: 2, minLinkQuality: 0, lowQualityMs: 300 };

export interface FailsafeEvent { stage: 'hover' | 'land' | 'stop' | 'resumed'; reason: string; position: [number, number, number] | undefined }

export class Commander extends TypedEmitter<{ failsafe: [FailsafeEvent] }> {
  readonly failsafeOptions: FailsafeOptions;
  rateHz: number;
  /** Counters for diagnostics (periodic sends, send failures, failsafe activations). */
  readonly stats = { sent: 0, failed: 0, periodic: 0, failsafes: 0 };
  private readonly buf = new Uint8Array(32);
  private len = 0;
  private readonly aux = new Uint8Array(32);
  private timer: NodeJS.Timeout | undefined;
  private lastUpdateAt = 0;
  private stage: 'none' | 'hover' | 'landing' | 'stopped' = 'none';
  private stageAt = 0;
  private lowQualitySince = 0;
  private readonly hold = new Float64Array(3);
  private hasHold = false;
  /** Last position setpoint sent by the app (used as hover point if no state estimate is known). */
  private readonly lastPos = new Float64Array(4);
  private hasLastPos = false;

  constructor(private readonly cf: CfCore, o: { rateHz?: number; failsafe?: Partial<FailsafeOptions>; positionSource?: () => ArrayLike<number> | undefined } = {}) {
    super();
    this.rateHz = Math.max(10, o.rateHz ?? 50);
    this.failsafeOptions = { ...DEFAULT_FAILSAFE, ...o.failsafe };
    this.positionSource = o.positionSource;
  }
  positionSource: (() => ArrayLike<number> | undefined) | undefined;

  get streaming(): boolean { return this.timer !== undefined; }
  get failsafeStage(): 'none' | 'hover' | 'landing' | 'stopped' { return this.stage; }

  private push(len: number): void {
    this.len = len;
    this.lastUpdateAt = performance.now();
    if (this.stage === 'hover') { this.stage = 'none'; this.emit('failsafe', { stage: 'resumed', reason: 'setpoints resumed', position: undefined }); }
    if (this.stage === 'none') this.sendCurrent();
    this.ensureTimer();
  }

  private sendCurrent(): void {
    if (this.len === 0) return;
    this.cf.send(this.buf, this.len).then((ok) => { if (ok) this.stats.sent++; else this.stats.failed++; }, () => { this.stats.failed++; });
  }

  private ensureTimer(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.tick(), 1000 / this.rateHz);
  }

  private tick(): void {
    try {
      const now = performance.now();
      const fs = this.failsafeOptions;
      if (this.stage === 'none') {
        if (fs.mode !== 'none' && now - this.lastUpdateAt > fs.staleMs) { this.enterFailsafe(`no setpoint update for ${Math.round(now - this.lastUpdateAt)} ms`); return; }
        this.stats.periodic++;
        this.sendCurrent();
      } else if (this.stage === 'hover') {
        this.stats.periodic++;
        this.sendCurrent();
        if (fs.mode === 'land' && now - this.stageAt >= fs.hoverMs) this.land('failsafe hover elapsed');
      } else if (this.stage === 'stopped') {
        this.stats.periodic++;
        this.sendCurrent();
      }
    } catch { this.stats.failed++; }
  }

  /** Report the link quality (the Crazyflie object forwards its link's reports). */
  linkQuality(q: number): void {
    const fs = this.failsafeOptions;
    if (fs.minLinkQuality <= 0 || !this.streaming || this.stage !== 'none') return;
    const now = performance.now();
    if (q >= fs.minLinkQuality) { this.lowQualitySince = 0; return; }
    if (this.lowQualitySince === 0) this.lowQualitySince = now;
    else if (now - this.lowQualitySince >= fs.lowQualityMs) this.enterFailsafe(`link quality ${q} < ${fs.minLinkQuality}`);
  }

  /** Start the failsafe now (e.g. the planning loop missed its deadline badly). */
  failsafe(reason = 'requested'): void { this.enterFailsafe(reason); }

  private holdPoint(): [number, number, number] | undefined {
    const p = this.positionSource?.();
    if (p && p.length >= 3 && Number.isFinite(p[0]!) && Number.isFinite(p[2]!)) { this.hold[0] = p[0]!; this.hold[1] = p[1]!; this.hold[2] = p[2]!; this.hasHold = true; }
    else if (this.hasLastPos) { this.hold[0] = this.lastPos[0]!; this.hold[1] = this.lastPos[1]!; this.hold[2] = this.lastPos[2]!; this.hasHold = true; }
    return this.hasHold ? [this.hold[0]!, this.hold[1]!, this.hold[2]!] : undefined;
  }

  private enterFailsafe(reason: string): void {
    if (this.stage !== 'none') return;
    const fs = this.failsafeOptions;
    this.stats.failsafes++;
    this.stageAt = performance.now();
    const at = this.holdPoint();
    if (fs.mode === 'stop' || (!at && fs.mode !== 'none')) {
      this.len = encodeStopSetpoint(this.buf);
      this.stage = 'stopped';
      this.sendCurrent();
      this.emit('failsafe', { stage: 'stop', reason: at ? reason : `${reason}; no position known → stop`, position: at });
      return;
    }
    if (!at) return;
    this.len = encodePosition(this.buf, at[0], at[1], at[2], this.hasLastPos ? this.lastPos[3]! : 0);
    this.stage = 'hover';
    this.sendCurrent();
    this.ensureTimer();
    this.emit('failsafe', { stage: 'hover', reason, position: at });
  }

  private land(reason: string): void {
    const at = this.holdPoint();
    this.stage = 'landing';
    this.clearTimer();
    const n = encodeNotifySetpointsStop(this.aux, 0);
    void this.cf.send(this.aux, n).then(() => {
      const k = encodeHlLand(this.aux, 0, this.failsafeOptions.landDurationS, null);
      return this.cf.send(this.aux, k);
    }).catch(() => { this.stats.failed++; });
    this.emit('failsafe', { stage: 'land', reason, position: at });
  }

  private clearTimer(): void { if (this.timer) clearInterval(this.timer); this.timer = undefined; }

  // ---- setpoint setters (cflib Commander equivalents; units in the names) ----
  /** Absolute position (m) and yaw (deg). */
  setPosition(x: number, y: number, z: number, yawDeg = 0): void {
    this.lastPos[0] = x; this.lastPos[1] = y; this.lastPos[2] = z; this.lastPos[3] = yawDeg; this.hasLastPos = true;
    this.push(encodePosition(this.buf, x, y, z, yawDeg));
  }
  setVelocityWorld(vxMps: number, vyMps: number, vzMps: number, yawRateDegS = 0): void {
    this.push(encodeVelocityWorld(this.buf, vxMps, vyMps, vzMps, yawRateDegS, this.cf.protocolVersion));
  }
  setHover(vxMps: number, vyMps: number, yawRateDegS: number, zM: number): void {
    this.push(encodeHover(this.buf, vxMps, vyMps, yawRateDegS, zM, this.cf.protocolVersion));
  }
  setZDistance(rollDeg: number, pitchDeg: number, yawRateDegS: number, zM: number): void {
    this.push(encodeZDistance(this.buf, rollDeg, pitchDeg, yawRateDegS, zM, this.cf.protocolVersion));
  }
  setFullState(s: FullStateSetpoint): void {
    this.lastPos[0] = s.x; this.lastPos[1] = s.y; this.lastPos[2] = s.z; this.hasLastPos = true;
    this.push(encodeFullState(this.buf, s));
  }
  /** Legacy RPYT; thrust is clamped to 0..65535 (the firmware needs one thrust 0 first: `unlockThrust`). */
  setRpyt(rollDeg: number, pitchDeg: number, yawRateDegS: number, thrust: number): void {
    const t = thrust > 0xffff ? 0xffff : thrust > 0 ? Math.trunc(thrust) : 0;
    this.push(encodeRpyt(this.buf, rollDeg, pitchDeg, yawRateDegS, t));
  }
  setManual(rollDeg: number, pitchDeg: number, yawRateDegS: number, thrustPercent: number, rate = false): void {
    const p = thrustPercent > 100 ? 100 : thrustPercent > 0 ? thrustPercent : 0;
    this.push(encodeManual(this.buf, rollDeg, pitchDeg, yawRateDegS, p, rate));
  }

  /** Thrust unlock: one all-zero legacy setpoint (cflib `send_setpoint(0, 0, 0, 0)`). Does not start streaming. */
  async unlockThrust(): Promise<boolean> { return this.cf.send(this.aux, encodeRpyt(this.aux, 0, 0, 0, 0)); }

  /** Stop streaming; optionally tell the firmware so the high-level commander can take over at once. */
  async stopStreaming(o: { notify?: boolean; remainValidMs?: number } = {}): Promise<void> {
    this.clearTimer();
    this.len = 0;
    if (this.stage !== 'landing') this.stage = 'none';
    if (o.notify ?? true) await this.cf.send(this.aux, encodeNotifySetpointsStop(this.aux, o.remainValidMs ?? 0));
  }

  /** Motors off now (generic stop setpoint) and stop streaming. */
  async sendStop(): Promise<boolean> {
    this.clearTimer();
    this.len = 0;
    this.stage = 'none';
    return this.cf.send(this.aux, encodeStopSetpoint(this.aux));
  }

  /** Clear a latched failsafe (after a failsafe landing, setters do nothing until this is called). */
  resetFailsafe(): void { if (this.stage !== 'none') { this.stage = 'none'; this.emit('failsafe', { stage: 'resumed', reason: 'reset', position: undefined }); } }

  /** @internal teardown without sending anything */
  dispose(): void { this.clearTimer(); this.len = 0; }
}
