/**
 * A faithful fake Crazyradio PA (ships, like serialport's binding-mock) and the Crazyflie-side nRF radio it talks to.
 *
 * `FakeCrazyradio` implements the WebUSB-like device surface: open/selectConfiguration/claimInterface, the vendor
 * requests of the PA protocol (channel, address, data rate, power, ARD, ARC, ACK enable, continuous carrier; any other
 * request stalls), and the bulk EP1 OUT/IN alternation (an IN without a preceding OUT stalls). Each OUT runs an
 * Enhanced-ShockBurst exchange against the `FakeNrfRadio`s in range: up to ARC+1 attempts, each attempt may lose the
 * packet on the way up (`uplinkLoss`) or lose the ACK on the way back (`ackLoss`) — in which case the Crazyflie DID
 * receive the packet and will see it again on the retry. The IN returns `[status][ack payload]` with status bit0 = ACK,
 * bit1 = power detector, bits 7..4 = retries used.
 *
 * `FakeNrfRadio` models the Crazyflie's radio side: it only answers on its channel/address/data rate, answers the
 * safelink probe `FF 05 01`, and then applies safelink (drops uplink duplicates by the up bit, re-sends the last ACK
 * payload until the host's down bit says it was received). Without safelink every received copy is delivered
 * (duplicates on lost ACKs) and an ACK payload lost in the air is lost. The CRTP side is any `RadioEndpoint`
 * (e.g. the simulated firmware, or a test double).
 */
import type { UsbControlSetup, UsbInResult, UsbOutResult, WebUsbLikeDevice } from '../usb-device.js';
import { CRAZYRADIO_PID, CRAZYRADIO_VID } from '../usb-device.js';
import { RadioRequest } from '../crazyradio.js';
import { Rng } from '../../util/rng.js';

/** The Crazyflie's CRTP stack as seen from its radio. */
export interface RadioEndpoint {
  /** An uplink packet arrived (header + payload; null packets are filtered out before this). */
  onPacket(packet: Uint8Array): void;
  /** Next packet to send down in an ACK payload, or undefined. */
  nextDownlink(): Uint8Array | undefined;
}

export interface FakeNrfOptions { channel?: number; dataRate?: number; address?: ArrayLike<number> }

export class FakeNrfRadio {
  channel: number;
  dataRate: number;
  address: Uint8Array;
  powered = true;
  safelink = false;
  private expectedUp = 0;
  private lastAck: Uint8Array | undefined;
  /** Counters for assertions. */
  readonly counters = { received: 0, delivered: 0, duplicatesDropped: 0, ackPayloads: 0, ackResends: 0 };

  constructor(readonly endpoint: RadioEndpoint, o: FakeNrfOptions = {}) {
    this.channel = o.channel ?? 80;
    this.dataRate = o.dataRate ?? 2;
    this.address = Uint8Array.from(o.address ?? [0xe7, 0xe7, 0xe7, 0xe7, 0xe7]);
  }

  hears(channel: number, dataRate: number, address: Uint8Array): boolean {
    if (!this.powered || channel !== this.channel || dataRate !== this.dataRate) return false;
    for (let i = 0; i < 5; i++) if (address[i] !== this.address[i]) return false;
    return true;
  }

  /** One packet received over the air; returns the ACK payload to send back (possibly empty). */
  receive(pkt: Uint8Array): Uint8Array {
    this.counters.received++;
    if (pkt.length === 3 && pkt[0] === 0xff && pkt[1] === 0x05 && pkt[2] === 0x01) {
      this.safelink = true;
      this.expectedUp = 0;
      this.lastAck = undefined;
      return Uint8Array.of(0xff, 0x05, 0x01);
    }
    const h = pkt[0] ?? 0xff;
    const isNull = (h & 0xf3) === 0xf3;
    if (this.safelink) {
      const up = (h >> 3) & 1;
      const down = (h >> 2) & 1;
      if (up === this.expectedUp) {
        this.expectedUp ^= 1;
        if (!isNull) { this.counters.delivered++; this.endpoint.onPacket(pkt); }
      } else this.counters.duplicatesDropped++;
      // the host's down bit names the downlink packet it expects next
      if (this.lastAck && ((this.lastAck[0]! >> 2) & 1) === down) { this.counters.ackResends++; return this.lastAck; }
      const next = this.endpoint.nextDownlink();
      if (!next) { this.lastAck = undefined; return new Uint8Array(0); }
      const copy = Uint8Array.from(next);
      copy[0] = (copy[0]! & 0xf3) | (down << 2);
      this.lastAck = copy;
      this.counters.ackPayloads++;
      return copy;
    }
    if (!isNull) { this.counters.delivered++; this.endpoint.onPacket(pkt); }
    const next = this.endpoint.nextDownlink();
    if (!next) return new Uint8Array(0);
    this.counters.ackPayloads++;
    return Uint8Array.from(next);
  }
}

