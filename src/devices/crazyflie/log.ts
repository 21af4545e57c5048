/**
 * Log subsystem client: TOC (v2, cached by CRC) and typed subscriptions. A subscription is one or more log blocks
 * (split at the 26-byte block limit) streamed at `periodMs`; values are decoded into a preallocated Float64Array
 * in subscription order.
 */
import { TransportError } from '../../errors.js';
import type { DownlinkMessage } from '../../protocols/crtp/decode.js';
import { Errno, LogControl, encodeLogCreateBlock, encodeLogDeleteBlock, encodeLogReset, encodeLogStartBlock, encodeLogStopBlock, LOG_MAX_LEN } from '../../protocols/crtp/log.js';
import { logTypeSize, readLogValue } from '../../protocols/crtp/types.js';
import type { CfCore } from './core.js';
import { TypedEmitter } from './emitter.js';
import type { Toc } from './toc.js';

/** Variables the simulator and the firmware both have (autocomplete; any TOC name is accepted). */
export type KnownLogVariable =
  | 'stateEstimate.x' | 'stateEstimate.y' | 'stateEstimate.z' | 'stateEstimate.vx' | 'stateEstimate.vy' | 'stateEstimate.vz'
  | 'stateEstimate.roll' | 'stateEstimate.pitch' | 'stateEstimate.yaw' | 'stateEstimate.qx' | 'stateEstimate.qy' | 'stateEstimate.qz' | 'stateEstimate.qw'
  | 'stabilizer.roll' | 'stabilizer.pitch' | 'stabilizer.yaw' | 'stabilizer.thrust' | 'pm.vbat' | 'pm.state'
  | 'motor.m1' | 'motor.m2' | 'motor.m3' | 'motor.m4' | 'supervisor.info' | 'gyro.x' | 'gyro.y' | 'gyro.z';
export type LogVariable = KnownLogVariable | (string & {});

export class LogSubscription<N extends string = string> extends TypedEmitter<{ data: [LogSubscription<N>] }> {
  /** Latest values in the order of `names`. */
  readonly values: Float64Array;
  /** Firmware timestamp (ms, 24-bit wrapped on the wire; unwrapped here) of the latest complete update. */
  timestampMs = 0;
  /** Local receive time (performance.now()) of the latest update. */
  receivedAt = 0;
  updates = 0;
  private readonly index = new Map<string, number>();
  private wrapBase = 0;
  private lastRaw = -1;
  /** @internal */ readonly blocks: { id: number; first: number; types: number[] }[] = [];

  constructor(readonly names: readonly N[], readonly periodMs: number, private readonly stopFn: (s: LogSubscription<N>) => Promise<void>) {
    super();
    this.values = new Float64Array(names.length);
    names.forEach((n, i) => this.index.set(n, i));
  }

  get(name: N): number { return this.values[this.index.get(name) ?? -1] ?? NaN; }
  toObject(): Record<N, number> {
    const o = {} as Record<N, number>;
    this.names.forEach((n, i) => { o[n] = this.values[i]!; });
    return o;
  }
  /** @internal */
  ingest(blockIdx: number, tsRaw: number, data: Uint8Array, start = 0, end = data.length): void {
    const b = this.blocks[blockIdx]!;
    let off = start;
    for (let i = 0; i < b.types.length; i++) {
      const t = b.types[i]!;
      const sz = logTypeSize(t);
      if (off + sz > end) return;
      this.values[b.first + i] = readLogValue(data, off, t);
      off += sz;
    }
    if (this.lastRaw >= 0 && tsRaw < this.lastRaw && this.lastRaw - tsRaw > 0x800000) this.wrapBase += 0x1000000;
    this.lastRaw = tsRaw;
    this.timestampMs = this.wrapBase + tsRaw;
    this.receivedAt = performance.now();
    if (blockIdx === this.blocks.length - 1) { this.updates++; this.emit('data', this); }
  }
  stop(): Promise<void> { return this.stopFn(this); }
}

export class LogModule {
  toc: Toc | undefined;
  private nextBlockId = 1;
  private readonly byBlock = new Map<number, { sub: LogSubscription<string>; idx: number }>();
  private readonly buf = new Uint8Array(32);

  constructor(private readonly cf: CfCore) {
    cf.onMessage((m) => {
      if (m.kind !== 'logData') return;
      const e = this.byBlock.get(m.blockId);
      if (e) e.sub.ingest(e.idx, m.timestampMs, m.data);
    });
  }

