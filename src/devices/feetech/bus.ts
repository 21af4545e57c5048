/**
 * `FeetechBus`: Feetech STS/SCS servos on a half-duplex serial bus (1 Mbaud by default) over a `Transport`.
 *
 * - Every transaction flushes the input, sends one instruction from a preallocated buffer and scans the reply
 *   with `scanFrame` (resync on FF FF, id/length/checksum checked); garbage and corrupt frames are skipped and
 *   counted in `stats`.
 * - Half-duplex adapters that read back what they send: the first frame after a TX that is byte-identical
 *   to it is dropped (`echo: 'auto'`, default); broadcast instructions (id 0xFE) never parse as status.
 * - Timeouts and retries: `timeoutMs` per attempt, `retries` more attempts on timeout / corrupt replies.
 *   A disconnect is reported at once (`DisconnectedError`); error bits in a status packet raise
 *   `MotorFaultError` (never retried: a fault is a fault).
 * - `syncRead`/`syncWrite` work on caller-owned typed arrays and allocate nothing per call besides the promise.
 */
import { ProtocolError, TimeoutError } from '../../errors.js';
import type { Transport } from '../../links/transport.js';
import type { RegisterName, RegisterSpec } from '../../protocols/feetech/control-table.js';
import { BROADCAST_ID, Instruction, STS_CONTROL_TABLE } from '../../protocols/feetech/control-table.js';
import { readRegister } from '../../protocols/feetech/encoding.js';
import { MotorFaultError, faultOf } from '../../protocols/feetech/errors.js';
import type { ServoFault } from '../../protocols/feetech/errors.js';
import {
  FRAME_OK, encodePacket, encodePing, encodeRead, encodeSyncRead, encodeSyncWrite, encodeWriteRegister, newFrameView, newScanStats, scanFrame,
} from '../../protocols/feetech/packet.js';
import type { FrameView, ScanStats } from '../../protocols/feetech/packet.js';

export interface FeetechBusOptions {
  transport: Transport;
  /** Time allowed for one attempt's reply (ms). Default 20 (a 6-servo SYNC_READ takes < 1 ms at 1 Mbaud). */
  timeoutMs?: number;
  /** Extra attempts after a timeout or a corrupt reply. Default 2 (lerobot's num_read_retries for the SO follower). */
  retries?: number;
  /** Half-duplex echo handling. Default 'auto'. */
  echo?: 'auto' | 'never';
  /** Joint names by id, for messages. */
  names?: Record<number, string>;
  /** Servos answer WRITE with a status (Response_Status_Level = 1, the default). */
  writeStatus?: boolean;
}

export interface FeetechBusStats extends ScanStats {
  transactions: number;
  timeouts: number;
  retries: number;
  echoesSkipped: number;
  /** Valid status frames from an id we were not waiting for. */
  unexpectedIds: number;
}

/** Register or raw block for sync reads/writes. */
export type RegisterRef = RegisterName | RegisterSpec;

function specOf(reg: RegisterRef): RegisterSpec {
  return typeof reg === 'string' ? STS_CONTROL_TABLE[reg] : reg;
}

export class FeetechBus {
  readonly transport: Transport;
  timeoutMs: number;
  retries: number;
  readonly echo: 'auto' | 'never';
  readonly writeStatus: boolean;
  readonly names: Record<number, string>;
  readonly stats: FeetechBusStats = { garbageBytes: 0, badFrames: 0, checksumErrors: 0, transactions: 0, timeouts: 0, retries: 0, echoesSkipped: 0, unexpectedIds: 0 };
  /** Last status error byte per id (0..253). */
  readonly lastError = new Uint8Array(256);

  private readonly tx = new Uint8Array(256);
  private txLen = 0;
  private readonly rx = new Uint8Array(2048);
  private rxStart = 0;
  private rxEnd = 0;
  private readonly view: FrameView = newFrameView();
  private readonly faults: ServoFault[] = [];
  private busy = false;

  constructor(options: FeetechBusOptions) {
    this.transport = options.transport;
    this.timeoutMs = options.timeoutMs ?? 20;
    this.retries = options.retries ?? 2;
    this.echo = options.echo ?? 'auto';
    this.writeStatus = options.writeStatus ?? true;
    this.names = options.names ?? {};
  }

  get isOpen(): boolean { return this.transport.isOpen; }

  async open(): Promise<void> {
    if (!this.transport.isOpen) await this.transport.open();
  }

