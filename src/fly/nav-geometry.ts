/**
 * Allocation-free geometry for `kdp fly`: the crazyflie-nav observation (the same values the dataset recorder
 * writes, see src/sim/crazyflie/nav-dataset.ts `navObservation`), the plan feasibility cost against a known
 * obstacle field, and the geofence / speed-limit enforcement applied to every setpoint.
 */
import { CF21, type Obstacle } from '../devices/crazyflie/vehicle.js';
import { clearance } from '../envs/cf-nav/obstacles.js';
import { NAV_K_NEAREST, NAV_OBSTACLE_OFFSET } from '../envs/cf-nav/observation.js';

export { NAV_K_NEAREST };

/** Preallocated nearest-obstacle features: fills the observation like `navObservation`, without allocating. */
export class NavObserver {
  private readonly dx: Float64Array;
  private readonly dy: Float64Array;
  private readonly r: Float64Array;
  private readonly d: Float64Array;
  private readonly order: Int32Array;

  constructor(readonly obstacles: readonly Obstacle[]) {
    const n = obstacles.length;
    this.dx = new Float64Array(n); this.dy = new Float64Array(n); this.r = new Float64Array(n); this.d = new Float64Array(n);
    this.order = new Int32Array(n);
    for (let i = 0; i < n; i++) { const o = obstacles[i]!; this.r[i] = o.type === 'cylinder' ? o.radius : Math.hypot(o.sx, o.sy) / 2; }
  }

  /** out[off..off+NAV_OBS_DIM) = [pos, vel, goal − pos, the NAV_K_NEAREST nearest obstacles (dx, dy, r) sorted by distance, zero-padded]. */
  observe(pos: ArrayLike<number>, vel: ArrayLike<number>, goal: ArrayLike<number>, out: Float32Array, off = 0): void {
    out[off] = pos[0]!; out[off + 1] = pos[1]!; out[off + 2] = pos[2]!;
    out[off + 3] = vel[0]!; out[off + 4] = vel[1]!; out[off + 5] = vel[2]!;
    out[off + 6] = goal[0]! - pos[0]!; out[off + 7] = goal[1]! - pos[1]!; out[off + 8] = goal[2]! - pos[2]!;
    const n = this.obstacles.length;
    for (let i = 0; i < n; i++) {
      const o = this.obstacles[i]!;
      this.dx[i] = o.x - pos[0]!; this.dy[i] = o.y - pos[1]!; this.d[i] = Math.hypot(this.dx[i]!, this.dy[i]!);
      // stable insertion sort by distance (Array.prototype.sort is stable too, so ties order like the recorder)
      let j = i;
      while (j > 0 && this.d[this.order[j - 1]!]! > this.d[i]!) { this.order[j] = this.order[j - 1]!; j--; }
      this.order[j] = i;
    }
    for (let k = 0; k < NAV_K_NEAREST; k++) {
      const b = off + NAV_OBSTACLE_OFFSET + 3 * k;
      if (k < n) { const i = this.order[k]!; out[b] = this.dx[i]!; out[b + 1] = this.dy[i]!; out[b + 2] = this.r[i]!; }
      else { out[b] = 0; out[b + 1] = 0; out[b + 2] = 0; }
    }
  }
}

export interface Geofence { min: [number, number, number]; max: [number, number, number] }
export interface SpeedLimits { maxVelocityXyMps: number; maxVelocityZMps: number }

/**
 * Feasibility cost of a plan of positions (stateDim values per step, x y z at dims 0..2): summed penetration depth
 * (m) of the vehicle sphere inflated by `marginM` into any obstacle, and outside the geofence, checked at every plan
 * step and `substeps` points in between (plan steps are 0.2 s apart, up to 12 cm at 0.6 m/s). 0 = feasible.
 */
export class PlanChecker {
  constructor(readonly obstacles: readonly Obstacle[], readonly fence: Geofence, readonly marginM = 0.06, readonly substeps = 3, readonly radiusM = CF21.bodyRadiusM) {}

