/**
 * Firmware-like cascaded controller (in the spirit of the Crazyflie `controller_pid`): position → velocity (100 Hz)
 * → attitude → body rate (500 Hz) → mixer → four motor thrusts. Per-axis modes follow the firmware's `setpoint_t`
 * (disable / absolute / velocity), so each CRTP setpoint type maps to the same semantics as on board.
 * Units: SI; angles in the setpoint in degrees like the firmware (roll/pitch/yaw), rates in deg/s.
 */
import { MOTOR_XY, MOTOR_YAW_SIGN } from './model.js';
import { CF21 } from '../../devices/crazyflie/vehicle.js';
import type { QuadState } from './physics.js';

export type AxisMode = 'disable' | 'abs' | 'velocity';

export interface Setpoint {
  mode: { x: AxisMode; y: AxisMode; z: AxisMode; roll: AxisMode; pitch: AxisMode; yaw: AxisMode };
  position: Float64Array; // m
  velocity: Float64Array; // m/s (world unless velocityBody)
  acceleration: Float64Array; // m/s² feed-forward
  velocityBody: boolean;
  attitudeDeg: Float64Array; // roll pitch yaw
  rateDegS: Float64Array; // roll pitch yaw rates
  /** Raw thrust 0..65535 when z is disabled. */
  thrustRaw: number;
  /** Null setpoint: motors off. */
  motorsOff: boolean;
}

export function newSetpoint(): Setpoint {
  return {
    mode: { x: 'disable', y: 'disable', z: 'disable', roll: 'disable', pitch: 'disable', yaw: 'disable' },
    position: new Float64Array(3), velocity: new Float64Array(3), acceleration: new Float64Array(3), velocityBody: false,
    attitudeDeg: new Float64Array(3), rateDegS: new Float64Array(3), thrustRaw: 0, motorsOff: true,
  };
}

export function copySetpoint(dst: Setpoint, src: Setpoint): void {
  dst.mode.x = src.mode.x; dst.mode.y = src.mode.y; dst.mode.z = src.mode.z;
  dst.mode.roll = src.mode.roll; dst.mode.pitch = src.mode.pitch; dst.mode.yaw = src.mode.yaw;
  dst.position.set(src.position); dst.velocity.set(src.velocity); dst.acceleration.set(src.acceleration);
  dst.velocityBody = src.velocityBody; dst.attitudeDeg.set(src.attitudeDeg); dst.rateDegS.set(src.rateDegS);
  dst.thrustRaw = src.thrustRaw; dst.motorsOff = src.motorsOff;
}

export interface ControllerGains {
  posKp: number; posKpZ: number; velKp: number; velKi: number; velKpZ: number; velKiZ: number;
  attKp: number; yawKp: number; rateKp: number; yawRateKp: number;
  xyVelMax: number; zVelMax: number; rpLimitDeg: number;
}

export const DEFAULT_GAINS: ControllerGains = {
  posKp: 2.0, posKpZ: 2.0, velKp: 4.0, velKi: 0.5, velKpZ: 5.0, velKiZ: 2.0,
  attKp: 12, yawKp: 4, rateKp: 80, yawRateKp: 20,
  xyVelMax: 2.0, zVelMax: 1.0, rpLimitDeg: 25,
};

const D2R = Math.PI / 180;
const wrap = (a: number): number => (Number.isFinite(a) ? Math.atan2(Math.sin(a), Math.cos(a)) : 0);
const clamp = (v: number, lo: number, hi: number): number => (v < lo ? lo : v > hi ? hi : v);

export class CascadedController {
  gains: ControllerGains = { ...DEFAULT_GAINS };
  readonly motorCmdN = new Float64Array(4);
  /** Last outputs (for logging: stabilizer.*, controller.*). */
  readonly out = { rollDeg: 0, pitchDeg: 0, yawDeg: 0, thrustN: 0, cmdThrustRaw: 0 };
  private readonly velSp = new Float64Array(3);
  private readonly velInt = new Float64Array(3);
  private attRollSp = 0;
  private attPitchSp = 0;
  private thrustN = 0;
  private yawSp = 0;
  private posTick = 0;

  reset(yawRad = 0): void {
    this.velInt.fill(0);
    this.attRollSp = 0; this.attPitchSp = 0; this.thrustN = 0; this.yawSp = yawRad; this.posTick = 0;
    this.motorCmdN.fill(0);
  }

