/** The dataset layer: one TrajectoryDataset type from D4RL HDF5 or LeRobot, windows, normalizers. */
export type { TrajectoryDataset, ExpectedDims } from './dataset.js';
export { checkDims, episodeEndsFromFlags, episodeEndsFromIndex, episodeLength, columnStats } from './dataset.js';
export { loadD4rlHdf5, writeD4rlHdf5, hdf5Dtypes } from './d4rl-hdf5.js';
export type { D4rlArrays, WriteD4rlOptions } from './d4rl-hdf5.js';
export { loadLeRobot, writeLeRobot } from './lerobot.js';
export { fitNormalizer, compileNormalizer, normalizeInto, unnormalizeInto, unnormalizeWindowInto, MIN_SCALE } from './normalizer.js';
export { makeWindowIndex, writeWindow, writeCondition, checkLayout, layoutFor } from './windows.js';
export type { WindowOptions } from './windows.js';
export { SeededRng } from './rng.js';
export { loadDataset } from './load.js';
