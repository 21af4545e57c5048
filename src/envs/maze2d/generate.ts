import { EventLoopYield } from '../../util/yield.js';
import { SeededRng } from '../../util/rng.js';
import { writeD4rlHdf5, type D4rlArrays } from '../../data/d4rl-hdf5.js';
import { writeDatasetProvenance } from '../../data/provenance.js';
import { createMaze2dEnv } from './env.js';
import type { Maze2dName } from './layouts.js';
import { WaypointController } from './waypoint-controller.js';

export interface GenerateMaze2dOptions {
  maze: Maze2dName;
  steps: number;
  seed: number;
  /** std of the Gaussian added to the controller's action (generate_maze2d_datasets.py --noisy: 0.5) */
  actionNoise?: number;
  /** called every `progressEvery` steps */
  onProgress?: (done: number, episodes: number, goalsReached: number) => void;
  progressEvery?: number;
  signal?: AbortSignal;
}

export interface GenerateMaze2dResult {
  arrays: D4rlArrays;
  episodes: number;
  goalsReached: number;
  /** the fixed evaluation goal the sparse rewards are labelled with */
  evalGoal: [number, number];
}

/**
 * D4RL's scripts/generation/generate_maze2d_datasets.py, reimplemented:
 * one long run without env resets; a new random target (set_target()) whenever the waypoint
 * controller reports the target solved or the episode hit max_episode_steps; the controller's
 * action plus N(0, noise²), clipped to [−1, 1]. Rewards are labelled as D4RL's released `-sparse`
 * files are (scripts/generation/relabel_maze2d_rewards.py): 1 when the recorded observation is within
 * 0.5 of the maze's fixed goal cell. Terminals mark "target solved", timeouts the time limit.
 */
export async function generateMaze2dDataset(opts: GenerateMaze2dOptions): Promise<GenerateMaze2dResult> {
  const n = opts.steps;
  const noise = opts.actionNoise ?? 0.5;
  const env = await createMaze2dEnv(opts.maze);
  const rng = new SeededRng(opts.seed);
  const controller = new WaypointController(env.layout, rng);
  const maxSteps = env.maxEpisodeSteps;
  const evalGoal: [number, number] = [env.layout.goalCell[0], env.layout.goalCell[1]];

  const goals = new Float32Array(n * 2), qpos = new Float32Array(n * 2), qvel = new Float32Array(n * 2);
  const a = {
    observations: new Float32Array(n * 4),
    actions: new Float32Array(n * 2),
    rewards: new Float32Array(n),
    terminals: new Uint8Array(n),
    timeouts: new Uint8Array(n),
    goals, qpos, qvel,
  } satisfies D4rlArrays;
  const s = new Float64Array(4);
  const act = new Float64Array(2);
  const every = opts.progressEvery ?? 10000;
  let episodes = 0;
  let goalsReached = 0;
  try {
    // script: env.set_target(); s = env.reset()  (reset_target=False: reset keeps the target)
    env.sampleTarget(rng);
    env.resetWith(rng);
    let ts = 0;
    const y = new EventLoopYield();
    for (let t = 0; t < n; t++) {
      env.observe(s);
      const tx = env.targetX, ty = env.targetY;
      const solved = controller.getAction(s[0]!, s[1]!, s[2]!, s[3]!, tx, ty, act);
      let a0 = act[0]!, a1 = act[1]!;
      if (noise > 0) { a0 += rng.normal() * noise; a1 += rng.normal() * noise; }
      a0 = a0 > 1 ? 1 : a0 < -1 ? -1 : a0;
      a1 = a1 > 1 ? 1 : a1 < -1 ? -1 : a1;
      act[0] = a0; act[1] = a1;
      const timeout = ts >= maxSteps;
      const o = t * 4, p = t * 2;
      a.observations[o] = s[0]!; a.observations[o + 1] = s[1]!; a.observations[o + 2] = s[2]!; a.observations[o + 3] = s[3]!;
      a.actions[p] = a0; a.actions[p + 1] = a1;
      a.goals[p] = tx; a.goals[p + 1] = ty;
      // infos/qpos, infos/qvel: the simulator state (float32 like the script's npify)
      a.qpos[p] = s[0]!; a.qpos[p + 1] = s[1]!;
      a.qvel[p] = s[2]!; a.qvel[p + 1] = s[3]!;
      const gx = s[0]! - evalGoal[0], gy = s[1]! - evalGoal[1];
      a.rewards[t] = Math.sqrt(gx * gx + gy * gy) <= 0.5 ? 1 : 0;
      a.terminals[t] = solved ? 1 : 0;
      a.timeouts[t] = timeout && !solved ? 1 : 0;
      env.step(act);
      ts++;
      if (solved || timeout) {
        episodes++;
        if (solved) goalsReached++;
        env.sampleTarget(rng);
        ts = 0;
      }
      if ((t + 1) % every === 0) opts.onProgress?.(t + 1, episodes, goalsReached);
      // hand the thread back every 50 ms so a pending SIGINT is delivered, then stop on it
      if ((t & 255) === 0 && y.due()) {
        await y.pause();
        if (opts.signal?.aborted) throw opts.signal.reason ?? new Error('aborted');
      }
    }
    // the last, unfinished episode still counts as one
    if (n > 0 && a.terminals[n - 1] === 0 && a.timeouts[n - 1] === 0) episodes++;
    opts.onProgress?.(n, episodes, goalsReached);
  } finally {
    env.close();
  }
  return { arrays: a, episodes, goalsReached, evalGoal };
}

export interface WriteMaze2dDatasetOptions extends GenerateMaze2dOptions {
  out: string;
  /** gzip level of the HDF5 datasets (D4RL used 4; 0 = none) */
  gzip?: number;
}

/**
 * Generate, write the D4RL HDF5 file (atomically) and its provenance sidecar, which the trainer
 * copies into checkpoints and the exporter into manifests. Throws on abort: nothing is written then.
 */
export async function writeMaze2dDataset(o: WriteMaze2dDatasetOptions): Promise<GenerateMaze2dResult> {
  const res = await generateMaze2dDataset(o);
  await writeD4rlHdf5(o.out, res.arrays, { stateDim: 4, actionDim: 2, goalDim: 2, ...(o.gzip === undefined ? {} : { gzip: o.gzip }) });
  const noise = o.actionNoise ?? 0.5;
  writeDatasetProvenance(o.out, {
    command: `kdp dataset maze2d --maze ${o.maze} --steps ${o.steps} --seed ${o.seed} --noise ${noise} --out ${o.out}`,
    seed: o.seed, steps: o.steps, env: o.maze,
  });
  return res;
}