  async close(): Promise<void> {
    await this.transport.close();
  }

  // ------------------------------------------------------------------ low level

  private async send(): Promise<void> {
    this.rxStart = 0;
    this.rxEnd = 0;
    await this.transport.flush();
    await this.transport.write(this.tx.subarray(0, this.txLen));
    this.stats.transactions++;
  }

  /** Next status frame from `expectId` (or any id if -1) into `this.view`; skips echoes, garbage and other ids. */
  private async receive(expectId: number, deadline: number, echoPossible: boolean): Promise<void> {
    const rx = this.rx;
    const view = this.view;
    let first = echoPossible && this.echo === 'auto';
    let heldEcho = false;
    for (;;) {
      if (scanFrame(rx, this.rxStart, this.rxEnd, view, 'status', this.stats) === FRAME_OK) {
        this.rxStart = view.start + view.length;
        if (first) {
          first = false;
          const identical = view.length === this.txLen && this.sameAsTx(view.start);
          if (identical && this.adapterEchoes !== false) {
            // Either the adapter's echo or a reply that happens to be byte-identical (PING with the voltage bit
            // set is: ff ff id 02 01 chk). Hold it: a later frame proves it was an echo; none → it was the reply.
            heldEcho = true;
            continue;
          }
          if (!identical) this.noEchoEvidence++;
        }
        if (expectId >= 0 && view.id !== expectId) { this.stats.unexpectedIds++; continue; }
        if (heldEcho) { this.stats.echoesSkipped++; this.echoEvidence++; }
        return;
      }
      this.rxStart = view.start;
      if (this.rxStart > 0 && this.rxEnd > rx.length - 300) {
        rx.copyWithin(0, this.rxStart, this.rxEnd);
        this.rxEnd -= this.rxStart;
        this.rxStart = 0;
      }
      const remaining = deadline - performance.now();
      let n = 0;
      if (remaining > 0) {
        try {
          n = await this.transport.read(rx, this.rxEnd, rx.length - this.rxEnd, remaining);
        } catch (e) {
          if (!(e instanceof TimeoutError)) throw e;
        }
      }
      if (n === 0) {
        if (heldEcho && this.adapterEchoes !== true) {
          // nothing after the identical frame and the adapter is not known to echo: it was the reply
          this.restoreTx();
          return;
        }
        throw new TimeoutError(`feetech: no status from servo ${expectId < 0 ? '(any)' : expectId}${this.label(expectId)}`, this.timeoutMs);
      }
      this.rxEnd += n;
    }
  }

  /** Whether the adapter echoes what we send: true once an echo was followed by a reply, false after 3 replies without one. */
  get adapterEchoes(): boolean | undefined {
    if (this.echoEvidence > 0) return true;
    if (this.noEchoEvidence >= 3) return false;
    return undefined;
  }
  private echoEvidence = 0;
  private noEchoEvidence = 0;

  /** Put the TX bytes (== the held identical frame) at the start of rx and point the view at them. */
  private restoreTx(): void {
    this.rx.set(this.tx.subarray(0, this.txLen), 0);
    this.rxStart = this.txLen;
    this.rxEnd = this.txLen;
    const v = this.view;
    v.start = 0; v.length = this.txLen; v.id = this.tx[2]!; v.code = this.tx[4]!;
    v.paramsStart = 5; v.paramsLength = this.txLen - 6;
  }

  private sameAsTx(start: number): boolean {
    for (let i = 0; i < this.txLen; i++) if (this.rx[start + i] !== this.tx[i]) return false;
    return true;
  }

  private label(id: number): string {
    const n = this.names[id];
    return n ? ` (${n})` : '';
  }

  /** Run `attempt` with retries on timeouts and corrupt replies. */
  private async withRetries<T>(attempt: () => Promise<T>): Promise<T> {
    if (this.busy) throw new TypeError('FeetechBus: one transaction at a time (await the previous call)');
    this.busy = true;
    try {
      for (let k = 0; ; k++) {
        try {
          return await attempt();
        } catch (e) {
          if (e instanceof TimeoutError) this.stats.timeouts++;
          const retriable = e instanceof TimeoutError || (e instanceof ProtocolError);
          if (!retriable || k >= this.retries) throw e;
          this.stats.retries++;
        }
      }
    } finally {
      this.busy = false;
    }
  }

  private checkFaults(): void {
    if (this.faults.length) {
      const f = this.faults.splice(0, this.faults.length);
      throw new MotorFaultError(f);
    }
  }

