/**
 * Obstacle layouts (cylinders and boxes) for the simulated Crazyflie, loadable from JSON:
 *   { "obstacles": [ { "type": "cylinder", "x": 1, "y": 0, "radius": 0.15, "height": 2 },
 *                    { "type": "box", "x": 0, "y": 1, "sx": 0.4, "sy": 0.4, "sz": 1.5, "yawDeg": 30 } ] }
 * (a bare array is accepted too; other top-level keys such as "start" and "goal" are kept as notes). A dataset's
 * `<out>.layouts.json` (`{"episodes":[{obstacles,start,goal},…]}`) is read as `FILE#i` (episode i).
 * Hits are counted geometrically against a sphere of the vehicle's radius.
 */
import { readFileSync } from 'node:fs';
import { writeJsonAtomic } from '../../util/atomic-write.js';
import { z } from 'zod';
import { ConfigError } from '../../errors.js';
import type { Obstacle } from '../../devices/crazyflie/vehicle.js';

const cylinder = z.object({ type: z.literal('cylinder'), x: z.number(), y: z.number(), radius: z.number().positive(), height: z.number().positive() });
const box = z.object({
  type: z.literal('box'), x: z.number(), y: z.number(), z: z.number().optional(),
  sx: z.number().positive(), sy: z.number().positive(), sz: z.number().positive(), yawDeg: z.number().optional(),
});
const obstacleList = z.array(z.discriminatedUnion('type', [cylinder, box]));

/** What an obstacle file must look like, for error messages. */
export const OBSTACLE_FORMAT = '{"obstacles":[{"type":"cylinder","x":1,"y":0,"radius":0.15,"height":2},'
  + ' {"type":"box","x":0,"y":1,"sx":0.4,"sy":0.4,"sz":1.5,"yawDeg":30}]} (or a dataset\'s layouts.json as FILE#i)';

const episodes = z.object({ episodes: z.array(z.object({ obstacles: z.unknown() }).passthrough()) }).passthrough();

/** `json` is the file's content; `episode` the `#i` of `FILE#i` (required for a dataset's layouts.json). */
export function parseObstacles(json: unknown, file = '<obstacles>', episode?: number): Obstacle[] {
  const eps = episodes.safeParse(json);
  if (eps.success) {
    const n = eps.data.episodes.length;
    if (episode === undefined) {
      throw new ConfigError(`this is a dataset's layouts file with ${n} episodes, not one obstacle layout`,
        { file, hint: `pick an episode: ${file}#0 … ${file}#${n - 1}` });
    }
    if (!(Number.isInteger(episode) && episode >= 0 && episode < n)) {
      throw new ConfigError(`episode #${episode} does not exist (the file has ${n}: #0 … #${n - 1})`, { file });
    }
    return parseObstacles({ obstacles: eps.data.episodes[episode]!.obstacles }, `${file}#${episode}`);
  }
  if (episode !== undefined) throw new ConfigError(`#${episode} selects an episode of a dataset's layouts.json, but this file has no "episodes"`, { file, hint: `expected ${OBSTACLE_FORMAT}` });
  // validate the list itself (not a union of the two file shapes) so the error points at the bad obstacle
  const isObj = typeof json === 'object' && json !== null && !Array.isArray(json);
  const list: unknown = Array.isArray(json) ? json : isObj ? (json as { obstacles?: unknown }).obstacles : undefined;
  const hint = `expected ${OBSTACLE_FORMAT}; see docs/crazyflie.md (Obstacle layouts)`;
  if (!Array.isArray(list)) {
    throw new ConfigError(isObj ? 'no "obstacles" array at the top level' : `the file holds ${json === null ? 'null' : typeof json}, not an obstacle layout`, { file, hint });
  }
  const r = obstacleList.safeParse(list);
  if (!r.success) {
    const issue = r.error.issues[0];
    const where = `/${Array.isArray(json) ? '' : 'obstacles/'}${issue?.path.join('/') ?? ''}`;
    throw new ConfigError(`invalid obstacle layout at ${where}: ${issue?.message ?? 'bad shape'}`, { file, hint });
  }
  return r.data.map((o) => ({ ...o })) as Obstacle[];
}

