/**
 * The SO-100 pick-and-place task (what the planner, `kdp arm --task pick-place` and the demonstration generator
 * share): state / action layout, workspace, gripper constants, the squeeze limit, the arm-side progress
 * (`PickPlaceProgress`: picked / released from the joints alone), the seeded cube/place sampler and the
 * ground-truth score.
 *
 * State (14) = q (6, rad, from Present_Position), grasp point FK(q) (3, m), cube xy (2, m: where the user says the
 * cube is, the task input), place xy (2, m), picked (0/1: `PickPlaceProgress`); action (6) = goal joint angles (rad).
 * 50 Hz. The gripper closes on the cube through a squeeze limit (`limitSqueeze`): its goal never goes more than
 * `MAX_SQUEEZE_RAD` below the measured jaw angle, so a jaw blocked by the cube presses with at most
 * kp·MAX_SQUEEZE_RAD (≈ 0.5 N·m with LeRobot's P 16), under the gripper's overload threshold (LeRobot sets
 * Overload_Torque 25 %).
 */
import type { Rng } from '../../util/rng.js';

export const PP_STATE_NAMES = ['q_pan', 'q_lift', 'q_elbow', 'q_wrist', 'q_roll', 'q_grip', 'ee_x', 'ee_y', 'ee_z', 'cube_x', 'cube_y', 'place_x', 'place_y', 'picked'] as const;
export const PP_ACTION_NAMES = ['g_pan', 'g_lift', 'g_elbow', 'g_wrist', 'g_roll', 'g_grip'] as const;
export const PP_STATE_DIM = 14;
export const PP_ACT_DIM = 6;
export const PP_HZ = 50;

/** Where cubes and places are drawn from (table frame, m): a ring in front of the arm. */
export const PP_WORKSPACE = { rMin: 0.16, rMax: 0.26, panMax: 0.8, minSeparationM: 0.08 } as const;

/** Gripper angles (rad): open (jaw gap ≈ 6.1 cm), and the closing target (the squeeze limit stops it on the cube). */
export const GRIP_OPEN = 0.55;
export const GRIP_CLOSE = 0.05;
export const MAX_SQUEEZE_RAD = 0.016;
/** Grasp-point heights (m): grasp, carry, release. */
export const GRASP_Z = 0.024;
export const CARRY_Z = 0.08;
export const PLACE_Z = 0.03;
/**
 * Radial offset (m) of the cube from the grasp point: open, the cube sits mid-gap (+0.5 cm outward); closed, the jaw has
 * pushed it against the fixed finger (−1 cm).
 */
export const CUBE_OFFSET_OPEN_M = 0.005;
export const CUBE_OFFSET_HELD_M = -0.01;
/** Scoring: a cube counts as picked when it rose this high (centre, m), placed when it rests within `PLACE_TOL_M`. */
export const PICKED_Z = 0.04;
export const PLACE_TOL_M = 0.02;

/** Clamp a gripper goal so it is at most `MAX_SQUEEZE_RAD` below (more closed than) the measured angle. */
export function limitSqueeze(goal: number, measured: number, maxSqueeze = MAX_SQUEEZE_RAD): number {
  return goal < measured - maxSqueeze ? measured - maxSqueeze : goal;
}

/**
 * What the arm can tell about the task from its own joints (no cube sensing): holding = the jaw is stopped (moved
 * < 0.004 rad since the last tick) open wider than an empty close, by a goal more closed than it; picked = holding with the grasp point lifted above
 * `liftZ`; released = the jaw opened again after a pick; done = released and the grasp point back above `liftZ`.
 * At release the cube is estimated where the held cube sits (grasp point + the held offset); `placeErrorM` is
 * that estimate's distance to the place.
 */
export class PickPlaceProgress {
  picked = false;
  released = false;
  done = false;
  /** estimated cube-to-place distance (m) at release; NaN before */
  placeErrorM = NaN;
  private holdingTicks = 0;
  /** the jaw has held something (stopped, squeezing) for 5 ticks */
  holding = false;
  /** the jaw angle at the previous update (a typed-array slot: a double field would box a new number per tick) */
  private readonly prevGrip = new Float64Array(1);
  private readonly place = new Float64Array(2);
  constructor(private readonly liftZ = 0.05, private readonly minHeldGrip = 0.15) {}

  reset(place: ArrayLike<number>): void {
    this.place[0] = place[0]!; this.place[1] = place[1]!;
    this.picked = false; this.released = false; this.done = false; this.placeErrorM = NaN; this.holdingTicks = 0; this.holding = false; this.prevGrip[0] = NaN;
  }

  /** Update from the measured joints (rad), their grasp point (m) and the gripper goal sent last. */
  update(q: ArrayLike<number>, ee: ArrayLike<number>, goals: ArrayLike<number>): void {
    // the goal vector, not its gripper entry: a double passed to a call V8 does not inline is boxed (16 B a tick)
    const gripGoal = goals[5]!;
    const grip = q[5]!;
    const stalled = Math.abs(grip - this.prevGrip[0]!) < 0.004; // false on the first tick (NaN)
    this.prevGrip[0] = grip;
    const holding = stalled && grip >= this.minHeldGrip && grip < GRIP_OPEN - 0.1 && gripGoal < grip - 0.008;
    this.holdingTicks = holding ? this.holdingTicks + 1 : 0;
    if (!this.picked && this.holdingTicks >= 5 && ee[2]! > this.liftZ) this.picked = true;
    this.holding = this.holdingTicks >= 5;
    if (this.picked && !this.released && grip > GRIP_OPEN - 0.1) {
      this.released = true;
      const r = Math.sqrt(ee[0]! * ee[0]! + ee[1]! * ee[1]!);
      const k = r > 0 ? (r + CUBE_OFFSET_HELD_M) / r : 1;
      const dx = ee[0]! * k - this.place[0]!, dy = ee[1]! * k - this.place[1]!;
      this.placeErrorM = Math.sqrt(dx * dx + dy * dy);
    }
    if (this.released && ee[2]! > this.liftZ + 0.02) this.done = true;
  }

  /** placed = released within `tolM` of the place (the arm's estimate). */
  placed(tolM: number): boolean { return this.released && this.placeErrorM <= tolM; }
}

/** A cube position and a place position at least `minSeparationM` apart, both in `PP_WORKSPACE`. */
export function samplePickPlace(rng: Rng): { cube: [number, number]; place: [number, number] } {
  const W = PP_WORKSPACE;
  const draw = (): [number, number] => {
    const th = rng.range(-W.panMax, W.panMax); const r = rng.range(W.rMin, W.rMax);
    return [r * Math.cos(th), r * Math.sin(th)];
  };
  const cube = draw();
  for (;;) {
    const place = draw();
    if (Math.hypot(place[0] - cube[0], place[1] - cube[1]) >= W.minSeparationM) return { cube, place };
  }
}

/** Ground-truth outcome of an episode from the cube's pose (the simulator's, never the planner's). */
export function scorePickPlace(cube: ArrayLike<number>, place: ArrayLike<number>, maxCubeZ: number): { picked: boolean; placed: boolean; finalErrorM: number } {
  const finalErrorM = Math.hypot(cube[0]! - place[0]!, cube[1]! - place[1]!);
  const picked = maxCubeZ >= PICKED_Z;
  // resting on the table (not held in the air, not toppled onto an edge) within the tolerance of the place
  const placed = picked && cube[2]! < 0.02 && finalErrorM <= PLACE_TOL_M;
  return { picked, placed, finalErrorM };
}
