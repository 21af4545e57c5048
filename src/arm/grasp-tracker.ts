/**
 * Grasp-point tracking for the SO-100: a planned grasp-point position (table frame, m) → arm joint goals (rad),
 * through the arm's own geometry — closed-form IK with the episode's gripper pitch — plus the integral correction
 * of the servos' gravity droop that the demonstrations' expert applies (a P-only servo holding an arm against
 * gravity settles short of its goal; the correction learns the offset while the target is still and keeps it
 * while moving).
 *
 * The learned plan decides where the fingers go and when; this layer only turns a point into joint angles, as
 * an inverse-kinematics controller under any end-effector-space policy does. Allocation-free.
 */
import { inverseKinematicsInto } from '../devices/so100/kinematics.js';

/** Droop correction: gain per tick while the target is still, and its cap (rad), as the demonstrations' expert. */
const DROOP_GAIN = 0.25;
const DROOP_CAP = 0.15;
/** Only errors below this (rad) are droop; see `track`. */
const DROOP_GATE = 0.1;
/** A target that moved less than this (rad, any joint) since the last tick counts as still. */
const STILL_RAD = 0.003;
/** Tilt steps (rad, count) toward horizontal for a target the episode's pitch cannot reach. */
const TILT_RAD = 0.05 * Math.PI;
const TILT_STEPS = 10;

export class GraspPointTracker {
  private readonly ik = new Float64Array(4);
  /** the IK's input: x, y, z, pitch */
  private readonly ikIn = new Float64Array(4);
  private readonly prev = new Float64Array(4);
  private readonly integ = new Float64Array(4);
  private readonly last = new Float64Array(4);
  private readonly pitchCell = new Float64Array(1);
  /** IK failures (target out of reach with this pitch: the last reachable joints are held) */
  ikFailures = 0;

  /** New episode: the measured joints (rad) and the episode's gripper pitch (rad from +z; π = down). */
  reset(q: ArrayLike<number>, pitch: number): void {
    this.pitchCell[0] = pitch;
    for (let i = 0; i < 4; i++) { this.integ[i] = 0; this.last[i] = q[i]!; this.prev[i] = NaN; }
    this.ikFailures = 0;
  }

  /** Target grasp point `p` (m) and the measured joints `q` → goals for joints 0–4 in `out` (roll held at 0). */
  track(p: ArrayLike<number>, q: ArrayLike<number>, out: Float64Array): void {
    const ik = this.ik;
    // the episode's pitch where it reaches (every key pose of the task does, by choice of the pitch); farther or higher
    // points — the way in from a start pose — tilt the gripper toward horizontal in steps until one does
    const io = this.ikIn;
    io[0] = p[0]!; io[1] = p[1]!; io[2] = p[2]!;
    let ok = false;
    for (let k = 0; k <= TILT_STEPS && !ok; k++) { io[3] = this.pitchCell[0]! - k * TILT_RAD; ok = inverseKinematicsInto(io, ik); }
    if (ok) {
      for (let i = 0; i < 4; i++) this.last[i] = ik[i]!;
    } else {
      this.ikFailures++;
      for (let i = 0; i < 4; i++) ik[i] = this.last[i]!;
    }
    let moved = 0;
    for (let i = 0; i < 4; i++) { const d = Math.abs(ik[i]! - this.prev[i]!); if (!(d <= moved)) moved = d; this.prev[i] = ik[i]!; }
    const still = moved < STILL_RAD; // NaN on the first tick → not still
    for (let i = 0; i < 4; i++) {
      const err = ik[i]! - q[i]!;
      // droop is a few hundredths of a radian; a larger error is a joint still on its way or blocked (pressing on the
      // cube or the table): integrating that would only push harder, up to the servo's overload protection
      if (still && err < DROOP_GATE && err > -DROOP_GATE) {
        let v = this.integ[i]! + DROOP_GAIN * err;
        if (v > DROOP_CAP) v = DROOP_CAP; else if (v < -DROOP_CAP) v = -DROOP_CAP;
        this.integ[i] = v;
      }
      out[i] = ik[i]! + this.integ[i]!;
    }
    out[4] = 0;
  }
}
