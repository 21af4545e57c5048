/**
 * SO-100 pick-and-place in the simulator: the task layout, the in-process simulated arm with the cube
 * (`PickPlaceSim`), the scripted expert (`PickPlaceExpert`) and the demonstration generator behind
 * `kdp dataset so100-pick-place` (LeRobot v3.0 folders, like `kdp record`).
 *
 * State (8) and action (1): `PP_STATE_NAMES` / `PP_ACTION_NAMES` (src/envs/so100/pick-place-task.ts) — the grasp
 * point relative to the cube's and the place's spots, its height, the jaw, picked/holding from the arm's own joints;
 * the action is the gripper goal the expert meant before the squeeze limit (the runtime applies the limit, in the
 * demos and in `kdp arm`). 50 Hz. The cube's pose is never read back into the state: like a goal, it is what the
 * task says, so a planner sees the same thing on a real arm.
 *
 * The gripper closes on the cube through a squeeze limit (`limitSqueeze`): its goal never goes more than
 * `MAX_SQUEEZE_RAD` below the measured jaw angle, so a jaw blocked by the cube presses with at most
 * kp·MAX_SQUEEZE_RAD (≈ 0.5 N·m with LeRobot's P 16), under the gripper's overload threshold (LeRobot sets
 * Overload_Torque 25 %) — a closed jaw on a cube would otherwise trip the servo's protection after a second.
 */
import { EventLoopYield } from '../../util/yield.js';
import { forwardKinematics } from '../../devices/so100/kinematics.js';
import { So100Physics } from './physics.js';
import { SimServo, TICKS_PER_RAD } from './servo.js';
import { Rng } from '../../util/rng.js';
import type { So100Config } from '../../devices/so100/config.js';
import { DEFAULT_SO100, JOINTS } from '../../devices/so100/config.js';
import { sampleStart } from '../../envs/so100/reach-task.js';
import { GRIP_CLOSE, GRIP_OPEN, MAX_SQUEEZE_RAD, PP_ACT_DIM, PP_HZ, PP_STATE_DIM, PickPlaceProgress, ikDown, limitSqueeze, pickPlacePitch, pickPlaceSpots, pickPlaceState, pickPlaceWaypoints, samplePickPlace, scorePickPlace } from '../../envs/so100/pick-place-task.js';

/**
 * The simulated arm with the cube, in process (six `SimServo`s + MuJoCo; no pty): what the dataset generator and the
 * in-process checks drive. Servos configured like LeRobot's `configure()` (P/D 16/32, acceleration 254, the
 * gripper's torque and overload limits). `apply` allocates nothing.
 */
export class PickPlaceSim {
  readonly servos: SimServo[];
  readonly physics: So100Physics;
  readonly sub: number;
  readonly q = new Float64Array(6);
  readonly ee = new Float64Array(3);
  readonly cubeXY = new Float64Array(2);
  readonly placeXY = new Float64Array(2);
  /** the cube's grasp spot and the place's release spot (xy, m), for the planner state */
  readonly spots = new Float64Array(4);
  /** The goals sent by the last `apply` (after limits and the squeeze limit). */
  readonly sent = new Float64Array(6);
  private readonly cubeNow = new Float64Array(3);
  private readonly lo = new Float64Array(6);
  private readonly hi = new Float64Array(6);
  private readonly w16 = new Uint8Array(2);
  /** Highest cube centre (m) since the reset. */
  maxCubeZ = 0;
  /** The arm-side task progress (what `kdp arm` computes from the joints), for the state's `picked` flag. */
  readonly progress = new PickPlaceProgress();

  private constructor(servos: SimServo[], physics: So100Physics, cfg: So100Config, hz: number) {
    this.servos = servos;
    this.physics = physics;
    this.sub = Math.max(1, Math.round(1 / hz / physics.dt));
    JOINTS.forEach((j, i) => { [this.lo[i], this.hi[i]] = cfg.jointLimitsRad[j]; });
  }

