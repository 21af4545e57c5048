/**
 * The Crazyflie client (cflib anchor: link by URI → `Crazyflie` object with a module per subsystem).
 *
 *   const cf = new Crazyflie();
 *   await cf.connect('udp://127.0.0.1:19850');           // or radio://0/80/2M/E7E7E7E7E7, usb://0, serial://…
 *   const st = await cf.log.subscribe(['stateEstimate.x', 'stateEstimate.y', 'stateEstimate.z'], { periodMs: 20 });
 *   await cf.highLevel.takeoff(0.5, 2);
 *   cf.commander.setPosition(1, 0, 0.5);                 // streamed at ≥ 10 Hz until changed
 *   cf.on('linkLost', (e) => …);                         // reported within 100 ms of silence
 *   await cf.close();                                    // stop setpoint + notify-setpoint-stop, then the link closes
 *
 * Connection sequence (cflib order, plus a link echo first): link echo → LINK source ("Bitcraze Crazyflie") →
 * platform protocol version → log reset + log TOC (CRC cache on disk) → param TOC (CRC cache) → `connected` →
 * all param values → `fullyConnected`.
 *
 * Link-loss detection: every received packet refreshes `lastRxAt`; when nothing arrived for `keepaliveMs` a link
 * echo is sent (the firmware answers it); silence longer than `linkTimeoutMs` (default 60 ms, checked every 5 ms)
 * or a link error (radio: ACKs missing; UDP: datagram refused) → `linkLost`. Periodic paths never throw.
 */
import { CanceledError, DisconnectedError, TimeoutError, TransportError } from '../../errors.js';
import { decodeDownlink, type DownlinkMessage } from '../../protocols/crtp/decode.js';
import type { CrtpLink, LinkStats } from '../../links/crtp-link.js';
import { encodeTocInfo, encodeTocItem } from '../../protocols/crtp/log.js';
import { CrtpPort } from '../../protocols/crtp/packet.js';
import { encodeNotifySetpointsStop, encodeStopSetpoint } from '../../protocols/crtp/commander.js';
import { LINK_SOURCE_MAGIC, encodeGetProtocolVersion, encodeLinkEcho, encodeLinkSource } from '../../protocols/crtp/service.js';
import { createCrtpLink, type OpenLinkOptions } from '../../links/crtp-uri.js';
import { Commander, type FailsafeEvent, type FailsafeOptions } from './commander.js';
import type { CfCore } from './core.js';
import { TypedEmitter } from './emitter.js';
import { HighLevelCommander } from './high-level.js';
import { LogModule } from './log.js';
import { ParamModule } from './param.js';
import { Toc, TocCache, defaultTocCacheDir, type TocItem } from './toc.js';

export type CrazyflieState = 'disconnected' | 'initialized' | 'connected' | 'setupFinished' | 'lost';

export interface LinkLostInfo { uri: string; reason: string; silentMs: number; detectedAt: number; lastRxAt: number }

export interface CrazyflieEvents extends Record<string, unknown[]> {
  linkEstablished: [{ uri: string }];
  connected: [{ uri: string; protocolVersion: number; logVariables: number; params: number; tocFromCache: { log: boolean; param: boolean } }];
  fullyConnected: [{ uri: string; connectMs: number }];
  linkQuality: [number, Readonly<LinkStats>];
  linkLost: [LinkLostInfo];
  disconnected: [{ uri: string }];
  console: [string];
  failsafe: [FailsafeEvent];
  message: [DownlinkMessage];
}

export interface CrazyflieOptions {
  /** Directory of the TOC cache (`null` disables; default ~/.cache/kdp/crazyflie-toc or $KDP_CF_CACHE). */
  cacheDir?: string | null;
  /** Silence longer than this → `linkLost` (ms). */
  linkTimeoutMs?: number;
  /** Send a link echo when nothing was received for this long (ms). */
  keepaliveMs?: number;
  /** Read every param value at connect (cflib "fully connected"); default true. */
  fetchParams?: boolean;
  /** Setpoint stream rate (Hz, ≥ 10). */
  commanderRateHz?: number;
  failsafe?: Partial<FailsafeOptions>;
  /** Injected devices/transports for radio://, usb://, serial://. */
  link?: OpenLinkOptions;
  requestTimeoutMs?: number;
  requestRetries?: number;
}

interface Pending { match: (m: DownlinkMessage) => boolean; resolve: (m: DownlinkMessage) => void; reject: (e: Error) => void; timer: NodeJS.Timeout | undefined; packet: Uint8Array; retriesLeft: number; timeoutMs: number }

