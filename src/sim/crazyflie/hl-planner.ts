/**
 * High-level commander planner (firmware `planner.c` semantics, own implementation): takeoff / land / go_to produce
 * a smooth (minimum-jerk quintic, or linear) trajectory from the current reference to the goal; the planner
 * outputs position + velocity + acceleration feed-forward and an absolute yaw. After a landing completes, or on
 * STOP, it outputs "motors off".
 */
import type { Setpoint } from './controller.js';

export type HlState = 'idle' | 'flying' | 'landing' | 'stopped';

export class HlPlanner {
  state: HlState = 'idle';
  private t0 = 0;
  private dur = 1;
  private linear = false;
  private readonly p0 = new Float64Array(4); // x y z yaw
  private readonly p1 = new Float64Array(4);
  private readonly v0 = new Float64Array(3);
  /** Last reference output, used as the start of the next segment. */
  readonly ref = new Float64Array(4);
  readonly refVel = new Float64Array(3);
  private hasRef = false;

  /** Start a segment from the current reference (or the measured state if none) to `goal` over `durationS`. */
  start(nowS: number, goal: ArrayLike<number>, durationS: number, state: { pos: ArrayLike<number>; vel: ArrayLike<number>; yawRad: number }, linear = false, landing = false): void {
    const useRef = this.hasRef && (this.state === 'flying' || this.state === 'landing');
    for (let i = 0; i < 3; i++) {
      this.p0[i] = useRef ? this.ref[i]! : state.pos[i]!;
      this.v0[i] = useRef ? this.refVel[i]! : 0;
    }
    this.p0[3] = useRef ? this.ref[3]! : state.yawRad;
    for (let i = 0; i < 4; i++) this.p1[i] = goal[i]!;
    // shortest yaw path
    for (let i = 0; i < 4; i++) if (!Number.isFinite(this.p1[i]!)) this.p1[i] = this.p0[i]!;
    const raw = this.p1[3]! - this.p0[3]!;
    const dy = Math.atan2(Math.sin(raw), Math.cos(raw));
    this.p1[3] = this.p0[3]! + dy;
    this.t0 = nowS;
    this.dur = Number.isFinite(durationS) ? Math.min(600, Math.max(0.05, durationS)) : 1;
    this.linear = linear;
    this.state = landing ? 'landing' : 'flying';
  }

  stop(): void { this.state = 'stopped'; this.hasRef = false; }
  /** Forget everything (a streamed setpoint took over). */
  reset(): void { this.state = 'idle'; this.hasRef = false; }

  /** Fill `sp` for time `nowS`; returns false when the planner has nothing to say (idle). */
  evaluate(nowS: number, sp: Setpoint): boolean {
    if (this.state === 'idle') return false;
    if (this.state === 'stopped') { sp.motorsOff = true; return true; }
    const tau = Math.min(1, Math.max(0, (nowS - this.t0) / this.dur));
    let s: number, ds: number, dds: number;
    if (this.linear) { s = tau; ds = tau < 1 ? 1 / this.dur : 0; dds = 0; }
    else {
      const t2 = tau * tau, t3 = t2 * tau;
      s = 10 * t3 - 15 * t3 * tau + 6 * t3 * t2;
      ds = tau < 1 ? (30 * t2 - 60 * t3 + 30 * t3 * tau) / this.dur : 0;
      dds = tau < 1 ? (60 * tau - 180 * t2 + 120 * t3) / (this.dur * this.dur) : 0;
    }
    // blend out the initial velocity over the segment (Hermite-like correction term)
    const h = tau - 2 * tau * tau + tau * tau * tau; // h(0)=0, h'(0)=1, h(1)=0, h'(1)=0
    const dh = tau < 1 ? (1 - 4 * tau + 3 * tau * tau) : 0;
    for (let i = 0; i < 3; i++) {
      const d = this.p1[i]! - this.p0[i]!;
      this.ref[i] = this.p0[i]! + d * s + this.v0[i]! * this.dur * h;
      this.refVel[i] = d * ds + this.v0[i]! * dh;
      sp.acceleration[i] = tau < 1 ? d * dds : 0;
    }
    this.ref[3] = this.p0[3]! + (this.p1[3]! - this.p0[3]!) * s;
    this.hasRef = true;
    sp.motorsOff = false;
    sp.mode.x = 'abs'; sp.mode.y = 'abs'; sp.mode.z = 'abs'; sp.mode.yaw = 'abs';
    sp.mode.roll = 'disable'; sp.mode.pitch = 'disable';
    sp.position[0] = this.ref[0]!; sp.position[1] = this.ref[1]!; sp.position[2] = this.ref[2]!;
    sp.velocity[0] = this.refVel[0]!; sp.velocity[1] = this.refVel[1]!; sp.velocity[2] = this.refVel[2]!;
    sp.velocityBody = false;
    sp.attitudeDeg[2] = (this.ref[3]! * 180) / Math.PI;
    if (tau >= 1 && this.state === 'landing') { this.state = 'stopped'; this.hasRef = false; sp.motorsOff = true; }
    return true;
  }

  get finished(): boolean { return this.state !== 'flying' && this.state !== 'landing' ? true : false; }
  segmentDone(nowS: number): boolean { return nowS - this.t0 >= this.dur; }
}
