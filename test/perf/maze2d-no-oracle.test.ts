/**
 * The headline, re-measured: every shipped Maze2D model under D4RL's protocol (observation + goal only,
 * `"oracle": false`), 100 episodes on each of the two headline seed sets, against the published planners.
 * Scores are deterministic per seed (virtual clock), so the asserted bars are exact regression floors:
 * above Diffuser on every maze and seed set; the shipped figures (docs/benchmarks.md) within 0.05.
 *   npm run bench   (or: node scripts/run-tests.mjs test/perf/maze2d-no-oracle.test.ts; ≈ 1 min)
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runKdp } from '../helpers/cli.js';

const DIFFUSER: Record<string, number> = { umaze: 113.9, medium: 121.5, large: 123.0 };
const VETERAN: Record<string, number> = { umaze: 136.6, medium: 150.7, large: 203.6 };
/** the shipped files' figures (docs/benchmarks.md, "Closed-loop planning without an oracle") */
const SHIPPED: Record<string, [number, number]> = { umaze: [141.3, 138.5], medium: [156.4, 148.1], large: [190.3, 176.6] };

for (const maze of ['umaze', 'medium', 'large']) {
  test(`maze2d-${maze}: no oracle, 100 episodes × 2 seed sets, above Diffuser's published ${DIFFUSER[maze]}`, () => {
    [123, 10000].forEach((seed, k) => {
      const r = runKdp(['eval', '--model', `models/maze2d-${maze}`, '--episodes', '100', '--seed', String(seed), '--json'], { timeoutMs: 600_000 });
      assert.is(r.status, 0, r.stderr);
      const j = JSON.parse(r.stdout.trim().split('\n').pop()!) as { oracle: boolean; hierarchical: boolean; normalizedScore: number; normalizedScoreStd: number; successRate: number; planLatencyUs: { p50: number; p99: number } };
      console.log(`[figure] maze2d-${maze} seeds ${seed}…: ${j.normalizedScore} ± ${j.normalizedScoreStd} (success ${(j.successRate * 100).toFixed(0)}%), oracle ${j.oracle}, hierarchical ${j.hierarchical}; Diffuser ${DIFFUSER[maze]}, Diffusion Veteran ${VETERAN[maze]} (${j.normalizedScore > VETERAN[maze]! ? 'above' : 'below'}); plan p50 ${j.planLatencyUs.p50} µs`);
      assert.is(j.oracle, false);
      assert.is(j.hierarchical, maze === 'large');
      assert.ok(j.normalizedScore > DIFFUSER[maze]!, `${j.normalizedScore} ≤ Diffuser ${DIFFUSER[maze]}`);
      assert.ok(Math.abs(j.normalizedScore - SHIPPED[maze]![k]!) < 0.05, `${j.normalizedScore} ≠ the documented ${SHIPPED[maze]![k]}`);
    });
  });
}

test.run();
