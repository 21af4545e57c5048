/**
 * `kdp dataset crazyflie-nav --episodes 500 --seed 0 --out data/crazyflie-nav.hdf5`
 * Records simulated Crazyflie flights through random obstacle fields with a scripted expert (D4RL HDF5 layout).
 */
import { writeD4rlHdf5 } from '../../data/d4rl-hdf5.js';
import { writeDatasetProvenance } from '../../data/provenance.js';
import { NAV_ACT_DIM, NAV_DT_S, NAV_GOAL_DIM, NAV_OBS_DIM, generateNavDataset } from '../../sim/crazyflie/nav-dataset.js';
import { writeJsonAtomic } from '../../util/atomic-write.js';
import { optNumber, optString, type CommandSpec } from '../command.js';
import { emitResult } from '../output.js';
import { createProgress } from '../progress.js';

export const command: CommandSpec = {
  name: 'dataset crazyflie-nav',
  summary: 'record simulated Crazyflie flights through obstacle fields as a dataset',
  description: [
    'Flies the simulated Crazyflie 2.1 (the same MuJoCo model and firmware-like controller as `kdp sim crazyflie`,',
    'in-process, no UDP) through random cylinder fields: start (0, y, 0.5), goal x ∈ [1.5, 2.5], 3–7 cylinders.',
    'The expert plans A* on a 5 cm grid (obstacles inflated by the vehicle radius + 14 cm) and follows the path at',
    '≤ 0.6 m/s with velocity_world setpoints at 10 Hz; Gaussian noise (--noise, m/s) on its actions adds diversity.',
    '',
    'Layout (D4RL HDF5): observations [N,33] = pos(3) vel(3) goal−pos(3) 8 nearest obstacles (dx, dy, r);',
    'actions [N,3] = world velocity (m/s); rewards (+1 goal, −1 collision); terminals; timeouts;',
    'infos/goal [N,3], infos/qpos [N,7], infos/qvel [N,6]. Layouts per episode in <out>.layouts.json.',
    '',
    'Example: kdp dataset crazyflie-nav --episodes 500 --seed 0 --out data/crazyflie-nav.hdf5',
  ].join('\n'),
  options: {
    episodes: { type: 'string', placeholder: 'N', default: '500', description: 'number of flights' },
    seed: { type: 'string', placeholder: 'S', default: '0', description: 'seed (layouts and noise; evaluate on other seeds)' },
    noise: { type: 'string', placeholder: 'std', default: '0.1', description: 'std of the Gaussian action noise (m/s)' },
    'max-steps': { type: 'string', placeholder: 'N', default: '300', description: 'step limit per episode (10 Hz)' },
    out: { type: 'string', placeholder: '<path>', default: 'data/crazyflie-nav.hdf5', description: 'output .hdf5' },
    gzip: { type: 'string', placeholder: 'level', default: '4', description: 'gzip level (0 = none)' },
  },
  async run(ctx) {
    const episodes = optNumber(ctx, 'episodes', 500, { int: true, min: 1, max: 1_000_000 });
    const seed = optNumber(ctx, 'seed', 0, { int: true, min: 0 });
    const noise = optNumber(ctx, 'noise', 0.1, { min: 0 });
    const maxSteps = optNumber(ctx, 'max-steps', 300, { int: true, min: 10 });
    const gzip = optNumber(ctx, 'gzip', 4, { int: true, min: 0, max: 9 });
    const out = optString(ctx, 'out') ?? 'data/crazyflie-nav.hdf5';
    const started = Date.now();
    const bar = createProgress('crazyflie-nav', episodes, { json: ctx.json, fields: ['reached', 'collisions'] });
    const res = await generateNavDataset({
      episodes, seed, actionNoise: noise, maxSteps, signal: ctx.signal,
      onEpisode: (done, st) => bar.update(done, { reached: st.reached, collisions: st.collisions }),
    });
    bar.stop();
    await writeD4rlHdf5(out, res.arrays, { stateDim: NAV_OBS_DIM, actionDim: NAV_ACT_DIM, goalDim: NAV_GOAL_DIM, qposDim: 7, qvelDim: 6, gzip });
    writeJsonAtomic(`${out}.layouts.json`, { seed, dtS: NAV_DT_S, episodes: res.layouts });
    writeDatasetProvenance(out, { command: `kdp dataset crazyflie-nav --episodes ${res.stats.episodes} --seed ${seed} --noise ${noise} --max-steps ${maxSteps} --out ${out}`, seed, steps: res.stats.steps, env: 'crazyflie-nav' });
    const seconds = Math.round((Date.now() - started) / 100) / 10;
    const summary = { out, seed, noise, ...res.stats, seconds };
    // Ctrl-C: the episodes finished so far are a valid dataset of that many episodes; keep them and say so
    const interrupted = ctx.signal.aborted;
    if (interrupted && res.stats.episodes === 0) {
      process.stderr.write('interrupted before the first episode finished: nothing written\n');
      return 130;
    }
    emitResult(ctx, { ...summary, ...(interrupted ? { interrupted: true } : {}) }, () => `${interrupted ? `interrupted: kept the ${res.stats.episodes} finished of ${episodes} requested episodes — ` : ''}wrote ${out}: ${res.stats.episodes} flights, ${res.stats.steps} steps, ${res.stats.reached} reached, ${res.stats.collisions} collisions, ${res.stats.timeouts} timeouts, ${seconds} s`);
    return interrupted ? 130 : 0;
  },
};
