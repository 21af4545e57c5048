import type { RadioEndpoint } from '../../src/links/mock/crazyradio.js';

/** A Crazyflie CRTP stack double: echoes LINK echo packets (as the firmware does) and records what it got. */
export class EchoEndpoint implements RadioEndpoint {
  readonly got: number[] = [];
  readonly down: Uint8Array[] = [];
  onPacket(p: Uint8Array): void {
    if ((p[0]! & 0xf3) === 0xf0) { this.got.push(p[1]!); const c = Uint8Array.from(p); c[0] = 0xf0; this.down.push(c); }
  }
  nextDownlink(): Uint8Array | undefined { return this.down.shift(); }
}
