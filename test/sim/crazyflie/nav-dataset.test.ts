import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runKdp } from '../../helpers/cli.js';
import { loadD4rlHdf5 } from '../../../src/data/d4rl-hdf5.js';
import { GridExpert } from '../../../src/sim/crazyflie/expert.js';
import { NAV_OBS_DIM, generateNavDataset } from '../../../src/sim/crazyflie/nav-dataset.js';
import { clearance } from '../../../src/envs/cf-nav/obstacles.js';

test('expert path avoids the inflated obstacles', () => {
  const obs = [{ type: 'cylinder' as const, x: 1, y: 0, radius: 0.2, height: 2 }];
  const e = new GridExpert(obs, [0, 0, 0.5], [2, 0, 0.5]);
  assert.ok(e.path.length > 10);
  for (const [x, y] of e.path) assert.ok(clearance(obs[0]!, x, y, 0.5, 0.06) > 0.05, `path point ${x},${y}`);
});

test('generated flights: seeded, expert reaches the goal without collisions, D4RL-shaped arrays', async () => {
  const a = await generateNavDataset({ episodes: 3, seed: 7 });
  const b = await generateNavDataset({ episodes: 3, seed: 7 });
  assert.equal(a.stats, b.stats);
  assert.equal(Array.from(a.arrays.actions.subarray(0, 30)), Array.from(b.arrays.actions.subarray(0, 30)));
  assert.is(a.stats.reached, 3);
  assert.is(a.stats.collisions, 0);
  const n = a.stats.steps;
  assert.is(a.arrays.observations.length, n * NAV_OBS_DIM);
  assert.is(a.arrays.actions.length, n * 3);
  assert.is(a.arrays.terminals.reduce((s, v) => s + v, 0), 3);
});

test('kdp dataset crazyflie-nav writes HDF5 + layouts + provenance', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kdp-cfnav-'));
  const out = join(dir, 'nav.hdf5');
  const r = runKdp(['dataset', 'crazyflie-nav', '--episodes', '3', '--seed', '1', '--out', out, '--json']);
  assert.is(r.status, 0, r.stderr);
  const summary = JSON.parse(r.stdout.trim().split('\n').pop()!) as { episodes: number; reached: number; steps: number };
  assert.is(summary.episodes, 3);
  assert.ok(existsSync(`${out}.layouts.json`) && existsSync(`${out}.provenance.json`));
  const layouts = JSON.parse(readFileSync(`${out}.layouts.json`, 'utf8')) as { episodes: unknown[] };
  assert.is(layouts.episodes.length, 3);
  // the file reads back as the crazyflie-nav layout: as many rows as recorded steps, one episode per layout
  const ds = await loadD4rlHdf5(out, { expect: { stateDim: NAV_OBS_DIM, actionDim: 3 } });
  assert.is(ds.length, summary.steps);
  assert.is(ds.episodeEnds.length, 3);
  assert.is(ds.episodeEnds[ds.episodeEnds.length - 1], ds.length);
  assert.is(ds.observations.length, ds.length * NAV_OBS_DIM);
  assert.ok(ds.observations.every((x) => Number.isFinite(x)), 'finite observations');
});

test.run();
