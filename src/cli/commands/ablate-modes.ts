import { UsageError } from '../../errors.js';
import { DEFAULT_MODE_OPTIONS, MODE_VARIANTS, runModeBenchmark, type ModeMetrics, type ModeVariant } from '../../train/mode-benchmark.js';
import { optNumber, optString, type CommandSpec } from '../command.js';
import { emitResult } from '../output.js';
import { detourSamplesSvg } from '../../train/detour-svg.js';
import { writeFileAtomic } from '../../util/atomic-write.js';
import { createProgress } from '../progress.js';

export const command: CommandSpec = {
  name: 'ablate modes',
  summary: 'the mode benchmark: keyed vs naive vs condition-only vs no-repulsion',
  description: [
    'Trains each key variant on the built-in multimodal detour task (starts left of a disc obstacle, a goal',
    'to its right, demonstrations detour above or below it) and evaluates on held-out starts, 32 samples each.',
    'The default includes 64 nuisance dims (a condition-independent random walk) so the naive failure shows.',
    '',
    'The full run trains 4 variants × 3000 steps: about 16–19 min on one x86 core. Ctrl-C stops it within a',
    'second and prints the variants that finished (exit 130). For a quick look: --steps 300 --conditions 50.',
    '',
    'Examples:',
    '  kdp ablate modes --json > runs/ablate.json',
    '  kdp ablate modes --steps 300 --conditions 50 --variants keyed,full',
  ].join('\n'),
  options: {
    horizon: { type: 'string', placeholder: 'H', default: String(DEFAULT_MODE_OPTIONS.horizon), description: 'xy waypoints per window' },
    nuisance: { type: 'string', placeholder: 'U', default: String(DEFAULT_MODE_OPTIONS.nuisance), description: 'extra future dims independent of the condition' },
    steps: { type: 'string', placeholder: 'N', default: String(DEFAULT_MODE_OPTIONS.steps), description: 'training steps per variant' },
    seed: { type: 'string', placeholder: 'S', default: '0', description: 'seed for data, training and evaluation' },
    variants: { type: 'string', placeholder: 'list', default: MODE_VARIANTS.join(','), description: 'comma-separated subset of the variants' },
    'block-weight': { type: 'string', placeholder: 'w', default: '1', description: 'keyed: weight of the block distance in the nuisance block kernel (0 = key only)' },
    conditions: { type: 'string', placeholder: 'N', default: String(DEFAULT_MODE_OPTIONS.evalConditions), description: 'held-out conditions evaluated' },
    svg: { type: 'string', placeholder: '<file>', description: 'write an SVG of sampled plans per variant (3 held-out conditions)' },
  },
  async run(ctx) {
    const variants = (optString(ctx, 'variants') ?? '').split(',').map((s) => s.trim()).filter(Boolean) as ModeVariant[];
    for (const v of variants) if (!MODE_VARIANTS.includes(v)) throw new UsageError(`unknown variant "${v}"`, `use some of: ${MODE_VARIANTS.join(', ')}`);
    const steps = optNumber(ctx, 'steps', DEFAULT_MODE_OPTIONS.steps, { int: true, min: 1 });
    const opts = {
      ...DEFAULT_MODE_OPTIONS,
      horizon: optNumber(ctx, 'horizon', 16, { int: true, min: 4, max: 256 }),
      nuisance: optNumber(ctx, 'nuisance', 64, { int: true, min: 0, max: 4096 }),
      steps,
      seed: optNumber(ctx, 'seed', 0, { int: true, min: 0 }),
      evalConditions: optNumber(ctx, 'conditions', 200, { int: true, min: 1 }),
      variants,
      config: { blockWeight: optNumber(ctx, 'block-weight', 1, { min: 0 }) },
    };
    const bar = createProgress('ablate', steps * variants.length, { json: ctx.json, fields: ['variant', 'loss'] });
    const svg = optString(ctx, 'svg');
    const result = await runModeBenchmark({
      ...opts,
      keepSamples: svg ? 3 : 0,
      signal: ctx.signal,
      onProgress: (v, step, _total, loss) => bar.update(variants.indexOf(v) * steps + step, { variant: v, loss }),
    });
    bar.stop();
    if (svg && !result.interrupted) {
      writeFileAtomic(svg, detourSamplesSvg(Object.entries(result.samples).map(([name, plans]) => {
        const m = result.variants[name]!;
        return { name, plans, metrics: `coverage ${m.modeCoverage} · collisions ${(m.collisionRate * 100).toFixed(1)}% · spread ${m.nuisanceSpread}` };
      })));
    }
    const stopped = result.interrupted;
    emitResult(ctx, { variants: result.variants, options: result.options, ...(stopped ? { interrupted: stopped } : {}) }, () => [
      ...(Object.keys(result.variants).length ? [renderTable(result.variants)] : []),
      ...(stopped ? [`interrupted during ${stopped.variant} at step ${stopped.step}: kept ${Object.keys(result.variants).length ? Object.keys(result.variants).join(', ') : 'no finished variant'}${svg ? '; no SVG written' : ''}`] : []),
    ].join('\n'));
    return stopped ? 130 : 0;
  },
};

function renderTable(variants: Record<string, ModeMetrics>): string {
  const cols: Array<keyof ModeMetrics> = ['modeCoverage', 'collisionRate', 'startError', 'goalError', 'diversity', 'nuisanceSpread', 'trainSeconds'];
  const head = ['variant', ...cols];
  const rows = Object.entries(variants).map(([name, m]) => [name, ...cols.map((c) => String(m[c]))]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]): string => r.map((c, i) => c.padEnd(widths[i]!)).join('  ');
  return [line(head), ...rows.map(line)].join('\n');
}
