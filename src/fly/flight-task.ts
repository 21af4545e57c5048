/**
 * The planning phase of `kdp fly` as a control task (src/control/task.ts): observe (state estimate, collision
 * estimate, arrival / timeout), plan (observation → RecedingHorizonLoop.tick → which plan to fly), act (velocity
 * setpoint toward that plan through the safety layers → commander, telemetry), and the one safe stop (land, or give
 * the client's failsafe its landing). The fixed-rate schedule, stop conditions and accounting are `runTask`'s.
 *
 * Every buffer is allocated in the constructor; the ticks allocate nothing of their own.
 */
import type { Clock } from '../control/clock.js';
import { LIVE_STATS_WINDOW, LatencyRecorder } from '../control/latency-recorder.js';
import { TickStatus, type RecedingHorizonLoop } from '../control/receding-horizon.js';
import type { SchedulerStats } from '../control/scheduler.js';
import type { ControlTask, StopReason } from '../control/task.js';
import type { Crazyflie } from '../devices/crazyflie/index.js';
import type { TelemetrySink } from '../devices/mavlink/telemetry.js';
import type { Obstacle } from '../devices/crazyflie/vehicle.js';
import { CF21 } from '../devices/crazyflie/vehicle.js';
import { clearance } from '../envs/cf-nav/obstacles.js';
import type { LearnedNavSelector } from './nav-clearance.js';
import { NavObserver, PlanChecker, clampToFence, enforceVelocityLimits, type Geofence, type LimitCounters, type SpeedLimits } from './nav-geometry.js';

export type FlightOutcome = 'reached' | 'timeout' | 'aborted' | 'linkLost' | 'failsafe' | 'takeoffFailed';
type Emit = (e: { event: string; [k: string]: unknown }) => void;

export interface FlightTaskOptions {
  cf: Crazyflie;
  loop: RecedingHorizonLoop;
  clock: Clock;
  /** the scheduler's live counters (published as telemetry) */
  schedulerStats: SchedulerStats;
  goal: readonly [number, number, number];
  obstacles: readonly Obstacle[];
  fence: Geofence;
  limits: SpeedLimits;
  /** plan geometry: horizon, values per plan step, seconds per plan step */
  horizon: number;
  step: number;
  planStepS: number;
  /** plan steps that must be clear for a plan to be flown (oracle selection) */
  nearSteps: number;
  reachRadiusM: number;
  lookaheadS: number;
  timeoutS: number;
  maxConsecutiveMisses: number;
  /** oracle: check the selected plan against the known obstacles */
  checker?: PlanChecker;
  /** the setpoint shield (known obstacles) */
  shieldChecker?: PlanChecker;
  selector?: LearnedNavSelector;
  /** the selector's speed envelope (m/s; Infinity: none) */
  dataSpeedMps: number;
  /** the selector's cap (m/s) while its choice is called blocked in the flown part (Infinity: none) */
  blockedSpeedMps: number;
  candidates: number;
  telemetry: TelemetrySink;
  emit: Emit;
  /** true once the link is lost (nothing can be sent any more) */
  linkLost: () => boolean;
}

export class FlightTask implements ControlTask {
  outcome: FlightOutcome | undefined;
  landed = false;
  readonly pos = new Float64Array(3);
  readonly vel = new Float64Array(3);
  readonly limits: LimitCounters = { speedClamps: 0, geofenceClamps: 0, shieldScalings: 0, shieldStops: 0 };
  /** plan latency = the whole planning step: generator invoke, the clearance scorer's invoke, selection */
  readonly planLatency = new LatencyRecorder();
  infeasibleTicks = 0;
  hoverTicks = 0;
  dataSpeedClamps = 0;
  blockedSpeedClamps = 0;
  minClearance = Infinity;
  estCollisions = 0;
  /** clock ms: start of the planning phase, end of the loop */
  flightStartMs = 0;
  began = false;
  loopEndMs = NaN;
  finalDistanceM = NaN;

