/**
 * `So100Arm`: the SO-100 follower on a `FeetechBus` — what the `kdp arm` loop drives.
 *
 * Per tick: `readState()` (one SYNC_READ of Present_Position, or of the 56..61 block for position + velocity
 * + load) into preallocated `Int32Array`s, then `writeGoals(ticks)` (clamped to the calibrated range and to
 * `maxRelativeTargetTicks` around the present position, one SYNC_WRITE). Nothing is allocated per tick besides
 * the promises.
 *
 * Safety: any servo error bit, a silent bus (timeouts after retries) or a lost port runs `safeStop()`
 * (torque off with SYNC_WRITE, twice, bounded in time) and rejects with `SafetyStopError` saying why (the
 * underlying `MotorFaultError` / `TimeoutError` / `DisconnectedError` is the `cause`). `close()` turns the torque
 * off (lerobot `disable_torque_on_disconnect`) before closing the port.
 */
import { SafetyStopError, TimeoutError, DisconnectedError, KdpError } from '../../errors.js';
import { FeetechBus } from '../feetech/bus.js';
import type { FeetechBusOptions } from '../feetech/bus.js';
import { MODEL_NUMBERS, STS_CONTROL_TABLE } from '../../protocols/feetech/control-table.js';
import { decodeSignMagnitude } from '../../protocols/feetech/encoding.js';
import { MotorFaultError, MotorNotFoundError } from '../../protocols/feetech/errors.js';
import { SerialTransport } from '../../links/serial.js';
import type { So100Calibration } from './calibration.js';
import type { JointName, So100Config } from './config.js';
import { DEFAULT_SO100, JOINTS } from './config.js';

/** Joint-angle convention shared with the simulator: rad = (ticks − 2048) · 2π / 4096. */
export const RAD_PER_TICK = (2 * Math.PI) / 4096;

export interface So100ArmOptions {
  bus: FeetechBus;
  config?: So100Config;
  calibration?: So100Calibration;
}

export interface ConnectOptions extends Omit<FeetechBusOptions, 'transport'> {
  port: string;
  baudRate?: number;
  config?: So100Config;
  calibration?: So100Calibration;
  /** Ping every servo and check its model number (default true). */
  verify?: boolean;
}

export class So100Arm {
  readonly bus: FeetechBus;
  readonly config: So100Config;
  calibration: So100Calibration | undefined;
  readonly ids: Uint8Array;
  readonly positionTicks = new Int32Array(6);
  readonly velocityTicksS = new Int32Array(6);
  /** Present_Load (‰ of max torque, signed). */
  readonly load = new Int32Array(6);
  /** Goals actually sent by the last `writeGoals`. */
  readonly goalTicks = new Int32Array(6);
  private readonly lo = new Int32Array(6);
  private readonly hi = new Int32Array(6);
  /** Set once a safe stop ran; every later tick rejects with it. */
  stopped: SafetyStopError | undefined;
  /** performance.now() of the last good exchange. */
  lastOkMs = performance.now();
  /** ms from the last good exchange to the SafetyStopError (set by the safe stop). */
  stopLatencyMs: number | undefined;
  private readonly onBlock: (i: number, buf: Uint8Array, at: number) => void;

  constructor(options: So100ArmOptions) {
    this.bus = options.bus;
    this.config = options.config ?? DEFAULT_SO100;
    this.ids = Uint8Array.from(JOINTS.map((j) => this.config.ids[j]));
    this.setCalibration(options.calibration);
    const names: Record<number, string> = this.bus.names;
    JOINTS.forEach((j) => { names[this.config.ids[j]] = j; });
    this.onBlock = (i, buf, at) => {
      this.positionTicks[i] = decodeSignMagnitude(buf[at]! | (buf[at + 1]! << 8), 15);
      this.velocityTicksS[i] = decodeSignMagnitude(buf[at + 2]! | (buf[at + 3]! << 8), 15);
      this.load[i] = decodeSignMagnitude(buf[at + 4]! | (buf[at + 5]! << 8), 10);
    };
  }

