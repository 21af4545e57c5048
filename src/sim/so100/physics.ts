/**
 * MuJoCo model of the SO-100 (primitive geoms sized from the published link dimensions, see kinematics.ts)
 * driven by six simulated STS3215 position loops. Torque actuators; each servo's PD runs here on the
 * servo's motion-profile setpoint (kp = 2·P_Coefficient N·m/rad, kd = 0.02·D_Coefficient N·m·s/rad, capped by
 * Torque_Limit × the stall torque). Torque off = zero torque (the gearbox friction holds the arm loosely).
 * Links collide with the table plane (not with each other).
 */
import loadMujoco from 'mujoco-js';
import type { JointName } from '../../devices/so100/config.js';
import { DEFAULT_SO100, JOINTS } from '../../devices/so100/config.js';
import { SO100_GEOMETRY as G } from '../../devices/so100/kinematics.js';
import type { SimServo } from './servo.js';
import { TICKS_PER_RAD } from './servo.js';

/** Stall torque used for every joint (N·m): STS3215 ≈ 19.5 kg·cm at 7.4 V. */
export const STALL_TORQUE_NM = 1.9 * 1.3;

/** Joint friction (N·m), and the gearbox's back-drive friction with torque off (≈1:345 reduction), modelled as stiction. */
export const ON_FRICTION_NM = 0.05;
export const LIMP_FRICTION_NM = [0.6, 1.5, 1.0, 0.5, 0.3, 0.3] as const;

/**
 * The gripper (hand frame: x along the gripper, the jaws close along z): a fixed finger below the grasp point and a
 * moving finger on a lever hinged behind the wrist-roll body, so the jaw closes nearly parallel (≈ 15° of tilt on a
 * 3 cm cube). Gripper angle 0 = fingers touching; + opens. Gap at the grasp point ≈ (ee − hinge)·sin g.
 */
export const JAW = { fingerX: 0.0675, halfLen: 0.0175, halfWidth: 0.012, halfThick: 0.004, innerZ: 0.025, hingeX: -0.04 } as const;

/** The cube of the pick-and-place task: edge 3 cm, 30 g, on the table. */
export const CUBE = { half: 0.015, mass: 0.03, friction: 1.0 } as const;

export interface So100MjcfOptions {
  /** Add the free cube (a body with six DOF after the arm's six joints: qpos 6..12, qvel 6..11). */
  cube?: boolean;
}

/** Jaw gap (m) at the grasp point for a gripper angle (rad); the inverse is `gripperForGap`. */
export function jawGapAt(g: number): number {
  const lever = G.hand - 0.06 - JAW.hingeX;
  return lever * Math.sin(g) + JAW.innerZ * (1 - Math.cos(g));
}

