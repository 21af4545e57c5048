import { PassThrough } from 'node:stream';
import { MavLinkPacketParser, MavLinkPacketSplitter, common, minimal, type MavLinkPacket } from 'node-mavlink';

export const REGISTRY = { ...minimal.REGISTRY, ...common.REGISTRY };

/** CRC_EXTRA per message id, from the message definitions (protocols.md §3.1, verified with pymavlink). */
export const CRC_EXTRA: Record<number, number> = { 0: 50, 32: 185, 111: 34, 251: 170, 253: 83, 332: 236 };

/** Independent CRC-16/MCRF4XX (X.25) — not node-mavlink's. */
export function x25(bytes: Uint8Array, extra?: number): number {
  let crc = 0xffff;
  const acc = (b: number): void => {
    let tmp = (b ^ (crc & 0xff)) & 0xff;
    tmp = (tmp ^ (tmp << 4)) & 0xff;
    crc = ((crc >> 8) ^ (tmp << 8) ^ (tmp << 3) ^ (tmp >> 4)) & 0xffff;
  };
  for (const b of bytes) acc(b);
  if (extra !== undefined) acc(extra);
  return crc;
}

/** Check a v2 frame's CRC with our own X.25 + CRC_EXTRA table; returns the msgid. */
export function checkV2Crc(frame: Buffer): number {
  if (frame[0] !== 0xfd) throw new Error('not v2');
  const len = frame[1]!;
  const msgid = frame.readUIntLE(7, 3);
  const extra = CRC_EXTRA[msgid];
  if (extra === undefined) throw new Error(`no CRC_EXTRA for ${msgid}`);
  const crc = x25(frame.subarray(1, 10 + len), extra);
  const got = frame.readUInt16LE(10 + len);
  if (crc !== got) throw new Error(`CRC mismatch msgid ${msgid}: computed ${crc.toString(16)} frame ${got.toString(16)}`);
  return msgid;
}

/** Decode frames with node-mavlink's splitter (CRC_EXTRA checked) + parser. */
export async function decodeFrames(frames: Buffer[]): Promise<{ packets: MavLinkPacket[]; crcErrors: number; data: unknown[] }> {
  const input = new PassThrough();
  let crcErrors = 0;
  const splitter = new MavLinkPacketSplitter({}, { onCrcError: () => { crcErrors++; } });
  const parser = input.pipe(splitter).pipe(new MavLinkPacketParser());
  const packets: MavLinkPacket[] = [];
  parser.on('data', (p: MavLinkPacket) => packets.push(p));
  const done = new Promise<void>((resolve) => parser.on('end', () => resolve()));
  parser.resume();
  for (const f of frames) input.write(f);
  input.end();
  await done;
  const data = packets.map((p) => {
    const clazz = REGISTRY[p.header.msgid];
    return clazz ? p.protocol.data(p.payload, clazz) : undefined;
  });
  return { packets, crcErrors, data };
}