  private stateValues: ArrayLike<number> | undefined;
  private readonly observer: NavObserver;
  private readonly state: Float32Array;
  private readonly goalF: Float32Array;
  private readonly action: Float32Array;
  private readonly active: Float32Array;
  private haveActive = false;
  /** this tick's chosen plan was not clear in its flown part */
  private chosenBlocked = false;
  private activeAtMs = 0;
  private arrivedAtMs = 0;
  private consecutiveMisses = 0;
  /** this tick only held position at the goal (or handed over to the failsafe): no plan, no velocity setpoint */
  private skipRest = false;
  private readonly v = new Float64Array(3);
  private readonly hold = new Float64Array(3);
  private readonly inCollision: Uint8Array;
  private readonly stateSample = { xM: 0, yM: 0, zM: 0, vxMps: 0, vyMps: 0, vzMps: 0 };
  private readonly wpX = new Float64Array(5);
  private readonly wpY = new Float64Array(5);
  private readonly wpZ = new Float64Array(5);
  private readonly planSample = { count: 5, posXM: this.wpX, posYM: this.wpY, posZM: this.wpZ };
  private readonly statsSample: { latencyP50Us: number; latencyP99Us: number; deadlineMisses: number; candidates: number };

  constructor(private readonly o: FlightTaskOptions, state: Float32Array) {
    this.state = state;
    this.observer = new NavObserver(o.obstacles);
    this.goalF = Float32Array.from(o.goal);
    this.action = new Float32Array(o.loop.cfg.layout.actionDim);
    this.active = new Float32Array(o.horizon * o.step);
    this.inCollision = new Uint8Array(o.obstacles.length);
    this.statsSample = { latencyP50Us: 0, latencyP99Us: 0, deadlineMisses: 0, candidates: o.candidates };
  }

  /** The state estimate's values (x, y, z, vx, vy, vz), once subscribed. */
  attachState(values: ArrayLike<number>): void { this.stateValues = values; }

  readState(): void {
    const s = this.stateValues;
    if (!s) return;
    const { pos, vel } = this;
    pos[0] = s[0]!; pos[1] = s[1]!; pos[2] = s[2]!; vel[0] = s[3]!; vel[1] = s[4]!; vel[2] = s[5]!;
  }

  distanceToGoal(): number {
    const g = this.o.goal, p = this.pos;
    return Math.hypot(g[0] - p[0]!, g[1] - p[1]!, g[2] - p[2]!);
  }

  /** The planning phase starts now (flight seconds and the timeout count from here). */
  begin(): void { this.flightStartMs = this.o.clock.nowUs() / 1000; this.began = true; }

  done(): boolean { return this.outcome !== undefined; }

  observe(): void {
    this.skipRest = true;
    if (this.outcome !== undefined) return;
    const { o, pos, vel } = this;
    const now = o.clock.nowUs() / 1000;
    this.readState();
    // geometric collision estimate + clearance statistics
    for (let i = 0; i < o.obstacles.length; i++) {
      const c = clearance(o.obstacles[i]!, pos[0]!, pos[1]!, pos[2]!, CF21.bodyRadiusM);
      if (c < this.minClearance) this.minClearance = c;
      if (c < 0) { if (!this.inCollision[i]) { this.inCollision[i] = 1; this.estCollisions++; } } else this.inCollision[i] = 0;
    }
    const ss = this.stateSample;
    ss.xM = pos[0]!; ss.yM = pos[1]!; ss.zM = pos[2]!; ss.vxMps = vel[0]!; ss.vyMps = vel[1]!; ss.vzMps = vel[2]!;
    o.telemetry.publishState(ss);
    if (this.arrivedAtMs > 0 || this.distanceToGoal() < o.reachRadiusM) {
      if (this.arrivedAtMs === 0) { this.arrivedAtMs = now; o.emit({ event: 'arrived', seconds: +((now - this.flightStartMs) / 1000).toFixed(2) }); }
      const hold = this.hold;
      hold[0] = o.goal[0]; hold[1] = o.goal[1]; hold[2] = o.goal[2];
      clampToFence(hold, o.fence, this.limits);
      o.cf.commander.setPosition(hold[0]!, hold[1]!, hold[2]!, 0);
      if (now - this.arrivedAtMs >= 500) this.outcome = 'reached';
      return;
    }
    if ((now - this.flightStartMs) / 1000 > o.timeoutS) { this.outcome = 'timeout'; return; }
    this.skipRest = false;
  }