  private noteStatus(id: number, err: number): void {
    this.lastError[id] = err;
    if (err !== 0) {
      const joint = this.names[id];
      this.faults.push(faultOf(id, err, joint));
    }
  }

  // ------------------------------------------------------------------ instructions

  /** PING one servo; resolves with its status error byte (0 = healthy). */
  async ping(id: number): Promise<number> {
    return this.withRetries(async () => {
      this.txLen = encodePing(this.tx, 0, id);
      await this.send();
      await this.receive(id, performance.now() + this.timeoutMs, true);
      this.lastError[id] = this.view.code;
      return this.view.code;
    });
  }

  /** PING without retries; false on timeout. */
  async probe(id: number, timeoutMs = this.timeoutMs): Promise<boolean> {
    const saved = [this.retries, this.timeoutMs] as const;
    this.retries = 0;
    this.timeoutMs = timeoutMs;
    try { await this.ping(id); return true; } catch (e) {
      if (e instanceof TimeoutError) return false;
      throw e;
    } finally { [this.retries, this.timeoutMs] = saved; }
  }

  /** Broadcast PING: ids of every servo that answers within `windowMs`. */
  async broadcastPing(windowMs = 50): Promise<number[]> {
    if (this.busy) throw new TypeError('FeetechBus: one transaction at a time');
    this.busy = true;
    const found: number[] = [];
    try {
      this.txLen = encodePing(this.tx, 0, BROADCAST_ID);
      await this.send();
      const deadline = performance.now() + windowMs;
      for (;;) {
        try { await this.receive(-1, deadline, false); } catch (e) { if (e instanceof TimeoutError) break; throw e; }
        if (!found.includes(this.view.id)) found.push(this.view.id);
      }
    } finally { this.busy = false; }
    return found.sort((a, b) => a - b);
  }

  /** READ `length` raw bytes at `addr` from one servo into `out[offset..]`. */
  async readBlock(id: number, addr: number, length: number, out: Uint8Array, offset = 0): Promise<void> {
    await this.withRetries(async () => {
      this.txLen = encodeRead(this.tx, 0, id, addr, length);
      await this.send();
      await this.receive(id, performance.now() + this.timeoutMs, true);
      if (this.view.paramsLength !== length) {
        throw new ProtocolError('E_UNEXPECTED_REPLY', `feetech: servo ${id} answered ${this.view.paramsLength} bytes to a ${length}-byte READ`, this.rx.subarray(this.view.start, this.view.start + this.view.length));
      }
      out.set(this.rx.subarray(this.view.paramsStart, this.view.paramsStart + length), offset);
      this.noteStatus(id, this.view.code);
    });
    this.checkFaults();
  }

  private readonly scratch = new Uint8Array(4);

  /** READ one register by name (sign-magnitude decoded). */
  async read(id: number, reg: RegisterRef): Promise<number> {
    const spec = specOf(reg);
    await this.readBlock(id, spec.addr, spec.size, this.scratch, 0);
    return readRegister(this.scratch, 0, spec);
  }

  /** WRITE one register by name. Waits for the status packet unless broadcast or `writeStatus` is false. */
  async write(id: number, reg: RegisterRef, value: number, instr: number = Instruction.WRITE): Promise<void> {
    const spec = specOf(reg);
    const expectReply = id !== BROADCAST_ID && this.writeStatus;
    await this.withRetries(async () => {
      this.txLen = encodeWriteRegister(this.tx, 0, id, spec, value, instr);
      await this.send();
      if (expectReply) {
        // a servo whose ID is being changed may answer with either id
        await this.receive(spec.addr === STS_CONTROL_TABLE.ID.addr ? -1 : id, performance.now() + this.timeoutMs, true);
        this.noteStatus(this.view.id, this.view.code);
      }
    });
    this.checkFaults();
  }

  /** REG_WRITE (buffered until `action()`). */
  regWrite(id: number, reg: RegisterRef, value: number): Promise<void> {
    return this.write(id, reg, value, Instruction.REG_WRITE);
  }

  /** ACTION (broadcast by default): executes buffered REG_WRITEs. */
  async action(id = BROADCAST_ID): Promise<void> {
    await this.simple(id, Instruction.ACTION, id !== BROADCAST_ID && this.writeStatus);
  }

  /** RESET one servo (clears turn count / state; not a factory reset). */
  async reset(id: number): Promise<void> {
    await this.simple(id, Instruction.RESET, id !== BROADCAST_ID);
  }

