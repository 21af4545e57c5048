import type { SeededRng } from '../../util/rng.js';
import { WALL } from './layouts.js';
import type { MazeLayout } from './layouts.js';

/**
 * D4RL's expert for Maze2D (d4rl/pointmaze/waypoint_controller.py + q_iteration.py + gridcraft),
 * reimplemented:
 * - a grid MDP over all tiles (walls included as states), 5 actions in gridcraft's order
 *   NOOP, UP (0,−1), DOWN (0,+1), LEFT (−1,0), RIGHT (+1,0); a move into a wall or off the grid
 *   becomes NOOP (deterministic transitions, teps = 0); reward 1 for being in the target tile;
 * - hard Q-iteration (ent_wt = 0), 50 iterations, discount 0.99; greedy rollout (first max wins,
 *   like np.argmax) of at most 100 steps gives the waypoints; every waypoint except the target is
 *   jittered by −U(0, 1)·0.2 per axis;
 * - PD control: a = clip(10·(waypoint − x) − 1·v, −1, 1); advance to the next waypoint when within
 *   0.1 and the per-call displacement is below 0.1; "solved" when within 0.1 of the target cell.
 * Q-values are cached per target cell (they do not depend on the start).
 */
const ACT_DX = [0, 0, 0, -1, 1];
const ACT_DY = [0, -1, 1, 0, 0];
const NUM_ITRS = 50;
const DISCOUNT = 0.99;
const MAX_ROLLOUT = 100;

export interface WaypointControllerOptions {
  solveThresh?: number;
  pGain?: number;
  dGain?: number;
}

export class WaypointController {
  readonly layout: MazeLayout;
  readonly solveThresh: number;
  readonly pGain: number;
  readonly dGain: number;
  readonly velThresh = 0.1;
  private readonly rng: SeededRng;
  // D4RL initialises _target to -1000 * ONES where ONES is (by a typo) zeros: (0, 0)
  private tgtX = 0;
  private tgtY = 0;
  private prevX = 0;
  private prevY = 0;
  private wpIdx = 0;
  private wpCount = 0;
  private wpX = new Float64Array(MAX_ROLLOUT);
  private wpY = new Float64Array(MAX_ROLLOUT);
  private readonly qCache = new Map<number, Float64Array>();
  /** number of waypoint plans computed (one per new target) */
  replans = 0;

  constructor(layout: MazeLayout, rng: SeededRng, opts: WaypointControllerOptions = {}) {
    this.layout = layout;
    this.rng = rng;
    this.solveThresh = opts.solveThresh ?? 0.1;
    this.pGain = opts.pGain ?? 10.0;
    this.dGain = opts.dGain ?? -1.0;
  }

  /**
   * Forget the current plan so the next getAction replans from where the point is. D4RL only replans
   * when the target *cell* changes; after teleporting the point (an env reset) with the same target
   * cell, the stale plan would drive it into a wall. Call this at every env reset.
   */
  reset(): void {
    this.tgtX = Infinity;
    this.tgtY = Infinity;
    this.wpIdx = 0;
    this.wpCount = 0;
  }

  /** Waypoints of the current plan as [x, y] pairs (copies; for inspection and tests). */
  waypoints(): Array<[number, number]> {
    const out: Array<[number, number]> = [];
    for (let k = 0; k < this.wpCount; k++) out.push([this.wpX[k]!, this.wpY[k]!]);
    return out;
  }

  /**
   * One control: writes the action into out[0..1] and returns true when the target is solved
   * (D4RL's `done`). Allocation-free except when the target cell changes (a new plan).
   */
  getAction(x: number, y: number, vx: number, vy: number, targetX: number, targetY: number, out: Float32Array | Float64Array): boolean {
    const gx = pyRound(targetX), gy = pyRound(targetY);
    const ddx = this.tgtX - gx, ddy = this.tgtY - gy;
    if (Math.sqrt(ddx * ddx + ddy * ddy) > 1e-3) this.newTarget(x, y, gx, gy);

    const dx = x - this.tgtX, dy = y - this.tgtY;
    const dist = Math.sqrt(dx * dx + dy * dy);
    const mx = this.prevX - x, my = this.prevY - y;
    const velNorm = Math.sqrt(mx * mx + my * my);
    const notSolved = dist >= this.solveThresh || velNorm >= this.velThresh;

    let nx: number, ny: number;
    if (notSolved) {
      const k = this.wpIdx < this.wpCount ? this.wpIdx : this.wpCount - 1;
      nx = this.wpX[k]!; ny = this.wpY[k]!;
    } else {
      nx = this.tgtX; ny = this.tgtY;
    }
    let ax = this.pGain * (nx - x) + this.dGain * vx;
    let ay = this.pGain * (ny - y) + this.dGain * vy;

    const ex = x - nx, ey = y - ny;
    if (notSolved && Math.sqrt(ex * ex + ey * ey) < this.solveThresh && velNorm < this.velThresh) {
      if (this.wpIdx < this.wpCount - 1) this.wpIdx++;
    }
    this.prevX = x;
    this.prevY = y;
    ax = ax > 1 ? 1 : ax < -1 ? -1 : ax;
    ay = ay > 1 ? 1 : ay < -1 ? -1 : ay;
    out[0] = ax;
    out[1] = ay;
    return !notSolved;
  }

