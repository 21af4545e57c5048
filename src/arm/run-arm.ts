/**
 * `kdp arm`: the SO-100 untethered — the KDP planner and the servo bus in one process on the companion board.
 *
 *   connect (ping + model check of the six servos) → configure (LeRobot values, torque on: holds the pose) →
 *   at `rateHz`: SYNC_READ Present_Position → joint angles → `ReachController.step` (KDP plan of joint trajectories,
 *   N candidates per invoke, FK selection, profile joint + velocity limits) → SYNC_WRITE Goal_Position
 *   (`So100Arm.writeGoals` clamps again to the calibration range and ±maxRelativeTarget) → until the grasp point
 *   stays within `tolM` of the target for `holdTicks` ticks, the timeout, Ctrl-C, or a fault.
 *
 * Safety: any servo error bit, a silent bus or a lost port → `So100Arm`'s safe stop (torque off at once) and the
 * run ends with outcome 'fault' and the reason (`fault`). Every exit path — reached, timeout, Ctrl-C, fault, an
 * exception — turns the torque off (`arm.close()`) before the port closes. The result is returned, never thrown,
 * once the arm is connected.
 */
import { MonotonicClock, type Clock } from '../control/clock.js';
import { LIVE_STATS_WINDOW } from '../control/latency-recorder.js';
import { FixedRateScheduler } from '../control/scheduler.js';
import { runTask, type ControlTask } from '../control/task.js';
import { SafetyStopError } from '../errors.js';
import type { LoadedModel } from '../planner/model-loader.js';
import type { TelemetrySink } from '../devices/mavlink/telemetry.js';
import { NullTelemetrySink } from '../devices/mavlink/telemetry.js';
import { forwardKinematics } from '../devices/so100/kinematics.js';
import { So100Arm } from '../devices/so100/arm.js';
import type { So100Calibration } from '../devices/so100/calibration.js';
import type { So100Config } from '../devices/so100/config.js';
import { DEFAULT_SO100 } from '../devices/so100/config.js';
import { CUBE_OFFSET_HELD_M, PLACE_TOL_M } from '../envs/so100/pick-place-task.js';
import { PickPlaceController, type PickPlaceSelect } from './pick-place-controller.js';
import { ReachController, type LimitCounters, type ReachControllerOptions } from './reach-controller.js';

export type ArmTask = 'reach' | 'pick-place';

export interface ArmRunOptions {
  port: string;
  model: LoadedModel;
  /** 'reach' (default): drive the grasp point to `target`; 'pick-place': pick the cube at `cube` and put it at `place` */
  task?: ArmTask;
  /** reach: grasp-point target (m) */
  target?: readonly [number, number, number];
  /** pick-place: where the cube is and where it goes (table xy, m; task inputs, like a goal) */
  cube?: readonly [number, number];
  place?: readonly [number, number];
  config?: So100Config;
  calibration?: So100Calibration;
  /** control rate (Hz, default the profile's default, 50) */
  rateHz?: number;
  /** give up after this many seconds of control (default 10) */
  timeoutS?: number;
  /** reached: within tolM (default 0.02 m) for holdTicks consecutive ticks (default 5) */
  tolM?: number;
  holdTicks?: number;
  candidates?: number;
  seed?: number;
  controller?: Omit<ReachControllerOptions, 'config' | 'rateHz' | 'candidates' | 'seed'>;
  /** pick-place: the candidate selection (default: learned when the model ships its progress scorer) */
  select?: PickPlaceSelect;
  /** per-tick bus budget: attempt timeout (ms) and retries (default the config's 12 ms × 2 retries) */
  busTimeoutMs?: number;
  busRetries?: number;
  /** how long close() keeps retrying torque off until every servo reads it back (default 3000 ms) */
  torqueOffTimeoutMs?: number;
  telemetry?: TelemetrySink;
  signal?: AbortSignal;
  /** the clock the fixed-rate schedule and the timeout run on (default: a MonotonicClock) */
  clock?: Clock;
  /** called at the end of every control tick, inside it (instrumentation; see `RunTaskOptions.onTick`) */
  onTick?: (tick: number) => void;
  onEvent?: (e: { event: string; [k: string]: unknown }) => void;
}