  /** One control tick at the physics rate (dt s); outer loop every `outerDiv` ticks. */
  update(sp: Setpoint, s: QuadState, dtS: number, outerDiv = 5): Float64Array {
    const m = this.motorCmdN;
    if (sp.motorsOff) { m.fill(0); this.velInt.fill(0); this.yawSp = s.rpy[2]!; this.out.thrustN = 0; return m; }
    const g = this.gains;
    const yaw = s.rpy[2]!;
    if (this.posTick++ % outerDiv === 0) this.outer(sp, s, dtS * outerDiv, yaw);

    // attitude setpoint
    let rollSp = this.attRollSp;
    let pitchSp = this.attPitchSp;
    if (sp.mode.x === 'disable' && sp.mode.y === 'disable') {
      rollSp = sp.mode.roll === 'abs' ? sp.attitudeDeg[0]! * D2R : 0;
      pitchSp = sp.mode.pitch === 'abs' ? sp.attitudeDeg[1]! * D2R : 0;
    }
    const lim = g.rpLimitDeg * D2R;
    rollSp = clamp(rollSp, -lim, lim);
    pitchSp = clamp(pitchSp, -lim, lim);
    let yawRateSp: number;
    if (sp.mode.yaw === 'abs') { this.yawSp = sp.attitudeDeg[2]! * D2R; yawRateSp = g.yawKp * wrap(this.yawSp - yaw); }
    else if (sp.mode.yaw === 'velocity') { this.yawSp = wrap(this.yawSp + sp.rateDegS[2]! * D2R * dtS); yawRateSp = g.yawKp * wrap(this.yawSp - yaw) + sp.rateDegS[2]! * D2R; }
    else yawRateSp = g.yawKp * wrap(this.yawSp - yaw);

    // rates (roll/pitch rate mode for manual rate flight)
    const pSp = sp.mode.roll === 'velocity' ? sp.rateDegS[0]! * D2R : g.attKp * (rollSp - s.rpy[0]!);
    const qSp = sp.mode.pitch === 'velocity' ? sp.rateDegS[1]! * D2R : g.attKp * (pitchSp - s.rpy[1]!);
    const [ixx, iyy, izz] = CF21.inertiaKgM2;
    const tx = ixx * g.rateKp * (pSp - s.omega[0]!);
    const ty = iyy * g.rateKp * (qSp - s.omega[1]!);
    const tz = izz * g.yawRateKp * (yawRateSp - s.omega[2]!);

    let thrust: number;
    if (sp.mode.z === 'disable') thrust = (clamp(sp.thrustRaw, 0, 65535) / 65535) * 4 * CF21.maxThrustPerMotorN;
    else thrust = this.thrustN;
    this.out.rollDeg = rollSp / D2R; this.out.pitchDeg = pitchSp / D2R; this.out.yawDeg = this.yawSp / D2R;
    this.out.thrustN = thrust;
    this.out.cmdThrustRaw = Math.round((thrust / (4 * CF21.maxThrustPerMotorN)) * 65535);
    // mixer (X configuration)
    const a2 = 4 * (CF21.armLengthM / Math.SQRT2) ** 2;
    for (let i = 0; i < 4; i++) {
      const [x, y] = MOTOR_XY[i]!;
      m[i] = thrust / 4 + (tx * y) / a2 - (ty * x) / a2 + (tz * MOTOR_YAW_SIGN[i]!) / (4 * CF21.yawTorqueCoeffM);
    }
    if (thrust <= 0) m.fill(0);
    return m;
  }

  private outer(sp: Setpoint, s: QuadState, dt: number, yaw: number): void {
    const g = this.gains;
    const v = this.velSp;
    const cy = Math.cos(yaw), sy = Math.sin(yaw);
    // velocity setpoint
    if (sp.mode.x === 'abs' || sp.mode.y === 'abs') {
      v[0] = g.posKp * (sp.position[0]! - s.pos[0]!) + sp.velocity[0]!;
      v[1] = g.posKp * (sp.position[1]! - s.pos[1]!) + sp.velocity[1]!;
    } else if (sp.mode.x === 'velocity') {
      if (sp.velocityBody) { v[0] = cy * sp.velocity[0]! - sy * sp.velocity[1]!; v[1] = sy * sp.velocity[0]! + cy * sp.velocity[1]!; }
      else { v[0] = sp.velocity[0]!; v[1] = sp.velocity[1]!; }
    }
    const vh = Math.hypot(v[0]!, v[1]!);
    if (vh > g.xyVelMax) { v[0] = (v[0]! * g.xyVelMax) / vh; v[1] = (v[1]! * g.xyVelMax) / vh; }
    if (sp.mode.z === 'abs') v[2] = clamp(g.posKpZ * (sp.position[2]! - s.pos[2]!) + sp.velocity[2]!, -g.zVelMax, g.zVelMax);
    else if (sp.mode.z === 'velocity') v[2] = clamp(sp.velocity[2]!, -g.zVelMax, g.zVelMax);

    // velocity → desired acceleration
    let ax = 0, ay = 0, az = 0;
    const xyActive = sp.mode.x !== 'disable' || sp.mode.y !== 'disable';
    if (xyActive) {
      for (let i = 0; i < 2; i++) this.velInt[i] = clamp(this.velInt[i]! + (v[i]! - s.vel[i]!) * dt, -1, 1);
      ax = g.velKp * (v[0]! - s.vel[0]!) + g.velKi * this.velInt[0]! + sp.acceleration[0]!;
      ay = g.velKp * (v[1]! - s.vel[1]!) + g.velKi * this.velInt[1]! + sp.acceleration[1]!;
    } else { this.velInt[0] = 0; this.velInt[1] = 0; }
    if (sp.mode.z !== 'disable') {
      this.velInt[2] = clamp(this.velInt[2]! + (v[2]! - s.vel[2]!) * dt, -2, 2);
      az = g.velKpZ * (v[2]! - s.vel[2]!) + g.velKiZ * this.velInt[2]! + sp.acceleration[2]!;
    }
    const gz = Math.max(0.2 * CF21.gravity, CF21.gravity + az);
    if (xyActive) {
      const axb = cy * ax + sy * ay;
      const ayb = -sy * ax + cy * ay;
      this.attPitchSp = Math.atan2(axb, gz);
      this.attRollSp = Math.atan2(-ayb, gz);
    }
    const tilt = Math.max(0.5, Math.cos(s.rpy[0]!) * Math.cos(s.rpy[1]!));
    this.thrustN = clamp((CF21.massKg * gz) / tilt, 0, 4 * CF21.maxThrustPerMotorN);
  }
}
