import type { CommandSpec } from '../command.js';
import { optNumber, optString } from '../command.js';
import { emitResult } from '../output.js';
import { createProgress } from '../progress.js';
import { writeD4rlHdf5 } from '../../data/d4rl-hdf5.js';
import { writeDatasetProvenance } from '../../data/provenance.js';
import { loadSo100Config } from '../../devices/so100/config.js';
import { generateSo100ReachDataset } from '../../sim/so100/reach-demos.js';
import { REACH_ACT_DIM, REACH_GOAL_DIM, REACH_OBS_DIM } from '../../envs/so100/reach-task.js';

export const command: CommandSpec = {
  name: 'dataset so100-reach',
  summary: 'record simulated SO-100 reach demonstrations as a dataset',
  description: [
    'Scripted IK reach demonstrations on the simulated SO-100 (MuJoCo arm + simulated STS3215 position loops):',
    'random start pose and target, closed-form IK, minimum-jerk joint trajectory sent as goal positions at the',
    'control rate, droop-compensated hold. D4RL HDF5 layout (docs/so100.md):',
    '  observations [q 6 rad, ee xyz 3 m, target xyz 3 m], actions [goal joint angles 6 rad],',
    '  rewards −distance, terminals (reached within --tol for 5 steps), timeouts, infos/goal, infos/qpos, infos/qvel.',
    '',
    'Example: kdp dataset so100-reach --episodes 2000 --seed 0 --out data/so100-reach.hdf5',
  ].join('\n'),
  options: {
    episodes: { type: 'string', placeholder: 'N', default: '500', description: 'number of episodes' },
    seed: { type: 'string', placeholder: 'S', default: '0', description: 'seed (same seed → identical data)' },
    out: { type: 'string', placeholder: '<path>', description: 'output .hdf5 (default data/so100-reach.hdf5)' },
    hz: { type: 'string', placeholder: 'Hz', default: '50', description: 'control rate' },
    'max-steps': { type: 'string', placeholder: 'N', default: '150', description: 'steps before a timeout' },
    noise: { type: 'string', placeholder: 'rad', default: '0', description: 'std of Gaussian noise on the expert goals' },
    tol: { type: 'string', placeholder: 'm', default: '0.01', description: 'reach tolerance' },
    gzip: { type: 'string', placeholder: 'level', default: '4', description: 'gzip level (0 = none)' },
  },
  async run(ctx) {
    const episodes = optNumber(ctx, 'episodes', 500, { int: true, min: 1, max: 1_000_000 });
    const seed = optNumber(ctx, 'seed', 0, { int: true, min: 0 });
    const hz = optNumber(ctx, 'hz', 50, { min: 10, max: 250 });
    const maxSteps = optNumber(ctx, 'max-steps', 150, { int: true, min: 10 });
    const noise = optNumber(ctx, 'noise', 0, { min: 0 });
    const tol = optNumber(ctx, 'tol', 0.01, { min: 0.001 });
    const gzip = optNumber(ctx, 'gzip', 4, { int: true, min: 0, max: 9 });
    const out = optString(ctx, 'out') ?? 'data/so100-reach.hdf5';
    const started = Date.now();
    const bar = createProgress('so100-reach', episodes, { json: ctx.json, fields: ['reached'] });
    const res = await generateSo100ReachDataset({
      episodes, seed, controlHz: hz, maxSteps, noiseRad: noise, reachTolM: tol, config: loadSo100Config(), signal: ctx.signal,
      onProgress: (n, reached) => bar.update(n, { reached }),
    });
    bar.stop();
    await writeD4rlHdf5(out, res.arrays, { stateDim: REACH_OBS_DIM, actionDim: REACH_ACT_DIM, goalDim: REACH_GOAL_DIM, qposDim: 6, qvelDim: 6, gzip });
    writeDatasetProvenance(out, { command: `kdp dataset so100-reach --episodes ${res.stats.episodes} --seed ${seed} --hz ${hz} --max-steps ${maxSteps} --noise ${noise} --tol ${tol} --out ${out}`, seed, steps: res.stats.steps, env: 'so100-reach' });
    const seconds = Math.round((Date.now() - started) / 100) / 10;
    const summary = { out, seed, ...res.stats, seconds };
    // Ctrl-C: the episodes finished so far are a valid dataset of that many episodes; keep them and say so
    const interrupted = ctx.signal.aborted;
    if (interrupted && res.stats.episodes === 0) {
      process.stderr.write('interrupted before the first episode finished: nothing written\n');
      return 130;
    }
    emitResult(ctx, { ...summary, ...(interrupted ? { interrupted: true } : {}) }, () => `${interrupted ? `interrupted: kept the ${res.stats.episodes} finished of ${episodes} requested episodes — ` : ''}wrote ${out}: ${res.stats.episodes} episodes, ${res.stats.steps} steps, reached ${res.stats.reached}/${res.stats.episodes} (mean final error ${(res.stats.meanFinalErrorM * 100).toFixed(2)} cm), ${res.stats.rejected} rejected (overload), ${seconds} s`);
    return interrupted ? 130 : 0;
  },
};
