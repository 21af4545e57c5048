import { UsageError } from '../errors.js';

/**
 * Where MAVLink telemetry goes. Shared by `kdp fly`, `kdp arm` and `kdp serve` (`--mavlink <target>`).
 *
 *   udp:HOST:PORT      send to a ground station listening on HOST:PORT (QGroundControl / MAVProxy default 14550);
 *                      replies (TIMESYNC requests) come back to our ephemeral source port
 *   udpin:HOST:PORT    listen on HOST:PORT and answer whoever sent last (mavproxy `udpin:` semantics)
 *   serial:PATH[:BAUD] a UART / USB-serial link to a flight controller (default 921600 baud)
 *   none | off         telemetry disabled
 * `udp:` alone or `udp:HOST` fill in 127.0.0.1 / 14550. IPv6 hosts in brackets: `udp:[::1]:14550`.
 */
export type MavlinkTarget =
  | { kind: 'udp'; mode: 'out' | 'in'; host: string; port: number }
  | { kind: 'serial'; path: string; baudRate: number }
  | { kind: 'none' };

export const DEFAULT_MAVLINK_HOST = '127.0.0.1';
export const DEFAULT_MAVLINK_PORT = 14550;
export const DEFAULT_MAVLINK_SERIAL_BAUD = 921600;

export const MAVLINK_TARGET_FORMS = 'udp:HOST:PORT, udpin:HOST:PORT, serial:/dev/PATH[:BAUD] or none';

function parsePort(raw: string, spec: string): number {
  if (!/^\d+$/.test(raw)) throw new UsageError(`--mavlink: port must be a number, got "${raw}" in "${spec}"`, `use ${MAVLINK_TARGET_FORMS}`);
  const port = Number(raw);
  if (port < 1 || port > 65535) throw new UsageError(`--mavlink: port must be 1..65535, got ${port}`, `use ${MAVLINK_TARGET_FORMS}`);
  return port;
}

export function parseMavlinkTarget(spec: string | undefined): MavlinkTarget {
  const s = (spec ?? '').trim();
  if (s === '') return { kind: 'udp', mode: 'out', host: DEFAULT_MAVLINK_HOST, port: DEFAULT_MAVLINK_PORT };
  if (s === 'none' || s === 'off') return { kind: 'none' };
  const colon = s.indexOf(':');
  const scheme = colon < 0 ? s : s.slice(0, colon);
  const rest = colon < 0 ? '' : s.slice(colon + 1);
  if (scheme === 'udp' || scheme === 'udpout' || scheme === 'udpin') {
    const mode = scheme === 'udpin' ? 'in' : 'out';
    let host = DEFAULT_MAVLINK_HOST;
    let port = DEFAULT_MAVLINK_PORT;
    if (rest.startsWith('[')) {
      const end = rest.indexOf(']');
      if (end < 0) throw new UsageError(`--mavlink: unterminated IPv6 address in "${s}"`, `use ${MAVLINK_TARGET_FORMS}`);
      host = rest.slice(1, end);
      const after = rest.slice(end + 1);
      if (after !== '') {
        if (!after.startsWith(':')) throw new UsageError(`--mavlink: expected ":PORT" after "]" in "${s}"`, `use ${MAVLINK_TARGET_FORMS}`);
        port = parsePort(after.slice(1), s);
      }
    } else if (rest !== '') {
      const parts = rest.split(':');
      if (parts.length > 2) throw new UsageError(`--mavlink: too many ":" in "${s}" (IPv6 hosts go in brackets)`, `use ${MAVLINK_TARGET_FORMS}`);
      if (parts[0]) host = parts[0];
      if (parts[1] !== undefined) port = parsePort(parts[1], s);
    }
    if (!/^[A-Za-z0-9.\-:]+$/.test(host)) throw new UsageError(`--mavlink: bad host "${host}"`, `use ${MAVLINK_TARGET_FORMS}`);
    return { kind: 'udp', mode, host, port };
  }
  if (scheme === 'serial' || s.startsWith('/dev/')) {
    const body = scheme === 'serial' ? rest : s;
    const m = /^(.*?)(?::(\d+))?$/.exec(body);
    const path = m?.[1] ?? '';
    if (!path.startsWith('/')) throw new UsageError(`--mavlink: serial needs an absolute device path, got "${s}"`, 'e.g. serial:/dev/ttyAMA0:921600');
    const baudRate = m?.[2] ? Number(m[2]) : DEFAULT_MAVLINK_SERIAL_BAUD;
    if (!(baudRate > 0)) throw new UsageError(`--mavlink: bad baud rate in "${s}"`);
    return { kind: 'serial', path, baudRate };
  }
  throw new UsageError(`--mavlink: unknown target "${s}"`, `use ${MAVLINK_TARGET_FORMS}`);
}

export function formatMavlinkTarget(t: MavlinkTarget): string {
  switch (t.kind) {
    case 'none': return 'none';
    case 'serial': return `serial:${t.path}:${t.baudRate}`;
    case 'udp': return `${t.mode === 'in' ? 'udpin' : 'udp'}:${t.host.includes(':') ? `[${t.host}]` : t.host}:${t.port}`;
  }
}
