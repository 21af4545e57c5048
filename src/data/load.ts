import { existsSync, statSync } from 'node:fs';
import { DatasetError } from '../errors.js';
import type { ExpectedDims, TrajectoryDataset } from './dataset.js';
import { loadD4rlHdf5 } from './d4rl-hdf5.js';
import { loadLeRobot } from './lerobot.js';

/** Load either format: a folder → LeRobot, a file → D4RL HDF5. */
export async function loadDataset(path: string, opts: { expect?: ExpectedDims } = {}): Promise<TrajectoryDataset> {
  if (!existsSync(path)) {
    throw new DatasetError(`dataset not found: ${path}`, { hint: 'check the path, or generate one: kdp dataset maze2d --maze umaze --out data/maze2d-umaze.hdf5' });
  }
  return statSync(path).isDirectory() ? loadLeRobot(path, opts) : loadD4rlHdf5(path, opts);
}
