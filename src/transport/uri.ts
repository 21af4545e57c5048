/**
 * One factory for CRTP links, chosen by URI scheme (as cflib's `get_link_driver`):
 *   radio://0/80/2M/E7E7E7E7E7[?safelink=0]   Crazyradio PA / 2.0 (usb package)
 *   usb://0                                   the Crazyflie's own USB
 *   serial:///dev/ttyAMA0?baud=576000         CPX over UART2 (serialport via SerialTransport)
 *   udp://127.0.0.1:19850                     one raw CRTP packet per datagram (kdp sim crazyflie, cflib udp driver)
 * Devices/transports can be injected (tests, fakes); otherwise real ones are looked up lazily.
 */
import type { CrtpLink } from '../crtp/link.js';
import { CpxLink, parseSerialUri } from './cpx.js';
import { RadioLink, parseRadioUri, type RadioLinkOptions } from './crazyradio.js';
import type { Transport } from './types.js';
import { UdpLink, parseUdpUri } from './udp.js';
import { CfUsbLink, parseUsbUri } from './usb.js';
import { CRAZYFLIE_USB_PID, CRAZYFLIE_USB_VID, CRAZYRADIO_PID, CRAZYRADIO_VID, openUsbDevice, type WebUsbLikeDevice } from './usb-device.js';

export type CrtpScheme = 'radio' | 'usb' | 'serial' | 'udp';

export interface OpenLinkOptions {
  /** Use this device instead of looking one up (radio://, usb://). */
  usbDevice?: WebUsbLikeDevice;
  /** Use this byte transport instead of opening the serial port (serial://). */
  transport?: Transport;
  radio?: RadioLinkOptions;
}

export function crtpScheme(uri: string): CrtpScheme {
  const m = /^([a-z]+):\/\//.exec(uri);
  const s = m?.[1];
  if (s === 'radio' || s === 'usb' || s === 'serial' || s === 'udp') return s;
  throw new TypeError(`unsupported link URI "${uri}": use radio://0/80/2M/E7E7E7E7E7, usb://0, serial:///dev/ttyAMA0?baud=576000 or udp://127.0.0.1:19850`);
}

/** Validate a URI without opening anything (throws TypeError quoting the problem). */
export function validateCrtpUri(uri: string): CrtpScheme {
  const s = crtpScheme(uri);
  if (s === 'radio') parseRadioUri(uri);
  else if (s === 'usb') parseUsbUri(uri);
  else if (s === 'serial') parseSerialUri(uri);
  else parseUdpUri(uri);
  return s;
}

/** Build a link for the URI (not opened yet). */
export async function createCrtpLink(uri: string, o: OpenLinkOptions = {}): Promise<CrtpLink> {
  const scheme = validateCrtpUri(uri);
  switch (scheme) {
    case 'udp': return new UdpLink(parseUdpUri(uri));
    case 'radio': {
      const dev = o.usbDevice ?? await openUsbDevice(CRAZYRADIO_VID, CRAZYRADIO_PID, parseRadioUri(uri).index, 'Crazyradio');
      return new RadioLink(uri, dev, o.radio);
    }
    case 'usb': {
      const dev = o.usbDevice ?? await openUsbDevice(CRAZYFLIE_USB_VID, CRAZYFLIE_USB_PID, parseUsbUri(uri).index, 'Crazyflie (USB)');
      return new CfUsbLink(uri, dev);
    }
    case 'serial': {
      let t = o.transport;
      if (!t) {
        const { path, baudRate } = parseSerialUri(uri);
        const { SerialTransport } = await import('./serial.js');
        t = new SerialTransport({ path, baudRate });
      }
      return new CpxLink(uri, t);
    }
  }
}

/** Build and open. */
export async function openCrtpLink(uri: string, o: OpenLinkOptions = {}): Promise<CrtpLink> {
  const link = await createCrtpLink(uri, o);
  await link.open();
  return link;
}