  /** Penetration (≥ 0) of the inflated sphere at p into obstacles and the fence. */
  pointCost(x: number, y: number, z: number): number {
    const r = this.radiusM + this.marginM;
    let c = 0;
    for (let i = 0; i < this.obstacles.length; i++) {
      const d = clearance(this.obstacles[i]!, x, y, z, r);
      if (d < 0) c -= d;
    }
    const f = this.fence;
    if (x < f.min[0]) c += f.min[0] - x; else if (x > f.max[0]) c += x - f.max[0];
    if (y < f.min[1]) c += f.min[1] - y; else if (y > f.max[1]) c += y - f.max[1];
    if (z < f.min[2]) c += f.min[2] - z; else if (z > f.max[2]) c += z - f.max[2];
    return c;
  }

  /**
   * Cost of `steps` states of `stride` values (positions at 0..2), from step `from`. Penetrations in the first
   * `nearSteps` steps (and the segments leading to them) count `nearWeight` times: with replanning every tick only
   * the near future is flown, so a candidate that is blocked in 3 s is better than one that is blocked in 0.4 s.
   */
  planCost(states: ArrayLike<number>, steps: number, stride: number, from = 0, nearSteps = 0, nearWeight = 1): number {
    let c = 0;
    for (let t = Math.max(0, from); t < steps; t++) {
      const b = t * stride;
      let ct = this.pointCost(states[b]!, states[b + 1]!, states[b + 2]!);
      if (t + 1 < steps) {
        const e = b + stride;
        for (let k = 1; k <= this.substeps; k++) {
          const a = k / (this.substeps + 1);
          ct += this.pointCost(states[b]! + a * (states[e]! - states[b]!), states[b + 1]! + a * (states[e + 1]! - states[b + 1]!), states[b + 2]! + a * (states[e + 2]! - states[b + 2]!));
        }
      }
      c += t <= nearSteps ? nearWeight * ct : ct;
    }
    return c;
  }
}

/** Counters of every limit the setpoint path enforced. */
export interface LimitCounters { speedClamps: number; geofenceClamps: number; shieldScalings: number; shieldStops: number }

/**
 * Enforce the speed limits and the geofence on a world-velocity setpoint `v` (in place): xy speed ≤ maxVelocityXy,
 * |vz| ≤ maxVelocityZ, and no velocity that would carry the vehicle past a fence face within `brakeS` seconds
 * (v_axis ≤ (max − p)/brakeS, ≥ (min − p)/brakeS). Returns true when anything was clamped.
 */
export function enforceVelocityLimits(p: ArrayLike<number>, v: Float64Array, lim: SpeedLimits, fence: Geofence, brakeS: number, counters: LimitCounters): boolean {
  let clamped = false;
  for (let k = 0; k < 3; k++) {
    const hi = (fence.max[k]! - p[k]!) / brakeS, lo = (fence.min[k]! - p[k]!) / brakeS;
    if (v[k]! > hi) { v[k] = hi; clamped = true; counters.geofenceClamps++; }
    else if (v[k]! < lo) { v[k] = lo; clamped = true; counters.geofenceClamps++; }
  }
  const sxy = Math.hypot(v[0]!, v[1]!);
  if (sxy > lim.maxVelocityXyMps) { const s = lim.maxVelocityXyMps / sxy; v[0] = v[0]! * s; v[1] = v[1]! * s; clamped = true; counters.speedClamps++; }
  if (v[2]! > lim.maxVelocityZMps) { v[2] = lim.maxVelocityZMps; clamped = true; counters.speedClamps++; }
  else if (v[2]! < -lim.maxVelocityZMps) { v[2] = -lim.maxVelocityZMps; clamped = true; counters.speedClamps++; }
  return clamped;
}

/** Clamp a position setpoint into the geofence (in place); true when clamped. */
export function clampToFence(p: Float64Array, fence: Geofence, counters: LimitCounters): boolean {
  let c = false;
  for (let k = 0; k < 3; k++) {
    if (p[k]! < fence.min[k]!) { p[k] = fence.min[k]!; c = true; } else if (p[k]! > fence.max[k]!) { p[k] = fence.max[k]!; c = true; }
  }
  if (c) counters.geofenceClamps++;
  return c;
}