export class Crazyflie extends TypedEmitter<CrazyflieEvents> implements CfCore {
  state: CrazyflieState = 'disconnected';
  uri = '';
  protocolVersion = -1;
  readonly log: LogModule;
  readonly param: ParamModule;
  readonly commander: Commander;
  readonly highLevel: HighLevelCommander;
  /** Counters: packets, decode errors, keepalives. */
  readonly stats = { rx: 0, tx: 0, decodeErrors: 0, keepalives: 0, sendFailures: 0 };
  lastRxAt = 0;
  private link: CrtpLink | undefined;
  private readonly opts: Required<Omit<CrazyflieOptions, 'failsafe' | 'link' | 'cacheDir'>> & { cacheDir: string | null };
  private readonly handlers = new Set<(m: DownlinkMessage) => void>();
  private readonly pending = new Set<Pending>();
  private rxLoopDone: Promise<void> = Promise.resolve();
  private watchdog: NodeJS.Timeout | undefined;
  private readonly kaBuf = new Uint8Array(4);
  private kaLen = 0;
  private lostReported = false;
  private readonly position = new Float64Array([NaN, NaN, NaN]);
  private readonly linkOpts: OpenLinkOptions;

  constructor(o: CrazyflieOptions = {}) {
    super();
    this.opts = {
      cacheDir: o.cacheDir === undefined ? defaultTocCacheDir() : o.cacheDir,
      linkTimeoutMs: o.linkTimeoutMs ?? 60,
      keepaliveMs: o.keepaliveMs ?? 15,
      fetchParams: o.fetchParams ?? true,
      commanderRateHz: o.commanderRateHz ?? 50,
      requestTimeoutMs: o.requestTimeoutMs ?? 150,
      requestRetries: o.requestRetries ?? 5,
    };
    this.linkOpts = o.link ?? {};
    this.log = new LogModule(this);
    this.param = new ParamModule(this);
    this.commander = new Commander(this, { rateHz: this.opts.commanderRateHz, ...(o.failsafe ? { failsafe: o.failsafe } : {}), positionSource: () => this.position });
    this.commander.on('failsafe', (e) => this.emit('failsafe', e));
    this.highLevel = new HighLevelCommander(this, this.commander);
    this.kaLen = encodeLinkEcho(this.kaBuf);
  }

  get connectedLink(): boolean { return this.link !== undefined && (this.state === 'connected' || this.state === 'setupFinished' || this.state === 'initialized'); }
  get linkStats(): Readonly<LinkStats> | undefined { return this.link?.stats; }
  /** Last known position (from any log subscription containing stateEstimate.x/y/z), NaN if unknown. */
  get lastPosition(): Readonly<Float64Array> { return this.position; }

  onMessage(fn: (m: DownlinkMessage) => void): () => void { this.handlers.add(fn); return () => this.handlers.delete(fn); }

  async send(packet: Uint8Array, len: number): Promise<boolean> {
    const link = this.link;
    if (!link || this.state === 'lost' || this.state === 'disconnected') return false;
    try {
      await link.send(len === packet.length ? packet : packet.subarray(0, len));
      this.stats.tx++;
      return true;
    } catch { this.stats.sendFailures++; return false; }
  }

  request<T extends DownlinkMessage>(packet: Uint8Array, len: number, match: (m: DownlinkMessage) => m is T, o: { timeoutMs?: number; retries?: number } = {}): Promise<T> {
    if (!this.link || this.state === 'lost' || this.state === 'disconnected') return Promise.reject(new DisconnectedError('not connected', 'call connect() first'));
    const copy = packet.slice(0, len);
    return new Promise<T>((resolve, reject) => {
      const p: Pending = { match, resolve: resolve as (m: DownlinkMessage) => void, reject, timer: undefined, packet: copy, retriesLeft: o.retries ?? this.opts.requestRetries, timeoutMs: o.timeoutMs ?? this.opts.requestTimeoutMs };
      const arm = (): void => {
        p.timer = setTimeout(() => {
          if (p.retriesLeft-- > 0) { void this.send(p.packet, p.packet.length); arm(); return; }
          this.pending.delete(p);
          reject(new TimeoutError(`no reply from the Crazyflie to ${Buffer.from(copy).toString('hex')}`, p.timeoutMs, 'is it powered and in range?'));
        }, p.timeoutMs);
      };
      this.pending.add(p);
      arm();
      void this.send(copy, copy.length);
    });
  }