  /** Open the port, build the bus, and (by default) check that the six servos answer with the right model. */
  static async connect(options: ConnectOptions): Promise<So100Arm> {
    const config = options.config ?? DEFAULT_SO100;
    const transport = new SerialTransport({ path: options.port, baudRate: options.baudRate ?? config.baudRate });
    const bus = new FeetechBus({ timeoutMs: config.busTimeoutMs, retries: config.busRetries, ...options, transport });
    await bus.open();
    const arm = new So100Arm({ bus, config, ...(options.calibration ? { calibration: options.calibration } : {}) });
    if (options.verify ?? true) {
      try { await arm.verify(); } catch (e) { await transport.close(); throw e; }
    }
    return arm;
  }

  setCalibration(cal: So100Calibration | undefined): void {
    this.calibration = cal;
    JOINTS.forEach((j, i) => {
      this.lo[i] = cal ? cal[j].range_min : 0;
      this.hi[i] = cal ? cal[j].range_max : 4095;
    });
  }

  /** Ping every servo and check Model_Number (STS3215 = 777). Throws MotorNotFoundError listing what is wrong. */
  async verify(): Promise<void> {
    const missing: number[] = [];
    const wrong: { id: number; expected: number; found: number }[] = [];
    // connect-time check: generous timeout (a loaded host or a slow adapter), not the per-tick budget
    await this.setup(async () => {
      for (const id of this.ids) {
        try {
          const model = await this.bus.read(id, 'Model_Number');
          if (model !== MODEL_NUMBERS.sts3215) wrong.push({ id, expected: MODEL_NUMBERS.sts3215, found: model });
        } catch (e) {
          if (e instanceof TimeoutError) missing.push(id);
          else if (!(e instanceof MotorFaultError)) throw e;
        }
      }
    });
    const t = this.bus.transport as { path?: string; uri: string };
    if (missing.length || wrong.length) throw new MotorNotFoundError(missing, wrong, t.path ?? t.uri);
    this.lastOkMs = performance.now();
  }

  /**
   * lerobot `configure()`: with torque off, Return_Delay_Time 0, accelerations 254, P/I/D 16/0/32, Operating_Mode 0,
   * gripper torque/current caps; then torque on (and Lock = 1).
   */
  async configure(options: { torque?: boolean } = {}): Promise<void> {
    await this.setup(() => this.configureNow());
    if (options.torque ?? true) await this.enableTorque();
  }

  /**
   * Run connect/configure-time exchanges with a generous timeout (100 ms × 4 attempts): a loaded host or a slow
   * adapter must not fail them; the per-tick budget (config.busTimeoutMs × (busRetries + 1)) stays tight.
   */
  async setup<T>(fn: () => Promise<T>): Promise<T> {
    const saved = [this.bus.timeoutMs, this.bus.retries] as const;
    this.bus.timeoutMs = Math.max(100, saved[0]);
    this.bus.retries = Math.max(3, saved[1]);
    try { return await fn(); } finally { [this.bus.timeoutMs, this.bus.retries] = saved; }
  }

  private async configureNow(): Promise<void> {
    const gripper = this.config.ids.gripper;
    for (const id of this.ids) {
      await this.bus.write(id, 'Torque_Enable', 0);
      await this.bus.write(id, 'Lock', 0);
      await this.bus.write(id, 'Return_Delay_Time', 0);
      await this.bus.write(id, 'Maximum_Acceleration', 254);
      await this.bus.write(id, 'Acceleration', 254);
      await this.bus.write(id, 'Operating_Mode', 0);
      await this.bus.write(id, 'P_Coefficient', 16);
      await this.bus.write(id, 'I_Coefficient', 0);
      await this.bus.write(id, 'D_Coefficient', 32);
      if (id === gripper) {
        await this.bus.write(id, 'Max_Torque_Limit', 500);
        await this.bus.write(id, 'Protection_Current', 250);
        await this.bus.write(id, 'Overload_Torque', 25);
      }
    }
  }

  async enableTorque(): Promise<void> {
    await this.setup(async () => {
      for (const id of this.ids) {
        await this.bus.write(id, 'Torque_Enable', 1);
        await this.bus.write(id, 'Lock', 1);
      }
    });
    this.lastOkMs = performance.now();
  }

