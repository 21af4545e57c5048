import { UsageError } from '../../errors.js';
import { writeMaze2dDataset } from '../../envs/maze2d/generate.js';
import { MAZE2D_ENVS, mazeName } from '../../envs/maze2d/layouts.js';
import { optNumber, optString, type CommandSpec } from '../command.js';
import { emitResult } from '../output.js';
import { createProgress } from '../progress.js';

export const command: CommandSpec = {
  name: 'dataset maze2d',
  summary: 'generate a D4RL-layout Maze2D dataset with the noisy waypoint controller',
  description: [
    "Replicates D4RL's scripts/generation/generate_maze2d_datasets.py (--noisy) on the mujoco-js replica:",
    'the waypoint controller drives the point mass to random targets (a new target when one is reached or',
    'after max_episode_steps), Gaussian noise (std 0.5) on its actions. Written in D4RL\'s HDF5 layout',
    '(observations, actions, rewards, terminals, timeouts, infos/goal, infos/qpos, infos/qvel), atomically.',
    '',
    'Example: kdp dataset maze2d --maze umaze --steps 1000000 --seed 0 --out data/maze2d-umaze.hdf5',
  ].join('\n'),
  options: {
    maze: { type: 'string', placeholder: 'name', default: 'umaze', description: 'umaze | medium | large' },
    steps: { type: 'string', placeholder: 'N', default: '1000000', description: 'number of transitions' },
    seed: { type: 'string', placeholder: 'S', default: '0', description: 'seed (same seed → identical data; only HDF5 object timestamps differ)' },
    out: { type: 'string', placeholder: '<path>', description: 'output .hdf5 (default data/maze2d-<maze>.hdf5)' },
    noise: { type: 'string', placeholder: 'std', default: '0.5', description: 'std of the Gaussian action noise (0 = the noiseless script)' },
    gzip: { type: 'string', placeholder: 'level', default: '4', description: 'gzip level of the HDF5 datasets (0 = none)' },
  },
  async run(ctx) {
    const raw = optString(ctx, 'maze') ?? 'umaze';
    const maze = mazeName(raw);
    if (!maze) throw new UsageError(`unknown maze "${raw}"`, `use one of: umaze, medium, large (or ${MAZE2D_ENVS.join(', ')})`);
    const steps = optNumber(ctx, 'steps', 1_000_000, { int: true, min: 1, max: 50_000_000 });
    const seed = optNumber(ctx, 'seed', 0, { int: true, min: 0 });
    const noise = optNumber(ctx, 'noise', 0.5, { min: 0 });
    const gzip = optNumber(ctx, 'gzip', 4, { int: true, min: 0, max: 9 });
    const out = optString(ctx, 'out') ?? `data/${maze}.hdf5`;
    const started = Date.now();
    const bar = createProgress(`maze2d ${maze.slice(7)}`, steps, { json: ctx.json, fields: ['episodes', 'goals'] });
    let done = 0;
    let res;
    try {
      res = await writeMaze2dDataset({
        maze, steps, seed, actionNoise: noise, signal: ctx.signal, progressEvery: 10_000, out, gzip,
        onProgress: (n, episodes, goals) => { done = n; bar.update(n, { episodes, goals }); },
      });
    } catch (e) {
      if (!ctx.signal.aborted) throw e;
      // the file is written in one piece at the end: an interrupted run leaves nothing behind
      bar.stop();
      process.stderr.write(`interrupted after about ${done} of ${steps} steps: nothing written (${out} is written only when complete)\n`);
      return 130;
    } finally { bar.stop(); }
    const seconds = Math.round((Date.now() - started) / 100) / 10;
    const summary = { out, maze, steps, seed, noise, episodes: res.episodes, goalsReached: res.goalsReached, seconds };
    emitResult(ctx, summary, () => `wrote ${out}: ${steps} steps, ${res.episodes} episodes, ${res.goalsReached} goals reached, ${seconds} s`);
  },
};