export type ArmOutcome = 'reached' | 'done' | 'timeout' | 'aborted' | 'fault';

export interface ArmResult {
  /** reach only */
  reached?: boolean;
  /** pick-place only, from the arm's own joints (no cube sensing): the jaw held something while lifted */
  picked?: boolean;
  /** pick-place only: released with the estimated cube position within `tolM` of the place */
  placed?: boolean;
  task: ArmTask;
  /**
   * reach: distance (m) of the grasp point (FK of the measured joints) to the target when the loop ended.
   * pick-place: estimated distance (m) of the cube to the place at release (grasp point + the held cube's offset),
   * or, without a release, of the grasp point's cube estimate to the place.
   */
  finalErrorM: number;
  /** seconds of control (first tick → end) */
  seconds: number;
  planLatencyUs: { p50: number; p99: number };
  /** control ticks whose work (bus read + plan + bus write) exceeded the period (the shared scheduler accounting) */
  deadlineMisses: number;
  outcome: ArmOutcome;
  /** why the run stopped early: the safety stop's message (servo fault bits, silent bus, lost port) */
  fault?: string;
  ticks: number;
  plans: number;
  /** ticks that started after one or more skipped slots (host stalls, slow bus) */
  lateTicks: number;
  /** slots that passed while a tick still ran (the shared scheduler accounting) */
  skippedSlots: number;
  /** plans that finished past the budget (the previous plan was acted on meanwhile) */
  planDeadlineMisses: number;
  rateHz: number;
  candidates: number;
  target?: [number, number, number];
  cube?: [number, number];
  place?: [number, number];
  finalJointsRad: number[];
  limits: LimitCounters & { maxRelativeTargetClamps: number };
  /** true only when every servo read Torque_Enable = 0 back after the run */
  torqueOff: boolean;
  /** servo ids whose torque-off could not be confirmed (present only then) */
  torqueUnconfirmedIds?: number[];
}

const r4 = (x: number): number => Math.round(x * 1e4) / 1e4;

