/**
 * SO-100 geometry (from the published SO-ARM100 link dimensions: shoulder axis ≈ 0.119 m above the table,
 * upper arm 0.116 m, forearm 0.135 m, wrist-pitch axis to the grasp point 0.13 m) and forward kinematics.
 *
 * Joint frame (rad; 0 = servo mid-range, 2048 ticks):
 *  - shoulder_pan: about +z; 0 faces +x.
 *  - shoulder_lift: about the pan frame's +y; 0 = upper arm vertical, + leans forward.
 *  - elbow_flex: 0 = forearm at right angles to the upper arm (forward); + bends down.
 *  - wrist_flex: 0 = gripper along the forearm; + bends down.
 *  - wrist_roll: about the gripper axis (does not move the grasp point).
 *  - gripper: jaw opening.
 * The MuJoCo model (`so100Mjcf`) uses exactly these numbers, so `forwardKinematics` matches its `ee` site.
 */
export const SO100_GEOMETRY = {
  /** Base (pan axis) footprint radius and height of the pan body above the table (m). */
  baseRadius: 0.045,
  baseHeight: 0.03,
  /** Shoulder-lift axis: forward offset from the pan axis and height above the table (m). */
  shoulderForward: 0.03,
  shoulderHeight: 0.119,
  upperArm: 0.116,
  forearm: 0.135,
  /** Wrist-pitch axis to the grasp point between the jaws (m). */
  hand: 0.13,
} as const;

/**
 * End-effector (grasp point) position in the table frame (m) from joint angles (rad, JOINTS order;
 * only the first four matter). Writes x, y, z into `out` (length ≥ 3) and returns it.
 */
export function forwardKinematics(q: ArrayLike<number>, out: Float64Array | number[] = new Float64Array(3)): Float64Array | number[] {
  const g = SO100_GEOMETRY;
  const q1 = q[0] ?? 0; const q2 = q[1] ?? 0; const q3 = q[2] ?? 0; const q4 = q[3] ?? 0;
  // planar chain in the (r, z) plane of the pan frame; angles measured from +z toward +r
  const a1 = q2;
  const a2 = q2 + Math.PI / 2 + q3;
  const a3 = a2 + q4;
  const r = g.shoulderForward + g.upperArm * Math.sin(a1) + g.forearm * Math.sin(a2) + g.hand * Math.sin(a3);
  const z = g.shoulderHeight + g.upperArm * Math.cos(a1) + g.forearm * Math.cos(a2) + g.hand * Math.cos(a3);
  out[0] = r * Math.cos(q1);
  out[1] = r * Math.sin(q1);
  out[2] = z;
  return out;
}

/**
 * Closed-form inverse kinematics for the grasp point with a chosen gripper pitch `phi` (rad from +z toward +r;
 * π/2 = horizontal, π = pointing down). Returns [pan, lift, elbow, wrist] or undefined when out of reach.
 * Elbow-up solution.
 */
export function inverseKinematics(x: number, y: number, z: number, phi: number): [number, number, number, number] | undefined {
  const q = new Float64Array(4);
  return inverseKinematicsInto(Float64Array.of(x, y, z, phi), q) ? [q[0]!, q[1]!, q[2]!, q[3]!] : undefined;
}

/**
 * `inverseKinematics` of `xyzPhi` = [x, y, z, phi] into `out` (length ≥ 4), allocation-free for control ticks
 * (arrays in and out: a double passed to a call V8 does not inline is boxed); false (out untouched) when out of reach.
 */
export function inverseKinematicsInto(xyzPhi: Float64Array, out: Float64Array): boolean {
  const g = SO100_GEOMETRY;
  const x = xyzPhi[0]!, y = xyzPhi[1]!, z = xyzPhi[2]!, phi = xyzPhi[3]!;
  const r = Math.sqrt(x * x + y * y) - g.shoulderForward; // not Math.hypot: its argument list allocates per call
  // wrist point
  const wr = r - g.hand * Math.sin(phi);
  const wz = z - g.shoulderHeight - g.hand * Math.cos(phi);
  const d2 = wr * wr + wz * wz;
  const L1 = g.upperArm; const L2 = g.forearm;
  const c = (d2 - L1 * L1 - L2 * L2) / (2 * L1 * L2);
  if (!(c >= -1 && c <= 1)) return false;
  // angle between upper arm and forearm directions: a2 - a1 = π/2 + q3 = ±acos(c)
  const beta = Math.acos(c); // elbow bends forward/down: a2 - a1 = +beta
  const a1 = Math.atan2(wr, wz) - Math.atan2(L2 * Math.sin(beta), L1 + L2 * Math.cos(beta));
  const a2 = a1 + beta;
  out[0] = Math.atan2(y, x);
  out[1] = a1;
  out[2] = a2 - a1 - Math.PI / 2;
  out[3] = phi - a2;
  return true;
}
