/**
 * MuJoCo rigid-body simulation of one Crazyflie (mujoco-js WASM, loaded once per process).
 * `QuadPhysics.step(motorCmdN)` advances one timestep with first-order motor lag; the state is read back into a
 * preallocated `QuadState` (world-frame position/velocity, quaternion w,x,y,z, body rates, Euler angles).
 */
import { quadrotorXml } from './model.js';
import { CF21, type Obstacle } from '../../devices/crazyflie/vehicle.js';

/* eslint-disable @typescript-eslint/no-explicit-any */
interface MjModule {
  FS: { writeFile(path: string, data: string): void };
  MjModel: { loadFromXML(path: string): any };
  MjData: new (m: any) => any;
  mj_step(m: any, d: any): void;
  mj_forward(m: any, d: any): void;
  mj_resetData(m: any, d: any): void;
}

let modulePromise: Promise<MjModule> | undefined;
export function loadMujocoModule(): Promise<MjModule> {
  modulePromise ??= import('mujoco-js').then(async (m) => {
    const load = (m as unknown as { default: () => Promise<MjModule> }).default;
    return load();
  });
  return modulePromise;
}

export interface QuadState {
  pos: Float64Array; // x y z (m, world, z up)
  vel: Float64Array; // world frame (m/s)
  quat: Float64Array; // w x y z
  omega: Float64Array; // body rates (rad/s) p q r
  rpy: Float64Array; // roll pitch yaw (rad)
  acc: Float64Array; // world-frame acceleration (m/s²) incl. gravity compensation (specific force ≈ what an IMU sees in world frame)
  motorN: Float64Array; // current motor thrusts (N)
  timeS: number;
}

let fileCounter = 0;

export class QuadPhysics {
  readonly dtS: number;
  readonly state: QuadState = {
    pos: new Float64Array(3), vel: new Float64Array(3), quat: new Float64Array([1, 0, 0, 0]),
    omega: new Float64Array(3), rpy: new Float64Array(3), acc: new Float64Array(3), motorN: new Float64Array(4), timeS: 0,
  };
  private readonly prevVel = new Float64Array(3);
  private readonly model: any;
  private readonly data: any;
  private disposed = false;

  private constructor(private readonly mj: MjModule, xml: string, dtS: number) {
    this.dtS = dtS;
    const path = `/cf-${process.pid}-${fileCounter++}.xml`;
    mj.FS.writeFile(path, xml);
    this.model = mj.MjModel.loadFromXML(path);
    this.data = new mj.MjData(this.model);
    mj.mj_forward(this.model, this.data);
    this.readState();
  }

  static async create(obstacles: readonly Obstacle[] = [], dtS = 0.002): Promise<QuadPhysics> {
    const mj = await loadMujocoModule();
    return new QuadPhysics(mj, quadrotorXml(obstacles, dtS), dtS);
  }

  /** Put the vehicle at rest at (x, y, z) with yaw (rad). */
  reset(x = 0, y = 0, z = 0.015, yawRad = 0): void {
    this.mj.mj_resetData(this.model, this.data);
    const q = this.data.qpos as Float64Array;
    q[0] = x; q[1] = y; q[2] = z;
    q[3] = Math.cos(yawRad / 2); q[4] = 0; q[5] = 0; q[6] = Math.sin(yawRad / 2);
    this.state.motorN.fill(0);
    this.mj.mj_forward(this.model, this.data);
    this.prevVel.fill(0);
    this.readState();
    this.state.acc.fill(0);
  }

  /** One timestep with motor commands in newtons (clamped, then low-pass filtered by the motor time constant). */
  step(cmdN: ArrayLike<number>): void {
    const ctrl = this.data.ctrl as Float64Array;
    const k = Math.min(1, this.dtS / CF21.motorTauS);
    const m = this.state.motorN;
    for (let i = 0; i < 4; i++) {
      const c = Math.max(0, Math.min(CF21.maxThrustPerMotorN, cmdN[i] ?? 0));
      m[i] = m[i]! + k * (c - m[i]!);
      ctrl[i] = m[i]!;
    }
    this.prevVel.set(this.state.vel);
    this.mj.mj_step(this.model, this.data);
    this.readState();
    const a = this.state.acc;
    for (let i = 0; i < 3; i++) a[i] = (this.state.vel[i]! - this.prevVel[i]!) / this.dtS;
  }

  private readState(): void {
    const q = this.data.qpos as Float64Array;
    const v = this.data.qvel as Float64Array;
    const s = this.state;
    s.pos[0] = q[0]!; s.pos[1] = q[1]!; s.pos[2] = q[2]!;
    s.quat[0] = q[3]!; s.quat[1] = q[4]!; s.quat[2] = q[5]!; s.quat[3] = q[6]!;
    s.vel[0] = v[0]!; s.vel[1] = v[1]!; s.vel[2] = v[2]!;
    s.omega[0] = v[3]!; s.omega[1] = v[4]!; s.omega[2] = v[5]!;
    const w = q[3]!, x = q[4]!, y = q[5]!, z = q[6]!;
    s.rpy[0] = Math.atan2(2 * (w * x + y * z), 1 - 2 * (x * x + y * y));
    s.rpy[1] = Math.asin(Math.max(-1, Math.min(1, 2 * (w * y - z * x))));
    s.rpy[2] = Math.atan2(2 * (w * z + x * y), 1 - 2 * (y * y + z * z));
    s.timeS = this.data.time as number;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    try { this.data.delete(); this.model.delete(); } catch { /* ignore */ }
  }
}
