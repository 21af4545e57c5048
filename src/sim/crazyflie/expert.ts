/**
 * Scripted expert for obstacle fields: A* on a 5 cm occupancy grid (obstacles inflated by the vehicle radius plus
 * a safety margin), then pure-pursuit along the path with a speed limit — the action is a world-frame velocity
 * (vx, vy, vz), which is what a `velocity_world` setpoint carries.
 */
import { CF21, type Obstacle } from '../../devices/crazyflie/vehicle.js';
import { clearance } from '../../envs/cf-nav/obstacles.js';

export interface ExpertOptions { cellM?: number; marginM?: number; maxSpeedMps?: number; lookaheadM?: number; bounds?: { x0: number; x1: number; y0: number; y1: number } }

export class GridExpert {
  readonly path: [number, number][];
  private readonly o: Required<ExpertOptions>;
  private progress = 0;

  constructor(readonly obstacles: readonly Obstacle[], start: readonly number[], readonly goal: readonly number[], o: ExpertOptions = {}) {
    this.o = { cellM: 0.05, marginM: 0.14, maxSpeedMps: 0.6, lookaheadM: 0.3, bounds: { x0: -0.6, x1: 3.2, y0: -1.6, y1: 1.6 }, ...o };
    this.path = this.plan(start, goal) ?? [[start[0]!, start[1]!], [goal[0]!, goal[1]!]];
  }

  private plan(start: readonly number[], goal: readonly number[]): [number, number][] | undefined {
    const { cellM: c, bounds: b, marginM } = this.o;
    const nx = Math.ceil((b.x1 - b.x0) / c), ny = Math.ceil((b.y1 - b.y0) / c);
    const z = goal[2] ?? 0.5;
    const blocked = new Uint8Array(nx * ny);
    for (let j = 0; j < ny; j++) for (let i = 0; i < nx; i++) {
      const x = b.x0 + (i + 0.5) * c, y = b.y0 + (j + 0.5) * c;
      for (const ob of this.obstacles) if (clearance(ob, x, y, z, CF21.bodyRadiusM + marginM) < 0) { blocked[j * nx + i] = 1; break; }
    }
    const cell = (x: number, y: number): number => {
      const i = Math.max(0, Math.min(nx - 1, Math.floor((x - b.x0) / c)));
      const j = Math.max(0, Math.min(ny - 1, Math.floor((y - b.y0) / c)));
      return j * nx + i;
    };
    const s = cell(start[0]!, start[1]!), g = cell(goal[0]!, goal[1]!);
    blocked[s] = 0; blocked[g] = 0;
    const gScore = new Float64Array(nx * ny).fill(Infinity);
    const from = new Int32Array(nx * ny).fill(-1);
    const closed = new Uint8Array(nx * ny);
    const h = (k: number): number => Math.hypot((k % nx) - (g % nx), Math.floor(k / nx) - Math.floor(g / nx));
    // binary heap of [f, k]
    const heap: number[] = [];
    const push = (f: number, k: number): void => {
      heap.push(f, k);
      let i = heap.length / 2 - 1;
      while (i > 0) { const p = (i - 1) >> 1; if (heap[2 * p]! <= heap[2 * i]!) break; for (let t = 0; t < 2; t++) { const a = heap[2 * p + t]!; heap[2 * p + t] = heap[2 * i + t]!; heap[2 * i + t] = a; } i = p; }
    };
    const pop = (): number => {
      const k = heap[1]!;
      const lf = heap.pop()!, lf0 = heap.pop()!;
      if (heap.length > 0) {
        heap[0] = lf0; heap[1] = lf;
        let i = 0;
        const n = heap.length / 2;
        for (;;) {
          const l = 2 * i + 1, r = l + 1;
          let m = i;
          if (l < n && heap[2 * l]! < heap[2 * m]!) m = l;
          if (r < n && heap[2 * r]! < heap[2 * m]!) m = r;
          if (m === i) break;
          for (let t = 0; t < 2; t++) { const a = heap[2 * m + t]!; heap[2 * m + t] = heap[2 * i + t]!; heap[2 * i + t] = a; }
          i = m;
        }
      } else heap.length = 0;
      return k;
    };
    gScore[s] = 0;
    push(h(s), s);
    const dirs = [[1, 0, 1], [-1, 0, 1], [0, 1, 1], [0, -1, 1], [1, 1, Math.SQRT2], [1, -1, Math.SQRT2], [-1, 1, Math.SQRT2], [-1, -1, Math.SQRT2]] as const;
    while (heap.length > 0) {
      const k = pop();
      if (closed[k]) continue;
      closed[k] = 1;
      if (k === g) break;
      const i = k % nx, j = Math.floor(k / nx);
      for (const [di, dj, w] of dirs) {
        const a = i + di, bj = j + dj;
        if (a < 0 || bj < 0 || a >= nx || bj >= ny) continue;
        const n = bj * nx + a;
        if (blocked[n] || closed[n]) continue;
        if (di !== 0 && dj !== 0 && (blocked[j * nx + a] || blocked[bj * nx + i])) continue;
        const t = gScore[k]! + w;
        if (t < gScore[n]!) { gScore[n] = t; from[n] = k; push(t + h(n), n); }
      }
    }
    if (from[g] === -1 && g !== s) return undefined;
    const pts: [number, number][] = [];
    for (let k = g; k !== -1; k = from[k]!) pts.push([b.x0 + ((k % nx) + 0.5) * c, b.y0 + (Math.floor(k / nx) + 0.5) * c]);
    pts.reverse();
    pts[0] = [start[0]!, start[1]!];
    pts[pts.length - 1] = [goal[0]!, goal[1]!];
    return pts;
  }

  /** World velocity command toward the lookahead point on the path (and toward the goal height). */
  act(pos: ArrayLike<number>, out: Float64Array): Float64Array {
    const p = this.path;
    // advance the progress index to the closest path point ahead
    let best = this.progress, bestD = Infinity;
    for (let i = this.progress; i < Math.min(p.length, this.progress + 40); i++) {
      const d = Math.hypot(p[i]![0] - pos[0]!, p[i]![1] - pos[1]!);
      if (d < bestD) { bestD = d; best = i; }
    }
    this.progress = best;
    let target = p[p.length - 1]!;
    for (let i = best; i < p.length; i++) {
      if (Math.hypot(p[i]![0] - pos[0]!, p[i]![1] - pos[1]!) >= this.o.lookaheadM) { target = p[i]!; break; }
    }
    const dx = target[0] - pos[0]!, dy = target[1] - pos[1]!;
    const distGoal = Math.hypot(this.goal[0]! - pos[0]!, this.goal[1]! - pos[1]!);
    const speed = Math.min(this.o.maxSpeedMps, 1.2 * distGoal);
    const n = Math.hypot(dx, dy) || 1;
    out[0] = (dx / n) * speed;
    out[1] = (dy / n) * speed;
    out[2] = Math.max(-0.3, Math.min(0.3, 1.5 * ((this.goal[2] ?? 0.5) - pos[2]!)));
    return out;
  }
}