  static async create(cfg: So100Config = DEFAULT_SO100, hz = PP_HZ): Promise<PickPlaceSim> {
    const servos = [1, 2, 3, 4, 5, 6].map((id) => new SimServo(id));
    const physics = await So100Physics.create(servos, cfg.jointLimitsRad, { cube: true });
    return new PickPlaceSim(servos, physics, cfg, hz);
  }

  /** A fresh episode: servos reset and configured, the arm at `q0` with torque on, the cube at rest at `cube`. */
  reset(q0: ArrayLike<number>, cube: readonly [number, number], place: readonly [number, number]): void {
    for (const s of this.servos) {
      s.factoryReset(s.id);
      for (const f of ['overload', 'voltage', 'overheat', 'angle', 'silent'] as const) s.faults[f] = false;
      s.reg('P_Coefficient', 16); s.reg('D_Coefficient', 32); s.reg('Acceleration', 254);
    }
    const g = this.servos[5]!;
    g.reg('Max_Torque_Limit', 500); g.reg('Protection_Current', 250); g.reg('Overload_Torque', 25);
    this.physics.setJoints(q0);
    this.physics.setCube(cube[0], cube[1]);
    for (const s of this.servos) { s.reg('Goal_Position', s.get('Present_Position')); s.write(40, Uint8Array.of(1)); }
    this.cubeXY[0] = cube[0]; this.cubeXY[1] = cube[1];
    this.placeXY[0] = place[0]; this.placeXY[1] = place[1];
    pickPlaceSpots(cube, place, this.spots);
    this.maxCubeZ = 0;
    this.progress.reset(place);
    this.measure();
  }

  measure(): void {
    for (let i = 0; i < 6; i++) this.q[i] = (this.servos[i]!.get('Present_Position') - 2048) / TICKS_PER_RAD;
    forwardKinematics(this.q, this.ee);
    this.physics.cubePosition(this.cubeNow);
    if (this.cubeNow[2]! > this.maxCubeZ) this.maxCubeZ = this.cubeNow[2]!;
  }

  /** The planner state (`pickPlaceState`) of the last measurement. */
  observe(out: Float32Array | Float64Array): void {
    pickPlaceState(this.ee, this.q, this.spots, this.progress, out);
  }

  /** Send goal joints (rad): clipped to the joint limits (NaN → lower limit), gripper squeeze-limited. */
  apply(goal: ArrayLike<number>): void {
    for (let i = 0; i < 6; i++) {
      let a = goal[i]!;
      if (i === 5) a = limitSqueeze(a, this.q[5]!);
      if (!(a >= this.lo[i]!)) a = this.lo[i]!; else if (a > this.hi[i]!) a = this.hi[i]!;
      this.sent[i] = a;
      const ticks = Math.max(0, Math.min(4095, Math.round(2048 + a * TICKS_PER_RAD)));
      this.w16[0] = ticks & 0xff; this.w16[1] = ticks >> 8;
      this.servos[i]!.write(42, this.w16);
    }
  }

  step(): void {
    this.physics.step(this.sub);
    this.measure();
    this.progress.update(this.q, this.ee, this.sent);
  }

  get overloaded(): boolean {
    for (const s of this.servos) if (s.faults.overload) return true;
    return false;
  }

  /** Sim-side ground truth (m). */
  cube(out: Float64Array | number[]): void { this.physics.cubePosition(out); }

  close(): void { this.physics.dispose(); }
}

interface Segment { q: number[]; grip: number; moveS: number; dwellS: number; integrate: boolean }

/**
 * The scripted expert: IK approach above the cube → descend → close → lift → move above the place → lower → open →
 * retreat. Minimum-jerk joint trajectories between IK poses (durations from half the joint speed limits), an
 * integral correction of the servos' gravity droop during the dwells (gain 0.25 per tick, capped at 0.15 rad).
 */
export class PickPlaceExpert {
  private readonly segs: Segment[] = [];
  private seg = 0;
  private t = 0;
  private readonly from = new Float64Array(6);
  private readonly integ = new Float64Array(6);
  private readonly dt: number;
  done = false;

