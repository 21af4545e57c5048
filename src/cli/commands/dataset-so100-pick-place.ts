import type { CommandSpec } from '../command.js';
import { optNumber, optString } from '../command.js';
import { emitResult } from '../output.js';
import { createProgress } from '../progress.js';
import { LeRobotWriter } from '../../data/lerobot-writer.js';
import { loadSo100Config } from '../../devices/so100/config.js';
import { generatePickPlaceDemos } from '../../sim/so100/pick-place-demos.js';
import { PP_ACTION_NAMES, PP_HZ, PP_STATE_NAMES } from '../../envs/so100/pick-place-task.js';

const TASK = 'pick the cube and place it';

export const command: CommandSpec = {
  name: 'dataset so100-pick-place',
  summary: 'record simulated SO-100 pick-and-place demonstrations as a LeRobot dataset',
  description: [
    'Scripted pick-and-place demonstrations on the simulated SO-100 with a cube on the table (MuJoCo contact and',
    'friction between the jaws and the cube; simulated STS3215 position loops): a random start pose, cube and place',
    'position; IK with the gripper pointing down; approach above the cube → descend → close → lift → move above the',
    'place → lower → open → retreat. Only episodes the physics confirms (cube lifted, then resting within 2 cm of the',
    'place) are kept. LeRobot v3.0 folder like `kdp record` writes (robot_type so100_follower, 50 fps):',
    '  observation.state [q 6 rad, grasp point xyz 3 m, cube xy 2 m, place xy 2 m], action [goal joints 6 rad].',
    'An existing folder with the same features is appended to. Train with `kdp train --env so100-pick-place`.',
    '',
    'Example: kdp dataset so100-pick-place --episodes 400 --seed 0 --out data/so100-pick-place',
  ].join('\n'),
  options: {
    episodes: { type: 'string', placeholder: 'N', default: '400', description: 'number of (successful) episodes' },
    seed: { type: 'string', placeholder: 'S', default: '0', description: 'seed (same seed → identical data)' },
    out: { type: 'string', placeholder: '<dir>', description: 'output LeRobot folder (default data/so100-pick-place)' },
    noise: { type: 'string', placeholder: 'rad', default: '0', description: 'std of Gaussian noise on the expert\'s arm goals' },
  },
  async run(ctx) {
    const episodes = optNumber(ctx, 'episodes', 400, { int: true, min: 1, max: 100_000 });
    const seed = optNumber(ctx, 'seed', 0, { int: true, min: 0 });
    const noise = optNumber(ctx, 'noise', 0, { min: 0, max: 0.2 });
    const out = optString(ctx, 'out') ?? 'data/so100-pick-place';
    const started = Date.now();
    const writer = await LeRobotWriter.open(out, { fps: PP_HZ, robotType: 'so100_follower', stateNames: PP_STATE_NAMES, actionNames: PP_ACTION_NAMES });
    const bar = createProgress('so100-pick-place', episodes, { json: ctx.json, fields: ['attempts'] });
    const stats = await generatePickPlaceDemos({
      episodes, seed, noiseRad: noise, config: loadSo100Config(), signal: ctx.signal,
      onEpisode: async (states, actions) => { await writer.addEpisode({ states, actions, task: TASK }); },
      onProgress: (n, attempts) => bar.update(n, { attempts }),
    });
    bar.stop();
    const seconds = Math.round((Date.now() - started) / 100) / 10;
    const interrupted = ctx.signal.aborted;
    const summary = { out, seed, ...stats, meanFinalErrorM: Math.round(stats.meanFinalErrorM * 1e5) / 1e5, seconds, ...(interrupted ? { interrupted: true } : {}) };
    emitResult(ctx, summary, () => `${interrupted ? `interrupted: kept the ${stats.episodes} finished of ${episodes} requested episodes — ` : ''}wrote ${out}: ${stats.episodes} episodes, ${stats.frames} frames (mean place error ${(stats.meanFinalErrorM * 100).toFixed(2)} cm), ${stats.rejected} draws rejected, ${seconds} s`);
    return interrupted ? 130 : 0;
  },
};
