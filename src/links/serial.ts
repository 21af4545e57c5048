/**
 * `Transport` over a serial line with the `serialport` npm package (native bindings-cpp, or any
 * SerialPort-compatible class such as `SerialPortMock` injected through `portClass`).
 *
 * General purpose (Feetech bus at 1 Mbaud, Crazyflie CPX-UART, …): the baud rate comes from the options,
 * received bytes go into a fixed ring buffer (`rxBufferBytes`) from which `read` copies into the caller's
 * buffer, errors are typed (`TimeoutError`, `DisconnectedError`, `CanceledError`, `TransportError`), and
 * `close()` cancels a pending read. The port is never listed here (SerialPort.list needs udevadm).
 */
import { existsSync, readFileSync, readdirSync, realpathSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { SerialPort } from 'serialport';
import { CanceledError, DisconnectedError, TimeoutError, TransportError } from '../errors.js';
import type { Transport } from './transport.js';

/** The part of serialport's `SerialPort` stream this transport uses. */
export interface SerialPortLike {
  readonly isOpen: boolean;
  open(cb: (err: Error | null) => void): void;
  close(cb?: (err: Error | null) => void): void;
  write(data: Buffer, cb: (err: Error | null | undefined) => void): boolean;
  flush(cb: (err: Error | null) => void): void;
  drain(cb: (err: Error | null) => void): void;
  update(options: { baudRate: number }, cb: (err: Error | null) => void): void;
  on(event: 'data', cb: (data: Buffer) => void): this;
  on(event: 'close', cb: (err?: Error & { disconnected?: boolean }) => void): this;
  on(event: 'error' | 'end', cb: (err?: Error) => void): this;
  removeAllListeners(event?: string): this;
}

export interface SerialTransportOptions {
  path: string;
  baudRate: number;
  /** Receive ring-buffer capacity (oldest bytes are dropped and counted when it overflows). Default 65536. */
  rxBufferBytes?: number;
  /** Exclusive lock on the port (serialport `lock`, default true). */
  lock?: boolean;
  /** Alternative SerialPort class (e.g. `SerialPortMock` from serialport). */
  portClass?: new (options: { path: string; baudRate: number; autoOpen: false; lock?: boolean }) => SerialPortLike;
}

export interface SerialTransportStats {
  rxBytes: number;
  txBytes: number;
  /** Bytes dropped because the ring buffer was full. */
  overrunBytes: number;
}

interface PendingRead {
  buffer: Uint8Array;
  offset: number;
  length: number;
  resolve: (n: number) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout | undefined;
}

export class SerialTransport implements Transport {
  readonly path: string;
  private baud: number;
  private readonly opts: SerialTransportOptions;
  private port: SerialPortLike | undefined;
  private readonly ring: Uint8Array;
  private head = 0;
  private size = 0;
  private pending: PendingRead | undefined;
  private lostError: DisconnectedError | undefined;
  private closing = false;
  readonly stats: SerialTransportStats = { rxBytes: 0, txBytes: 0, overrunBytes: 0 };
  /** Called once when the device goes away (not on `close()`). */
  onDisconnect: ((err: DisconnectedError) => void) | undefined;

  constructor(options: SerialTransportOptions) {
    if (typeof options.path !== 'string' || options.path === '') throw new TypeError(`"path" must be a non-empty string, got ${String(options.path)}`);
    if (!Number.isInteger(options.baudRate) || options.baudRate <= 0) throw new TypeError(`"baudRate" must be a positive integer, got ${String(options.baudRate)}`);
    this.opts = options;
    this.path = options.path;
    this.baud = options.baudRate;
    this.ring = new Uint8Array(options.rxBufferBytes ?? 65536);
  }

  get uri(): string { return `serial://${this.path}?baud=${this.baud}`; }
  get baudRate(): number { return this.baud; }
  get isOpen(): boolean { return this.port !== undefined && this.port.isOpen && !this.lostError && !this.closing; }
  /** Bytes received and not yet read. */
  get available(): number { return this.size; }
  /** Set when the device went away. */
  get disconnected(): DisconnectedError | undefined { return this.lostError; }

  async open(): Promise<void> {
    if (this.isOpen) return;
    const Cls = this.opts.portClass ?? (SerialPort as unknown as NonNullable<SerialTransportOptions['portClass']>);
    const port = new Cls({ path: this.path, baudRate: this.baud, autoOpen: false, lock: this.opts.lock ?? true });
    await new Promise<void>((resolve, reject) => {
      port.open((err) => {
        if (!err) { resolve(); return; }
        const msg = String(err.message);
        const hint = /EACCES|permission/i.test(msg)
          ? `add yourself to the dialout group (sudo usermod -aG dialout $USER) or check the permissions of ${this.path}`
          : /ENOENT|No such file/i.test(msg)
            ? 'run `kdp motors find-port` to find the adapter\'s port'
            : /lock/i.test(msg) ? 'another process has the port open' : undefined;
        reject(new TransportError(`cannot open ${this.path} at ${this.baud} baud: ${msg}`, { cause: err, ...(hint ? { hint } : {}) }));
      });
    });
    this.port = port;
    this.lostError = undefined;
    this.closing = false;
    this.head = 0;
    this.size = 0;
    port.on('data', (chunk: Buffer) => this.onData(chunk));
    port.on('close', (err) => {
      if (err && err.disconnected) this.lose(`${this.path}: device disconnected (${err.message})`);
      else if (!this.closing) this.lose(`${this.path}: port closed`);
    });
    port.on('end', () => { if (!this.closing) this.lose(`${this.path}: end of stream (the other end hung up)`); });
    port.on('error', (err) => { if (!this.closing) this.lose(`${this.path}: ${err?.message ?? 'error'}`); });
  }

  private lose(message: string): void {
    if (this.lostError || this.closing) return;
    const err = new DisconnectedError(message);
    this.lostError = err;
    const p = this.pending;
    if (p) { this.pending = undefined; if (p.timer) clearTimeout(p.timer); p.reject(err); }
    this.onDisconnect?.(err);
  }

  private onData(chunk: Uint8Array): void {
    this.stats.rxBytes += chunk.length;
    const cap = this.ring.length;
    let src = chunk;
    if (src.length > cap) { this.stats.overrunBytes += src.length - cap; src = src.subarray(src.length - cap); }
    const overflow = this.size + src.length - cap;
    if (overflow > 0) { this.head = (this.head + overflow) % cap; this.size -= overflow; this.stats.overrunBytes += overflow; }
    let tail = (this.head + this.size) % cap;
    const first = Math.min(src.length, cap - tail);
    this.ring.set(src.subarray(0, first), tail);
    if (first < src.length) this.ring.set(src.subarray(first), 0);
    this.size += src.length;
    tail = 0;
    const p = this.pending;
    if (p) {
      this.pending = undefined;
      if (p.timer) clearTimeout(p.timer);
      p.resolve(this.take(p.buffer, p.offset, p.length));
    }
  }

  private take(buffer: Uint8Array, offset: number, length: number): number {
    const cap = this.ring.length;
    const n = Math.min(length, this.size);
    const first = Math.min(n, cap - this.head);
    buffer.set(this.ring.subarray(this.head, this.head + first), offset);
    if (first < n) buffer.set(this.ring.subarray(0, n - first), offset + first);
    this.head = (this.head + n) % cap;
    this.size -= n;
    return n;
  }

  /** Resolves with ≥ 1 byte copied into `buffer[offset..offset+length)`. */
  read(buffer: Uint8Array, offset: number, length: number, timeoutMs?: number): Promise<number> {
    if (length <= 0 || offset < 0 || offset + length > buffer.length) {
      return Promise.reject(new RangeError(`read: bad range offset=${offset} length=${length} for a ${buffer.length}-byte buffer`));
    }
    if (this.size > 0) return Promise.resolve(this.take(buffer, offset, length));
    if (this.lostError) return Promise.reject(this.lostError);
    if (this.port && !this.closing && !this.port.isOpen) this.lose(`${this.path}: port closed under us (device gone)`);
    if (this.lostError) return Promise.reject(this.lostError);
    if (!this.port || this.closing || !this.port.isOpen) return Promise.reject(new CanceledError(`read on ${this.path}: transport is closed`));
    if (this.pending) return Promise.reject(new TypeError('read: a read is already pending (one reader at a time)'));
    return new Promise<number>((resolve, reject) => {
      const p: PendingRead = { buffer, offset, length, resolve, reject, timer: undefined };
      if (timeoutMs !== undefined && Number.isFinite(timeoutMs)) {
        // Node runs due timers before polling I/O: after a stall (GC, a starved host) the timeout would fire ahead
        // of bytes that arrived in time. Let the I/O phase run twice (setImmediate) before giving up.
        const expire = (round: number): void => {
          if (this.pending !== p) return;
          if (round < 2) { setImmediate(() => expire(round + 1)); return; }
          this.pending = undefined;
          reject(new TimeoutError(`read on ${this.path}`, timeoutMs));
        };
        p.timer = setTimeout(() => expire(0), Math.max(0, timeoutMs));
      }
      this.pending = p;
    });
  }

  write(data: Uint8Array): Promise<void> {
    if (this.lostError) return Promise.reject(this.lostError);
    const port = this.port;
    if (port && !this.closing && !port.isOpen) this.lose(`${this.path}: port closed under us (device gone)`);
    if (this.lostError) return Promise.reject(this.lostError);
    if (!port || this.closing || !port.isOpen) return Promise.reject(new CanceledError(`write on ${this.path}: transport is closed`));
    const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    return new Promise<void>((resolve, reject) => {
      port.write(buf, (err) => {
        if (err) {
          reject(this.lostError ?? ((err as { canceled?: boolean }).canceled ? new CanceledError() : new DisconnectedError(`write on ${this.path} failed: ${err.message}`)));
          return;
        }
        this.stats.txBytes += data.byteLength;
        resolve();
      });
    });
  }

  /** Wait until the OS has sent everything written (tcdrain). */
  drain(): Promise<void> {
    const port = this.port;
    if (!port || !port.isOpen) return Promise.resolve();
    return new Promise((resolve, reject) => port.drain((err) => (err ? reject(new TransportError(`drain ${this.path}: ${err.message}`, { cause: err })) : resolve())));
  }

  /**
   * Drop bytes received but not read. Input only: serialport's own `flush()` is tcflush(TCIOFLUSH), which would
   * also discard written bytes still queued for transmission (a SYNC_WRITE followed at once by the next
   * transaction would be lost). Bytes still in the OS input queue arrive later and are the reader's to skip.
   */
  async flush(): Promise<void> {
    this.head = 0;
    this.size = 0;
  }

  /** tcflush(TCIOFLUSH): drop the OS input AND output queues (e.g. after a baud change). */
  async flushOs(): Promise<void> {
    this.head = 0;
    this.size = 0;
    const port = this.port;
    if (!port || !port.isOpen || this.lostError) return;
    await new Promise<void>((resolve) => port.flush(() => resolve()));
    this.head = 0;
    this.size = 0;
  }

  /** Change the baud rate of the open port. */
  async setBaudRate(baudRate: number): Promise<void> {
    if (!Number.isInteger(baudRate) || baudRate <= 0) throw new TypeError(`"baudRate" must be a positive integer, got ${baudRate}`);
    const port = this.port;
    if (port && port.isOpen) {
      await new Promise<void>((resolve, reject) => port.update({ baudRate }, (err) => (err ? reject(new TransportError(`cannot set ${this.path} to ${baudRate} baud: ${err.message}`, { cause: err })) : resolve())));
    }
    this.baud = baudRate;
  }

  /** Idempotent; rejects a pending read with `CanceledError`. */
  async close(): Promise<void> {
    const port = this.port;
    if (!port || this.closing) return;
    this.closing = true;
    const p = this.pending;
    if (p) { this.pending = undefined; if (p.timer) clearTimeout(p.timer); p.reject(new CanceledError(`read on ${this.path} canceled: transport closed`)); }
    if (port.isOpen) await new Promise<void>((resolve) => port.close(() => resolve()));
    port.removeAllListeners();
    this.port = undefined;
    this.size = 0;
    this.head = 0;
  }
}

// ---------------------------------------------------------------------------------------------
// Port discovery without udevadm (SerialPort.list shells out to `udevadm info -e`, missing on many boards)

export interface SerialPortEntry {
  /** Stable name when available (/dev/serial/by-id/...), else the device node. */
  path: string;
  /** Device node (/dev/ttyACM0). */
  device: string;
  /** /dev/serial/by-id names pointing at this device. */
  byId: string[];
  /** USB vendor:product from sysfs, when known. */
  usbId?: string;
  product?: string;
}

const PORT_PATTERNS = [/^ttyACM\d+$/, /^ttyUSB\d+$/, /^ttyAMA\d+$/, /^ttyTHS\d+$/, /^ttyGS\d+$/, /^ttyXRUSB\d+$/, /^rfcomm\d+$/, /^tty\.usb/, /^cu\.usb/, /^tty\.wchusbserial/, /^cu\.wchusbserial/, /^tty\.SLAB/, /^cu\.SLAB/];

/**
 * Serial ports present, by scanning `devDir` (default /dev): USB-serial adapters (ttyACM*, ttyUSB*), board UARTs
 * (ttyAMA* on the Pi, ttyTHS* on Jetson), macOS tty./cu.usb*, plus /dev/serial/by-id links. `all` adds ttyS*.
 */
export function listSerialPorts(options: { devDir?: string; sysDir?: string; all?: boolean } = {}): SerialPortEntry[] {
  const devDir = options.devDir ?? '/dev';
  const sysDir = options.sysDir ?? '/sys/class/tty';
  const names = safeReaddir(devDir).filter((n) => PORT_PATTERNS.some((re) => re.test(n)) || (options.all === true && /^ttyS\d+$/.test(n)));
  const byIdDir = join(devDir, 'serial', 'by-id');
  const links = new Map<string, string[]>();
  for (const l of safeReaddir(byIdDir)) {
    const full = join(byIdDir, l);
    let target: string;
    try { target = realpathSync(full); } catch { continue; }
    const dev = join(devDir, basename(target));
    links.set(dev, [...(links.get(dev) ?? []), full]);
  }
  const out: SerialPortEntry[] = [];
  for (const n of names.sort(naturalCompare)) {
    const device = join(devDir, n);
    const byId = links.get(device) ?? [];
    const e: SerialPortEntry = { path: byId[0] ?? device, device, byId };
    const usb = usbInfo(join(sysDir, n));
    if (usb.usbId) e.usbId = usb.usbId;
    if (usb.product) e.product = usb.product;
    out.push(e);
  }
  return out;
}

function usbInfo(ttySys: string): { usbId?: string; product?: string } {
  try {
    let dir = realpathSync(join(ttySys, 'device'));
    for (let k = 0; k < 6 && dir !== '/'; k++, dir = dirname(dir)) {
      if (existsSync(join(dir, 'idVendor'))) {
        const v = readFileSync(join(dir, 'idVendor'), 'utf8').trim();
        const p = readFileSync(join(dir, 'idProduct'), 'utf8').trim();
        const prod = existsSync(join(dir, 'product')) ? readFileSync(join(dir, 'product'), 'utf8').trim() : undefined;
        return { usbId: `${v}:${p}`, ...(prod ? { product: prod } : {}) };
      }
    }
  } catch { /* not a USB device, or no sysfs */ }
  return {};
}

function safeReaddir(dir: string): string[] {
  try { return readdirSync(dir); } catch { return []; }
}

function naturalCompare(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}
