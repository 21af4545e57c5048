/**
 * Serves a `SimCrazyflie` over UDP (one raw CRTP packet per datagram, cflib udp driver v2 compatible) and runs it in
 * real time (or `speed`× real time). The client address is the sender of the last datagram.
 * Loopback addresses only are accepted by the CLI.
 */
import { createSocket, type Socket } from 'node:dgram';
import type { AddressInfo } from 'node:net';
import { TransportError } from '../../errors.js';
import type { SimCrazyflie } from './firmware.js';

export interface SimServerOptions { host: string; port: number; speed?: number; tickMs?: number }

export class SimUdpServer {
  private sock: Socket | undefined;
  private timer: NodeJS.Timeout | undefined;
  private client: { address: string; port: number } | undefined;
  private lastWall = 0;
  private debt = 0;
  readonly stats = { datagramsIn: 0, datagramsOut: 0, sendErrors: 0, maxLagMs: 0 };

  constructor(readonly sim: SimCrazyflie, private readonly o: SimServerOptions) {}

  get address(): AddressInfo | undefined { return this.sock?.address(); }
  get clientAddress(): string | undefined { return this.client ? `${this.client.address}:${this.client.port}` : undefined; }

  async start(): Promise<AddressInfo> {
    const sock = createSocket({ type: this.o.host.includes(':') ? 'udp6' : 'udp4' });
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      sock.bind(this.o.port, this.o.host, () => { sock.off('error', reject); resolve(); });
    }).catch((e: unknown) => { sock.close(); throw new TransportError(`cannot bind udp://${this.o.host}:${this.o.port}: ${(e as Error).message}`, { cause: e, hint: 'is another simulator running on that port? try --udp 127.0.0.1:0' }); });
    sock.on('error', () => { this.stats.sendErrors++; });
    sock.on('message', (msg, rinfo) => {
      this.stats.datagramsIn++;
      this.client = { address: rinfo.address, port: rinfo.port };
      if (msg.length > 0) this.sim.onPacket(msg, msg.length);
    });
    this.sim.setSink((pkt, len) => {
      const c = this.client;
      if (!c || !this.sock) return;
      this.stats.datagramsOut++;
      try { this.sock.send(Buffer.from(pkt.subarray(0, len)), c.port, c.address, (err) => { if (err) this.stats.sendErrors++; }); } catch { this.stats.sendErrors++; }
    });
    this.sock = sock;
    this.lastWall = performance.now();
    const tick = this.o.tickMs ?? 2;
    const speed = this.o.speed ?? 1;
    this.timer = setInterval(() => {
      const now = performance.now();
      const lag = now - this.lastWall;
      this.stats.maxLagMs = Math.max(this.stats.maxLagMs, lag);
      this.lastWall = now;
      // never catch up more than 20 ms of wall time per tick: fall behind rather than block the event loop
      this.debt = Math.min(this.debt + (lag * speed) / 1000, (20 * speed) / 1000);
      const dt = this.sim.physics.dtS;
      const steps = Math.floor(this.debt / dt);
      if (steps > 0) { this.sim.advance(steps * dt); this.debt -= steps * dt; }
    }, tick);
    return sock.address();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.sim.setSink(undefined);
    const s = this.sock;
    this.sock = undefined;
    if (s) await new Promise<void>((r) => s.close(() => r()));
  }
}