export interface FakeCrazyradioOptions {
  /** bcdDevice major.minor (default 0.53, a PA). */
  version?: [number, number];
  /** Probability that a transmission attempt does not reach the Crazyflie. */
  uplinkLoss?: number;
  /** Probability that the Crazyflie's ACK does not reach the dongle. */
  ackLoss?: number;
  seed?: number;
  /** Simulated air time per OUT/IN exchange (ms, 0 = next tick). */
  airtimeMs?: number;
}

function stall(): UsbOutResult { return { status: 'stall', bytesWritten: 0 }; }

export class FakeCrazyradio implements WebUsbLikeDevice {
  readonly vendorId = CRAZYRADIO_VID;
  readonly productId = CRAZYRADIO_PID;
  readonly deviceVersionMajor: number;
  readonly deviceVersionMinor: number;
  readonly serialNumber = 'FAKE0001';
  readonly peers: FakeNrfRadio[] = [];
  uplinkLoss: number;
  ackLoss: number;
  /** Radio state as set by vendor requests. */
  readonly state = { channel: 2, dataRate: 2, address: Uint8Array.of(0xe7, 0xe7, 0xe7, 0xe7, 0xe7), power: 3, ard: 0, arc: 3, ackEnable: true, contCarrier: false };
  readonly counters = { out: 0, in: 0, attempts: 0, acks: 0, noAcks: 0, vendorRequests: 0 };
  /** Log of vendor requests (request, value, data hex). */
  readonly requests: { request: number; value: number; data: string }[] = [];
  private isOpen = false;
  private configured = false;
  private claimed = false;
  private unplugged = false;
  private pendingIn: Uint8Array | undefined;
  /** loss draws: the project's seeded PRNG (`util/rng.ts`), so a seed reproduces a loss pattern */
  private readonly rng: Rng;
  private readonly airtimeMs: number;

  constructor(o: FakeCrazyradioOptions = {}) {
    [this.deviceVersionMajor, this.deviceVersionMinor] = o.version ?? [0, 53];
    this.uplinkLoss = o.uplinkLoss ?? 0;
    this.ackLoss = o.ackLoss ?? 0;
    this.rng = new Rng(o.seed ?? 1);
    this.airtimeMs = o.airtimeMs ?? 0;
  }

  get opened(): boolean { return this.isOpen; }

  /** Put a Crazyflie in range. */
  addCrazyflie(endpoint: RadioEndpoint, o: FakeNrfOptions = {}): FakeNrfRadio {
    const n = new FakeNrfRadio(endpoint, o);
    this.peers.push(n);
    return n;
  }
  /** Simulate pulling the dongle out: every later transfer rejects. */
  unplug(): void { this.unplugged = true; }

  private random(): number { return this.rng.uniform(); }
  private gone(): Error { return Object.assign(new Error('LIBUSB_ERROR_NO_DEVICE'), { code: 'ENODEV' }); }
  private async tick(): Promise<void> {
    if (this.airtimeMs > 0) await new Promise((r) => setTimeout(r, this.airtimeMs));
    else await new Promise((r) => setImmediate(r));
  }

