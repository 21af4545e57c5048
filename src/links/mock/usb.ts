/**
 * A fake Crazyflie on USB (0483:5740) for tests: CRTP is refused until the `set_crtp_to_usb` vendor request
 * (0x01, value 1, index 1) was received; bulk OUT packets go to a `RadioEndpoint`; IN returns the next downlink packet
 * or times out (nativeTransferIn semantics: resolves null after the timeout).
 */
import type { RadioEndpoint } from './crazyradio.js';
import type { UsbControlSetup, UsbInResult, UsbOutResult, WebUsbLikeDevice } from '../usb-device.js';
import { CRAZYFLIE_USB_PID, CRAZYFLIE_USB_VID } from '../usb-device.js';

export class FakeCrazyflieUsb implements WebUsbLikeDevice {
  readonly vendorId = CRAZYFLIE_USB_VID;
  readonly productId = CRAZYFLIE_USB_PID;
  readonly deviceVersionMajor = 2;
  readonly deviceVersionMinor = 0;
  private isOpen = false;
  private claimed = false;
  crtpEnabled = false;
  private unplugged = false;
  constructor(readonly endpoint: RadioEndpoint) {}
  get opened(): boolean { return this.isOpen; }
  unplug(): void { this.unplugged = true; }
  private check(): void {
    if (this.unplugged) throw new Error('LIBUSB_ERROR_NO_DEVICE');
    if (!this.claimed) throw new Error('InvalidStateError: interface not claimed');
  }
  async open(): Promise<void> { if (this.unplugged) throw new Error('LIBUSB_ERROR_NO_DEVICE'); this.isOpen = true; }
  async close(): Promise<void> { this.isOpen = false; this.claimed = false; }
  async selectConfiguration(): Promise<void> { if (!this.isOpen) throw new Error('InvalidStateError'); }
  async claimInterface(): Promise<void> { if (!this.isOpen) throw new Error('InvalidStateError'); this.claimed = true; }
  async releaseInterface(): Promise<void> { this.claimed = false; }
  async controlTransferOut(setup: UsbControlSetup): Promise<UsbOutResult> {
    if (this.unplugged) throw new Error('LIBUSB_ERROR_NO_DEVICE');
    if (setup.requestType !== 'vendor' || setup.request !== 0x01) return { status: 'stall', bytesWritten: 0 };
    this.crtpEnabled = setup.value === 1 && setup.index === 1;
    return { status: 'ok', bytesWritten: 0 };
  }
  async controlTransferIn(): Promise<UsbInResult> { return { status: 'stall' }; }
  async transferOut(ep: number, data: Uint8Array): Promise<UsbOutResult> {
    this.check();
    if (ep !== 1) return { status: 'stall', bytesWritten: 0 };
    if (this.crtpEnabled) this.endpoint.onPacket(Uint8Array.from(data));
    return { status: 'ok', bytesWritten: data.length };
  }
  async transferIn(ep: number, length: number): Promise<UsbInResult> {
    const r = await this.nativeTransferIn(ep, 1000, length);
    return r ? { status: 'ok', data: new DataView(r.buffer, r.byteOffset, r.length) } : { status: 'ok', data: new DataView(new ArrayBuffer(0)) };
  }
  async nativeTransferIn(ep: number, timeoutMs: number, length: number): Promise<Uint8Array | null> {
    const until = performance.now() + timeoutMs;
    for (;;) {
      this.check();
      if (ep !== 1) throw new Error('stall');
      const p = this.crtpEnabled ? this.endpoint.nextDownlink() : undefined;
      if (p) return p.subarray(0, length);
      if (performance.now() >= until) return null;
      await new Promise((r) => setTimeout(r, 1));
    }
  }
}
