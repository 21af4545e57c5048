/**
 * `udp://host:port` CRTP link: one raw CRTP packet (header + payload) per datagram, as cflib's udp driver v2
 * (no checksum, connected socket). Used against `kdp sim crazyflie`.
 * A refused datagram (ICMP port unreachable → ECONNREFUSED on the connected socket) is reported as a link
 * error at once; silence is detected by the client's own watchdog.
 */
import { createSocket, type Socket } from 'node:dgram';
import { CanceledError, DisconnectedError, TransportError } from '../errors.js';
import { emptyStats, PacketQueue, type CrtpLink, type CrtpLinkListener, type LinkStats } from './crtp-link.js';

export interface UdpLinkOptions { host: string; port: number; rxQueue?: number }

export function parseUdpUri(uri: string): UdpLinkOptions {
  const m = /^udp:\/\/\[?([^\]/]+?)\]?:(\d+)\/?$/.exec(uri);
  if (!m) throw new TypeError(`"uri" must look like udp://127.0.0.1:19850, got "${uri}"`);
  const port = Number(m[2]);
  if (!(port > 0 && port < 65536)) throw new TypeError(`UDP port out of range in "${uri}"`);
  return { host: m[1]!, port };
}

export class UdpLink implements CrtpLink {
  readonly uri: string;
  readonly needsResending = false;
  private socket: Socket | undefined;
  private readonly queue: PacketQueue;
  private listener: Partial<CrtpLinkListener> | undefined;
  private readonly sendRing: Uint8Array[] = Array.from({ length: 16 }, () => new Uint8Array(32));
  private sendIdx = 0;
  private readonly s: LinkStats = emptyStats();
  private failed = false;

  constructor(private readonly opts: UdpLinkOptions) {
    this.uri = `udp://${opts.host}:${opts.port}`;
    this.queue = new PacketQueue(opts.rxQueue ?? 256, 64);
  }

  get isOpen(): boolean { return this.socket !== undefined; }
  get stats(): Readonly<LinkStats> { this.s.rxOverruns = this.queue.overruns; return this.s; }
  setListener(l: Partial<CrtpLinkListener> | undefined): void { this.listener = l; }

  async open(): Promise<void> {
    if (this.socket) return;
    const sock = createSocket({ type: this.opts.host.includes(':') ? 'udp6' : 'udp4' });
    this.queue.reset();
    this.failed = false;
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      sock.connect(this.opts.port, this.opts.host, () => { sock.off('error', reject); resolve(); });
    }).catch((e: unknown) => { sock.close(); throw new TransportError(`cannot open ${this.uri}: ${(e as Error).message}`, { cause: e }); });
    sock.on('message', (msg) => {
      if (msg.length === 0) return;
      this.s.rxPackets++;
      this.queue.push(msg, msg.length);
    });
    sock.on('error', (e: NodeJS.ErrnoException) => this.fail(e));
    this.socket = sock;
  }

  private fail(e: NodeJS.ErrnoException): void {
    if (this.failed) return;
    this.failed = true;
    this.s.quality = 0;
    const err = new DisconnectedError(`${this.uri}: ${e.code === 'ECONNREFUSED' ? 'nobody is listening (datagram refused)' : e.message}`,
      'is `kdp sim crazyflie` (or the UDP bridge) running on that port?');
    this.queue.fail(err);
    this.listener?.linkError?.(err);
  }

  /** Queue one packet for sending (copied into a preallocated slot; never throws for a closed or failed link). */
  send(packet: Uint8Array): Promise<void> {
    const sock = this.socket;
    if (!sock || this.failed) return Promise.resolve();
    const slot = this.sendRing[this.sendIdx]!;
    this.sendIdx = (this.sendIdx + 1) % this.sendRing.length;
    const n = Math.min(packet.length, slot.length);
    slot.set(packet.length <= slot.length ? packet : packet.subarray(0, n));
    this.s.txPackets++;
    return new Promise((resolve) => {
      try {
        sock.send(slot, 0, n, (err) => { if (err) this.fail(err as NodeJS.ErrnoException); resolve(); });
      } catch (e) { this.fail(e as NodeJS.ErrnoException); resolve(); }
    });
  }

  receive(buffer: Uint8Array, timeoutMs: number): Promise<number> {
    if (!this.socket && !this.failed) return Promise.reject(new CanceledError());
    return this.queue.receive(buffer, timeoutMs);
  }

  async close(): Promise<void> {
    const sock = this.socket;
    if (!sock) return;
    this.socket = undefined;
    this.queue.fail(new CanceledError());
    await new Promise<void>((resolve) => { try { sock.close(() => resolve()); } catch { resolve(); } });
  }
}
