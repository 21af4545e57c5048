import { createSocket, type Socket } from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { isIP, isIPv6 } from 'node:net';
import { TransportError, UsageError } from '../errors.js';
import type { MavlinkTarget } from './mavlink-target.js';
import { SerialTransport } from './serial.js';
import type { Transport } from './transport.js';

/**
 * A byte link for MAVLink frames. `send` never blocks and never throws: a frame that cannot go out is
 * dropped and counted (telemetry is best-effort; the control loop must not wait for a ground station).
 */
export interface MavlinkLink {
  send(frame: Buffer): void;
  onData(cb: (chunk: Buffer) => void): void;
  close(): Promise<void>;
  readonly counters: LinkCounters;
  readonly description: string;
}

export interface LinkCounters {
  framesSent: number;
  bytesSent: number;
  sendErrors: number;
  /** frames dropped because there was nowhere to send them yet (udpin with no peer, serial not open) */
  framesDropped: number;
  bytesReceived: number;
  /** udpin: datagrams ignored because they came from another address than the locked peer, or did not qualify to lock it */
  datagramsRejected: number;
  lastError: string | undefined;
}

/** Decides whether a datagram from a not-yet-trusted sender may become the udpin peer. */
export type PeerGate = (datagram: Buffer) => boolean;

/** udpin default: the datagram holds at least one structurally complete MAVLink frame (v1 or v2). */
export function containsMavlinkFrame(d: Buffer): boolean {
  for (let i = 0; i < d.length; i++) {
    if (d[i] === 0xfd && i + 12 <= d.length) {
      const len = 12 + d[i + 1]! + ((d[i + 2]! & 1) ? 13 : 0);
      if (i + len <= d.length) return true;
    } else if (d[i] === 0xfe && i + 8 <= d.length) {
      if (i + 8 + d[i + 1]! <= d.length) return true;
    }
  }
  return false;
}

function newCounters(): LinkCounters {
  return { framesSent: 0, bytesSent: 0, sendErrors: 0, framesDropped: 0, bytesReceived: 0, datagramsRejected: 0, lastError: undefined };
}

/**
 * UDP: `out` sends to host:port from an ephemeral port; `in` binds host:port and answers one peer,
 * locked to the first sender whose datagram passes the peer gate (a complete MAVLink frame; with a
 * signing key, a frame signed with it — set by the telemetry). Datagrams from any other address are
 * dropped unread, so one stray packet cannot redirect the telemetry. The lock is released only after
 * the peer has been silent for `peerTimeoutMs` (a restarted ground station can pair again).
 */
export class UdpLink implements MavlinkLink {
  readonly counters = newCounters();
  readonly description: string;
  private readonly socket: Socket;
  private peer: { address: string; port: number } | undefined;
  private peerSeenMs = 0;
  private gate: PeerGate = containsMavlinkFrame;
  private dataCb: ((chunk: Buffer) => void) | undefined;
  private closed = false;
  peerTimeoutMs = 30_000;

  private constructor(socket: Socket, readonly target: Extract<MavlinkTarget, { kind: 'udp' }>) {
    this.socket = socket;
    this.description = `${target.mode === 'in' ? 'udpin' : 'udp'}:${target.host}:${target.port}`;
    if (target.mode === 'out') this.peer = { address: target.host, port: target.port };
    socket.on('message', (msg, rinfo) => {
      this.counters.bytesReceived += msg.length;
      if (target.mode === 'in') {
        const now = Date.now();
        const p = this.peer;
        const fromPeer = p !== undefined && p.address === rinfo.address && p.port === rinfo.port;
        if (!fromPeer) {
          const lockFree = p === undefined || now - this.peerSeenMs > this.peerTimeoutMs;
          if (!lockFree || !this.gate(msg)) { this.counters.datagramsRejected++; return; }
          this.peer = { address: rinfo.address, port: rinfo.port };
        }
        this.peerSeenMs = now;
      }
      this.dataCb?.(msg);
    });
    socket.on('error', (e) => { this.counters.sendErrors++; this.counters.lastError = e.message; });
  }