  private async simple(id: number, instr: number, expectReply: boolean): Promise<void> {
    await this.withRetries(async () => {
      this.txLen = encodePacket(this.tx, 0, id, instr);
      await this.send();
      if (expectReply) {
        await this.receive(id, performance.now() + this.timeoutMs, true);
        this.noteStatus(id, this.view.code);
      }
    });
    this.checkFaults();
  }

  /**
   * SYNC_READ a register (or a raw `{addr, size}` of 1/2 bytes) from `ids[0..n)` into `out[0..n)`,
   * values decoded. Throws `MotorFaultError` if any status carries error bits (after reading all).
   */
  async syncRead(reg: RegisterRef, ids: ArrayLike<number>, out: Int32Array | Float64Array | number[], n = ids.length): Promise<void> {
    const spec = specOf(reg);
    this.decodeSpec = spec;
    this.decodeOut = out;
    try {
      await this.syncReadRaw(spec.addr, spec.size, ids, n, this.decodeInto);
    } finally { this.decodeOut = undefined; }
  }
  private decodeSpec: RegisterSpec = STS_CONTROL_TABLE.Present_Position;
  private decodeOut: Int32Array | Float64Array | number[] | undefined;
  /** Hoisted so a tick allocates no closure. */
  private readonly decodeInto = (i: number, buf: Uint8Array, at: number): void => {
    this.decodeOut![i] = readRegister(buf, at, this.decodeSpec);
  };

  /**
   * SYNC_READ `length` bytes at `addr` from `ids`; for each servo i, `onData(i, rx, offset)` is called with the
   * data's position in the receive buffer (valid only during the call). Allocates nothing but its promises when
   * `onData` is hoisted (no closures: the retry loop is written out here).
   */
  async syncReadRaw(addr: number, length: number, ids: ArrayLike<number>, n: number,
    onData: (index: number, buf: Uint8Array, offset: number) => void): Promise<void> {
    if (this.busy) throw new TypeError('FeetechBus: one transaction at a time (await the previous call)');
    this.busy = true;
    try {
      for (let k = 0; ; k++) {
        try {
          await this.syncReadOnce(addr, length, ids, n, onData);
          break;
        } catch (e) {
          if (e instanceof TimeoutError) this.stats.timeouts++;
          if (!(e instanceof TimeoutError || e instanceof ProtocolError) || k >= this.retries) throw e;
          this.stats.retries++;
        }
      }
    } finally { this.busy = false; }
    this.checkFaults();
  }

  private async syncReadOnce(addr: number, length: number, ids: ArrayLike<number>, n: number,
    onData: (index: number, buf: Uint8Array, offset: number) => void): Promise<void> {
    this.txLen = encodeSyncRead(this.tx, 0, addr, length, ids, n);
    await this.send();
    const deadline = performance.now() + this.timeoutMs;
    this.faults.length = 0;
    for (let i = 0; i < n; i++) {
      const id = ids[i]!;
      await this.receive(id, deadline, false);
      if (this.view.paramsLength !== length) {
        throw new ProtocolError('E_UNEXPECTED_REPLY', `feetech: servo ${id} answered ${this.view.paramsLength} bytes to a ${length}-byte SYNC_READ`, this.rx.subarray(this.view.start, this.view.start + this.view.length));
      }
      this.noteStatus(id, this.view.code);
      onData(i, this.rx, this.view.paramsStart);
    }
  }

  /** SYNC_WRITE one register to `ids[i]` = `values[i]` (no reply). */
  async syncWrite(reg: RegisterRef, ids: ArrayLike<number>, values: ArrayLike<number>, n = ids.length): Promise<void> {
    if (this.busy) throw new TypeError('FeetechBus: one transaction at a time (await the previous call)');
    this.busy = true;
    try {
      this.txLen = encodeSyncWrite(this.tx, 0, reg, ids, values, n);
      await this.send();
    } finally { this.busy = false; }
  }

  /** Torque off on `ids` with one SYNC_WRITE (no reply to wait for; safe to call on a failing bus). */
  async disableTorque(ids: ArrayLike<number>): Promise<void> {
    const zeros = this.zeros.length >= ids.length ? this.zeros : new Uint8Array(ids.length);
    await this.syncWrite('Torque_Enable', ids, zeros, ids.length);
  }
  private readonly zeros = new Uint8Array(16);
}