  private constructor(segs: Segment[], q0: ArrayLike<number>, hz: number) {
    this.segs = segs;
    for (let i = 0; i < 6; i++) this.from[i] = q0[i]!;
    this.dt = 1 / hz;
  }

  /** undefined when the cube or the place cannot be reached with the gripper pointing down. */
  static plan(q0: ArrayLike<number>, cube: readonly [number, number], place: readonly [number, number], cfg: So100Config = DEFAULT_SO100, hz = PP_HZ): PickPlaceExpert | undefined {
    // one gripper pitch for the whole episode (the cube's offset from the grasp point depends on it): the same rule
    // `kdp arm` applies
    const pitch = pickPlacePitch(cube, place, cfg);
    if (pitch === undefined) return undefined;
    // the six key poses' joints (reachable with this pitch, by its choice), wrist roll 0
    const [pre, grasp, lift, above, lower, up] = pickPlaceWaypoints(cube, place).map((p) => [...ikDown(p, cfg, pitch)!.q, 0]) as [number[], number[], number[], number[], number[], number[]];
    const segs: Segment[] = [
      { q: pre, grip: GRIP_OPEN, moveS: 0, dwellS: 0.25, integrate: true },
      { q: grasp, grip: GRIP_OPEN, moveS: 0.7, dwellS: 0.3, integrate: true },
      { q: grasp, grip: GRIP_CLOSE, moveS: 0.3, dwellS: 1.0, integrate: false },
      { q: lift, grip: GRIP_CLOSE, moveS: 0.6, dwellS: 0.1, integrate: true },
      { q: above, grip: GRIP_CLOSE, moveS: 0, dwellS: 0.25, integrate: true },
      { q: lower, grip: GRIP_CLOSE, moveS: 0.6, dwellS: 0.3, integrate: true },
      { q: lower, grip: GRIP_OPEN, moveS: 0.3, dwellS: 0.2, integrate: false },
      { q: up, grip: GRIP_OPEN, moveS: 0.6, dwellS: 0.5, integrate: true },
    ];
    let prev = Array.from(q0);
    for (const s of segs) {
      let T = s.moveS;
      for (let i = 0; i < 5; i++) T = Math.max(T, Math.abs(s.q[i]! - prev[i]!) / (0.5 * cfg.velocityLimitsRadS[JOINTS[i]!]));
      T = Math.max(T, Math.abs(s.grip - prev[5]!) / (0.5 * cfg.velocityLimitsRadS.gripper));
      s.moveS = T;
      prev = [...s.q.slice(0, 5), s.grip];
    }
    return new PickPlaceExpert(segs, q0, hz);
  }

  /** The goal joints for this tick given the measured joints; advances the script. */
  act(q: ArrayLike<number>, out: Float64Array | number[]): void {
    const s = this.segs[this.seg]!;
    const u = s.moveS > 0 ? Math.min(1, this.t / s.moveS) : 1;
    const b = u * u * u * (10 - 15 * u + 6 * u * u);
    const dwelling = u >= 1;
    for (let i = 0; i < 5; i++) {
      const target = this.from[i]! + (s.q[i]! - this.from[i]!) * b;
      if (dwelling && s.integrate && i < 4) this.integ[i] = Math.max(-0.15, Math.min(0.15, this.integ[i]! + 0.25 * (s.q[i]! - q[i]!)));
      out[i] = target + this.integ[i]!;
    }
    out[5] = this.from[5]! + (s.grip - this.from[5]!) * b;
    this.t += this.dt;
    if (this.t >= s.moveS + s.dwellS) {
      for (let i = 0; i < 5; i++) this.from[i] = s.q[i]!;
      this.from[5] = s.grip;
      this.t = 0;
      this.seg++;
      if (this.seg >= this.segs.length) { this.seg = this.segs.length - 1; this.done = true; }
    }
  }
}