  static async open(target: Extract<MavlinkTarget, { kind: 'udp' }>): Promise<UdpLink> {
    // a ground-station host that does not resolve would drop every datagram without a word: refuse it up front
    if (!isIP(target.host)) {
      try { await lookup(target.host); } catch (e) {
        throw new UsageError(`--mavlink: cannot resolve host "${target.host}" (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
          'give the ground station\'s IP address or a resolvable name, e.g. udp:127.0.0.1:14550');
      }
    }
    const socket = createSocket({ type: isIPv6(target.host) ? 'udp6' : 'udp4', reuseAddr: false });
    await new Promise<void>((resolve, reject) => {
      const onErr = (e: Error): void => reject(new TransportError(`cannot bind MAVLink UDP socket: ${e.message}`, { cause: e, hint: 'is another process using the port?' }));
      socket.once('error', onErr);
      const done = (): void => { socket.off('error', onErr); resolve(); };
      if (target.mode === 'in') socket.bind(target.port, target.host, done);
      else socket.bind(0, done);
    });
    socket.unref();
    return new UdpLink(socket, target);
  }

  /** Local port (for tests and logs). */
  get localPort(): number { return this.socket.address().port; }

  /** udpin: the address telemetry goes to (undefined until a sender qualified). */
  get currentPeer(): { address: string; port: number } | undefined { return this.peer ? { ...this.peer } : undefined; }

  /** udpin: what a new sender must send to become the peer (the telemetry sets "signed with the key"). */
  setPeerGate(gate: PeerGate): void { this.gate = gate; }

  send(frame: Buffer): void {
    const peer = this.peer;
    if (this.closed || !peer) { this.counters.framesDropped++; return; }
    try {
      this.socket.send(frame, peer.port, peer.address, (err) => {
        if (err) { this.counters.sendErrors++; this.counters.lastError = err.message; return; }
        this.counters.framesSent++;
        this.counters.bytesSent += frame.length;
      });
    } catch (e) {
      this.counters.sendErrors++;
      this.counters.lastError = (e as Error).message;
    }
  }

  onData(cb: (chunk: Buffer) => void): void { this.dataCb = cb; }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    return new Promise((resolve) => { try { this.socket.close(() => resolve()); } catch { resolve(); } });
  }
}

/**
 * Serial (UART to a flight controller) over the shared byte seam (`Transport`; `SerialTransport` on serialport by
 * default). Frames are queued (at most 64 KiB: a stalled UART must not grow memory without limit) and written one
 * at a time, as the seam requires. A failed open or a lost device is retried at most once a second, on the next send.
 */
export class SerialLink implements MavlinkLink {
  readonly counters = newCounters();
  readonly description: string;
  private transport: Transport | undefined;
  private opening = false;
  private lastOpenAttemptMs = 0;
  private dataCb: ((chunk: Buffer) => void) | undefined;
  private closed = false;
  private readonly queue: Buffer[] = [];
  private queuedBytes = 0;
  private writing = false;
  private readonly rx = new Uint8Array(4096);

  constructor(
    readonly target: Extract<MavlinkTarget, { kind: 'serial' }>,
    private readonly makeTransport: (t: Extract<MavlinkTarget, { kind: 'serial' }>) => Transport =
      (t) => new SerialTransport({ path: t.path, baudRate: t.baudRate }),
  ) {
    this.description = `serial:${target.path}:${target.baudRate}`;
    this.tryOpen();
  }

  private tryOpen(): void {
    const now = Date.now();
    if (this.closed || this.opening || this.transport || now - this.lastOpenAttemptMs < 1000) return;
    this.lastOpenAttemptMs = now;
    this.opening = true;
    const tr = this.makeTransport(this.target);
    tr.open().then(() => {
      this.opening = false;
      if (this.closed) { void tr.close(); return; }
      this.transport = tr;
      void this.readLoop(tr);
      void this.pump();
    }, (e: unknown) => {
      this.opening = false;
      this.counters.sendErrors++;
      this.counters.lastError = e instanceof Error ? e.message : String(e);
    });
  }

  private lose(tr: Transport, e: unknown): void {
    if (this.transport !== tr) return;
    this.transport = undefined;
    this.counters.lastError = e instanceof Error ? e.message : String(e);
    void tr.close().catch(() => undefined);
  }

  private async readLoop(tr: Transport): Promise<void> {
    while (this.transport === tr) {
      try {
        const n = await tr.read(this.rx, 0, this.rx.length);
        this.counters.bytesReceived += n;
        this.dataCb?.(Buffer.from(this.rx.subarray(0, n)));
      } catch (e) {
        if (!this.closed) this.lose(tr, e);
        return;
      }
    }
  }

  private async pump(): Promise<void> {
    if (this.writing) return;
    this.writing = true;
    try {
      for (let tr = this.transport; tr && this.transport === tr && this.queue.length > 0; tr = this.transport) {
        const frame = this.queue.shift()!;
        this.queuedBytes -= frame.length;
        try {
          await tr.write(frame);
          this.counters.framesSent++;
          this.counters.bytesSent += frame.length;
        } catch (e) {
          this.counters.sendErrors++;
          this.lose(tr, e);
        }
      }
    } finally { this.writing = false; }
  }

  send(frame: Buffer): void {
    if (this.closed || !this.transport) { this.counters.framesDropped++; this.tryOpen(); return; }
    if (this.queuedBytes + frame.length > 64 * 1024) { this.counters.framesDropped++; return; }
    this.queue.push(frame);
    this.queuedBytes += frame.length;
    void this.pump();
  }

  onData(cb: (chunk: Buffer) => void): void { this.dataCb = cb; }

  async close(): Promise<void> {
    this.closed = true;
    const tr = this.transport;
    this.transport = undefined;
    this.queue.length = 0;
    this.queuedBytes = 0;
    if (tr) await tr.close().catch(() => undefined);
  }
}

/** In-memory link for tests: records every frame; `inject()` feeds bytes as if received. */
export class MemoryLink implements MavlinkLink {
  readonly counters = newCounters();
  readonly description = 'memory';
  readonly sent: Buffer[] = [];
  private dataCb: ((chunk: Buffer) => void) | undefined;
  send(frame: Buffer): void {
    this.sent.push(frame);
    this.counters.framesSent++;
    this.counters.bytesSent += frame.length;
  }
  onData(cb: (chunk: Buffer) => void): void { this.dataCb = cb; }
  inject(chunk: Buffer): void { this.counters.bytesReceived += chunk.length; this.dataCb?.(chunk); }
  close(): Promise<void> { return Promise.resolve(); }
}

export async function openMavlinkLink(target: MavlinkTarget): Promise<MavlinkLink | undefined> {
  switch (target.kind) {
    case 'none': return undefined;
    case 'udp': return UdpLink.open(target);
    case 'serial': return new SerialLink(target);
  }
}