  /** Open the link for `uri` (or use `link`) and run the connection sequence. */
  async connect(uriOrLink: string | CrtpLink): Promise<void> {
    if (this.state !== 'disconnected') throw new TransportError(`already ${this.state}`, { code: 'E_ALREADY_CONNECTED', hint: 'close() first' });
    const t0 = performance.now();
    const link = typeof uriOrLink === 'string' ? await createCrtpLink(uriOrLink, this.linkOpts) : uriOrLink;
    this.uri = link.uri;
    link.setListener({
      linkError: (e) => this.lose(e.message.split('\n')[0] ?? e.message),
      linkQuality: (q, s) => { this.emit('linkQuality', q, s); this.commander.linkQuality(q); },
    });
    if (!link.isOpen) await link.open();
    this.link = link;
    this.state = 'initialized';
    this.lostReported = false;
    this.lastRxAt = performance.now();
    this.rxLoopDone = this.rxLoop(link);
    try {
      await this.setup(t0);
    } catch (e) {
      await this.teardown(false);
      throw e;
    }
  }

  private async setup(t0: number): Promise<void> {
    const buf = new Uint8Array(32);
    // 1. link echo
    const echo = encodeLinkEcho(buf, Uint8Array.of(0x6b, 0x64, 0x70));
    await this.request(buf, echo, (m: DownlinkMessage): m is Extract<DownlinkMessage, { kind: 'linkEcho' }> => m.kind === 'linkEcho' && m.data.length === 3 && m.data[0] === 0x6b, { retries: 10 });
    this.emit('linkEstablished', { uri: this.uri });
    // 2. protocol version (cflib: LINK source magic first)
    const src = await this.request(buf, encodeLinkSource(buf), (m: DownlinkMessage): m is Extract<DownlinkMessage, { kind: 'linkSource' }> => m.kind === 'linkSource');
    if (src.text.startsWith(LINK_SOURCE_MAGIC)) {
      const v = await this.request(buf, encodeGetProtocolVersion(buf), (m: DownlinkMessage): m is Extract<DownlinkMessage, { kind: 'platformVersion' }> => m.kind === 'platformVersion' && m.cmd === 0);
      this.protocolVersion = v.version;
    } else this.protocolVersion = -1;
    if (this.protocolVersion < 4) throw new TransportError(`Crazyflie protocol version ${this.protocolVersion} is too old (TOC v2 needs ≥ 4)`, { code: 'E_PROTOCOL_VERSION', hint: 'update the Crazyflie firmware' });
    // 3. log reset + TOCs
    await this.log.reset();
    const cache = new TocCache(this.opts.cacheDir);
    const log = await this.fetchToc(CrtpPort.LOGGING, cache);
    this.log.toc = log.toc;
    const param = await this.fetchToc(CrtpPort.PARAM, cache);
    this.param.toc = param.toc;
    this.state = 'connected';
    this.emit('connected', { uri: this.uri, protocolVersion: this.protocolVersion, logVariables: log.toc.size, params: param.toc.size, tocFromCache: { log: log.cached, param: param.cached } });
    if (this.opts.fetchParams) await this.param.readAll();
    this.state = 'setupFinished';
    this.startWatchdog();
    this.emit('fullyConnected', { uri: this.uri, connectMs: performance.now() - t0 });
  }

  private async fetchToc(port: number, cache: TocCache): Promise<{ toc: Toc; cached: boolean }> {
    const buf = new Uint8Array(32);
    const kind = port === CrtpPort.LOGGING ? 'log' : 'param';
    const info = await this.request(buf, encodeTocInfo(buf, port), (m: DownlinkMessage): m is Extract<DownlinkMessage, { kind: 'tocInfo' }> => m.kind === 'tocInfo' && m.port === port);
    const hit = cache.load(kind, info.crc, info.count);
    if (hit) return { toc: new Toc(info.crc, hit), cached: true };
    const items: TocItem[] = [];
    for (let id = 0; id < info.count; id++) {
      const it = await this.request(buf, encodeTocItem(buf, id, port), (m: DownlinkMessage): m is Extract<DownlinkMessage, { kind: 'tocItem' }> => m.kind === 'tocItem' && m.port === port && m.id === id);
      items.push({ id, type: it.type, group: it.group, name: it.name });
    }
    cache.save(kind, info.crc, items);
    return { toc: new Toc(info.crc, items), cached: false };
  }

  private async rxLoop(link: CrtpLink): Promise<void> {
    const buf = new Uint8Array(64);
    for (;;) {
      let n: number;
      try { n = await link.receive(buf, 50); } catch (e) {
        if (!(e instanceof CanceledError) && this.link === link) this.lose(String((e as Error).message).split('\n')[0] ?? 'link error');
        return;
      }
      if (this.link !== link) return;
      if (n === 0) continue;
      this.lastRxAt = performance.now();
      this.stats.rx++;
      // hot path: log data for our subscriptions goes straight into their preallocated arrays (no decode objects)
      if ((buf[0]! & 0xf3) === 0x52 && n <= 31 && this.log.ingestPacket(buf, n)) { this.trackPosition(); continue; }
      let m: DownlinkMessage;
      try { m = decodeDownlink(buf, n); } catch { this.stats.decodeErrors++; continue; }
      this.dispatch(m);
    }
  }