export interface PickPlaceDatasetOptions {
  episodes: number;
  seed: number;
  /** Std (rad) of Gaussian noise on the expert's arm goals (exploration). Default 0. */
  noiseRad?: number;
  config?: So100Config;
  signal?: AbortSignal;
  /** Called with each accepted episode's frames (states × `PP_STATE_DIM`, actions × `PP_ACT_DIM`). */
  onEpisode: (states: Float32Array, actions: Float32Array) => Promise<void>;
  onProgress?: (episodes: number, attempts: number) => void;
}

export interface PickPlaceDatasetStats {
  episodes: number;
  frames: number;
  /** Draws dropped: out of reach, overload, or the scripted pick/place failed in the physics (not recorded). */
  rejected: number;
  meanFinalErrorM: number;
}

/**
 * Scripted pick-and-place demonstrations: only episodes whose cube the physics confirms picked and placed are kept
 * (ground truth from the simulator), so the data shows grasps that hold.
 */
export async function generatePickPlaceDemos(o: PickPlaceDatasetOptions): Promise<PickPlaceDatasetStats> {
  const cfg = o.config ?? DEFAULT_SO100;
  const rng = new Rng(o.seed);
  const sim = await PickPlaceSim.create(cfg);
  const maxFrames = 20 * PP_HZ;
  const states = new Float32Array(maxFrames * PP_STATE_DIM);
  const actions = new Float32Array(maxFrames * PP_ACT_DIM);
  const goal = new Float64Array(6); const cubeNow = new Float64Array(3); const obs = new Float32Array(PP_STATE_DIM);
  const stats: PickPlaceDatasetStats = { episodes: 0, frames: 0, rejected: 0, meanFinalErrorM: 0 };
  const noise = o.noiseRad ?? 0;
  const [gLo, gHi] = cfg.jointLimitsRad.gripper;
  const y = new EventLoopYield();
  try {
    while (stats.episodes < o.episodes) {
      if (y.due()) await y.pause();
      if (o.signal?.aborted) break;
      const { cube, place } = samplePickPlace(rng);
      const q0 = sampleStart(rng);
      q0[5] = rng.range(0.2, 0.8);
      const expert = PickPlaceExpert.plan(q0, cube, place, cfg);
      if (!expert) { stats.rejected++; continue; }
      sim.reset(q0, cube, place);
      let n = 0; let fault = false;
      while (!expert.done && n < maxFrames) {
        expert.act(sim.q, goal);
        if (noise > 0) for (let i = 0; i < 5; i++) goal[i] = goal[i]! + noise * rng.normal();
        sim.observe(obs);
        sim.apply(goal);
        states.set(obs, n * PP_STATE_DIM);
        // the action is the gripper goal the expert meant (within the joint limits): the squeeze limit is the runtime's
        // job, here and in `kdp arm`; a recorded "present − 0.016" would teach the plan to squeeze by a hair instead of
        // to close. The arm joints are not recorded: the plan's grasp-point path is what the runtime tracks.
        actions[n * PP_ACT_DIM] = Math.min(gHi, Math.max(gLo, goal[5]!));
        n++;
        sim.step();
        if (sim.overloaded) { fault = true; break; }
      }
      sim.cube(cubeNow);
      const score = scorePickPlace(cubeNow, place, sim.maxCubeZ);
      if (fault || !score.placed) { stats.rejected++; o.onProgress?.(stats.episodes, stats.episodes + stats.rejected); continue; }
      await o.onEpisode(states.subarray(0, n * PP_STATE_DIM), actions.subarray(0, n * PP_ACT_DIM));
      stats.episodes++;
      stats.frames += n;
      stats.meanFinalErrorM += score.finalErrorM;
      o.onProgress?.(stats.episodes, stats.episodes + stats.rejected);
    }
  } finally {
    sim.close();
  }
  stats.meanFinalErrorM = stats.episodes ? stats.meanFinalErrorM / stats.episodes : 0;
  return stats;
}
