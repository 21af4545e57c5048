/**
 * `kdp fly`: a Crazyflie flown with KDP planning in the loop.
 *
 *   connect → state log (50 Hz) → high-level takeoff → at `rateHz`: observation (pos, vel, goal − pos, 8 nearest
 *   obstacles; the crazyflie-nav env) → RecedingHorizonLoop.tick (N candidates in one invoke, then selection) →
 *   velocity_world setpoint that reaches the selected plan's position `lookaheadS` ahead → speed limits + geofence
 *   (+ the optional shield) → commander. Within `reachRadiusM` of the goal: position setpoint at the goal, then land.
 *
 * Selection ('learned', the default when the model ships its clearance scorer): the model's learned clearance
 * scorer over every candidate's waypoints with the observation as context (nav-clearance.ts) — the model alone, no
 * obstacle list (`oracle: false`). 'oracle': the known-obstacle safety layer, every candidate's positions checked
 * against the `obstacles` list and the geofence, plus the setpoint shield (`oracle: true`). 'goal': the candidate
 * closest to the goal (ablation).
 *
 * Every buffer of the control tick is allocated before the first tick; the tick never throws (a failure ends
 * the flight through the stop path). Ctrl-C (signal) → notify-setpoint-stop + high-level land where it is.
 * Link loss → the flight ends at once (nothing can be sent: the firmware's watchdog levels and stops the
 * motors). A stalled tick (no setpoint for `staleMs`) → the client's failsafe (hover, then land).
 */
import { ModelError } from '../errors.js';
import { LearnedNavSelector, NavClearanceScorer } from './nav-clearance.js';
import { Crazyflie, type LinkLostInfo } from '../devices/crazyflie/index.js';
import { Errno } from '../protocols/crtp/log.js';
import { encodeNotifySetpointsStop } from '../protocols/crtp/commander.js';
import { encodeArm } from '../protocols/crtp/service.js';
import { envInfo } from '../envs/registry.js';
import type { TelemetrySink } from '../devices/mavlink/telemetry.js';
import { NullTelemetrySink } from '../devices/mavlink/telemetry.js';
import { MonotonicClock, type Clock } from '../control/clock.js';
import { FixedRateScheduler } from '../control/scheduler.js';
import { runTask } from '../control/task.js';
import { FlightTask, type FlightOutcome } from './flight-task.js';
import { createTflitePlanner, type LoadedModel } from '../planner/model-loader.js';
import { checkModelMatchesEnv } from '../envs/registry.js';
import { RecedingHorizonLoop } from '../control/receding-horizon.js';
import type { Obstacle } from '../devices/crazyflie/vehicle.js';
import { PlanChecker, clampToFence, type Geofence, type LimitCounters, type SpeedLimits } from './nav-geometry.js';

export const FLY_ENV = 'crazyflie-nav';

