import { statSync } from 'node:fs';
import { UsageError } from '../../errors.js';
import { columnStats } from '../../data/dataset.js';
import { hdf5Dtypes } from '../../data/d4rl-hdf5.js';
import { loadDataset } from '../../data/load.js';
import type { CommandSpec } from '../command.js';
import { emitResult } from '../output.js';

export const command: CommandSpec = {
  name: 'dataset info',
  summary: 'summarise a dataset file (D4RL HDF5 or LeRobot folder)',
  positionals: '<path>',
  description: 'Prints format, steps, episodes, dims and per-dimension mean/std/min/max.\n\nExample: kdp dataset info data/maze2d-umaze.hdf5 --json',
  options: {},
  async run(ctx) {
    const path = ctx.positionals[0];
    if (!path) throw new UsageError('kdp dataset info needs a path', 'kdp dataset info data/maze2d-umaze.hdf5');
    const ds = await loadDataset(path);
    const lens = Array.from(ds.episodeEnds, (e, k) => e - (k === 0 ? 0 : ds.episodeEnds[k - 1]!));
    const round = (xs: number[]): number[] => xs.map((v) => Math.round(v * 1e4) / 1e4);
    const block = (x: Float32Array | undefined, dim: number): Record<string, number[]> | undefined => {
      if (!x || dim === 0) return undefined;
      const st = columnStats(x, dim);
      return { mean: round(st.mean), std: round(st.std), min: round(st.min), max: round(st.max) };
    };
    const info = {
      path,
      format: ds.format,
      steps: ds.length,
      episodes: ds.episodeEnds.length,
      episodeLength: { min: Math.min(...lens), max: Math.max(...lens), mean: Math.round((ds.length / Math.max(1, lens.length)) * 10) / 10 },
      stateDim: ds.stateDim,
      actionDim: ds.actionDim,
      goalDim: ds.goalDim,
      observations: block(ds.observations, ds.stateDim),
      actions: block(ds.actions, ds.actionDim),
      goals: block(ds.goals, ds.goalDim),
      ...(ds.rewards ? { rewardSum: ds.rewards.reduce((a, b) => a + b, 0) } : {}),
      ...(ds.format === 'd4rl-hdf5' ? { keys: await hdf5Dtypes(path), bytes: statSync(path).size } : {}),
    };
    emitResult(ctx, info, () => {
      const lines = [
        `${path}  (${info.format})`,
        `steps ${info.steps}, episodes ${info.episodes} (length ${info.episodeLength.min}…${info.episodeLength.max}, mean ${info.episodeLength.mean})`,
        `dims: state ${info.stateDim}, action ${info.actionDim}, goal ${info.goalDim}`,
      ];
      for (const [name, b] of [['observations', info.observations], ['actions', info.actions], ['goals', info.goals]] as const) {
        if (!b) continue;
        lines.push(`${name}:`);
        for (let d = 0; d < (b['mean']?.length ?? 0); d++) {
          lines.push(`  [${d}] mean ${b['mean']![d]!.toFixed(3)}  std ${b['std']![d]!.toFixed(3)}  min ${b['min']![d]!.toFixed(3)}  max ${b['max']![d]!.toFixed(3)}`);
        }
      }
      if ('keys' in info && info.keys) lines.push('keys: ' + Object.entries(info.keys).map(([k, v]) => `${k} ${v.dtype}${JSON.stringify(v.shape)}`).join(', '));
      return lines.join('\n');
    });
  },
};