/** Read `FILE` (an obstacle layout) or `FILE#i` (episode i of a dataset's layouts.json). */
export function loadObstacles(spec: string): Obstacle[] {
  const m = /^(.*)#(\d+)$/.exec(spec);
  const path = m ? m[1]! : spec;
  let text: string;
  try { text = readFileSync(path, 'utf8'); } catch (e) { throw new ConfigError(`cannot read obstacle file: ${(e as Error).message}`, { file: path }); }
  let json: unknown;
  try { json = JSON.parse(text); } catch (e) { throw new ConfigError(`not JSON: ${(e as Error).message}`, { file: path, hint: `expected ${OBSTACLE_FORMAT}` }); }
  return parseObstacles(json, path, m ? Number(m[2]) : undefined);
}

/** Write a layout in the format `loadObstacles` reads (atomically), with the start (and goal) as notes. */
export function writeObstacles(path: string, obstacles: readonly Obstacle[], notes: { start?: readonly number[]; goal?: readonly number[] } = {}): void {
  writeJsonAtomic(path, { obstacles, ...(notes.start ? { start: [...notes.start] } : {}), ...(notes.goal ? { goal: [...notes.goal] } : {}) });
}

/** The obstacle `p` (m) lies in, with the vehicle's radius `r` (m) added, or undefined. */
export function obstacleAt(obstacles: readonly Obstacle[], p: readonly number[], r: number): Obstacle | undefined {
  return obstacles.find((o) => clearance(o, p[0]!, p[1]!, p[2]!, r) < 0);
}

/** Signed clearance (m) between a sphere at p with radius r and the obstacle (negative = penetrating). */
export function clearance(o: Obstacle, px: number, py: number, pz: number, r: number): number {
  if (o.type === 'cylinder') {
    const dxy = Math.hypot(px - o.x, py - o.y) - o.radius;
    const dz = pz > o.height ? pz - o.height : pz < 0 ? -pz : 0;
    const d = dxy > 0 ? (dz > 0 ? Math.hypot(dxy, dz) : dxy) : dz > 0 ? dz : Math.max(dxy, -dz);
    return d - r;
  }
  const yaw = ((o.yawDeg ?? 0) * Math.PI) / 180;
  const c = Math.cos(yaw), s = Math.sin(yaw);
  const lx = c * (px - o.x) + s * (py - o.y);
  const ly = -s * (px - o.x) + c * (py - o.y);
  const cz = o.z ?? o.sz / 2;
  const qx = Math.abs(lx) - o.sx / 2, qy = Math.abs(ly) - o.sy / 2, qz = Math.abs(pz - cz) - o.sz / 2;
  const outside = Math.hypot(Math.max(qx, 0), Math.max(qy, 0), Math.max(qz, 0));
  return outside + Math.min(Math.max(qx, qy, qz), 0) - r;
}

/** Seeded random layout of `n` cylinders in a rectangle, keeping `keepClear` points free by `margin` m. */
export function randomCylinderField(rand: () => number, n: number, area: { x0: number; x1: number; y0: number; y1: number },
  keepClear: readonly (readonly [number, number])[], margin = 0.35, radius: [number, number] = [0.08, 0.18]): Obstacle[] {
  const out: Obstacle[] = [];
  for (let tries = 0; out.length < n && tries < n * 200; tries++) {
    const r = radius[0] + rand() * (radius[1] - radius[0]);
    const x = area.x0 + rand() * (area.x1 - area.x0);
    const y = area.y0 + rand() * (area.y1 - area.y0);
    if (keepClear.some(([cx, cy]) => Math.hypot(cx - x, cy - y) < r + margin)) continue;
    if (out.some((o) => o.type === 'cylinder' && Math.hypot(o.x - x, o.y - y) < o.radius + r + 0.3)) continue;
    out.push({ type: 'cylinder', x: +x.toFixed(3), y: +y.toFixed(3), radius: +r.toFixed(3), height: 2.5 });
  }
  return out;
}