  plan(): void {
    if (this.skipRest) return;
    const o = this.o, loop = o.loop;
    this.observer.observe(this.pos, this.vel, o.goal, this.state);
    const tp = performance.now();
    const status = loop.tick(this.state, this.goalF, this.action);
    this.planLatency.record((performance.now() - tp) * 1000);
    if (status === TickStatus.DEADLINE_MISS) {
      if (++this.consecutiveMisses >= o.maxConsecutiveMisses) {
        o.cf.commander.failsafe(`${this.consecutiveMisses} consecutive planning deadline misses`);
        this.skipRest = true;
        return;
      }
    } else this.consecutiveMisses = 0;
    // the selected plan (s_0 = the measured state): fly it if its positions are clear for the next
    // lookahead + clearAheadS seconds, else keep the last such plan while it lasts, else hover. The learned
    // selection always flies its choice: when no candidate is clear, the least blocked one steers away from what
    // the observation now shows, while an older plan was checked against an older (4-nearest) view of the field
    const cost = o.checker ? o.checker.planCost(loop.current, o.nearSteps + 1, o.step, 1) : o.selector ? o.selector.nearBad[loop.selected]! : 0;
    if (cost === 0 || o.selector) { this.active.set(loop.current); this.haveActive = true; this.activeAtMs = o.clock.nowUs() / 1000; }
    this.chosenBlocked = cost !== 0;
    if (cost !== 0) this.infeasibleTicks++;
  }