  /**
   * Allocation-free receive path for LOG DATA packets (`[hdr][block][u24 ts][values]`, `len` bytes of `buf`), used by
   * the client's receive loop instead of the generic decoder. Returns false if the block is not ours.
   */
  ingestPacket(buf: Uint8Array, len: number): boolean {
    if (len < 5) return false;
    const e = this.byBlock.get(buf[1]!);
    if (!e) return false;
    e.sub.ingest(e.idx, buf[2]! | (buf[3]! << 8) | (buf[4]! << 16), buf, 5, len);
    return true;
  }

  private async control(len: number, cmd: number, blockId: number): Promise<number> {
    const r = await this.cf.request(this.buf, len,
      (m: DownlinkMessage): m is Extract<DownlinkMessage, { kind: 'logControl' }> => m.kind === 'logControl' && m.cmd === cmd && m.blockId === blockId);
    return r.errno;
  }

  /** Delete every block on the Crazyflie (cflib does this at connect). */
  async reset(): Promise<void> {
    const n = encodeLogReset(this.buf);
    await this.cf.request(this.buf, n, (m: DownlinkMessage): m is Extract<DownlinkMessage, { kind: 'logControl' }> => m.kind === 'logControl' && m.cmd === LogControl.RESET);
    this.byBlock.clear();
  }

  /** Subscribe to TOC variables at `periodMs` (≥ 10 ms). */
  async subscribe<const N extends LogVariable>(names: readonly N[], o: { periodMs?: number } = {}): Promise<LogSubscription<N>> {
    const toc = this.toc;
    if (!toc) throw new TransportError('log TOC not available: connect first');
    const periodMs = Math.max(10, Math.round(o.periodMs ?? 100));
    const items = names.map((n) => {
      const it = toc.get(n);
      if (!it) throw new TypeError(`unknown log variable "${n}" (not in the Crazyflie's log TOC)`);
      return it;
    });
    const sub = new LogSubscription<N>(names, periodMs, (s) => this.unsubscribe(s as unknown as LogSubscription<string>));
    // split into blocks of ≤ 26 bytes and ≤ 9 variables per create packet
    let start = 0;
    while (start < items.length) {
      let bytes = 0;
      let end = start;
      while (end < items.length && end - start < 9 && bytes + logTypeSize(items[end]!.type) <= LOG_MAX_LEN) { bytes += logTypeSize(items[end]!.type); end++; }
      const id = this.nextBlockId++;
      const vars = items.slice(start, end).map((it) => ({ id: it.id, fetchAs: it.type & 0x0f }));
      let errno = await this.control(encodeLogCreateBlock(this.buf, id, vars), LogControl.CREATE_BLOCK_V2, id);
      if (errno === Errno.EEXIST) {
        await this.control(encodeLogDeleteBlock(this.buf, id), LogControl.DELETE_BLOCK, id);
        errno = await this.control(encodeLogCreateBlock(this.buf, id, vars), LogControl.CREATE_BLOCK_V2, id);
      }
      if (errno !== 0) throw new TransportError(`log block ${id} refused by the Crazyflie (errno ${errno})`, { code: 'E_LOG_BLOCK' });
      sub.blocks.push({ id, first: start, types: vars.map((v) => v.fetchAs) });
      this.byBlock.set(id, { sub: sub as unknown as LogSubscription<string>, idx: sub.blocks.length - 1 });
      start = end;
    }
    for (const b of sub.blocks) {
      const errno = await this.control(encodeLogStartBlock(this.buf, b.id, periodMs), LogControl.START_BLOCK_V2, b.id);
      if (errno !== 0) throw new TransportError(`log block ${b.id} could not start (errno ${errno})`, { code: 'E_LOG_BLOCK' });
    }
    return sub;
  }

  private async unsubscribe(sub: LogSubscription<string>): Promise<void> {
    for (const b of sub.blocks) {
      this.byBlock.delete(b.id);
      try {
        await this.control(encodeLogStopBlock(this.buf, b.id), LogControl.STOP_BLOCK, b.id);
        await this.control(encodeLogDeleteBlock(this.buf, b.id), LogControl.DELETE_BLOCK, b.id);
      } catch { /* link gone: nothing to stop */ }
    }
  }
}
