/**
 * `serial:///dev/ttyAMA0?baud=576000`: CRTP over CPX on the Crazyflie's UART2 ("cpxOverUART2" forced deck,
 * custom firmware build) — framing in firmware-bridge/crazyflie/README.md. Runs over any byte `Transport`; the URI factory uses the shared
 * `SerialTransport` (src/links/serial.ts, serialport) for real ports.
 *
 * Flow control: a sender needs a clear-to-send token (`FF 00`) before each packet; the receiver answers every
 * packet with `FF 00`. At open the host waits for the CF's `FF 00`, replies `FF 00`, then sends the SYSTEM packets
 * ENABLE_CRTP_BRIDGE and SET_CLIENT_CONNECTED (as cflib does). CRTP travels as CPX function 3, STM32 ↔ HOST.
 */
import { CanceledError, DisconnectedError, TimeoutError, TransportError } from '../errors.js';
import { emptyStats, PacketQueue, type CrtpLink, type CrtpLinkListener, type LinkStats } from './crtp-link.js';
import { CpxFunction, CpxStreamDecoder, CpxSystemCommand, CpxTarget, encodeCpxCts, encodeCpxFrame, type CpxFrame, type CpxRoute } from '../protocols/cpx.js';
import type { Transport } from './transport.js';

export function parseSerialUri(uri: string): { path: string; baudRate: number } {
  const m = /^serial:\/\/([^?]+)(?:\?(.*))?$/.exec(uri);
  if (!m) throw new TypeError(`"uri" must look like serial:///dev/ttyAMA0?baud=576000, got "${uri}"`);
  let path = m[1]!;
  if (!path.startsWith('/')) path = `/dev/${path}`; // cflib style serial://ttyAMA0
  const q = new URLSearchParams(m[2] ?? '');
  const baudRate = Number(q.get('baud') ?? 576000);
  if (!Number.isInteger(baudRate) || baudRate < 9600 || baudRate > 2_000_000) throw new TypeError(`baud must be 9600..2000000, got ${q.get('baud')}`);
  return { path, baudRate };
}

const TO_STM32: CpxRoute = { destination: CpxTarget.STM32, source: CpxTarget.HOST, fn: CpxFunction.CRTP, lastPacket: false };

export interface CpxLinkOptions { syncTimeoutMs?: number }

export class CpxLink implements CrtpLink {
  readonly needsResending = false;
  private readonly rx = new PacketQueue(128, 32);
  private readonly tx = new PacketQueue(64, 32);
  private readonly s: LinkStats = emptyStats();
  private listener: Partial<CrtpLinkListener> | undefined;
  private running = false;
  private credit = false;
  private creditWaiter: (() => void) | undefined;
  private txWaiter: (() => void) | undefined;
  private readonly decoder: CpxStreamDecoder;
  private readonly readBuf = new Uint8Array(256);
  private readonly frameBuf = new Uint8Array(110);
  private readonly ctsBuf = new Uint8Array(2);
  private readonly pktBuf = new Uint8Array(32);
  private loops: Promise<void>[] = [];
  private writeChain: Promise<void> = Promise.resolve();

  constructor(readonly uri: string, private readonly transport: Transport, private readonly o: CpxLinkOptions = {}) {
    this.decoder = new CpxStreamDecoder((f) => this.onFrame(f));
    encodeCpxCts(this.ctsBuf);
  }

  get isOpen(): boolean { return this.running; }
  get stats(): Readonly<LinkStats> { this.s.rxOverruns = this.rx.overruns; return this.s; }
  get checksumErrors(): number { return this.decoder.checksumErrors; }
  setListener(l: Partial<CrtpLinkListener> | undefined): void { this.listener = l; }

  private onFrame(f: CpxFrame): void {
    if (f.kind === 'cts') {
      this.credit = true;
      const w = this.creditWaiter; this.creditWaiter = undefined; w?.();
      return;
    }
    void this.write(this.ctsBuf, 2); // answer every packet with CTS
    if (f.route.fn === CpxFunction.CRTP && f.data.length > 0) { this.s.rxPackets++; this.rx.push(f.data, f.data.length); }
  }

  private write(buf: Uint8Array, len: number): Promise<void> {
    const copy = buf.slice(0, len);
    this.writeChain = this.writeChain.then(() => this.transport.write(copy)).catch((e: unknown) => {
      if (this.running) this.fail(new DisconnectedError(`${this.uri}: write failed: ${(e as Error).message}`));
    });
    return this.writeChain;
  }

