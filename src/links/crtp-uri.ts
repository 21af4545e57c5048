/**
 * One factory for CRTP links, chosen by URI scheme (as cflib's `get_link_driver`):
 *   radio://0/80/2M/E7E7E7E7E7[?safelink=0]   Crazyradio PA / 2.0 (usb package)
 *   usb://0                                   the Crazyflie's own USB
 *   serial:///dev/ttyAMA0?baud=576000         CPX over UART2 (serialport via SerialTransport)
 *   udp://127.0.0.1:19850                     one raw CRTP packet per datagram (kdp sim crazyflie, cflib udp driver)
 *   mock://radio/0/80/2M/E7E7E7E7E7           the same links over the shipped faithful fakes (`links/mock/`): the fake
 *   mock://usb/0                              dongle + the Crazyflie's nRF radio, the CF's USB end, its UART2 end; the
 *   mock://serial/dev/ttyAMA0                 Crazyflie's CRTP side is `mockCrazyflie` (a simulator or a test double)
 * Devices/transports can be injected (tests, fakes); otherwise real ones are looked up lazily.
 */
import type { CrtpLink } from './crtp-link.js';
import { CpxLink, parseSerialUri } from './cpx.js';
import { RadioLink, parseRadioUri, type RadioLinkOptions } from './crazyradio.js';
import type { Transport } from './transport.js';
import { UdpLink, parseUdpUri } from './udp.js';
import { CfUsbLink, parseUsbUri } from './usb.js';
import { FakeCpxUartCrazyflie } from './mock/cpx.js';
import { FakeCrazyradio, type FakeCrazyradioOptions, type RadioEndpoint } from './mock/crazyradio.js';
import { FakeCrazyflieUsb } from './mock/usb.js';
import { CRAZYFLIE_USB_PID, CRAZYFLIE_USB_VID, CRAZYRADIO_PID, CRAZYRADIO_VID, openUsbDevice, type WebUsbLikeDevice } from './usb-device.js';

export type CrtpScheme = 'radio' | 'usb' | 'serial' | 'udp' | 'mock';

export interface OpenLinkOptions {
  /** Use this device instead of looking one up (radio://, usb://). */
  usbDevice?: WebUsbLikeDevice;
  /** Use this byte transport instead of opening the serial port (serial://). */
  transport?: Transport;
  radio?: RadioLinkOptions;
  /** mock://: the Crazyflie's CRTP side behind the fake radio / USB / UART (required for mock://). */
  mockCrazyflie?: RadioEndpoint;
  /** mock://radio: loss and air time of the fake dongle. */
  mockRadio?: FakeCrazyradioOptions;
}

/** mock://radio/…, mock://usb/…, mock://serial/… → the real URI it stands for. */
export function mockedUri(uri: string): string {
  const m = /^mock:\/\/(radio|usb|serial)(\/.*)?$/.exec(uri);
  if (!m) throw new TypeError(`"uri" must look like mock://radio/0/80/2M/E7E7E7E7E7, mock://usb/0 or mock://serial/dev/ttyAMA0, got "${uri}"`);
  const rest = m[2] ?? '';
  return m[1] === 'serial' ? `serial://${rest || '/dev/ttyAMA0'}` : `${m[1]}://${rest.slice(1) || '0'}`;
}

export function crtpScheme(uri: string): CrtpScheme {
  const m = /^([a-z]+):\/\//.exec(uri);
  const s = m?.[1];
  if (s === 'radio' || s === 'usb' || s === 'serial' || s === 'udp' || s === 'mock') return s;
  throw new TypeError(`unsupported link URI "${uri}": use radio://0/80/2M/E7E7E7E7E7, usb://0, serial:///dev/ttyAMA0?baud=576000, udp://127.0.0.1:19850 or mock://radio/0/80/2M/E7E7E7E7E7`);
}

/** Validate a URI without opening anything (throws TypeError quoting the problem). */
export function validateCrtpUri(uri: string): CrtpScheme {
  const s = crtpScheme(uri);
  if (s === 'mock') { validateCrtpUri(mockedUri(uri)); return s; }
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
    case 'mock': return createMockLink(uri, o);
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

/** A real link class over the fake device end named by the mock:// URI. */
function createMockLink(uri: string, o: OpenLinkOptions): CrtpLink {
  const cf = o.mockCrazyflie;
  if (!cf) throw new TypeError(`${uri}: a mock:// link needs the Crazyflie's CRTP side (OpenLinkOptions.mockCrazyflie); to reach the simulator use udp://127.0.0.1:19850 (kdp sim crazyflie)`);
  const real = mockedUri(uri);
  switch (crtpScheme(real)) {
    case 'radio': {
      const r = parseRadioUri(real);
      const dongle = new FakeCrazyradio(o.mockRadio);
      dongle.addCrazyflie(cf, { channel: r.channel, dataRate: r.dataRate, address: r.address });
      return new RadioLink(real, dongle, o.radio);
    }
    case 'usb': parseUsbUri(real); return new CfUsbLink(real, new FakeCrazyflieUsb(cf));
    default: parseSerialUri(real); return new CpxLink(real, new FakeCpxUartCrazyflie(cf));
  }
}

/** Build and open. */
export async function openCrtpLink(uri: string, o: OpenLinkOptions = {}): Promise<CrtpLink> {
  const link = await createCrtpLink(uri, o);
  await link.open();
  return link;
}
