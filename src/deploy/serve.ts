import { join, resolve } from 'node:path';
import { childLogger } from '../log.js';
import { NullTelemetrySink, type TelemetrySink } from '../devices/mavlink/telemetry.js';
import { ModelHotSwap, createModelLoader, type LoadedModel, type ModelLoader, type SwapEvent } from './serve-agent.js';
import { RealLoopClock, TickLoop, tickPercentileUs, type LoopClock } from './tick-loop.js';

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

export type ServeTick<M extends LoadedModel> = (model: M, index: number, ctx: ServeTickContext) => void;

export interface ServeOptions<M extends LoadedModel = LoadedModel> {
  /** deployment root holding `active`, `previous`, `slots/`, `trusted_keys/` */
  modelsDir: string;
  rateHz: number;
  /** default: createModelLoader({ trustedKeysDir: <modelsDir>/trusted_keys }) */
  loader?: ModelLoader<M>;
  trustedKeysDir?: string;
  tick?: ServeTick<M>;
  telemetry?: TelemetrySink;
  /** stop after this long (tests, soak runs); default: until `signal` aborts */
  durationMs?: number;
  signal?: AbortSignal;
  pollMs?: number;
  clock?: LoopClock;
  onEvent?: (e: SwapEvent) => void;
  /** stats reporting period (telemetry + log), ms */
  reportMs?: number;
}

export interface ServeReport {
  modelsDir: string;
  rateHz: number;
  ticks: number;
  deadlineMisses: number;
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
}

/** The placeholder control step: touches the model bytes (so a use-after-dispose would show) and nothing else. */
export const holdTick: ServeTick<LoadedModel> = (m) => {
  void m.modelBytes[0];
};

export async function runServe<M extends LoadedModel = LoadedModel>(o: ServeOptions<M>): Promise<ServeReport> {
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
  const loop = new TickLoop({
    periodUs: 1e6 / o.rateHz,
    clock: o.clock ?? new RealLoopClock(),
    tick: (i) => tick(swap.acquire(), i, ctx),
  });
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
  loop.start();
  await new Promise<void>((resolveWait) => {
    const done = (): void => resolveWait();
    if (o.durationMs !== undefined) setTimeout(done, o.durationMs);
    if (o.signal) {
      if (o.signal.aborted) done();
      else o.signal.addEventListener('abort', done, { once: true });
    }
    if (o.durationMs === undefined && !o.signal) log.warn('runServe without durationMs or signal runs forever');
  });
  await loop.stop();
  clearInterval(reporter);
  report();
  await swap.stop();
  const s = loop.stats;
  const cur = swap.current;
  return {
    modelsDir: root, rateHz: o.rateHz, ticks: s.ticks, deadlineMisses: s.deadlineMisses, skippedSlots: s.skippedSlots,
    tickP50Us: tickPercentileUs(s, 50), tickP99Us: tickPercentileUs(s, 99), maxTickUs: s.maxTickUs,
    loads: swap.counters.loads, swaps: swap.counters.swaps, rejects: swap.counters.rejects,
    activeSlot: cur.slot, activeSha256: cur.manifest.model.sha256, events,
  };
}
