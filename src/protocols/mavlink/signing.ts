import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { MavLinkPacketSignature, MavLinkProtocolV2 } from 'node-mavlink';
import { ConfigError } from '../../errors.js';
import { childLogger } from '../../log.js';

/**
 * MAVLink 2 message signing (protocols.md §3.1): incompat flag 0x01, then 13 bytes
 * linkId u8, timestamp u48 (10 µs units since 2015-01-01 UTC), first 6 bytes of
 * SHA-256(key(32) + header + payload + CRC + linkId + timestamp).
 * The hash is computed by node-mavlink's `MavLinkPacketSignature`; we only own the timestamp so it is
 * strictly increasing per link even when several frames go out in the same 10 µs slot (the spec requires it;
 * node-mavlink's `sendSigned` uses Date.now() and repeats timestamps within a millisecond).
 */
export const SIGNATURE_EPOCH_MS = Date.UTC(2015, 0, 1);
export const SIGNED_FRAME_EXTRA_BYTES = 13;

/**
 * Read a signing key file. Accepted contents:
 *   32 raw bytes | 64 hex characters | base64 of 32 bytes | anything else = a passphrase, key = SHA-256(passphrase)
 *   (the passphrase form matches Mission Planner and `MavLinkPacketSignature.key()`).
 */
export function loadSigningKey(file: string): Buffer {
  let raw: Buffer;
  try {
    raw = readFileSync(file);
  } catch (e) {
    throw new ConfigError(`cannot read MAVLink signing key: ${(e as Error).message}`, { file, cause: e });
  }
  try {
    const mode = statSync(file).mode;
    if ((mode & 0o077) !== 0) childLogger('mavlink').warn({ file, mode: (mode & 0o777).toString(8) }, 'signing key is readable by group/others; chmod 600 it');
  } catch { /* stat raced with a delete: readFileSync already succeeded */ }
  if (raw.length === 32) return raw;
  const text = raw.toString('utf8').trim();
  if (text.length === 0) throw new ConfigError('MAVLink signing key file is empty', { file, hint: 'put 64 hex characters (32 bytes) or a passphrase in it' });
  if (/^[0-9a-fA-F]{64}$/.test(text)) return Buffer.from(text, 'hex');
  if (/^[A-Za-z0-9+/]{43}=$/.test(text)) {
    const b = Buffer.from(text, 'base64');
    if (b.length === 32) return b;
  }
  return MavLinkPacketSignature.key(text);
}

/** Key id for logs: first 8 hex of SHA-256(key); never log the key itself. */
export function signingKeyId(key: Buffer): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 8);
}

/** Signs v2 frames for one link with a strictly increasing timestamp. */
export class FrameSigner {
  private lastTimestamp = 0;
  constructor(readonly key: Buffer, readonly linkId = 0, private readonly nowMs: () => number = Date.now) {
    if (key.length !== 32) throw new RangeError(`MAVLink signing key must be 32 bytes, got ${key.length}`);
    if (!Number.isInteger(linkId) || linkId < 0 || linkId > 255) throw new RangeError(`linkId must be 0..255, got ${linkId}`);
  }

  /** Timestamp (10 µs units since 2015-01-01) for the next frame. */
  nextTimestamp(): number {
    const now = Math.floor((this.nowMs() - SIGNATURE_EPOCH_MS) * 100);
    this.lastTimestamp = now > this.lastTimestamp ? now : this.lastTimestamp + 1;
    return this.lastTimestamp;
  }

  /** `frame` must be a v2 frame serialized with incompat flag 0x01 (so its CRC covers the flag). */
  sign(frame: Buffer): Buffer {
    if (frame[0] !== MavLinkProtocolV2.START_BYTE || ((frame[2] ?? 0) & MavLinkProtocolV2.IFLAG_SIGNED) === 0) {
      throw new RangeError('sign(): frame must be MAVLink v2 with the signed incompat flag set');
    }
    const out = Buffer.alloc(frame.length + SIGNED_FRAME_EXTRA_BYTES);
    frame.copy(out, 0);
    const sig = new MavLinkPacketSignature(out);
    sig.linkId = this.linkId;
    sig.timestamp = this.nextTimestamp();
    sig.signature = sig.calculate(this.key);
    return out;
  }
}