export function so100Mjcf(limits: Record<JointName, [number, number]> = DEFAULT_SO100.jointLimitsRad, o: So100MjcfOptions = {}): string {
  const r = (j: JointName): string => `${limits[j][0]} ${limits[j][1]}`;
  const link = 'contype="2" conaffinity="1"';
  // fingers touch the table (bit 1) and the cube (bit 4); links do not collide with each other
  const J = JAW;
  const finger = `contype="2" conaffinity="1" friction="${CUBE.friction} 0.02 0.001"`;
  const cube = o.cube
    ? `    <body name="cube" pos="0.2 0 ${CUBE.half}">
      <freejoint name="cube"/>
      <geom name="cube" type="box" size="${CUBE.half} ${CUBE.half} ${CUBE.half}" mass="${CUBE.mass}" contype="1" conaffinity="3" condim="4" friction="${CUBE.friction} 0.02 0.001" rgba="0.2 0.5 0.9 1"/>
    </body>\n`
    : '';
  const t = STALL_TORQUE_NM;
  return `<mujoco model="so100-kdp">
  <compiler angle="radian" autolimits="true"/>
  <option timestep="0.004" gravity="0 0 -9.81" integrator="implicitfast"${o.cube ? ' cone="elliptic" impratio="10"' : ''}/>
  <default>
    <joint type="hinge" damping="0.05" armature="0.01" frictionloss="${ON_FRICTION_NM}"/>
    <geom friction="0.8 0.02 0.001" rgba="0.95 0.45 0.1 1" contype="0" conaffinity="0"/>
    <motor ctrlrange="${-t} ${t}" gear="1"/>
  </default>
  <worldbody>
    <geom name="table" type="plane" size="1 1 0.01" contype="1" conaffinity="2" rgba="0.6 0.6 0.6 1"/>
    <body name="base">
      <geom type="cylinder" size="${G.baseRadius} ${G.baseHeight / 2}" pos="0 0 ${G.baseHeight / 2}" mass="0.3"/>
      <body name="pan" pos="0 0 ${G.baseHeight}">
        <joint name="shoulder_pan" axis="0 0 1" range="${r('shoulder_pan')}"/>
        <geom type="capsule" fromto="0 0 0 ${G.shoulderForward} 0 ${G.shoulderHeight - G.baseHeight}" size="0.02" mass="0.12"/>
        <body name="upper_arm" pos="${G.shoulderForward} 0 ${G.shoulderHeight - G.baseHeight}">
          <joint name="shoulder_lift" axis="0 1 0" range="${r('shoulder_lift')}"/>
          <geom type="capsule" fromto="0 0 0 0 0 ${G.upperArm}" size="0.018" mass="0.16" ${link}/>
          <body name="forearm" pos="0 0 ${G.upperArm}">
            <joint name="elbow_flex" axis="0 1 0" range="${r('elbow_flex')}"/>
            <geom type="capsule" fromto="0 0 0 ${G.forearm} 0 0" size="0.016" mass="0.15" ${link}/>
            <body name="wrist" pos="${G.forearm} 0 0">
              <joint name="wrist_flex" axis="0 1 0" range="${r('wrist_flex')}"/>
              <geom type="capsule" fromto="0 0 0 0.06 0 0" size="0.015" mass="0.066" ${link}/>
              <body name="hand" pos="0.06 0 0">
                <joint name="wrist_roll" axis="1 0 0" range="${r('wrist_roll')}"/>
                <geom type="capsule" fromto="0 0 -0.01 0.045 0 -0.01" size="0.008" mass="0.05" ${link}/>
                <geom name="fixed_jaw" type="box" pos="${J.fingerX} 0 ${-J.innerZ - J.halfThick}" size="${J.halfLen} ${J.halfWidth} ${J.halfThick}" mass="0.04" ${finger}/>
                <site name="ee" pos="${G.hand - 0.06} 0 0" size="0.005"/>
                <body name="jaw" pos="${J.hingeX} 0 0">
                  <joint name="gripper" axis="0 -1 0" range="${r('gripper')}"/>
                  <geom name="moving_jaw" type="box" pos="${J.fingerX - J.hingeX} 0 ${-J.innerZ + J.halfThick}" size="${J.halfLen} ${J.halfWidth} ${J.halfThick}" mass="0.02" ${finger}/>
                </body>
              </body>
            </body>
          </body>
        </body>
      </body>
    </body>
${cube}  </worldbody>
  <actuator>
${JOINTS.map((j) => `    <motor name="${j}" joint="${j}"/>`).join('\n')}
  </actuator>
</mujoco>`;
}

type Mj = Awaited<ReturnType<typeof loadMujoco>>;
let mjPromise: Promise<Mj> | undefined;
/** Load the MuJoCo WASM module once per process. */
export function mujoco(): Promise<Mj> {
  mjPromise ??= loadMujoco();
  return mjPromise;
}

