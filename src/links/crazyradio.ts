/**
 * Crazyradio PA / 2.0 (PA-compatible USB protocol) (Bitcraze's Crazyradio USB protocol notes).
 *  - `Crazyradio`: the dongle (vendor control requests: channel, address, data rate, power, ARD, ARC, ACK enable,
 *    continuous carrier) and one ESB exchange = one bulk OUT on EP1 then one bulk IN on EP1 (status + ack payload).
 *  - `RadioLink`: a `CrtpLink` for `radio://0/80/2M/E7E7E7E7E7`: a polling loop that strictly alternates OUT/IN,
 *    sends null packets `[0xFF]` when idle (the Crazyflie can only answer in ACK payloads), optional safelink
 *    (toggle bits 3/2 of the header; drops duplicated downlink packets), link quality from ACK/retry statistics,
 *    and "too many packets lost" after 100 consecutive missing ACKs.
 * The device is injected (WebUSB-like); `openRadioLink()` finds a real dongle through the `usb` package.
 */
import { CanceledError, DisconnectedError, TransportError } from '../errors.js';
import { emptyStats, PacketQueue, type CrtpLink, type CrtpLinkListener, type LinkStats } from './crtp-link.js';
import { CRAZYRADIO_PID, CRAZYRADIO_VID, openUsbDevice, type UsbControlSetup, type WebUsbLikeDevice } from './usb-device.js';

export const RadioRequest = {
  SET_RADIO_CHANNEL: 0x01,
  SET_RADIO_ADDRESS: 0x02,
  SET_DATA_RATE: 0x03,
  SET_RADIO_POWER: 0x04,
  SET_RADIO_ARD: 0x05,
  SET_RADIO_ARC: 0x06,
  ACK_ENABLE: 0x10,
  SET_CONT_CARRIER: 0x20,
  SCAN_CHANNELS: 0x21,
  LAUNCH_BOOTLOADER: 0xff,
} as const;
export const DataRate = { DR_250KPS: 0, DR_1MPS: 1, DR_2MPS: 2 } as const;
export const RadioPower = { P_M18DBM: 0, P_M12DBM: 1, P_M6DBM: 2, P_0DBM: 3 } as const;
export const DEFAULT_ADDRESS = Object.freeze([0xe7, 0xe7, 0xe7, 0xe7, 0xe7]);

/** Result of one ESB exchange. `data` is a view into the driver's IN buffer, valid until the next exchange. */
export interface AckStatus { ack: boolean; powerDetector: boolean; retry: number; data: Uint8Array }

export class Crazyradio {
  private readonly inBuf = new Uint8Array(64);
  private readonly ackStatus: AckStatus = { ack: false, powerDetector: false, retry: 0, data: this.inBuf.subarray(1, 1) };
  private current = { channel: -1, dataRate: -1, address: '' };

  constructor(readonly device: WebUsbLikeDevice) {}

  /** bcdDevice as a number, e.g. 0.53. */
  get version(): number {
    return this.device.deviceVersionMajor + this.device.deviceVersionMinor / 10 + (this.device.deviceVersionSubminor ?? 0) / 100;
  }

  /** cflib's initialisation: configuration 1, 2M, channel 2, carrier off, E7×5, 0 dBm, ARC 3, ARD 32 bytes, ACK on. */
  async init(): Promise<void> {
    const d = this.device;
    if (d.vendorId !== CRAZYRADIO_VID || d.productId !== CRAZYRADIO_PID) throw new TransportError('not a Crazyradio (VID:PID mismatch)');
    if (!d.opened) await d.open();
    await d.selectConfiguration(1);
    await d.claimInterface(0);
    if (this.version < 0.4) throw new TransportError(`Crazyradio firmware ${this.version.toFixed(2)} is too old (need ≥ 0.4)`, { hint: 'update the dongle firmware' });
    await this.setDataRate(DataRate.DR_2MPS);
    await this.setChannel(2);
    await this.setContCarrier(false);
    await this.setAddress(Uint8Array.from(DEFAULT_ADDRESS));
    await this.setPower(RadioPower.P_0DBM);
    await this.setArc(3);
    await this.setArdBytes(32);
    await this.setAckEnable(true);
  }

  private async vendor(request: number, value: number, index = 0, data?: Uint8Array): Promise<void> {
    const setup: UsbControlSetup = { requestType: 'vendor', recipient: 'device', request, value, index };
    const r = await this.device.controlTransferOut(setup, data);
    if (r.status !== 'ok') throw new TransportError(`Crazyradio vendor request 0x${request.toString(16)} failed: ${r.status}`);
  }

