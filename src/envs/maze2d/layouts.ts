/**
 * D4RL Maze2D layouts and registration facts (d4rl/pointmaze/maze_model.py, d4rl/pointmaze/__init__.py).
 *
 * Coordinates. A layout is a list of rows; tile (i, j) is row i, column j (D4RL's `maze_arr[w][h]`).
 * D4RL's point lives in *qpos coordinates*: the controller, the reset locations and the targets treat
 * cell (i, j) as the point (x, y) = (i, j). The MuJoCo model, however, places the particle body at
 * world (1.2, 1.2) and wall (i, j) as a unit box centred at world (i + 1, j + 1), so in qpos
 * coordinates wall (i, j) covers [i − 0.7, i + 0.3] × [j − 0.7, j + 0.3] (offset −0.2). We keep that
 * geometry exactly; `wallRect` gives the true wall boxes in qpos coordinates.
 */
export const WALL = 10;
export const EMPTY = 11;
export const GOAL = 12;

export type Maze2dName = 'maze2d-umaze' | 'maze2d-medium' | 'maze2d-large';
export const MAZE2D_ENVS: readonly Maze2dName[] = ['maze2d-umaze', 'maze2d-medium', 'maze2d-large'];

export const U_MAZE = ['#####', '#GOO#', '###O#', '#OOO#', '#####'] as const;
export const MEDIUM_MAZE = ['########', '#OO##OO#', '#OO#OOO#', '##OOO###', '#OO#OOO#', '#O#OO#O#', '#OOO#OG#', '########'] as const;
export const LARGE_MAZE = [
  '############', '#OOOO#OOOOO#', '#O##O#O#O#O#', '#OOOOOO#OOO#', '#O####O###O#',
  '#OO#O#OOOOO#', '##O#O#O#O###', '#OO#OOO#OGO#', '############',
] as const;

/** world position of the particle body when qpos = 0 (maze_model.py: body pos [1.2, 1.2, 0]) */
export const PARTICLE_BODY_POS = 1.2;
/** wall (i, j) is centred at world (i + 1, j + 1) */
export const WALL_WORLD_OFFSET = 1.0;
/** wall centre in qpos coordinates = cell index + this (−0.2) */
export const QPOS_WALL_OFFSET = WALL_WORLD_OFFSET - PARTICLE_BODY_POS;
export const PARTICLE_RADIUS = 0.1;

export interface Maze2dSpec {
  name: Maze2dName;
  /** the D4RL v1 registration this replicates */
  d4rlId: string;
  rows: readonly string[];
  maxEpisodeSteps: number;
  refMinScore: number;
  refMaxScore: number;
}

/** d4rl/pointmaze/__init__.py, the `-v1` sparse registrations */
export const MAZE2D_SPECS: Record<Maze2dName, Maze2dSpec> = {
  'maze2d-umaze': { name: 'maze2d-umaze', d4rlId: 'maze2d-umaze-v1', rows: U_MAZE, maxEpisodeSteps: 300, refMinScore: 23.85, refMaxScore: 161.86 },
  'maze2d-medium': { name: 'maze2d-medium', d4rlId: 'maze2d-medium-v1', rows: MEDIUM_MAZE, maxEpisodeSteps: 600, refMinScore: 13.13, refMaxScore: 277.39 },
  'maze2d-large': { name: 'maze2d-large', d4rlId: 'maze2d-large-v1', rows: LARGE_MAZE, maxEpisodeSteps: 800, refMinScore: 6.7, refMaxScore: 273.99 },
};

/** Short names accepted by the CLI (`--maze umaze`). */
export function mazeName(s: string): Maze2dName | undefined {
  const full = s.startsWith('maze2d-') ? s : `maze2d-${s}`;
  const stripped = full.replace(/-v\d+$/, '');
  return (MAZE2D_ENVS as readonly string[]).includes(stripped) ? (stripped as Maze2dName) : undefined;
}