/** Drive the arm to the target. Resolves with the summary (a connect failure rejects). */
export async function runArm(o: ArmRunOptions): Promise<ArmResult> {
  const config = o.config ?? DEFAULT_SO100;
  const rateHz = o.rateHz ?? config.controlHz;
  const timeoutS = o.timeoutS ?? 10;
  const tol = o.tolM ?? (o.task === 'pick-place' ? PLACE_TOL_M : 0.02);
  const hold = o.holdTicks ?? 5;
  const candidates = o.candidates ?? 32;
  const tel = o.telemetry ?? new NullTelemetrySink();
  const emit = o.onEvent ?? ((): void => {});
  const task: ArmTask = o.task ?? 'reach';
  if (task === 'reach' && !o.target) throw new TypeError('runArm: task reach needs a target');
  if (task === 'pick-place' && (!o.cube || !o.place)) throw new TypeError('runArm: task pick-place needs cube and place');
  // the planner before the port: a bad model never touches the arm
  const reach = task === 'reach' ? new ReachController(o.model, { ...o.controller, config, rateHz, candidates, seed: o.seed ?? 0 }) : undefined;
  const pp = task === 'pick-place'
    ? new PickPlaceController(o.model, { ...(o.controller?.lookaheadSteps !== undefined ? { lookaheadSteps: o.controller.lookaheadSteps } : {}), ...(o.controller?.backend ? { backend: o.controller.backend } : {}), ...(o.select ? { select: o.select } : {}), config, rateHz, candidates, seed: o.seed ?? 0 })
    : undefined;
  const ctl: ReachController | PickPlaceController = (reach ?? pp)!;
  /** reach: distance to the target; pick-place: the estimated cube-to-place distance */
  const taskError = (qq: ArrayLike<number>): number => {
    if (reach) return reach.errorM(qq);
    const pr = pp!.progress;
    if (pr.released) return pr.placeErrorM;
    forwardKinematics(qq, fkPt);
    const r = Math.hypot(fkPt[0]!, fkPt[1]!);
    const k = r > 0 ? (r + CUBE_OFFSET_HELD_M) / r : 1;
    return pr.picked ? Math.hypot(fkPt[0]! * k - o.place![0], fkPt[1]! * k - o.place![1]) : Math.hypot(o.cube![0] - o.place![0], o.cube![1] - o.place![1]);
  };

  const arm = await So100Arm.connect({
    port: o.port, config, ...(o.calibration ? { calibration: o.calibration } : {}),
    ...(o.busTimeoutMs !== undefined ? { timeoutMs: o.busTimeoutMs } : {}), ...(o.busRetries !== undefined ? { retries: o.busRetries } : {}),
  });
  const q = new Float64Array(6), goal = new Float64Array(6), goalTicks = new Float64Array(6);
  const stateSample = { xM: 0, yM: 0, zM: 0, vxMps: 0, vyMps: 0, vzMps: 0 };
  const wpX = new Float64Array(5), wpY = new Float64Array(5), wpZ = new Float64Array(5);
  const planSample = { count: 5, posXM: wpX, posYM: wpY, posZM: wpZ };
  const statsSample = { latencyP50Us: 0, latencyP99Us: 0, deadlineMisses: 0, candidates };
  const fkPt = new Float64Array(3), qWp = new Float64Array(6);
  let outcome: ArmOutcome | undefined, fault: string | undefined;
  let ticks = 0, inside = 0, relClamps = 0;
  let tStart = 0, tEnd = 0, finalErr = NaN, torqueOff = false;
  let torqueUnconfirmedIds: number[] | undefined;
  const clock = o.clock ?? new MonotonicClock();
  const scheduler = new FixedRateScheduler({ periodUs: 1e6 / rateHz, clock });
  const planStep = ctl.info.stateDim + ctl.info.actionDim, H = ctl.loop.cfg.layout.horizon;
  const control: ControlTask = {
    // configure (LeRobot values, torque on: holds the pose) and reset the controller from the measured joints
    start: async () => {
      await arm.configure();
      await arm.readState();
      arm.jointsRad(q);
      if (reach) {
        reach.reset(o.target!, q);
        emit({ event: 'armed', port: o.port, rateHz, candidates, target: o.target, startErrorM: r4(reach.errorM(q)) });
      } else {
        pp!.reset(o.cube!, o.place!, q);
        emit({ event: 'armed', port: o.port, rateHz, candidates, task, cube: o.cube, place: o.place, select: pp!.select });
      }
      tStart = clock.nowUs();
    },
    observe: () => observe(),
    plan: () => {
      ctl.step(q, goal);
      for (let i = 0; i < 6; i++) goalTicks[i] = So100Arm.ticksFromRad(goal[i]!);
    },
    act: () => act(),
    done: () => outcome !== undefined,
    // every exit path: torque off, confirmed per servo by reading Torque_Enable back (retried while the bus
    // recovers), then the port closes
    safeStop: async (reason, e) => {
      if (reason === 'aborted') outcome ??= 'aborted';
      else if (reason === 'duration') outcome ??= 'timeout';
      else if (reason === 'error') {
        outcome = 'fault';
        if (e instanceof SafetyStopError) {
          fault = e.message;
          emit({ event: 'fault', message: e.message, stopLatencyMs: arm.stopLatencyMs === undefined ? undefined : Math.round(arm.stopLatencyMs) });
        } else {
          fault = `unexpected error: ${(e as Error)?.message ?? String(e)}`;
          emit({ event: 'error', message: (e as Error)?.message ?? String(e) });
        }
        tel.fault(fault, 'critical');
      }
      tEnd = clock.nowUs();
      finalErr = taskError(arm.jointsRad(q));
      try {
        const rep = await arm.close(o.torqueOffTimeoutMs === undefined ? {} : { torqueOffTimeoutMs: o.torqueOffTimeoutMs });
        torqueOff = rep.confirmed;
        if (!rep.confirmed) {
          torqueUnconfirmedIds = rep.unconfirmedIds;
          const msg = `torque off NOT confirmed for servo id(s) ${rep.unconfirmedIds.join(', ')}${rep.torqueOnIds.length ? ` (still on: ${rep.torqueOnIds.join(', ')})` : ''}: cut the servo power`;
          emit({ event: 'torqueNotConfirmed', message: msg });
          tel.fault(msg, 'critical');
        }
      } catch (err) {
        emit({ event: 'closeError', message: (err as Error).message });
      }
    },
  };
  /** SYNC_READ the joints; the task's end conditions (reached / done, timeout) */
  const observe = async (): Promise<void> => {
    await arm.readState();
    arm.jointsRad(q);
    if (reach) {
      const err = reach.errorM(q);
      inside = err < tol ? inside + 1 : 0;
      if (inside >= hold) { outcome = 'reached'; return; }
    } else if (pp!.progress.done) { outcome = 'done'; return; }
    if ((clock.nowUs() - tStart) / 1e6 > timeoutS) outcome = 'timeout';
  };
  /** SYNC_WRITE the goals (the arm clamps again), then telemetry (no allocation: preallocated samples) */
  const act = async (): Promise<void> => {
    const sent = await arm.writeGoals(goalTicks);
    for (let i = 0; i < 6; i++) if (sent[i] !== goalTicks[i]) { relClamps++; break; }
    ticks++;
    const ee = ctl.eePosition;
    stateSample.xM = ee[0]!; stateSample.yM = ee[1]!; stateSample.zM = ee[2]!;
    tel.publishState(stateSample);
    const plan = ctl.loop.current;
    for (let j = 0; j < 5; j++) {
      const t = Math.min(H - 1, Math.round((j * (H - 1)) / 4));
      if (pp) pp.plannedGraspPoint(t, fkPt); // the pick-place plan is a grasp-point path already
      else {
        for (let i = 0; i < 6; i++) qWp[i] = plan[t * planStep + i]!;
        forwardKinematics(qWp, fkPt); // planned grasp point
      }
      wpX[j] = fkPt[0]!; wpY[j] = fkPt[1]!; wpZ[j] = fkPt[2]!;
    }
    tel.publishPlan(planSample);
    if ((ticks & 15) === 0) {
      const sm = ctl.loop.planLatency.summary(LIVE_STATS_WINDOW); // in the tick: recent window only
      statsSample.latencyP50Us = sm.p50; statsSample.latencyP99Us = sm.p99;
    }
    statsSample.deadlineMisses = scheduler.stats.deadlineMisses;
    tel.publishStats(statsSample);
  };
  await runTask(control, scheduler, { ...(o.signal ? { signal: o.signal } : {}), ...(o.onTick ? { onTick: o.onTick } : {}) });
  if (outcome === 'aborted') emit({ event: 'aborted', message: 'interrupted: torque off' });
  const lat = ctl.loop.planLatency.summary();
  const taskFields = reach
    ? { reached: outcome === 'reached' }
    : { picked: pp!.progress.picked, placed: pp!.progress.placed(tol) };
  return {
    ...taskFields, finalErrorM: r4(finalErr), seconds: +((tStart ? tEnd - tStart : 0) / 1e6).toFixed(2),
    planLatencyUs: { p50: lat.p50, p99: lat.p99 }, deadlineMisses: scheduler.stats.deadlineMisses, task,
    outcome: outcome ?? 'aborted', ...(fault !== undefined ? { fault } : {}),
    ticks, plans: ctl.loop.stats.plans, lateTicks: scheduler.stats.lateTicks, rateHz, candidates,
    skippedSlots: scheduler.stats.skippedSlots, planDeadlineMisses: ctl.loop.stats.deadlineMisses,
    ...(o.target ? { target: [o.target[0], o.target[1], o.target[2]] as [number, number, number] } : {}),
    ...(o.cube && o.place ? { cube: [o.cube[0], o.cube[1]] as [number, number], place: [o.place[0], o.place[1]] as [number, number] } : {}),
    finalJointsRad: Array.from(q, r4), limits: { ...ctl.limits, maxRelativeTargetClamps: relClamps }, torqueOff,
    ...(torqueUnconfirmedIds ? { torqueUnconfirmedIds } : {}),
  };
}