  private waitCredit(timeoutMs: number): Promise<boolean> {
    if (this.credit) return Promise.resolve(true);
    return new Promise((resolve) => {
      const t = setTimeout(() => { this.creditWaiter = undefined; resolve(false); }, timeoutMs);
      this.creditWaiter = () => { clearTimeout(t); resolve(true); };
    });
  }

  async open(): Promise<void> {
    if (this.running) return;
    if (!this.transport.isOpen) await this.transport.open();
    this.running = true;
    this.rx.reset();
    this.tx.reset();
    this.loops = [this.reader()];
    const syncMs = this.o.syncTimeoutMs ?? 2000;
    if (!(await this.waitCredit(syncMs))) {
      await this.close();
      throw new TimeoutError(`${this.uri}: no CPX clear-to-send from the Crazyflie`, syncMs, 'is the firmware built with CONFIG_DECK_CPX_HOST_ON_UART2 and DECK_FORCE=cpxOverUART2, and the baud rate right?');
    }
    await this.write(this.ctsBuf, 2);
    this.loops.push(this.writer());
    const sys = (cmd: number): void => {
      const n = encodeCpxFrame(this.frameBuf, { ...TO_STM32, fn: CpxFunction.SYSTEM }, Uint8Array.of(cmd, 1));
      this.tx.push(this.frameBuf, n);
    };
    sys(CpxSystemCommand.ENABLE_CRTP_BRIDGE);
    sys(CpxSystemCommand.SET_CLIENT_CONNECTED);
    this.kick();
  }

  private kick(): void { const w = this.txWaiter; this.txWaiter = undefined; w?.(); }

  /** Frames are queued whole (already CPX-wrapped) and written one per CTS credit. */
  private async writer(): Promise<void> {
    const frame = new Uint8Array(110);
    while (this.running) {
      if (this.tx.size === 0) { await new Promise<void>((r) => { this.txWaiter = r; }); continue; }
      if (!(await this.waitCredit(500))) continue;
      if (!this.running) break;
      const n = this.tx.shift(frame);
      if (n === 0) continue;
      this.credit = false;
      this.s.txPackets++;
      await this.write(frame, n);
    }
  }

  private async reader(): Promise<void> {
    while (this.running) {
      try {
        const n = await this.transport.read(this.readBuf, 0, this.readBuf.length, 100);
        if (n > 0) this.decoder.push(this.readBuf, n);
      } catch (e) {
        if (!this.running || e instanceof CanceledError) break;
        if (e instanceof TimeoutError) continue;
        this.fail(e instanceof DisconnectedError ? e : new DisconnectedError(`${this.uri}: ${(e as Error).message}`));
        break;
      }
    }
  }

  private fail(err: TransportError): void {
    this.running = false;
    this.s.quality = 0;
    this.rx.fail(err);
    this.kick();
    try { this.listener?.linkError?.(err); } catch { /* ignore */ }
  }

  send(packet: Uint8Array): Promise<void> {
    if (!this.running) return Promise.resolve();
    const n = Math.min(packet.length, 31);
    for (let i = 0; i < n; i++) this.pktBuf[i] = packet[i]!;
    const len = encodeCpxFrame(this.frameBuf, TO_STM32, this.pktBuf, n);
    this.tx.push(this.frameBuf, len);
    this.kick();
    return Promise.resolve();
  }

  receive(buffer: Uint8Array, timeoutMs: number): Promise<number> { return this.rx.receive(buffer, timeoutMs); }

  async close(): Promise<void> {
    const end = performance.now() + 200; // let queued frames (stop setpoint) out
    while (this.running && this.tx.size > 0 && performance.now() < end) await new Promise((r) => setTimeout(r, 1));
    await this.writeChain;
    const was = this.running;
    this.running = false;
    this.rx.fail(new CanceledError());
    this.kick();
    const c = this.creditWaiter; this.creditWaiter = undefined; c?.();
    if (was || this.transport.isOpen) { try { await this.transport.close(); } catch { /* ignore */ } }
    await Promise.allSettled(this.loops);
    await this.writeChain;
  }
}

/** Open CPX over a real serial port through the shared SerialTransport (serialport). */
export async function openCpxSerialLink(uri: string, options: CpxLinkOptions = {}): Promise<CpxLink> {
  const { path, baudRate } = parseSerialUri(uri);
  const { SerialTransport } = await import('./serial.js');
  const link = new CpxLink(uri, new SerialTransport({ path, baudRate }), options);
  await link.open();
  return link;
}