  /** Torque off on every joint, confirmed per servo (lerobot retries 5×). */
  async disableTorque(): Promise<void> {
    await this.bus.disableTorque(this.ids);
    const saved = this.bus.retries;
    this.bus.retries = 0;
    try {
      for (const id of this.ids) {
        for (let k = 0; ; k++) {
          try { await this.bus.write(id, 'Torque_Enable', 0); await this.bus.write(id, 'Lock', 0); break; } catch (e) {
            if (e instanceof MotorFaultError) break; // the write went through; the servo reports a fault bit
            if (e instanceof DisconnectedError || k >= 4) throw e;
          }
        }
      }
    } finally { this.bus.retries = saved; }
  }

  /**
   * One SYNC_READ: positions (and, with `full`, velocities and loads: one 6-byte block 56..61).
   * Rejects with SafetyStopError after running the safe stop on any fault or loss of the bus.
   */
  async readState(full = false): Promise<void> {
    if (this.stopped) throw this.stopped;
    try {
      if (full) await this.bus.syncReadRaw(STS_CONTROL_TABLE.Present_Position.addr, 6, this.ids, 6, this.onBlock);
      else await this.bus.syncRead('Present_Position', this.ids, this.positionTicks);
      this.lastOkMs = performance.now();
    } catch (e) {
      throw await this.fail(e);
    }
  }

  /**
   * Clamp `ticks` (JOINTS order) to the calibrated range and to ±maxRelativeTargetTicks around the last read
   * position, SYNC_WRITE them as Goal_Position, and return the goals actually sent (`goalTicks`).
   */
  async writeGoals(ticks: ArrayLike<number>): Promise<Int32Array> {
    if (this.stopped) throw this.stopped;
    const rel = this.config.maxRelativeTargetTicks;
    for (let i = 0; i < 6; i++) {
      let g = Math.round(ticks[i]!);
      if (rel !== undefined) {
        const p = this.positionTicks[i]!;
        if (g > p + rel) g = p + rel; else if (g < p - rel) g = p - rel;
      }
      if (g < this.lo[i]!) g = this.lo[i]!; else if (g > this.hi[i]!) g = this.hi[i]!;
      this.goalTicks[i] = g;
    }
    try {
      await this.bus.syncWrite('Goal_Position', this.ids, this.goalTicks);
    } catch (e) {
      throw await this.fail(e);
    }
    return this.goalTicks;
  }

  /** Joint angles (rad, simulator convention) from the last read. */
  jointsRad(out: Float64Array): Float64Array {
    for (let i = 0; i < 6; i++) out[i] = (this.positionTicks[i]! - 2048) * RAD_PER_TICK;
    return out;
  }

  /** rad → ticks for goals. */
  static ticksFromRad(rad: number): number { return Math.round(2048 + rad / RAD_PER_TICK); }

  private async fail(e: unknown): Promise<SafetyStopError> {
    if (this.stopped) return this.stopped;
    let reason: string;
    if (e instanceof MotorFaultError) reason = e.message;
    else if (e instanceof TimeoutError) reason = `servo bus silent for ${Math.round(performance.now() - this.lastOkMs)} ms (${e.message.split('\n')[0]}): simulator/arm powered off, cable unplugged or wrong baud rate`;
    else if (e instanceof DisconnectedError) reason = `serial port lost: ${e.message.split('\n')[0]}`;
    else if (e instanceof KdpError) reason = e.message.split('\n')[0]!;
    else throw e;
    return this.safeStop(reason, e);
  }