export interface FlightOptions {
  uri: string;
  model: LoadedModel;
  goal: readonly [number, number, number];
  obstacles: readonly Obstacle[];
  fence: Geofence;
  limits: SpeedLimits;
  /** candidate plans per invoke (default 64) */
  candidates?: number;
  /** loop rate in Hz (default 10 = the env's 1/dt) */
  rateHz?: number;
  /** give up (and land where it is) after this many seconds of planned flight (default 60) */
  timeoutS?: number;
  takeoffHeightM?: number;
  /** goal reached within this distance (m), as in the dataset (default 0.15) */
  reachRadiusM?: number;
  /** velocity setpoint = (plan position `lookaheadS` ahead − position) / lookaheadS (default 0.4) */
  lookaheadS?: number;
  /** a selected plan is flown when its positions are clear for lookaheadS + this (s, default 0.8) */
  clearAheadS?: number;
  /** selection 'learned': xy speed cap (m/s) while the chosen plan's flown part is called blocked (default: half the
   *  dataset's 99th-percentile speed) */
  blockedSpeedMps?: number;
  /** extra clearance (m) around the vehicle sphere when checking candidates (default 0.06) */
  planMarginM?: number;
  /**
   * how a candidate is chosen: 'learned' (the model's clearance scorer; default when the model ships one), 'oracle'
   * (the known-obstacle check: candidates against `obstacles` + fence, labelled `oracle: true`), 'goal' (closest to
   * the goal; the default for a model without a clearance scorer)
   */
  selection?: FlightSelection;
  /** older spelling: true = selection 'oracle', false = 'goal' (ignored when `selection` is given) */
  checkPlans?: boolean;
  /** scale down a velocity setpoint whose straight-line 0.5 s prediction hits a known obstacle (part of the oracle
   *  safety layer: default on with selection 'oracle', off otherwise) */
  shield?: boolean;
  /** consecutive deadline misses that trigger the client's failsafe (default 10) */
  maxConsecutiveMisses?: number;
  seed?: number;
  backend?: 'native' | 'wasm' | 'reference';
  telemetry?: TelemetrySink;
  signal?: AbortSignal;
  /** silence (ms) after which the client declares the link lost (default 200: the client's own default of 60 ms
   *  trips on a loaded companion computer whose event loop stalls; the firmware watchdog acts at 500 ms anyway) */
  linkTimeoutMs?: number;
  /** TOC cache dir for the client (null = none; default: the client's default) */
  cacheDir?: string | null;
  /** the clock the fixed-rate schedule, the timeout and plan ages run on (default: a MonotonicClock) */
  clock?: Clock;
  /** called at the end of every control tick, inside it (instrumentation; see `RunTaskOptions.onTick`) */
  onTick?: (tick: number) => void;
  /** progress/diagnostic lines */
  onEvent?: (e: { event: string; [k: string]: unknown }) => void;
}

export type FlightSelection = 'learned' | 'oracle' | 'goal';

export type { FlightOutcome } from './flight-task.js';