export interface MazeLayout {
  rows: readonly string[];
  /** number of rows (D4RL's `width`, the x extent) */
  nx: number;
  /** row length (D4RL's `height`, the y extent) */
  ny: number;
  /** tile codes, index i * ny + j */
  tiles: Int32Array;
  /** D4RL's `empty_and_goal_locations`: sorted empty cells, then the goal cell(s) */
  resetCells: Array<[number, number]>;
  /** the 'G' cell (D4RL's default target), or the first empty cell when there is none */
  goalCell: [number, number];
}

export function parseLayout(rows: readonly string[]): MazeLayout {
  const nx = rows.length;
  const ny = rows[0]?.length ?? 0;
  const tiles = new Int32Array(nx * ny);
  const empty: Array<[number, number]> = [];
  const goals: Array<[number, number]> = [];
  for (let i = 0; i < nx; i++) {
    const row = rows[i] ?? '';
    if (row.length !== ny) throw new Error(`maze row ${i} has length ${row.length}, expected ${ny}`);
    for (let j = 0; j < ny; j++) {
      const c = row[j];
      if (c === '#') tiles[i * ny + j] = WALL;
      else if (c === 'G') { tiles[i * ny + j] = GOAL; goals.push([i, j]); }
      else if (c === ' ' || c === 'O' || c === '0') { tiles[i * ny + j] = EMPTY; empty.push([i, j]); }
      else throw new Error(`unknown maze tile "${c}"`);
    }
  }
  if (goals.length > 1) throw new Error('more than one goal tile');
  // row-major iteration already yields np.where's sorted order
  const goalCell = goals[0] ?? empty[0];
  if (!goalCell) throw new Error('maze has no free cell');
  return { rows, nx, ny, tiles, resetCells: [...empty, ...goals], goalCell };
}

export function isWallCell(l: MazeLayout, i: number, j: number): boolean {
  if (i < 0 || j < 0 || i >= l.nx || j >= l.ny) return true;
  return l.tiles[i * l.ny + j] === WALL;
}

/** D4RL's nominal position of a cell, in qpos coordinates (what targets, resets and waypoints use). */
export function cellToXY(i: number, j: number): [number, number] {
  return [i, j];
}

/** MuJoCo world position of a qpos point (world = qpos + 1.2). */
export function qposToWorld(x: number, y: number): [number, number] {
  return [x + PARTICLE_BODY_POS, y + PARTICLE_BODY_POS];
}

/** The true box of wall cell (i, j) in qpos coordinates: [x0, y0, x1, y1]. */
export function wallRect(i: number, j: number): [number, number, number, number] {
  const cx = i + QPOS_WALL_OFFSET;
  const cy = j + QPOS_WALL_OFFSET;
  return [cx - 0.5, cy - 0.5, cx + 0.5, cy + 0.5];
}

/**
 * True when the qpos point (x, y), inflated by `margin`, overlaps a wall box. margin 0 = the point
 * itself is inside a wall; margin PARTICLE_RADIUS = the particle would overlap a wall.
 */
export function pointInWall(l: MazeLayout, x: number, y: number, margin = 0): boolean {
  // wall (i, j) covers [i − 0.7, i + 0.3]: candidate cells are those with i ∈ [x − 0.3 − m, x + 0.7 + m]
  const i0 = Math.ceil(x - 0.3 - margin), i1 = Math.floor(x + 0.7 + margin);
  const j0 = Math.ceil(y - 0.3 - margin), j1 = Math.floor(y + 0.7 + margin);
  for (let i = i0; i <= i1; i++) {
    for (let j = j0; j <= j1; j++) {
      if (!isWallCell(l, i, j)) continue;
      if (margin === 0) return true;
      // distance from the point to the box, compared with the margin
      const cx = i + QPOS_WALL_OFFSET, cy = j + QPOS_WALL_OFFSET;
      const dx = Math.max(Math.abs(x - cx) - 0.5, 0), dy = Math.max(Math.abs(y - cy) - 0.5, 0);
      if (dx * dx + dy * dy < margin * margin) return true;
    }
  }
  return false;
}
