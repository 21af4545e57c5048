/**
 * Compressed unit quaternion (32 bits) used by the full_state setpoint (firmware `quatcompress.h` layout):
 * top 2 bits = index of the largest |component| (order x, y, z, w); then, for the three other components in
 * index order, 10 bits each = sign bit (relative to the sign of the largest) + 9-bit magnitude scaled by 1/√2.
 */
const SQRT1_2 = Math.SQRT1_2;

export function compressQuaternion(x: number, y: number, z: number, w: number): number {
  return compressQuaternionBits(x, y, z, w) >>> 0;
}

/**
 * The same 32 bits as a signed int32, for encoders that write them straight into a buffer: a uint32 with the
 * top bit set is not a small integer in V8, so returning it unsigned boxes a heap number on every call.
 */
export function compressQuaternionBits(x: number, y: number, z: number, w: number): number {
  const ax = Math.abs(x), ay = Math.abs(y), az = Math.abs(z), aw = Math.abs(w);
  let largest = 0;
  let big = ax;
  if (ay > big) { largest = 1; big = ay; }
  if (az > big) { largest = 2; big = az; }
  if (aw > big) { largest = 3; big = aw; }
  const negLargest = (largest === 0 ? x : largest === 1 ? y : largest === 2 ? z : w) < 0;
  let comp = largest;
  for (let i = 0; i < 4; i++) {
    if (i === largest) continue;
    const v = i === 0 ? x : i === 1 ? y : i === 2 ? z : w;
    const neg = (v < 0) !== negLargest ? 1 : 0;
    const mag = Math.min(511, Math.floor(511 * (Math.abs(v) / SQRT1_2) + 0.5));
    comp = (comp << 10) | (neg << 9) | mag;
  }
  return comp | 0;
}

/** Decompress into `out` (x, y, z, w); returns out. */
export function decompressQuaternion(comp: number, out: Float64Array | number[]): Float64Array | number[] {
  const largest = comp >>> 30;
  let rest = comp >>> 0;
  let sum = 0;
  for (let i = 3; i >= 0; i--) {
    if (i === largest) continue;
    const mag = rest & 511;
    const neg = (rest >>> 9) & 1;
    rest >>>= 10;
    const v = (SQRT1_2 * mag) / 511;
    out[i] = neg ? -v : v;
    sum += v * v;
  }
  out[largest] = Math.sqrt(Math.max(0, 1 - sum));
  return out;
}
