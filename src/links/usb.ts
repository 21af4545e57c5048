/**
 * `usb://0`: the Crazyflie's own micro-USB port (VID 0x0483, PID 0x5740, vendor class) (Bitcraze's USB protocol notes).
 * Vendor request `0x40/0x01 value 1 index 1` switches CRTP to USB; then raw CRTP packets on bulk EP1 OUT / EP1 IN
 * (64-byte reads, short timeout). No ACK/polling protocol. Bench/ground use only (the CF is USB-powered).
 */
import { CanceledError, DisconnectedError, TransportError } from '../errors.js';
import { emptyStats, PacketQueue, type CrtpLink, type CrtpLinkListener, type LinkStats } from './crtp-link.js';
import { CRAZYFLIE_USB_PID, CRAZYFLIE_USB_VID, openUsbDevice, type WebUsbLikeDevice } from './usb-device.js';

export function parseUsbUri(uri: string): { index: number } {
  const m = /^usb:\/\/(\d+)\/?$/.exec(uri);
  if (!m) throw new TypeError(`"uri" must look like usb://0, got "${uri}"`);
  return { index: Number(m[1]) };
}

export class CfUsbLink implements CrtpLink {
  readonly needsResending = false;
  private readonly rx = new PacketQueue(128, 64);
  private readonly s: LinkStats = emptyStats();
  private listener: Partial<CrtpLinkListener> | undefined;
  private running = false;
  private readLoop: Promise<void> = Promise.resolve();
  private writeChain: Promise<void> = Promise.resolve();
  private readonly txSlots: Uint8Array[] = Array.from({ length: 16 }, () => new Uint8Array(32));
  private txIdx = 0;

  constructor(readonly uri: string, private readonly device: WebUsbLikeDevice, private readonly readTimeoutMs = 20) {
    parseUsbUri(uri);
  }

  get isOpen(): boolean { return this.running; }
  get stats(): Readonly<LinkStats> { this.s.rxOverruns = this.rx.overruns; return this.s; }
  setListener(l: Partial<CrtpLinkListener> | undefined): void { this.listener = l; }

  async open(): Promise<void> {
    if (this.running) return;
    const d = this.device;
    try {
      if (!d.opened) await d.open();
      await d.selectConfiguration(1);
      await d.claimInterface(0);
      const r = await d.controlTransferOut({ requestType: 'vendor', recipient: 'device', request: 0x01, value: 0x01, index: 0x01 });
      if (r.status !== 'ok') throw new TransportError(`set_crtp_to_usb refused: ${r.status}`);
    } catch (e) {
      try { await d.close(); } catch { /* ignore */ }
      throw e instanceof TransportError ? e : new TransportError(`cannot open ${this.uri}: ${(e as Error).message}`, { cause: e });
    }
    this.rx.reset();
    this.running = true;
    this.readLoop = this.reader();
  }

  private async reader(): Promise<void> {
    while (this.running) {
      try {
        let bytes: Uint8Array | null | undefined;
        if (this.device.nativeTransferIn) bytes = await this.device.nativeTransferIn(1, this.readTimeoutMs, 64);
        else {
          const r = await this.device.transferIn(1, 64);
          bytes = r.status === 'ok' && r.data ? new Uint8Array(r.data.buffer, r.data.byteOffset, r.data.byteLength) : null;
        }
        if (!this.running) break;
        if (bytes && bytes.length > 0) { this.s.rxPackets++; this.rx.push(bytes, bytes.length); }
      } catch (e) {
        if (!this.running) break;
        if (/timeout/i.test(String((e as Error).message))) continue;
        this.fail(new DisconnectedError(`${this.uri}: USB read failed: ${(e as Error).message}`, 'is the Crazyflie still plugged in?'));
        break;
      }
    }
  }

  private fail(err: DisconnectedError): void {
    this.running = false;
    this.s.quality = 0;
    this.rx.fail(err);
    try { this.listener?.linkError?.(err); } catch { /* ignore */ }
  }

  send(packet: Uint8Array): Promise<void> {
    if (!this.running) return Promise.resolve();
    const slot = this.txSlots[this.txIdx]!;
    this.txIdx = (this.txIdx + 1) % this.txSlots.length;
    const n = Math.min(packet.length, 32);
    for (let i = 0; i < n; i++) slot[i] = packet[i]!;
    const view = slot.subarray(0, n);
    this.writeChain = this.writeChain.then(async () => {
      if (!this.running) return;
      try {
        const r = await this.device.transferOut(1, view);
        if (r.status !== 'ok') throw new Error(r.status);
        this.s.txPackets++;
      } catch (e) {
        if (this.running) this.fail(new DisconnectedError(`${this.uri}: USB write failed: ${(e as Error).message}`));
      }
    });
    return this.writeChain;
  }

  receive(buffer: Uint8Array, timeoutMs: number): Promise<number> { return this.rx.receive(buffer, timeoutMs); }

  async close(): Promise<void> {
    if (!this.running && !this.device.opened) return;
    await Promise.race([this.writeChain, new Promise((r) => setTimeout(r, 200))]); // let queued packets (stop setpoint) out
    const was = this.running;
    this.running = false;
    this.rx.fail(new CanceledError());
    if (was) {
      try { await this.device.controlTransferOut({ requestType: 'vendor', recipient: 'device', request: 0x01, value: 0x01, index: 0x00 }); } catch { /* ignore */ }
    }
    try { await this.device.releaseInterface(0); } catch { /* ignore */ }
    try { await this.device.close(); } catch { /* ignore */ }
    await this.readLoop;
    await this.writeChain;
  }
}

export async function openCfUsbLink(uri: string): Promise<CfUsbLink> {
  const { index } = parseUsbUri(uri);
  const dev = await openUsbDevice(CRAZYFLIE_USB_VID, CRAZYFLIE_USB_PID, index, 'Crazyflie (USB)');
  const link = new CfUsbLink(uri, dev);
  await link.open();
  return link;
}
