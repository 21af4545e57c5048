/**
 * `kdp dataset crazyflie-nav`: simulated Crazyflie flights through random cylinder fields, flown by the scripted
 * grid expert (+ optional Gaussian action noise), recorded at the control rate in D4RL's layout.
 *
 * Per step (dt = 0.1 s, 10 Hz):
 *   observation (33) = [x, y, z, vx, vy, vz, gx−x, gy−y, gz−z, then the 8 nearest obstacles as (dx, dy, radius),
 *                       zero-padded, sorted by distance] (src/envs/cf-nav/observation.ts)
 *   action (3)       = commanded world velocity (vx, vy, vz) in m/s, sent as a `velocity_world` setpoint
 *   reward           = 1 on the step the goal (0.15 m) is reached, −1 on a collision, else 0
 *   terminals        = goal reached or collision; timeouts = episode step limit
 *   infos/goal (3), infos/qpos (7: x y z qw qx qy qz), infos/qvel (6: world velocity, body rates)
 * The layouts (obstacles, start, goal per episode) are written beside the file as `<out>.layouts.json`.
 */
import { encodeVelocityWorld } from '../../protocols/crtp/commander.js';
import { SeededRng } from '../../util/rng.js';
import type { D4rlArrays } from '../../data/d4rl-hdf5.js';
import { GridExpert } from './expert.js';
import { SimCrazyflie } from './firmware.js';
import type { Obstacle } from '../../devices/crazyflie/vehicle.js';
import { randomCylinderField } from '../../envs/cf-nav/obstacles.js';
import { NAV_K_NEAREST, NAV_OBSTACLE_OFFSET, NAV_OBS_DIM } from '../../envs/cf-nav/observation.js';

export { NAV_OBS_DIM };
export const NAV_ACT_DIM = 3;
export const NAV_GOAL_DIM = 3;
export const NAV_DT_S = 0.1;

export interface NavLayout { obstacles: Obstacle[]; start: [number, number, number]; goal: [number, number, number] }

/** Seeded random layout: 3–7 cylinders between start (x = 0) and goal (x ∈ [1.5, 2.5]). */
export function randomNavLayout(rng: SeededRng): NavLayout {
  const start: [number, number, number] = [0, rng.range(-0.3, 0.3), 0.5];
  const goal: [number, number, number] = [rng.range(1.5, 2.5), rng.range(-0.6, 0.6), 0.5];
  const n = 3 + rng.int(5);
  const obstacles = randomCylinderField(() => rng.uniform(), n, { x0: 0.35, x1: goal[0] - 0.25, y0: -0.9, y1: 0.9 }, [[start[0], start[1]], [goal[0], goal[1]]], 0.3);
  return { obstacles, start, goal };
}

/** Fill `out` (NAV_OBS_DIM values from `off`) with the observation. */
export function navObservation(pos: ArrayLike<number>, vel: ArrayLike<number>, goal: readonly number[], obstacles: readonly Obstacle[], out: Float32Array, off = 0): void {
  out[off] = pos[0]!; out[off + 1] = pos[1]!; out[off + 2] = pos[2]!;
  out[off + 3] = vel[0]!; out[off + 4] = vel[1]!; out[off + 5] = vel[2]!;
  out[off + 6] = goal[0]! - pos[0]!; out[off + 7] = goal[1]! - pos[1]!; out[off + 8] = goal[2]! - pos[2]!;
  const near = obstacles
    .map((o) => ({ dx: o.x - pos[0]!, dy: o.y - pos[1]!, r: o.type === 'cylinder' ? o.radius : Math.hypot(o.sx, o.sy) / 2 }))
    .sort((a, b) => Math.hypot(a.dx, a.dy) - Math.hypot(b.dx, b.dy));
  for (let k = 0; k < NAV_K_NEAREST; k++) {
    const o = near[k], b = off + NAV_OBSTACLE_OFFSET + 3 * k;
    out[b] = o?.dx ?? 0; out[b + 1] = o?.dy ?? 0; out[b + 2] = o?.r ?? 0;
  }
}