  private newTarget(x: number, y: number, gx: number, gy: number): void {
    this.replans++;
    const l = this.layout;
    const sx = pyRound(x), sy = pyRound(y);
    const q = this.qValues(gx, gy);
    const target = gx * l.ny + gy;
    let s = clampIdx(l, sx, sy);
    let n = 0;
    for (let t = 0; t < MAX_ROLLOUT; t++) {
      let best = 0;
      let bestQ = q[s * 5]!;
      for (let a = 1; a < 5; a++) {
        const v = q[s * 5 + a]!;
        if (v > bestQ) { bestQ = v; best = a; }
      }
      const ns = nextState(l, s, best);
      const wi = Math.floor(ns / l.ny), wj = ns % l.ny;
      if (ns !== target) {
        // D4RL: waypoint - np.random.uniform(size=(2,)) * 0.2
        this.wpX[n] = wi - this.rng.uniform() * 0.2;
        this.wpY[n] = wj - this.rng.uniform() * 0.2;
      } else {
        this.wpX[n] = wi;
        this.wpY[n] = wj;
      }
      n++;
      s = ns;
      if (ns === target) break;
    }
    this.wpCount = n;
    this.wpIdx = 0;
    this.prevX = sx;
    this.prevY = sy;
    this.tgtX = gx;
    this.tgtY = gy;
  }

  /** Hard Q-iteration on the tile grid with the target tile rewarding 1 (cached per target). */
  private qValues(gx: number, gy: number): Float64Array {
    const l = this.layout;
    const key = gx * 100003 + gy;
    const hit = this.qCache.get(key);
    if (hit) return hit;
    const S = l.nx * l.ny;
    const target = (gx >= 0 && gy >= 0 && gx < l.nx && gy < l.ny) ? gx * l.ny + gy : -1;
    const next = new Int32Array(S * 5);
    for (let s = 0; s < S; s++) for (let a = 0; a < 5; a++) next[s * 5 + a] = nextState(l, s, a);
    let q = new Float64Array(S * 5);
    let nq = new Float64Array(S * 5);
    const v = new Float64Array(S);
    for (let it = 0; it < NUM_ITRS; it++) {
      for (let s = 0; s < S; s++) {
        let m = q[s * 5]!;
        for (let a = 1; a < 5; a++) { const x = q[s * 5 + a]!; if (x > m) m = x; }
        v[s] = m;
      }
      for (let s = 0; s < S; s++) {
        const r = s === target ? 1.0 : 0.0;
        for (let a = 0; a < 5; a++) nq[s * 5 + a] = r + DISCOUNT * v[next[s * 5 + a]!]!;
      }
      const t = q; q = nq; nq = t;
    }
    this.qCache.set(key, q);
    return q;
  }
}

/** Python 3 round(): half to even. */
export function pyRound(v: number): number {
  const f = Math.floor(v);
  const d = v - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

function clampIdx(l: MazeLayout, i: number, j: number): number {
  const ci = i < 0 ? 0 : i >= l.nx ? l.nx - 1 : i;
  const cj = j < 0 ? 0 : j >= l.ny ? l.ny - 1 : j;
  return ci * l.ny + cj;
}

/** gridcraft's deterministic transition: a legal move (in bounds, not into a wall) or NOOP. */
function nextState(l: MazeLayout, s: number, a: number): number {
  const i = Math.floor(s / l.ny), j = s % l.ny;
  const ni = i + ACT_DX[a]!, nj = j + ACT_DY[a]!;
  if (ni < 0 || nj < 0 || ni >= l.nx || nj >= l.ny) return s;
  if (l.tiles[ni * l.ny + nj] === WALL) return s;
  return ni * l.ny + nj;
}