  async setChannel(channel: number): Promise<void> {
    if (!(Number.isInteger(channel) && channel >= 0 && channel <= 125)) throw new RangeError(`"channel" must be 0..125, got ${channel}`);
    if (this.current.channel === channel) return;
    await this.vendor(RadioRequest.SET_RADIO_CHANNEL, channel);
    this.current.channel = channel;
  }
  async setAddress(address: Uint8Array): Promise<void> {
    if (address.length !== 5) throw new RangeError(`"address" must be 5 bytes, got ${address.length}`);
    const key = Array.from(address).join(',');
    if (this.current.address === key) return;
    await this.vendor(RadioRequest.SET_RADIO_ADDRESS, 0, 0, address);
    this.current.address = key;
  }
  async setDataRate(rate: number): Promise<void> {
    if (this.current.dataRate === rate) return;
    await this.vendor(RadioRequest.SET_DATA_RATE, rate);
    this.current.dataRate = rate;
  }
  async setPower(power: number): Promise<void> { await this.vendor(RadioRequest.SET_RADIO_POWER, power); }
  async setArc(retries: number): Promise<void> { await this.vendor(RadioRequest.SET_RADIO_ARC, retries & 0x0f); }
  /** Retry delay in µs (250..4000, steps of 250). */
  async setArdTime(us: number): Promise<void> {
    const t = Math.max(0, Math.min(0xf, Math.round(us / 250) - 1));
    await this.vendor(RadioRequest.SET_RADIO_ARD, t);
  }
  /** Retry delay long enough for an ACK payload of `nbytes` (cflib uses 32). */
  async setArdBytes(nbytes: number): Promise<void> { await this.vendor(RadioRequest.SET_RADIO_ARD, 0x80 | (nbytes & 0x3f)); }
  async setAckEnable(enable: boolean): Promise<void> { await this.vendor(RadioRequest.ACK_ENABLE, enable ? 1 : 0); }
  async setContCarrier(active: boolean): Promise<void> { await this.vendor(RadioRequest.SET_CONT_CARRIER, active ? 1 : 0); }

  /** One ESB exchange: OUT the packet on EP1, then IN the status + ACK payload. */
  async sendPacket(packet: Uint8Array, len = packet.length): Promise<AckStatus> {
    const out = len === packet.length ? packet : packet.subarray(0, len);
    const w = await this.device.transferOut(1, out);
    if (w.status !== 'ok') throw new TransportError(`Crazyradio OUT failed: ${w.status}`);
    const r = await this.device.transferIn(1, 64);
    const st = this.ackStatus;
    const view = r.data;
    if (r.status !== 'ok' || !view || view.byteLength === 0) {
      st.ack = false; st.powerDetector = false; st.retry = 0; st.data = this.inBuf.subarray(1, 1);
      return st;
    }
    const n = Math.min(view.byteLength, this.inBuf.length);
    for (let i = 0; i < n; i++) this.inBuf[i] = view.getUint8(i);
    const s = this.inBuf[0]!;
    st.ack = (s & 0x01) !== 0;
    st.powerDetector = (s & 0x02) !== 0;
    st.retry = s >> 4;
    st.data = this.inBuf.subarray(1, n);
    return st;
  }

  async close(): Promise<void> {
    try { await this.device.releaseInterface(0); } catch { /* already gone */ }
    try { await this.device.close(); } catch { /* already gone */ }
  }
}

export interface RadioUri { index: number; channel: number; dataRate: number; address: Uint8Array; safelink: boolean }

/** `radio://<index>/<channel>/<250K|1M|2M>/<address hex>[?safelink=0]` (cflib convention; address optional). */
export function parseRadioUri(uri: string): RadioUri {
  const m = /^radio:\/\/(\d+)(?:\/(\d+)(?:\/(250K|1M|2M))?(?:\/([0-9A-Fa-f]{10}))?)?\/?(?:\?(.*))?$/.exec(uri);
  if (!m) throw new TypeError(`"uri" must look like radio://0/80/2M/E7E7E7E7E7, got "${uri}"`);
  const channel = m[2] === undefined ? 2 : Number(m[2]);
  if (channel > 125) throw new TypeError(`radio channel must be 0..125, got ${channel}`);
  const dataRate = m[3] === '250K' ? DataRate.DR_250KPS : m[3] === '1M' ? DataRate.DR_1MPS : DataRate.DR_2MPS;
  const addrHex = m[4] ?? 'E7E7E7E7E7';
  const address = new Uint8Array(5);
  for (let i = 0; i < 5; i++) address[i] = parseInt(addrHex.slice(2 * i, 2 * i + 2), 16);
  const q = new URLSearchParams(m[5] ?? '');
  return { index: Number(m[1]), channel, dataRate, address, safelink: q.get('safelink') !== '0' };
}