  /**
   * Torque off on every joint (SYNC_WRITE Torque_Enable = 0, sent twice; no reply expected, so a dead bus costs
   * nothing), mark the arm stopped and return the SafetyStopError to throw.
   */
  async safeStop(reason: string, cause?: unknown): Promise<SafetyStopError> {
    if (this.stopped) return this.stopped;
    let torqueOff = 'torque off sent';
    try {
      const deadline = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('timeout')), 20).unref());
      await Promise.race([(async () => { await this.bus.disableTorque(this.ids); await this.bus.disableTorque(this.ids); })(), deadline]);
    } catch {
      torqueOff = 'torque off could not be sent within 20 ms (port gone or host stalled)';
    }
    const err = new SafetyStopError(`${reason}; ${torqueOff}`,
      e2hint(cause));
    if (cause !== undefined) (err as { cause?: unknown }).cause = cause;
    this.stopLatencyMs = performance.now() - this.lastOkMs;
    this.stopped = err;
    return err;
  }

  /**
   * Torque off (unless `keepTorque`), confirmed by reading Torque_Enable back from every servo; retried
   * (SYNC_WRITE off, then read-back of the unconfirmed ones) until `torqueOffTimeoutMs` (default 3 s)
   * runs out, so a bus that stalls for a moment still ends with the torque provably off. Then the
   * port closes. Returns the truth per servo: which ids could not be confirmed off. Idempotent.
   */
  async close(options: { keepTorque?: boolean; torqueOffTimeoutMs?: number } = {}): Promise<TorqueOffReport> {
    if (!this.bus.isOpen) return this.lastTorqueReport ?? { confirmed: options.keepTorque !== true, unconfirmedIds: [], torqueOnIds: [] };
    let report: TorqueOffReport = { confirmed: false, unconfirmedIds: [...this.ids], torqueOnIds: [] };
    if (!options.keepTorque) report = await this.confirmTorqueOff(options.torqueOffTimeoutMs ?? 3000);
    this.lastTorqueReport = report;
    await this.bus.close();
    return report;
  }
  private lastTorqueReport: TorqueOffReport | undefined;
  private readonly torqueByte = new Uint8Array(1);

  /** SYNC_WRITE Torque_Enable = 0 to the unconfirmed ids and read each one back, until all read 0 or time runs out. */
  private async confirmTorqueOff(timeoutMs: number): Promise<TorqueOffReport> {
    const end = performance.now() + timeoutMs;
    const pending = new Set<number>(this.ids);
    const torqueOn = new Set<number>();
    const saved = this.bus.retries;
    this.bus.retries = 0;
    try {
      for (;;) {
        const ids = Array.from(pending);
        try { await this.bus.disableTorque(ids); } catch { /* no reply expected; a dead port shows in the reads */ }
        for (const id of ids) {
          const buf = this.torqueByte;
          buf[0] = 0xff;
          try {
            await this.bus.readBlock(id, STS_CONTROL_TABLE.Torque_Enable.addr, 1, buf, 0);
          } catch (e) {
            // a reply with fault bits (overload latched) still carried the register: judge by the value
            if (e instanceof DisconnectedError) return { confirmed: false, unconfirmedIds: Array.from(pending), torqueOnIds: Array.from(torqueOn) };
            if (!(e instanceof MotorFaultError)) buf[0] = 0xff;
          }
          if (buf[0] === 0) { pending.delete(id); torqueOn.delete(id); } else if (buf[0] === 1) torqueOn.add(id);
        }
        if (pending.size === 0) return { confirmed: true, unconfirmedIds: [], torqueOnIds: [] };
        if (performance.now() >= end) return { confirmed: false, unconfirmedIds: Array.from(pending), torqueOnIds: Array.from(torqueOn) };
        await new Promise((r) => setTimeout(r, 20));
      }
    } finally { this.bus.retries = saved; }
  }
}

/** What `close()` could prove about the torque: `confirmed` only when every servo read Torque_Enable = 0. */
export interface TorqueOffReport {
  confirmed: boolean;
  /** servos whose Torque_Enable could not be read back as 0 (silent, or still on) */
  unconfirmedIds: number[];
  /** of those, the ones that answered Torque_Enable = 1 */
  torqueOnIds: number[];
}

function e2hint(cause: unknown): string | undefined {
  if (cause instanceof KdpError && cause.hint) return cause.hint;
  if (cause instanceof TimeoutError) return 'check power to the servos and the adapter; `kdp motors find-port` lists ports';
  return undefined;
}

export type { JointName };