  /** Velocity setpoint toward the active plan, the safety layers, the commander, telemetry. */
  act(): void {
    if (this.skipRest) return;
    const { o, pos, v, active } = this;
    const H = o.horizon, step = o.step, lookS = o.lookaheadS;
    const ageS = (o.clock.nowUs() / 1000 - this.activeAtMs) / 1000;
    if (this.haveActive && ageS + lookS <= (H - 1) * o.planStepS) {
      const u = (ageS + lookS) / o.planStepS;
      const i0 = Math.min(H - 1, Math.floor(u)), i1 = Math.min(H - 1, i0 + 1), a = u - i0;
      for (let k = 0; k < 3; k++) {
        const p = active[i0 * step + k]! + a * (active[i1 * step + k]! - active[i0 * step + k]!);
        v[k] = (p - pos[k]!) / lookS;
      }
    } else { v[0] = 0; v[1] = 0; v[2] = 0; this.hoverTicks++; }
    const sc = o.shieldChecker;
    if (sc) {
      // straight-line prediction of this setpoint: halve the speed until 0.5 s of it stays clear
      let scaled = false;
      for (let tries = 0; tries < 4; tries++) {
        let hit = false;
        for (let j = 1; j <= 5 && !hit; j++) { const t = 0.1 * j; hit = sc.pointCost(pos[0]! + v[0]! * t, pos[1]! + v[1]! * t, pos[2]! + v[2]! * t) > 0; }
        if (!hit) break;
        scaled = true;
        if (tries === 3) { v[0] = 0; v[1] = 0; v[2] = 0; this.limits.shieldStops++; } else { v[0] = v[0]! * 0.5; v[1] = v[1]! * 0.5; v[2] = v[2]! * 0.5; }
      }
      if (scaled) this.limits.shieldScalings++;
    }
    // the model alone flies no faster than its demonstrations did: beyond that its plans (conditioned on the
    // measured velocity) and the clearance they were checked with are extrapolations. When even its chosen plan is
    // called blocked in the flown part, it slows further: the least-blocked plan is a guess, and braking distance is
    // what decides whether a wrong guess touches
    const blocked = this.chosenBlocked && o.blockedSpeedMps < o.dataSpeedMps;
    const cap = blocked ? o.blockedSpeedMps : o.dataSpeedMps;
    if (o.selector && cap < Infinity) {
      const sxy = Math.sqrt(v[0]! * v[0]! + v[1]! * v[1]!);
      if (sxy > cap) {
        v[0] = (v[0]! * cap) / sxy; v[1] = (v[1]! * cap) / sxy;
        if (blocked) this.blockedSpeedClamps++; else this.dataSpeedClamps++;
      }
    }
    enforceVelocityLimits(pos, v, o.limits, o.fence, 0.5, this.limits);
    o.cf.commander.setVelocityWorld(v[0]!, v[1]!, v[2]!, 0);
    for (let j = 0; j < 5; j++) {
      const t = Math.min(H - 1, j * 3);
      this.wpX[j] = active[t * step]!; this.wpY[j] = active[t * step + 1]!; this.wpZ[j] = active[t * step + 2]!;
    }
    o.telemetry.publishPlan(this.planSample);
    const st = this.statsSample;
    if ((o.loop.stats.ticks & 15) === 0) {
      const sm = this.planLatency.summary(LIVE_STATS_WINDOW); // in the tick: recent window only
      st.latencyP50Us = sm.p50; st.latencyP99Us = sm.p99;
    }
    st.deadlineMisses = o.schedulerStats.deadlineMisses;
    o.telemetry.publishStats(st);
  }

  /** Land at the goal when reached, where it is otherwise (or give the failsafe its landing); once, on every exit path. */
  async safeStop(reason: StopReason, error?: unknown): Promise<void> {
    if (reason === 'error') {
      this.outcome ??= 'failsafe';
      this.o.emit({ event: 'tickError', message: (error as Error)?.message ?? String(error) });
    }
    this.loopEndMs = this.o.clock.nowUs() / 1000;
    this.readState();
    this.finalDistanceM = this.distanceToGoal();
    if (reason === 'aborted' && this.outcome === undefined) this.outcome = 'aborted';
    if (this.outcome === undefined) this.outcome = 'timeout';
    if (!this.stateValues) return; // never connected: nothing to land
    this.landed = await landOrAwaitFailsafe(this.o.cf, this.stateValues, this.outcome, this.o.linkLost, this.pos[2]!, this.o.emit);
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Land at the goal when reached, where it is otherwise; after a total link loss nothing can be sent (the firmware's
 * watchdog levels and stops the motors); after the client's failsafe fired, give its hover-then-land the time.
 * Resolves true when the state estimate shows the vehicle down.
 */
async function landOrAwaitFailsafe(cf: Crazyflie, state: ArrayLike<number>, outcome: FlightOutcome, linkLost: () => boolean, z: number, emit: Emit): Promise<boolean> {
  if (linkLost()) return false;
  if (outcome === 'failsafe') {
    const end = performance.now() + 6000;
    while (performance.now() < end && !linkLost()) { await sleep(50); if (state[2]! < 0.03) return true; }
    return false;
  }
  const landS = Math.max(1, z / 0.25);
  emit({ event: 'land', outcome, durationS: +landS.toFixed(2) });
  const errno = await cf.highLevel.land(0, landS);
  let landed = false;
  const end = performance.now() + landS * 1000 + 1500;
  while (performance.now() < end && !linkLost()) {
    await sleep(50);
    if (state[2]! < 0.03) { landed = true; break; }
  }
  if (errno !== 0) emit({ event: 'landReply', errno });
  return landed;
}