export interface RadioLinkOptions {
  /** Consecutive missing ACKs before the link is declared lost (cflib 100). */
  maxLostPackets?: number;
  /** Try to enable safelink at open (default from the URI, true). */
  safelink?: boolean;
  /** Also declare the link lost when no ACK arrived for this long (and ≥ 3 attempts failed), ms. Default 80. */
  lossTimeoutMs?: number;
  /** Poll wait after > 10 empty ACKs, ms (cflib 10). */
  idlePollMs?: number;
  /** Link-quality report period, ms. */
  qualityPeriodMs?: number;
}

/** `CrtpLink` over a Crazyradio. */
export class RadioLink implements CrtpLink {
  readonly uri: string;
  private readonly cfg: RadioUri;
  private readonly radio: Crazyradio;
  private readonly rx = new PacketQueue(128, 32);
  private readonly tx = new PacketQueue(64, 32);
  private readonly txBuf = new Uint8Array(32);
  private readonly nullPacket = new Uint8Array([0xff]);
  private listener: Partial<CrtpLinkListener> | undefined;
  private readonly s: LinkStats = emptyStats();
  private running = false;
  private loopDone: Promise<void> = Promise.resolve();
  private wake: (() => void) | undefined;
  private up = 0;
  private down = 1;
  private safelinkOn = false;
  private readonly opts: Required<RadioLinkOptions>;
  // quality window
  private winTotal = 0;
  private winAcked = 0;
  private winRetries = 0;
  private lastQualityAt = 0;

  constructor(uri: string, device: WebUsbLikeDevice, options: RadioLinkOptions = {}) {
    this.uri = uri;
    this.cfg = parseRadioUri(uri);
    this.radio = new Crazyradio(device);
    this.opts = {
      maxLostPackets: options.maxLostPackets ?? 100,
      lossTimeoutMs: options.lossTimeoutMs ?? 80,
      safelink: options.safelink ?? this.cfg.safelink,
      idlePollMs: options.idlePollMs ?? 10,
      qualityPeriodMs: options.qualityPeriodMs ?? 100,
    };
  }

  get isOpen(): boolean { return this.running; }
  get stats(): Readonly<LinkStats> { this.s.rxOverruns = this.rx.overruns; return this.s; }
  /** Without safelink a lost ACK duplicates or drops packets, so requests must be resent (cflib `needs_resending`). */
  get needsResending(): boolean { return !this.safelinkOn; }
  get safelink(): boolean { return this.safelinkOn; }
  get dongle(): Crazyradio { return this.radio; }
  setListener(l: Partial<CrtpLinkListener> | undefined): void { this.listener = l; }

  async open(): Promise<void> {
    if (this.running) return;
    try {
      await this.radio.init();
      await this.radio.setChannel(this.cfg.channel);
      await this.radio.setDataRate(this.cfg.dataRate);
      await this.radio.setAddress(this.cfg.address);
      if (this.opts.safelink) await this.enableSafelink();
    } catch (e) {
      await this.radio.close();
      if (e instanceof TransportError || e instanceof RangeError) throw e;
      throw new TransportError(`cannot open ${this.uri}: ${(e as Error).message}`, { cause: e });
    }
    this.rx.reset();
    this.tx.reset();
    this.running = true;
    this.loopDone = this.loop();
  }

  private async enableSafelink(): Promise<void> {
    const probe = new Uint8Array([0xff, 0x05, 0x01]);
    for (let i = 0; i < 10; i++) {
      const st = await this.radio.sendPacket(probe);
      if (st.ack && st.data.length >= 3 && st.data[0] === 0xff && st.data[1] === 0x05 && st.data[2] === 0x01) {
        this.safelinkOn = true;
        this.up = 0;
        this.down = 1;
        return;
      }
    }
    this.safelinkOn = false;
  }

  /** Queue a packet (copied). Resolves at once; the polling loop sends it on its next slot. */
  send(packet: Uint8Array): Promise<void> {
    if (!this.running) return Promise.resolve();
    this.tx.push(packet, packet.length);
    const w = this.wake;
    this.wake = undefined;
    w?.();
    return Promise.resolve();
  }

  receive(buffer: Uint8Array, timeoutMs: number): Promise<number> {
    return this.rx.receive(buffer, timeoutMs);
  }