export interface PhysicsState {
  timeS: number;
  qpos: Float64Array;
  qvel: Float64Array;
  torque: Float64Array;
  /** Grasp point (m) from MuJoCo's `ee` site. */
  ee: Float64Array;
  contacts: number;
  /** The cube's centre (m), orientation quaternion (w, x, y, z) and highest centre since placed, when the model has one (sim-side ground truth). */
  cube?: { pos: Float64Array; quat: Float64Array; maxZ: number };
}

export class So100Physics {
  private readonly mj: Mj;
  private readonly m: InstanceType<Mj['MjModel']>;
  private readonly d: InstanceType<Mj['MjData']>;
  readonly dt: number;
  private readonly eeSite: number;
  readonly torque = new Float64Array(6);
  private readonly latch = new Float64Array(6);
  private readonly servos: (SimServo | undefined)[];
  private timeS = 0;

  /** True when the model has the free cube (`So100MjcfOptions.cube`). */
  readonly hasCube: boolean;
  /** Highest cube centre (m) since the last `setCube` (ground truth for "was it picked"). */
  cubeMaxZ = 0;

  private constructor(mj: Mj, servos: (SimServo | undefined)[], limits?: Record<JointName, [number, number]>, o: So100MjcfOptions = {}) {
    this.mj = mj;
    this.hasCube = o.cube ?? false;
    const path = `/so100-${process.pid}-${Math.random().toString(36).slice(2)}.xml`;
    mj.FS.writeFile(path, so100Mjcf(limits, o));
    this.m = mj.MjModel.loadFromXML(path);
    mj.FS.unlink(path);
    this.d = new mj.MjData(this.m);
    this.dt = this.m.opt.timestep as number;
    const siteType = (mj as unknown as { mjtObj: { mjOBJ_SITE: { value: number } | number } }).mjtObj.mjOBJ_SITE;
    this.eeSite = mj.mj_name2id(this.m, typeof siteType === 'number' ? siteType : siteType.value, 'ee');
    this.servos = servos;
    mj.mj_forward(this.m, this.d);
  }

  /** `servos[i]` drives joint i (JOINTS order); undefined = joint unpowered. */
  static async create(servos: (SimServo | undefined)[], limits?: Record<JointName, [number, number]>, o: So100MjcfOptions = {}): Promise<So100Physics> {
    return new So100Physics(await mujoco(), servos, limits, o);
  }

  /** Put the cube at rest on the table at (x, y), square to the axes (rad `yaw` about z). */
  setCube(x: number, y: number, yaw = 0): void {
    if (!this.hasCube) throw new RangeError('this simulator has no cube');
    this.views();
    const qpos = this.qposV!; const qvel = this.qvelV!;
    qpos[6] = x; qpos[7] = y; qpos[8] = CUBE.half;
    qpos[9] = Math.cos(yaw / 2); qpos[10] = 0; qpos[11] = 0; qpos[12] = Math.sin(yaw / 2);
    for (let i = 6; i < 12; i++) qvel[i] = 0;
    this.mj.mj_forward(this.m, this.d);
    this.cubeMaxZ = CUBE.half;
  }

  /** The cube's centre (m) into `out` (length ≥ 3); NaN when there is no cube. Allocation-free. */
  cubePosition(out: Float64Array | number[]): void {
    if (!this.hasCube) { out[0] = NaN; out[1] = NaN; out[2] = NaN; return; }
    this.views();
    const qpos = this.qposV!;
    out[0] = qpos[6]!; out[1] = qpos[7]!; out[2] = qpos[8]!;
  }

  /** Teleport the joints (rad) with zero velocity (a hand moving the arm, or the initial pose). */
  setJoints(q: ArrayLike<number>): void {
    this.views();
    const qpos = this.qposV!;
    const qvel = this.qvelV!;
    for (let i = 0; i < 6 && i < q.length; i++) { qpos[i] = q[i]!; qvel[i] = 0; this.latch[i] = q[i]!; }
    this.mj.mj_forward(this.m, this.d);
    this.feedback(0);
  }