  private dispatch(m: DownlinkMessage): void {
    if (m.kind === 'console') this.emit('console', m.text);
    for (const p of this.pending) {
      let ok = false;
      try { ok = p.match(m); } catch { ok = false; }
      if (ok) { if (p.timer) clearTimeout(p.timer); this.pending.delete(p); p.resolve(m); break; }
    }
    for (const h of this.handlers) { try { h(m); } catch { /* handlers never break the loop */ } }
    if (m.kind === 'logData') this.trackPosition();
    this.emit('message', m);
  }

  private trackPosition(): void {
    const s = this.positionSub;
    if (!s) return;
    this.position[0] = s.get('stateEstimate.x'); this.position[1] = s.get('stateEstimate.y'); this.position[2] = s.get('stateEstimate.z');
  }
  private positionSub: { get(n: string): number } | undefined;
  /** @internal used by `subscribeState`: where the failsafe hover takes the current position from */
  trackPositionFrom(sub: { get(n: string): number }): void { this.positionSub = sub; }

  /** Convenience: the state estimate the planning loop needs, streamed at `periodMs` (position, velocity, battery). */
  async subscribeState(periodMs = 20) {
    const sub = await this.log.subscribe(['stateEstimate.x', 'stateEstimate.y', 'stateEstimate.z', 'stateEstimate.vx', 'stateEstimate.vy', 'stateEstimate.vz', 'stateEstimate.yaw', 'pm.vbat'] as const, { periodMs });
    this.trackPositionFrom(sub as unknown as { get(n: string): number });
    return sub;
  }

  private startWatchdog(): void {
    if (this.watchdog) return;
    this.watchdog = setInterval(() => {
      try {
        const now = performance.now();
        const silent = now - this.lastRxAt;
        if (silent > this.opts.linkTimeoutMs) { this.lose(`no packet from the Crazyflie for ${Math.round(silent)} ms`); return; }
        if (silent >= this.opts.keepaliveMs && this.link) { this.stats.keepalives++; void this.send(this.kaBuf, this.kaLen); }
      } catch { /* never throw from the watchdog */ }
    }, 5);
  }

  private lose(reason: string): void {
    if (this.lostReported || this.state === 'disconnected') return;
    this.lostReported = true;
    const now = performance.now();
    const info: LinkLostInfo = { uri: this.uri, reason, silentMs: now - this.lastRxAt, detectedAt: now, lastRxAt: this.lastRxAt };
    const wasSetup = this.state === 'setupFinished' || this.state === 'connected';
    this.state = 'lost';
    this.commander.dispose();
    for (const p of this.pending) { if (p.timer) clearTimeout(p.timer); p.reject(new DisconnectedError(`link lost: ${reason}`)); }
    this.pending.clear();
    if (this.watchdog) clearInterval(this.watchdog);
    this.watchdog = undefined;
    if (wasSetup || this.state === 'lost') this.emit('linkLost', info);
    const link = this.link;
    this.link = undefined;
    if (link) void link.close().catch(() => undefined);
  }

  /** Stop setpoint + notify-setpoint-stop, then close the link. Idempotent. */
  async close(): Promise<void> { await this.teardown(true); }

  private async teardown(sendStop: boolean): Promise<void> {
    if (this.watchdog) clearInterval(this.watchdog);
    this.watchdog = undefined;
    this.commander.dispose();
    const link = this.link;
    if (link && sendStop && this.state !== 'lost') {
      const b = new Uint8Array(8);
      try { await link.send(b.subarray(0, encodeStopSetpoint(b))); } catch { /* best effort */ }
      try { await link.send(b.subarray(0, encodeNotifySetpointsStop(b, 0))); } catch { /* best effort */ }
    }
    for (const p of this.pending) { if (p.timer) clearTimeout(p.timer); p.reject(new CanceledError('connection closed')); }
    this.pending.clear();
    this.link = undefined;
    const wasOpen = this.state !== 'disconnected';
    this.state = 'disconnected';
    if (link) { try { await link.close(); } catch { /* ignore */ } }
    await this.rxLoopDone;
    if (wasOpen) this.emit('disconnected', { uri: this.uri });
  }
}

/** cflib-style one-liner. */
export async function connectCrazyflie(uri: string, o: CrazyflieOptions = {}): Promise<Crazyflie> {
  const cf = new Crazyflie(o);
  await cf.connect(uri);
  return cf;
}