  private waitForData(ms: number): Promise<void> {
    if (this.tx.size > 0) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(() => { this.wake = undefined; resolve(); }, ms);
      this.wake = () => { clearTimeout(t); resolve(); };
    });
  }

  private async loop(): Promise<void> {
    let emptyAcks = 0;
    let lost = 0;
    let pending = 0; // length of the packet being (re)sent, 0 = take a new one
    this.inFlight = () => pending > 1 || (pending === 1 && this.txBuf[0] !== 0xff && (this.txBuf[0]! & 0xf3) !== 0xf3);
    let waitMs = 0;
    let lastAckAt = performance.now();
    while (this.running) {
      if (pending === 0) {
        if (this.tx.size === 0 && waitMs > 0) await this.waitForData(waitMs);
        if (!this.running) break;
        pending = this.tx.shift(this.txBuf);
        if (pending === 0) { this.txBuf[0] = 0xff; pending = 1; }
        if (this.safelinkOn) this.txBuf[0] = (this.txBuf[0]! & 0xf3) | (this.up << 3) | (this.down << 2);
      }
      let st: AckStatus;
      try {
        st = await this.radio.sendPacket(this.txBuf, pending);
      } catch (e) {
        this.fail(new DisconnectedError(`${this.uri}: Crazyradio transfer failed: ${(e as Error).message}`, 'is the dongle still plugged in?'));
        break;
      }
      this.s.txPackets++;
      this.account(st);
      if (!st.ack) {
        this.s.lostPackets++;
        const silentMs = performance.now() - lastAckAt;
        if (++lost >= this.opts.maxLostPackets || (lost >= 3 && silentMs >= this.opts.lossTimeoutMs)) {
          this.fail(new DisconnectedError(`${this.uri}: too many packets lost (${lost} without ACK in ${silentMs.toFixed(0)} ms)`, 'is the Crazyflie on, in range, and on this channel/address?'));
          break;
        }
        continue; // resend the same packet (same safelink bits)
      }
      lost = 0;
      lastAckAt = performance.now();
      pending = 0;
      if (this.safelinkOn) this.up ^= 1;
      const data = st.data;
      if (data.length > 0) {
        let accept = true;
        if (this.safelinkOn) {
          if (((data[0]! >> 2) & 1) === this.down) this.down ^= 1;
          else { accept = false; this.s.duplicatesDropped++; }
        }
        if (accept && (data[0]! & 0xf3) !== 0xf3) { this.s.rxPackets++; this.rx.push(data, data.length); }
        emptyAcks = 0;
        waitMs = 0;
      } else {
        emptyAcks++;
        waitMs = emptyAcks > 10 ? this.opts.idlePollMs : 0;
      }
      if (waitMs === 0 && this.tx.size === 0) await new Promise<void>((r) => setImmediate(r));
    }
  }

  private account(st: AckStatus): void {
    this.winTotal++;
    if (st.ack) { this.winAcked++; this.winRetries += st.retry; this.s.retries += st.retry; }
    const now = performance.now();
    if (now - this.lastQualityAt >= this.opts.qualityPeriodMs && this.winTotal > 0) {
      const ackRate = this.winAcked / this.winTotal;
      const meanRetry = this.winAcked ? this.winRetries / this.winAcked : 0;
      this.s.quality = Math.round(100 * ackRate * Math.max(0, 1 - meanRetry / 10));
      this.lastQualityAt = now;
      this.winTotal = 0; this.winAcked = 0; this.winRetries = 0;
      try { this.listener?.linkQuality?.(this.s.quality, this.s); } catch { /* listeners must not break the loop */ }
    }
  }

  private fail(err: DisconnectedError): void {
    this.running = false;
    this.s.quality = 0;
    this.rx.fail(err);
    try { this.listener?.linkQuality?.(0, this.s); this.listener?.linkError?.(err); } catch { /* ignore */ }
  }

  private inFlight: () => boolean = () => false;

  /** Wait until queued packets went out (or `timeoutMs`): the stop setpoint sent before close must reach the CF. */
  async drain(timeoutMs = 200): Promise<void> {
    const end = performance.now() + timeoutMs;
    while (this.running && (this.tx.size > 0 || this.inFlight()) && performance.now() < end) await new Promise((r) => setTimeout(r, 1));
  }

  async close(): Promise<void> {
    await this.drain();
    const wasRunning = this.running;
    this.running = false;
    const w = this.wake;
    this.wake = undefined;
    w?.();
    this.rx.fail(new CanceledError());
    await this.loopDone;
    if (wasRunning || this.radio.device.opened) await this.radio.close();
  }
}

/** Open a real dongle through the `usb` package. */
export async function openRadioLink(uri: string, options: RadioLinkOptions = {}): Promise<RadioLink> {
  const cfg = parseRadioUri(uri);
  const dev = await openUsbDevice(CRAZYRADIO_VID, CRAZYRADIO_PID, cfg.index, 'Crazyradio');
  const link = new RadioLink(uri, dev, options);
  await link.open();
  return link;
}
