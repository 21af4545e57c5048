/**
 * The SO-100 pick-and-place task (what the planner, `kdp arm --task pick-place` and the demonstration generator
 * share): state / action layout, workspace, gripper constants, the squeeze limit, the arm-side progress
 * (`PickPlaceProgress`: picked / released from the joints alone), the grasp spots and gripper-down IK, the seeded
 * cube/place sampler and the ground-truth score.
 *
 * State (8), in the task's own frame so that demonstrations of every cube and place position look alike:
 * the grasp point FK(q) relative to the cube's grasp spot (x, y, m), its height (m), relative to the place's
 * release spot (x, y, m), the jaw angle (rad), picked and holding (0/1, `PickPlaceProgress`, from the arm's own
 * joints). The cube and place positions are the task inputs (what the user says), never sensed. Action (1) = the
 * gripper goal (rad). The grasp point's planned path is tracked through the arm's own kinematics
 * (`GraspPointTracker` on the runtime side; the demonstrations drive the same IK), so the plan says where the
 * fingers go and when the jaw closes, and the joints follow from geometry. 50 Hz. The gripper closes on the cube
 * through a squeeze limit (`limitSqueeze`): its goal never goes more than `MAX_SQUEEZE_RAD` below the measured jaw
 * angle, so a jaw blocked by the cube presses with at most kp·MAX_SQUEEZE_RAD (≈ 0.5 N·m with LeRobot's P 16),
 * under the gripper's overload threshold (LeRobot sets Overload_Torque 25 %).
 */
import type { Rng } from '../../util/rng.js';
import { inverseKinematics } from '../../devices/so100/kinematics.js';
import type { So100Config } from '../../devices/so100/config.js';
import { DEFAULT_SO100, JOINTS } from '../../devices/so100/config.js';

export const PP_STATE_NAMES = ['ee_dx_cube', 'ee_dy_cube', 'ee_z', 'ee_dx_place', 'ee_dy_place', 'q_grip', 'picked', 'holding'] as const;
export const PP_ACTION_NAMES = ['g_grip'] as const;
export const PP_STATE_DIM = 8;
export const PP_ACT_DIM = 1;
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

/** Gripper pitches (rad from +z) the gripper-down IK tries, in order: straight down first. */
export const PP_PITCHES = [Math.PI, 0.92 * Math.PI, 0.85 * Math.PI] as const;

/** The grasp-point spot (xy, m) that puts an object at table xy `offset` m radially outward of it, into `out`. */
export function graspSpot(x: number, y: number, offset: number, out: Float64Array, at = 0): void {
  const r = Math.sqrt(x * x + y * y);
  const k = r > 0 ? (r - offset) / r : 1;
  out[at] = x * k; out[at + 1] = y * k;
}

/** IK with the gripper pointing down (or nearly), inside the joint limits (3 cm margin); undefined when none fits. */
export function ikDown(p: readonly [number, number, number], cfg: So100Config = DEFAULT_SO100, pitch?: number): { q: number[]; pitch: number } | undefined {
  for (const phi of pitch === undefined ? PP_PITCHES : [pitch]) {
    const q = inverseKinematics(p[0], p[1], p[2], phi);
    if (!q) continue;
    let ok = true;
    for (let i = 0; i < 4; i++) { const [lo, hi] = cfg.jointLimitsRad[JOINTS[i]!]; if (q[i]! < lo + 0.03 || q[i]! > hi - 0.03) ok = false; }
    if (ok) return { q: [...q], pitch: phi };
  }
  return undefined;
}

/** The task's six key grasp-point poses: above / at / above the cube's spot, above / at / above the place's spot. */
export function pickPlaceWaypoints(cube: readonly [number, number], place: readonly [number, number]): [number, number, number][] {
  const c = new Float64Array(2), p = new Float64Array(2);
  graspSpot(cube[0], cube[1], CUBE_OFFSET_OPEN_M, c);
  graspSpot(place[0], place[1], CUBE_OFFSET_HELD_M, p);
  return [[c[0]!, c[1]!, CARRY_Z], [c[0]!, c[1]!, GRASP_Z], [c[0]!, c[1]!, CARRY_Z],
    [p[0]!, p[1]!, CARRY_Z], [p[0]!, p[1]!, PLACE_Z], [p[0]!, p[1]!, CARRY_Z + 0.02]];
}

/**
 * One gripper pitch for the whole episode (the cube's offset from the grasp point depends on it): the first of
 * `PP_PITCHES` with which every key pose is reachable; undefined when none is. From the task inputs and the arm's
 * geometry only, so the demonstrations and `kdp arm` choose the same.
 */
export function pickPlacePitch(cube: readonly [number, number], place: readonly [number, number], cfg: So100Config = DEFAULT_SO100): number | undefined {
  const pts = pickPlaceWaypoints(cube, place);
  for (const pitch of PP_PITCHES) if (pts.every((p) => ikDown(p, cfg, pitch) !== undefined)) return pitch;
  return undefined;
}

/**
 * The planner state (`PP_STATE_NAMES`) from the grasp point (m), the joints (rad; the jaw is q[5]), the two spots (`spots` = cube's grasp
 * spot xy, place's release spot xy) and the progress flags. Allocation-free (no double crosses the call: V8 boxes
 * one passed to a call it does not inline).
 */
export function pickPlaceState(ee: ArrayLike<number>, q: ArrayLike<number>, spots: ArrayLike<number>, progress: PickPlaceProgress, out: Float32Array | Float64Array): void {
  out[0] = ee[0]! - spots[0]!; out[1] = ee[1]! - spots[1]!; out[2] = ee[2]!;
  out[3] = ee[0]! - spots[2]!; out[4] = ee[1]! - spots[3]!;
  out[5] = q[5]!; out[6] = progress.picked ? 1 : 0; out[7] = progress.holding ? 1 : 0;
}

/** Both spots (`pickPlaceState`'s `spots`) for a cube and a place (table xy, m). */
export function pickPlaceSpots(cube: ArrayLike<number>, place: ArrayLike<number>, out: Float64Array): void {
  graspSpot(cube[0]!, cube[1]!, CUBE_OFFSET_OPEN_M, out, 0);
  graspSpot(place[0]!, place[1]!, CUBE_OFFSET_HELD_M, out, 2);
}
