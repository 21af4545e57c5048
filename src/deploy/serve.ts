import { join, resolve } from 'node:path';
import { childLogger } from '../log.js';
import { NullTelemetrySink, type TelemetrySink } from '../devices/mavlink/telemetry.js';
import { ModelHotSwap, createModelLoader, type SlotModel, type ModelLoader, type SwapEvent } from './serve-agent.js';
import { MonotonicClock, type Clock } from '../control/clock.js';
import { FixedRateScheduler, tickPercentileUs } from '../control/scheduler.js';
import { runTask, type ControlTask } from '../control/task.js';

/**
 * `kdp serve`: the board agent. Runs a fixed-rate loop whose tick uses the current model, watches
 * <models>/active, and hot-swaps verified models between ticks.
 *
 * The planning loop is wired in through `tick` (and, for the real runtime, a `loader` that wraps
 * `createModelLoader()` and builds the interpreter off the tick). The default tick only exercises the model
 * handle and reports, so the agent can be deployed and tested before the loop lands.
 */
export interface ServeTickContext {
  telemetry: TelemetrySink;
}

export type ServeTick<M extends SlotModel> = (model: M, index: number, ctx: ServeTickContext) => void;

export interface ServeOptions<M extends SlotModel = SlotModel> {
  /** deployment root holding `active`, `previous`, `slots/`, `trusted_keys/` */
  modelsDir: string;
  rateHz: number;
  /** default: createModelLoader({ trustedKeysDir: <modelsDir>/trusted_keys }) */
  loader?: ModelLoader<M>;
  trustedKeysDir?: string;
  tick?: ServeTick<M>;
  telemetry?: TelemetrySink;
  /** stop after this long on `clock` (tests, soak runs); default: until `signal` aborts */
  durationMs?: number;
  signal?: AbortSignal;
  pollMs?: number;
  /** default: a MonotonicClock */
  clock?: Clock;
  /** called at the end of every tick, inside it (instrumentation; see `RunTaskOptions.onTick`) */
  onTick?: (tick: number) => void;
  onEvent?: (e: SwapEvent) => void;
  /** stats reporting period (telemetry + log), ms */
  reportMs?: number;
}

export interface ServeReport {
  modelsDir: string;
  rateHz: number;
  ticks: number;
  /** ticks whose work exceeded the period (the shared scheduler accounting) */
  deadlineMisses: number;
  /** slots that passed while a tick still ran */
  skippedSlots: number;
  tickP50Us: number;
  tickP99Us: number;
  maxTickUs: number;
  loads: number;
  swaps: number;
  rejects: number;
  activeSlot: string;
  activeSha256: string;
  events: SwapEvent[];
  /** ticks that threw (dropped; the loop kept its rate) */
  tickErrors: number;
}

/** The placeholder control step: touches the model bytes (so a use-after-dispose would show) and nothing else. */
export const holdTick: ServeTick<SlotModel> = (m) => {
  void m.bytes[0];
};

export async function runServe<M extends SlotModel = SlotModel>(o: ServeOptions<M>): Promise<ServeReport> {
  const log = childLogger('serve');
  const root = resolve(o.modelsDir);
  const telemetry = o.telemetry ?? new NullTelemetrySink();
  const loader = o.loader ?? (createModelLoader({ trustedKeysDir: o.trustedKeysDir ?? join(root, 'trusted_keys') }) as unknown as ModelLoader<M>);
  const events: SwapEvent[] = [];
  const swap = new ModelHotSwap<M>({
    modelsDir: root, loader, telemetry, ...(o.pollMs === undefined ? {} : { pollMs: o.pollMs }),
    onEvent: (e) => { if (events.length < 1000) events.push(e); o.onEvent?.(e); },
  });
  const first = await swap.start();
  log.info({ slot: first.slot, sha256: first.manifest.model.sha256, rateHz: o.rateHz }, 'serving');
  telemetry.fault(`kdp serve: model ${first.slot}`, 'info');
  const tick = (o.tick ?? (holdTick as unknown as ServeTick<M>));
  const ctx: ServeTickContext = { telemetry };
  const loop = new FixedRateScheduler({ periodUs: 1e6 / o.rateHz, clock: o.clock ?? new MonotonicClock() });
  // the model is acquired at the top of the tick (O(1): a swap is a pointer change); the tick plans and acts
  let model: M = swap.current;
  let tickErrors = 0;
  const task: ControlTask = {
    observe: () => { model = swap.acquire(); },
    plan: (i) => {
      // as before the seam: a throwing tick is counted and the agent keeps its rate (the hot path must not throw)
      try { tick(model, i, ctx); } catch { tickErrors++; }
    },
    act: () => {},
    done: () => false,
    // nothing to hold on the board agent itself: the planning loop's robot side stops with its own process
    safeStop: (reason, error) => { if (reason === 'error') log.error({ err: (error as Error)?.message }, 'serve tick failed: stopping'); },
  };
  const stats = { latencyP50Us: 0, latencyP99Us: 0, deadlineMisses: 0, candidates: 0, modelSwaps: 0, modelRejects: 0 };
  const report = (): void => {
    const s = loop.stats;
    stats.latencyP50Us = tickPercentileUs(s, 50);
    stats.latencyP99Us = tickPercentileUs(s, 99);
    stats.deadlineMisses = s.deadlineMisses;
    stats.candidates = swap.current.manifest.candidates ?? 0;
    stats.modelSwaps = swap.counters.swaps;
    stats.modelRejects = swap.counters.rejects;
    telemetry.publishStats(stats);
  };
  const reporter = setInterval(report, o.reportMs ?? 1000);
  reporter.unref();
  if (o.durationMs === undefined && !o.signal) log.warn('runServe without durationMs or signal runs forever');
  const run = await runTask(task, loop, {
    ...(o.signal ? { signal: o.signal } : {}), ...(o.durationMs !== undefined ? { durationUs: o.durationMs * 1000 } : {}),
    ...(o.onTick ? { onTick: o.onTick } : {}),
  });
  clearInterval(reporter);
  report();
  await swap.stop();
  if (run.stop === 'error') throw run.error;
  if (tickErrors > 0) log.error({ tickErrors }, 'ticks threw (each was dropped; the rate was kept)');
  const s = loop.stats;
  const cur = swap.current;
  return {
    modelsDir: root, rateHz: o.rateHz, ticks: s.ticks, deadlineMisses: s.deadlineMisses, skippedSlots: s.skippedSlots,
    tickP50Us: tickPercentileUs(s, 50), tickP99Us: tickPercentileUs(s, 99), maxTickUs: s.maxTickUs,
    loads: swap.counters.loads, swaps: swap.counters.swaps, rejects: swap.counters.rejects,
    activeSlot: cur.slot, activeSha256: cur.manifest.model.sha256, events, tickErrors,
  };
}