export interface FlightResult {
  reached: boolean;
  /** how candidates were chosen (see FlightOptions.selection) */
  selection: FlightSelection;
  /** true when the known obstacle list reached the planning (candidate check or shield): not the model alone */
  oracle: boolean;
  /** the setpoint shield (known obstacles) was on */
  shield: boolean;
  collisions: number;
  seconds: number;
  planLatencyUs: { p50: number; p99: number };
  /** control ticks whose work exceeded the period (the shared scheduler accounting) */
  deadlineMisses: number;
  /** slots that passed while a tick still ran */
  skippedSlots: number;
  /** plans that finished past the budget (the previous plan was flown meanwhile; 10 in a row → failsafe) */
  planDeadlineMisses: number;
  outcome: FlightOutcome;
  /** distance to the goal (m) when the loop ended */
  finalDistanceM: number;
  /** where collisions came from: the simulator's `sim.collisions` counter, or a geometric check of the estimate */
  collisionSource: 'sim.collisions' | 'estimate';
  ticks: number;
  plans: number;
  /** ticks whose selected candidate was not clear for the near future (the previous clear plan or a hover was flown) */
  infeasibleTicks: number;
  hoverTicks: number;
  limits: LimitCounters;
  /** selection 'learned': setpoints scaled down to the dataset's 99th-percentile speed (the model's envelope) */
  dataSpeedClamps: number;
  /** selection 'learned': setpoints scaled down to `blockedSpeedMps` because the chosen plan was called blocked */
  blockedSpeedClamps: number;
  minClearanceM: number;
  landed: boolean;
  /** outcome 'takeoffFailed': why, and what was tried */
  takeoffError?: string;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Fly one mission. Resolves with the summary; never leaves sockets or timers behind. */
export async function runFlight(o: FlightOptions): Promise<FlightResult> {
  const info = envInfo(FLY_ENV);
  checkModelMatchesEnv(o.model.manifest, info);
  const L = o.model.manifest.layout;
  const S = L.stateDim, A = L.actionDim, H = L.horizon, fs = L.frameSkip, step = S + A;
  const planStepS = fs * L.dt;
  const rateHz = o.rateHz ?? 1 / info.dt;
  const periodMs = 1000 / rateHz;
  const candidates = o.candidates ?? 64;
  const timeoutS = o.timeoutS ?? 60;
  const learnedScorer = NavClearanceScorer.load(o.model, o.candidates ?? 64, o.backend);
  const selection: FlightSelection = o.selection ?? (o.checkPlans === true ? 'oracle' : o.checkPlans === false ? 'goal' : learnedScorer ? 'learned' : 'goal');
  if (selection === 'learned' && !learnedScorer) {
    throw new ModelError('E_MODEL_MISMATCH', `${o.model.dir} ships no clearance scorer: the model alone cannot check its candidates`, { hint: 'train one with `kdp train-scorer --model DIR --out RUN --attach`, or fly with --select oracle (known obstacles) / goal' });
  }
  const checkPlans = selection === 'oracle';
  const shield = o.shield ?? checkPlans;
  const tel = o.telemetry ?? new NullTelemetrySink();
  const emit = o.onEvent ?? ((): void => {});
  if (selection === 'goal' && o.selection === undefined && o.checkPlans === undefined) {
    emit({ event: 'warning', message: `${o.model.dir} ships no clearance scorer: the candidate closest to the goal is flown with no obstacle check (train one: kdp train-scorer --model DIR --out RUN --attach)` });
  }
  const goal = o.goal;
  const fence = o.fence;
  const takeoffZ = o.takeoffHeightM ?? goal[2];

  // the part of a plan that must be clear to be flown: the lookahead plus 0.8 s of margin
  const nearSteps = Math.min(H - 1, Math.ceil(((o.lookaheadS ?? 0.4) + (o.clearAheadS ?? 0.8)) / (L.frameSkip * L.dt)));
  const checker = new PlanChecker(o.obstacles, fence, o.planMarginM ?? 0.06);
  const planner = createTflitePlanner(o.model, candidates, o.backend);
  const state = new Float32Array(S);
  const selector = selection === 'learned' ? new LearnedNavSelector(learnedScorer!, state, goal, H, step, nearSteps) : undefined;
  const clock = o.clock ?? new MonotonicClock();
  const loop = new RecedingHorizonLoop({
    // plan deadlines on the run's clock, plan latency always on the real one
    planner, layout: L, normalizer: o.model.manifest.normalizer, clock, timer: new MonotonicClock(), seed: o.seed ?? 0,
    select: checkPlans ? 'cost' : selector ? 'value' : 'goal', act: 'first-action', replanEvery: 1, budgetUs: 1e6 / rateHz,
    ...(selector ? { value: selector.value } : {}),
    positionDims: info.positionDims, velocityDims: info.velocityDims, kp: 1, kd: 0,
    // candidate positions from plan step 1 on (step 0 is the measured state)
    ...(checkPlans ? { planCost: (states: Float32Array, steps: number, out: Float64Array) => { out[0] = checker.planCost(states, steps, S, 1, nearSteps, 10); } } : {}),
    actionLow: -o.limits.maxVelocityXyMps, actionHigh: o.limits.maxVelocityXyMps,
  });

  // pay any lazy set-up of the first invoke here, before the link exists: a long first control tick starves the
  // link's 200 ms timeout
  planner.invoke();
  learnedScorer?.interpreter.invoke();

  const cf = new Crazyflie({ linkTimeoutMs: o.linkTimeoutMs ?? 200, failsafe: { mode: 'land', staleMs: Math.max(500, 5 * periodMs) }, ...(o.cacheDir !== undefined ? { cacheDir: o.cacheDir } : {}) });
  const scheduler = new FixedRateScheduler({ periodUs: 1e6 / rateHz, clock });
  let linkLost: LinkLostInfo | undefined;
  const task = new FlightTask({
    cf, loop, clock, schedulerStats: scheduler.stats, goal, obstacles: o.obstacles, fence, limits: o.limits,
    horizon: H, step, planStepS, nearSteps, reachRadiusM: o.reachRadiusM ?? 0.15, lookaheadS: o.lookaheadS ?? 0.4, timeoutS,
    maxConsecutiveMisses: o.maxConsecutiveMisses ?? 10, ...(checkPlans ? { checker } : {}), ...(shield ? { shieldChecker: new PlanChecker(o.obstacles, fence, 0.02, 0) } : {}),
    ...(selector ? { selector } : {}), dataSpeedMps: learnedScorer?.maxSpeedMps ?? Infinity,
    blockedSpeedMps: o.blockedSpeedMps ?? 0.5 * (learnedScorer?.maxSpeedMps ?? Infinity), candidates, telemetry: tel, emit,
    linkLost: () => linkLost !== undefined,
  }, state);
  let takeoffError: string | undefined;
  cf.on('linkLost', (e) => { linkLost = e; task.outcome ??= 'linkLost'; emit({ event: 'linkLost', reason: e.reason, silentMs: Math.round(e.silentMs) }); tel.fault(`link lost: ${e.reason}`, 'critical'); });
  cf.on('failsafe', (e) => { if (e.stage !== 'resumed') { task.outcome ??= 'failsafe'; emit({ event: 'failsafe', stage: e.stage, reason: e.reason }); tel.fault(`failsafe ${e.stage}: ${e.reason}`, 'warning'); } });

  const t0 = performance.now();
  let collisionsBase = 0;
  let collisionSub: { get(n: string): number; updates: number } | undefined;
  let result: FlightResult | undefined;
  const aborted = (): boolean => o.signal?.aborted === true || task.outcome !== undefined;
  const waitFor = async (ms: number, until?: () => boolean): Promise<void> => {
    const end = performance.now() + ms;
    while (performance.now() < end && !aborted() && !(until?.() ?? false)) await sleep(Math.min(20, end - performance.now()));
  };
  const pos = task.pos, hold = new Float64Array(3);

  try {
    await cf.connect(o.uri);
    emit({ event: 'connected', uri: o.uri, ms: Math.round(performance.now() - t0) });
    const st = await cf.subscribeState(20);
    try {
      const sub = await cf.log.subscribe(['sim.collisions'] as const, { periodMs: 50 });
      collisionSub = sub as unknown as { get(n: string): number; updates: number };
    } catch { collisionSub = undefined; /* real firmware: no sim.collisions, fall back to the estimate */ }
    await waitFor(2000, () => st.updates > 0 && (collisionSub === undefined || collisionSub.updates > 0));
    if (st.updates === 0 && !aborted()) throw new Error('no state estimate from the Crazyflie within 2 s');
    if (collisionSub) collisionsBase = collisionSub.get('sim.collisions');
    task.attachState(st.values);
    task.readState();

    // ---- takeoff (high-level commander), clamped into the geofence
    if (!aborted()) {
      hold[0] = pos[0]!; hold[1] = pos[1]!; hold[2] = takeoffZ;
      clampToFence(hold, fence, task.limits);
      const dur = Math.max(1, Math.abs(hold[2]! - pos[2]!) / Math.min(0.4, o.limits.maxVelocityZMps));
      const { errno, recovered } = await takeoffWithRecovery(cf, hold[2]!, dur);
      emit({ event: 'takeoff', heightM: hold[2], durationS: +dur.toFixed(2), errno, ...(recovered.length ? { recovered } : {}) });
      if (errno !== 0 && errno !== -1) {
        task.outcome = 'takeoffFailed';
        takeoffError = errno === Errno.EBUSY
          ? 'takeoff refused with EBUSY after releasing the commander priority twice: another client keeps streaming low-level setpoints; stop it (or power-cycle the Crazyflie)'
          : errno === Errno.EACCES
            ? 'takeoff refused with EACCES after an arming request: the Crazyflie is disarmed, emergency-stopped or tumbled; check it, then power-cycle it (or arm it from the client)'
            : `takeoff refused (errno ${errno})`;
        emit({ event: 'takeoffFailed', errno, message: takeoffError });
        tel.fault(takeoffError, 'critical');
      }
      await waitFor(dur * 1000 + 400);
      task.readState();
      if (!aborted() && Math.abs(pos[2]! - hold[2]!) > 0.15) { task.outcome = 'takeoffFailed'; emit({ event: 'takeoffFailed', z: pos[2] }); }
    }

    // ---- the planning loop on the fixed-rate scheduler; landing (or the failsafe's) is the task's one safe stop
    task.begin();
    if (!aborted()) emit({ event: 'planning', rateHz, candidates, goal });
    const run = await runTask(task, scheduler, {
      ...(o.signal ? { signal: o.signal } : {}), durationUs: (timeoutS + 5) * 1e6, ...(o.onTick ? { onTick: o.onTick } : {}),
    });
    if (run.safeStopError !== undefined) emit({ event: 'landError', message: (run.safeStopError as Error)?.message ?? String(run.safeStopError) });
  } finally {
    let collisions = task.estCollisions;
    if (collisionSub && !linkLost) collisions = Math.max(0, collisionSub.get('sim.collisions') - collisionsBase);
    await cf.close().catch(() => undefined);
    // a result even when the flight failed early
    result = {
      reached: task.outcome === 'reached', selection, oracle: checkPlans || shield, shield, collisions,
      seconds: +((task.began ? (Number.isFinite(task.loopEndMs) ? task.loopEndMs : clock.nowUs() / 1000) - task.flightStartMs : 0) / 1000).toFixed(2),
      planLatencyUs: (({ p50, p99 }) => ({ p50, p99 }))(task.planLatency.summary()),
      deadlineMisses: scheduler.stats.deadlineMisses, skippedSlots: scheduler.stats.skippedSlots, planDeadlineMisses: loop.stats.deadlineMisses,
      outcome: task.outcome ?? 'aborted', finalDistanceM: +task.finalDistanceM.toFixed(3),
      collisionSource: collisionSub ? 'sim.collisions' : 'estimate', ticks: loop.stats.ticks, plans: loop.stats.plans,
      infeasibleTicks: task.infeasibleTicks, hoverTicks: task.hoverTicks, limits: task.limits, dataSpeedClamps: task.dataSpeedClamps, blockedSpeedClamps: task.blockedSpeedClamps,
      minClearanceM: Number.isFinite(task.minClearance) ? +task.minClearance.toFixed(3) : NaN, landed: task.landed,
      ...(takeoffError ? { takeoffError } : {}),
    };
  }
  return result!;
}

/**
 * High-level takeoff as cflib users do it: first a notify-setpoint-stop (a client that streamed low-level
 * setpoints before, e.g. a crashed or fuzzing one, leaves the commander at its priority: EBUSY), then the
 * takeoff; on EBUSY release the priority again, on EACCES send an arming request (disarmed after a
 * restart or an emergency stop), and retry — at most twice. Returns the last errno and what was done.
 */
async function takeoffWithRecovery(cf: Crazyflie, z: number, durationS: number): Promise<{ errno: number; recovered: string[] }> {
  const buf = new Uint8Array(32);
  const recovered: string[] = [];
  await cf.send(buf, encodeNotifySetpointsStop(buf, 0));
  let errno = await cf.highLevel.takeoff(z, durationS);
  for (let k = 0; k < 2 && (errno === Errno.EBUSY || errno === Errno.EACCES); k++) {
    if (errno === Errno.EBUSY) {
      await cf.send(buf, encodeNotifySetpointsStop(buf, 0));
      recovered.push('EBUSY: released the commander priority (notify setpoint stop)');
    } else {
      await cf.send(buf, encodeArm(buf, true, cf.protocolVersion));
      recovered.push('EACCES: sent an arming request');
    }
    await new Promise((r) => setTimeout(r, 150));
    errno = await cf.highLevel.takeoff(z, durationS);
  }
  return { errno, recovered };
}
