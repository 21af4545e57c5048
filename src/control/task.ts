/**
 * The task seam: what `kdp fly`, `kdp arm`, `kdp eval` and `kdp serve` have in common. A task says how to read
 * its world, plan, act and stop safely; `runTask` owns the rest — the fixed-rate schedule, the tick accounting
 * (skipped slots, deadline misses), the stop conditions (task done, duration, tick count, abort signal, an error)
 * and the one call of `safeStop` on every exit path.
 */
import type { FixedRateScheduler } from './scheduler.js';

export type StopReason = 'done' | 'duration' | 'maxTicks' | 'aborted' | 'error';

export interface ControlTask {
  /** bring the robot up before the first slot (configure servos, take off); a throw ends the run via `safeStop` */
  start?(): PromiseLike<void>;
  /** read the robot's (or env's) state for this tick; may await I/O (the SO-100 bus) */
  observe(tick: number): void | PromiseLike<void>;
  /** replan or keep the plan (synchronous: the planner never awaits) */
  plan(tick: number): void;
  /** send the command; may await I/O */
  act(tick: number): void | PromiseLike<void>;
  /** true once the task has finished (goal reached, task timeout, a fault it handled) */
  done(): boolean;
  /**
   * Bring the robot to a safe state: called exactly once, after the last tick has settled, whatever ended the
   * run (`error` carries what was thrown). Must not throw for an expected failure; if it does, the report says so.
   */
  safeStop(reason: StopReason, error?: unknown): void | PromiseLike<void>;
}

export interface RunTaskOptions {
  signal?: AbortSignal;
  /** stop after this much clock time (µs) since the first slot */
  durationUs?: number;
  /** stop after this many ticks */
  maxTicks?: number;
  /**
   * Called at the end of every tick, inside the measured tick (instrumentation: a virtual-clock test scripts the
   * tick's work duration here by advancing the clock).
   */
  onTick?: (tick: number) => void;
}

export interface RunReport {
  stop: StopReason;
  /** what was thrown, when `stop` is 'error' */
  error?: unknown;
  /** what `safeStop` threw, if it did */
  safeStopError?: unknown;
  ticks: number;
  skippedSlots: number;
  deadlineMisses: number;
  lateTicks: number;
  maxTickUs: number;
  maxLatenessUs: number;
  /** clock time from the first slot to the end of the last tick, µs */
  elapsedUs: number;
}

/** Run `task` on `scheduler` until a stop condition; then `safeStop` once. Never rejects for a task error. */
export async function runTask(task: ControlTask, scheduler: FixedRateScheduler, o: RunTaskOptions = {}): Promise<RunReport> {
  const clock = scheduler.clock;
  let stop: StopReason | undefined;
  let error: unknown;
  const requestStop = (reason: StopReason, e?: unknown): void => {
    if (stop === undefined) { stop = reason; if (reason === 'error') error = e; }
    void scheduler.stop();
  };
  const onAbort = (): void => requestStop('aborted');
  const onTick = o.onTick;
  const afterAct = (i: number): void => {
    onTick?.(i);
    if (task.done()) requestStop('done');
  };
  const restAsync = async (i: number, observed: PromiseLike<void> | undefined): Promise<void> => {
    if (observed) await observed;
    // stopped (abort) while the tick awaited its I/O: no new command; the safe stop comes next
    if (stop !== undefined) return;
    if (task.done()) { requestStop('done'); return; }
    task.plan(i);
    await task.act(i);
    afterAct(i);
  };
  const tick = (i: number): void | Promise<void> => {
    if (stop !== undefined) return;
    const r = task.observe(i);
    if (r) return restAsync(i, r);
    if (task.done()) { requestStop('done'); return; }
    task.plan(i);
    const a = task.act(i);
    if (a) return restAsyncAct(i, a);
    afterAct(i);
  };
  const restAsyncAct = async (i: number, acted: PromiseLike<void>): Promise<void> => {
    await acted;
    afterAct(i);
  };

  let startUs = clock.nowUs();
  try {
    if (o.signal?.aborted) stop = 'aborted';
    else if (task.done()) stop = 'done';
    else if (o.maxTicks !== undefined && o.maxTicks <= 0) stop = 'maxTicks';
    if (stop === undefined && task.start) {
      o.signal?.addEventListener('abort', onAbort, { once: true });
      await task.start();
      if (o.signal?.aborted) stop = 'aborted';
      else if (task.done()) stop = 'done';
    }
    if (stop === undefined) {
      o.signal?.addEventListener('abort', onAbort, { once: true });
      scheduler.start(tick, {
        ...(o.maxTicks !== undefined ? { maxTicks: o.maxTicks } : {}), ...(o.durationUs !== undefined ? { durationUs: o.durationUs } : {}),
        onError: (e: unknown) => requestStop('error', e),
      });
      startUs = scheduler.startedAtUs;
      await scheduler.done;
      stop ??= scheduler.endedBy ?? 'maxTicks';
    }
  } catch (e) {
    // from start() (the scheduler itself never throws into here)
    stop = 'error';
    error = e;
    await scheduler.stop();
  } finally {
    o.signal?.removeEventListener('abort', onAbort);
  }
  const endUs = clock.nowUs();
  let safeStopError: unknown;
  try {
    await task.safeStop(stop!, error);
  } catch (e) {
    safeStopError = e;
  }
  const s = scheduler.stats;
  return {
    stop: stop!, ...(stop === 'error' ? { error } : {}), ...(safeStopError !== undefined ? { safeStopError } : {}),
    ticks: s.ticks, skippedSlots: s.skippedSlots, deadlineMisses: s.deadlineMisses, lateTicks: s.lateTicks,
    maxTickUs: s.maxTickUs, maxLatenessUs: s.maxLatenessUs, elapsedUs: endUs - startUs,
  };
}