export interface NavDatasetOptions {
  episodes: number;
  seed: number;
  maxSteps?: number;
  actionNoise?: number;
  signal?: AbortSignal;
  onEpisode?: (done: number, stats: NavDatasetStats) => void;
}
export interface NavDatasetStats { episodes: number; steps: number; reached: number; collisions: number; timeouts: number }

export async function generateNavDataset(o: NavDatasetOptions): Promise<{ arrays: D4rlArrays; layouts: NavLayout[]; stats: NavDatasetStats }> {
  const rng = new SeededRng(o.seed);
  const maxSteps = o.maxSteps ?? 300;
  const noise = o.actionNoise ?? 0.1;
  const obs: number[] = [], act: number[] = [], rew: number[] = [], term: number[] = [], tout: number[] = [], goals: number[] = [], qpos: number[] = [], qvel: number[] = [];
  const layouts: NavLayout[] = [];
  const stats: NavDatasetStats = { episodes: 0, steps: 0, reached: 0, collisions: 0, timeouts: 0 };
  const ob = new Float32Array(NAV_OBS_DIM);
  const a = new Float64Array(3);
  const pkt = new Uint8Array(32);
  for (let ep = 0; ep < o.episodes && !o.signal?.aborted; ep++) {
    const layout = randomNavLayout(rng);
    layouts.push(layout);
    const sim = await SimCrazyflie.create({ obstacles: layout.obstacles, start: layout.start });
    const expert = new GridExpert(layout.obstacles, layout.start, layout.goal);
    // hover in place first (position hold), as after a takeoff
    for (let i = 0; i < 10; i++) { sim.onPacket(pkt, encodeVelocityWorld(pkt, 0, 0, 0, 0)); sim.advance(0.05); }
    const s = sim.state;
    for (let t = 0; t < maxSteps; t++) {
      navObservation(s.pos, s.vel, layout.goal, layout.obstacles, ob);
      expert.act(s.pos, a);
      for (let k = 0; k < 3; k++) a[k] = a[k]! + noise * rng.normal();
      const collisionsBefore = sim.counters.collisions;
      sim.onPacket(pkt, encodeVelocityWorld(pkt, a[0]!, a[1]!, a[2]!, 0));
      sim.advance(NAV_DT_S);
      const reached = Math.hypot(layout.goal[0] - s.pos[0]!, layout.goal[1] - s.pos[1]!, layout.goal[2] - s.pos[2]!) < 0.15;
      const hit = sim.counters.collisions > collisionsBefore;
      for (let k = 0; k < NAV_OBS_DIM; k++) obs.push(ob[k]!);
      act.push(a[0]!, a[1]!, a[2]!);
      rew.push(reached ? 1 : hit ? -1 : 0);
      const last = reached || hit || t === maxSteps - 1;
      term.push(reached || hit ? 1 : 0);
      tout.push(!reached && !hit && t === maxSteps - 1 ? 1 : 0);
      goals.push(...layout.goal);
      qpos.push(s.pos[0]!, s.pos[1]!, s.pos[2]!, s.quat[0]!, s.quat[1]!, s.quat[2]!, s.quat[3]!);
      qvel.push(s.vel[0]!, s.vel[1]!, s.vel[2]!, s.omega[0]!, s.omega[1]!, s.omega[2]!);
      stats.steps++;
      if (last) {
        if (reached) stats.reached++; else if (hit) stats.collisions++; else stats.timeouts++;
        break;
      }
    }
    sim.dispose();
    stats.episodes++;
    o.onEpisode?.(stats.episodes, stats);
    await new Promise((r) => setImmediate(r)); // let Ctrl-C through
  }
  return {
    arrays: {
      observations: Float32Array.from(obs), actions: Float32Array.from(act), rewards: Float32Array.from(rew),
      terminals: Uint8Array.from(term), timeouts: Uint8Array.from(tout), goals: Float32Array.from(goals),
      qpos: Float32Array.from(qpos), qvel: Float32Array.from(qvel),
    },
    layouts,
    stats,
  };
}
