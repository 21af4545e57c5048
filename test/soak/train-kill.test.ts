// SIGKILL soak: `kdp train --checkpoint-every 1` killed 50 times at random moments (startup, mid-step,
// mid-save, mid-prune); after every kill the run folder must resolve to a generation that verifies, and
// the last run must finish. Run: node scripts/run-tests.mjs test/soak/train-kill.test.ts (KDP_SOAK_KILLS=N)
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateMaze2dDataset } from '../../src/envs/maze2d/generate.js';
import { writeD4rlHdf5 } from '../../src/data/d4rl-hdf5.js';
import { trainKillCampaign } from '../helpers/train-kill.js';

test('50 SIGKILLs of kdp train at random moments: every run resumable, the last one finishes', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kdp-killsoak-'));
  const dataset = join(dir, 'umaze.hdf5');
  const r0 = await generateMaze2dDataset({ maze: 'maze2d-umaze', steps: 4000, seed: 1 });
  await writeD4rlHdf5(dataset, r0.arrays, { stateDim: 4, actionDim: 2, goalDim: 2, qposDim: 2, qvelDim: 2 });
  const kills = Number(process.env.KDP_SOAK_KILLS ?? 50);
  const t0 = Date.now();
  const r = await trainKillCampaign({
    trainArgs: ['train', '--dataset', dataset, '--env', 'maze2d-umaze', '--horizon', '8', '--frame-skip', '2', '--hidden', '32,32',
      '--noise-dim', '4', '--conditions', '4', '--samples', '8', '--positives', '16', '--seed', '3'],
    out: join(dir, 'run'), kills, minMs: 0, maxMs: 400, seed: 12345, steps: 100_000, finalExtraSteps: 20,
  });
  console.log(`[figure] train SIGKILL soak: ${r.kills} kills, ${r.resumable} resumable, ${r.beforeFirstSave} before the first save, `
    + `${r.skippedGenerations} damaged generations skipped, ${r.failures.length} failures, final step ${r.finalStep}, ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  assert.equal(r.failures, []);
  assert.is(r.kills, kills);
  assert.is(r.resumable + r.beforeFirstSave, kills);
  assert.is(r.resumable, kills, 'every kill came after a save');
});

test.run();
