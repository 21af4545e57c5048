/** D4RL Maze2D on mujoco-js: env, layouts, waypoint expert, dataset generator, SVG. */
export { createMaze2dEnv, Maze2dEnv } from './env.js';
export type { Maze2dEnvOptions } from './env.js';
export {
  MAZE2D_ENVS, MAZE2D_SPECS, U_MAZE, MEDIUM_MAZE, LARGE_MAZE, parseLayout, mazeName, isWallCell, pointInWall,
  cellToXY, qposToWorld, wallRect, QPOS_WALL_OFFSET, PARTICLE_RADIUS,
} from './layouts.js';
export type { Maze2dName, Maze2dSpec, MazeLayout } from './layouts.js';
export { WaypointController, pyRound } from './waypoint-controller.js';
export type { WaypointControllerOptions } from './waypoint-controller.js';
export { generateMaze2dDataset } from './generate.js';
export type { GenerateMaze2dOptions, GenerateMaze2dResult } from './generate.js';
export { mazeSvg } from './svg.js';
export type { SvgPath, MazeSvgOptions } from './svg.js';
export { pointMazeXml } from './mjcf.js';