  // MjData's arrays are typed-array views created by each getter call: cache them (no allocation per step) and
  // refetch if WASM memory growth detached them (length 0)
  private qposV: Float64Array | undefined;
  private qvelV: Float64Array | undefined;
  private ctrlV: Float64Array | undefined;
  private views(): void {
    if (!this.qposV || this.qposV.length === 0 || this.qvelV!.length === 0 || this.ctrlV!.length === 0) {
      this.qposV = this.d.qpos as Float64Array;
      this.qvelV = this.d.qvel as Float64Array;
      this.ctrlV = this.d.ctrl as Float64Array;
    }
  }

  /** Advance by `n` physics steps. */
  step(n: number): void {
    this.views();
    const qpos = this.qposV!;
    const qvel = this.qvelV!;
    const ctrl = this.ctrlV!;
    const dt = this.dt;
    for (let k = 0; k < n; k++) {
      for (let i = 0; i < 6; i++) {
        const s = this.servos[i];
        let tau = 0;
        if (!s || !s.torqueEnabled) {
          // torque off: the gearbox's static friction (stiction with slip), so a limp arm stays where it is put
          // unless pushed harder than LIMP_FRICTION_NM
          const F = LIMP_FRICTION_NM[i]!;
          tau = 100 * (this.latch[i]! - qpos[i]!) - 1.0 * qvel[i]!;
          if (tau > F) { tau = F; this.latch[i] = qpos[i]! + F / 100; } else if (tau < -F) { tau = -F; this.latch[i] = qpos[i]! - F / 100; }
        } else this.latch[i] = qpos[i]!;
        if (s) {
          s.stepProfile(dt);
          const target = s.targetTicks();
          if (target !== undefined) {
            const qt = (target - 2048) / TICKS_PER_RAD;
            const kp = 2 * s.get('P_Coefficient');
            const kd = 0.02 * s.get('D_Coefficient');
            const limit = STALL_TORQUE_NM * Math.min(s.get('Torque_Limit'), s.get('Max_Torque_Limit'), 1000) / 1000;
            tau = kp * (qt - qpos[i]!) - kd * qvel[i]!;
            if (tau > limit) tau = limit; else if (tau < -limit) tau = -limit;
          }
        }
        this.torque[i] = s && s.torqueEnabled ? tau : 0; // a limp servo reports no load
        ctrl[i] = tau;
      }
      this.mj.mj_step(this.m, this.d);
      this.timeS += dt;
      if (this.hasCube && qpos[8]! > this.cubeMaxZ) this.cubeMaxZ = qpos[8]!;
      this.feedback(dt);
    }
  }

  private feedback(dt: number): void {
    this.views();
    const qpos = this.qposV!;
    const qvel = this.qvelV!;
    for (let i = 0; i < 6; i++) {
      const s = this.servos[i];
      if (s) s.setMeasured(2048 + qpos[i]! * TICKS_PER_RAD, qvel[i]! * TICKS_PER_RAD, this.torque[i]! / STALL_TORQUE_NM, dt);
    }
  }

  state(): PhysicsState {
    const sx = this.d.site_xpos as Float64Array;
    const e = 3 * this.eeSite;
    return {
      timeS: this.timeS,
      qpos: Float64Array.from((this.d.qpos as Float64Array).subarray(0, 6)),
      qvel: Float64Array.from((this.d.qvel as Float64Array).subarray(0, 6)),
      torque: Float64Array.from(this.torque),
      ee: Float64Array.of(sx[e]!, sx[e + 1]!, sx[e + 2]!),
      contacts: this.d.ncon as number,
      ...(this.hasCube ? { cube: { pos: Float64Array.from((this.d.qpos as Float64Array).subarray(6, 9)), quat: Float64Array.from((this.d.qpos as Float64Array).subarray(9, 13)), maxZ: this.cubeMaxZ } } : {}),
    };
  }

  get time(): number { return this.timeS; }

  dispose(): void {
    this.d.delete();
    this.m.delete();
  }
}