  async open(): Promise<void> { if (this.unplugged) throw this.gone(); this.isOpen = true; }
  async close(): Promise<void> { this.isOpen = false; this.claimed = false; this.configured = false; this.pendingIn = undefined; }
  async reset(): Promise<void> { if (!this.isOpen) throw new Error('InvalidStateError: device not open'); }
  async selectConfiguration(v: number): Promise<void> {
    if (!this.isOpen) throw new Error('InvalidStateError: device not open');
    if (v !== 1) throw new Error(`NotFoundError: configuration ${v}`);
    this.configured = true;
  }
  async claimInterface(n: number): Promise<void> {
    if (!this.configured) throw new Error('InvalidStateError: no configuration selected');
    if (n !== 0) throw new Error(`NotFoundError: interface ${n}`);
    this.claimed = true;
  }
  async releaseInterface(): Promise<void> { this.claimed = false; }

  async controlTransferOut(setup: UsbControlSetup, data?: Uint8Array): Promise<UsbOutResult> {
    if (this.unplugged) throw this.gone();
    if (!this.isOpen) throw new Error('InvalidStateError: device not open');
    if (setup.requestType !== 'vendor' || setup.recipient !== 'device') return stall();
    this.counters.vendorRequests++;
    this.requests.push({ request: setup.request, value: setup.value, data: data ? Buffer.from(data).toString('hex') : '' });
    const s = this.state;
    switch (setup.request) {
      case RadioRequest.SET_RADIO_CHANNEL: if (setup.value > 125) return stall(); s.channel = setup.value; break;
      case RadioRequest.SET_RADIO_ADDRESS: if (!data || data.length !== 5) return stall(); s.address = Uint8Array.from(data); break;
      case RadioRequest.SET_DATA_RATE: if (setup.value > 2) return stall(); s.dataRate = setup.value; break;
      case RadioRequest.SET_RADIO_POWER: if (setup.value > 3) return stall(); s.power = setup.value; break;
      case RadioRequest.SET_RADIO_ARD: s.ard = setup.value; break;
      case RadioRequest.SET_RADIO_ARC: if (setup.value > 15) return stall(); s.arc = setup.value; break;
      case RadioRequest.ACK_ENABLE: s.ackEnable = setup.value !== 0; break;
      case RadioRequest.SET_CONT_CARRIER: s.contCarrier = setup.value !== 0; break;
      default: return stall();
    }
    return { status: 'ok', bytesWritten: data?.length ?? 0 };
  }

  async controlTransferIn(_setup: UsbControlSetup, _length: number): Promise<UsbInResult> {
    if (this.unplugged) throw this.gone();
    return { status: 'stall' };
  }

  async transferOut(ep: number, data: Uint8Array): Promise<UsbOutResult> {
    if (this.unplugged) throw this.gone();
    if (!this.claimed) throw new Error('InvalidStateError: interface not claimed');
    if (ep !== 1 || data.length < 1 || data.length > 32) return stall();
    this.counters.out++;
    await this.tick();
    const pkt = Uint8Array.from(data);
    const s = this.state;
    const peer = s.contCarrier ? undefined : this.peers.find((p) => p.hears(s.channel, s.dataRate, s.address));
    const power = this.peers.some((p) => p.powered && p.channel === s.channel) ? 0x02 : 0;
    let result: Uint8Array | undefined;
    const attempts = s.ackEnable ? s.arc + 1 : 1;
    for (let a = 0; a < attempts; a++) {
      this.counters.attempts++;
      if (!peer || this.random() < this.uplinkLoss) continue;
      const ack = peer.receive(pkt);
      if (!s.ackEnable) break;
      if (this.random() < this.ackLoss) continue;
      result = new Uint8Array(1 + ack.length);
      result[0] = 0x01 | power | (a << 4);
      result.set(ack, 1);
      break;
    }
    if (result) this.counters.acks++; else this.counters.noAcks++;
    this.pendingIn = result ?? Uint8Array.of(power | ((attempts - 1) << 4));
    return { status: 'ok', bytesWritten: data.length };
  }

  async transferIn(ep: number, length: number): Promise<UsbInResult> {
    if (this.unplugged) throw this.gone();
    if (!this.claimed) throw new Error('InvalidStateError: interface not claimed');
    if (ep !== 1 || !this.pendingIn) return { status: 'stall' };
    this.counters.in++;
    const r = this.pendingIn.subarray(0, Math.min(length, this.pendingIn.length));
    this.pendingIn = undefined;
    return { status: 'ok', data: new DataView(r.buffer, r.byteOffset, r.length) };
  }
}
