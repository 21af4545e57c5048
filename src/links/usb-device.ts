/**
 * The WebUSB-shaped surface our USB drivers use (a subset of W3C `USBDevice`, which the `usb` npm package 3.x
 * exports). Drivers take such a device by injection; `openUsbDevice` finds a real one through `usb` (loaded
 * lazily, so nothing native is touched unless a radio:// or usb:// link is opened).
 */
import { TransportError } from '../errors.js';

export interface UsbControlSetup {
  requestType: 'standard' | 'class' | 'vendor';
  recipient: 'device' | 'interface' | 'endpoint' | 'other';
  request: number;
  value: number;
  index: number;
}
export type UsbTransferStatus = 'ok' | 'stall' | 'babble';
export interface UsbOutResult { status: UsbTransferStatus; bytesWritten: number }
export interface UsbInResult { status: UsbTransferStatus; data?: DataView }

export interface WebUsbLikeDevice {
  readonly vendorId: number;
  readonly productId: number;
  /** bcdDevice, e.g. 0.5x for a Crazyradio PA firmware 0.53 */
  readonly deviceVersionMajor: number;
  readonly deviceVersionMinor: number;
  readonly deviceVersionSubminor?: number;
  readonly opened: boolean;
  readonly serialNumber?: string | null;
  open(): Promise<void>;
  close(): Promise<void>;
  selectConfiguration(configurationValue: number): Promise<void>;
  claimInterface(interfaceNumber: number): Promise<void>;
  releaseInterface(interfaceNumber: number): Promise<void>;
  reset?(): Promise<void>;
  controlTransferOut(setup: UsbControlSetup, data?: Uint8Array): Promise<UsbOutResult>;
  controlTransferIn(setup: UsbControlSetup, length: number): Promise<UsbInResult>;
  transferOut(endpointNumber: number, data: Uint8Array): Promise<UsbOutResult>;
  transferIn(endpointNumber: number, length: number): Promise<UsbInResult>;
  /** usb 3.x extension: IN transfer with an explicit timeout (resolves null on timeout in some versions). */
  nativeTransferIn?(endpointNumber: number, timeoutMs: number, length: number): Promise<Uint8Array | null>;
}

export const CRAZYRADIO_VID = 0x1915;
export const CRAZYRADIO_PID = 0x7777;
export const CRAZYFLIE_USB_VID = 0x0483;
export const CRAZYFLIE_USB_PID = 0x5740;

/** Find the `index`-th attached device with this VID/PID through the `usb` package (WebUSB API). */
export async function openUsbDevice(vid: number, pid: number, index: number, what: string): Promise<WebUsbLikeDevice> {
  let mod: { WebUSB: new (o: { allowAllDevices: boolean }) => { getDevices(): Promise<unknown[]> } };
  try {
    mod = (await import('usb')) as unknown as typeof mod;
  } catch (e) {
    throw new TransportError(`the "usb" package cannot be loaded: ${(e as Error).message}`, { cause: e, hint: 'npm i usb@3 (prebuilt for linux x64/arm64/armhf)' });
  }
  let devices: unknown[];
  try {
    devices = await new mod.WebUSB({ allowAllDevices: true }).getDevices();
  } catch (e) {
    throw new TransportError(`cannot list USB devices: ${(e as Error).message}`, { cause: e, hint: 'is /sys/bus/usb mounted (containers need --device)? on Linux add the udev rule from boards/udev' });
  }
  const found = (devices as WebUsbLikeDevice[]).filter((d) => d.vendorId === vid && d.productId === pid);
  const dev = found[index];
  if (!dev) {
    throw new TransportError(`no ${what} #${index} found (${found.length} attached, VID:PID ${vid.toString(16).padStart(4, '0')}:${pid.toString(16).padStart(4, '0')})`,
      { code: 'E_NO_DEVICE', hint: 'plug it in; as non-root on Linux install the udev rule for this VID:PID' });
  }
  return dev;
}
