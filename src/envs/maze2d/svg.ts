import type { MazeLayout } from './layouts.js';
import { WALL, QPOS_WALL_OFFSET, parseLayout } from './layouts.js';

export interface SvgPath {
  /** points in qpos coordinates, [x, y] (extra entries ignored) */
  points: number[][];
  stroke?: string;
  width?: number;
  opacity?: number;
}

export interface MazeSvgOptions {
  paths?: SvgPath[];
  goal?: [number, number];
  start?: [number, number];
  /** pixels per maze cell */
  cell?: number;
  title?: string;
}

/**
 * SVG of a maze with paths, in qpos coordinates drawn as the layout string reads: qpos x (the row
 * index) runs down, qpos y (the column index) runs right. Walls are drawn where MuJoCo has them
 * (offset −0.2 from the nominal cell centres, see layouts.ts).
 */
export function mazeSvg(envOrLayout: { layout: MazeLayout } | MazeLayout | readonly string[], opts: MazeSvgOptions = {}): string {
  const layout: MazeLayout = Array.isArray(envOrLayout)
    ? parseLayout(envOrLayout as readonly string[])
    : 'tiles' in (envOrLayout as object) ? (envOrLayout as MazeLayout) : (envOrLayout as { layout: MazeLayout }).layout;
  const c = opts.cell ?? 48;
  // qpos range covered by walls: [−0.7, n − 0.7]
  const x0 = -0.5 + QPOS_WALL_OFFSET, y0 = -0.5 + QPOS_WALL_OFFSET;
  const W = layout.ny * c, H = layout.nx * c;
  const px = (y: number): number => (y - y0) * c; // svg x from qpos y
  const py = (x: number): number => (x - x0) * c; // svg y from qpos x
  const f = (v: number): string => (Math.round(v * 10) / 10).toString();
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}">`);
  if (opts.title) parts.push(`<title>${escapeXml(opts.title)}</title>`);
  parts.push(`<rect x="0" y="0" width="${W}" height="${H}" fill="#f7f5f0"/>`);
  for (let i = 0; i < layout.nx; i++) {
    for (let j = 0; j < layout.ny; j++) {
      if (layout.tiles[i * layout.ny + j] !== WALL) continue;
      parts.push(`<rect x="${f(j * c)}" y="${f(i * c)}" width="${c}" height="${c}" fill="#b3805a"/>`);
    }
  }
  for (const p of opts.paths ?? []) {
    if (p.points.length === 0) continue;
    const d = p.points.map((q, k) => `${k === 0 ? 'M' : 'L'}${f(px(q[1] ?? 0))},${f(py(q[0] ?? 0))}`).join(' ');
    parts.push(`<path d="${d}" fill="none" stroke="${escapeXml(p.stroke ?? '#1f5fbf')}" stroke-width="${p.width ?? 2}" stroke-opacity="${p.opacity ?? 0.8}" stroke-linejoin="round" stroke-linecap="round"/>`);
  }
  if (opts.start) parts.push(`<circle cx="${f(px(opts.start[1]))}" cy="${f(py(opts.start[0]))}" r="${f(c * 0.12)}" fill="#2a9d4b"/>`);
  if (opts.goal) parts.push(`<circle cx="${f(px(opts.goal[1]))}" cy="${f(py(opts.goal[0]))}" r="${f(c * 0.5)}" fill="none" stroke="#c0392b" stroke-width="2" stroke-dasharray="4 3"/><circle cx="${f(px(opts.goal[1]))}" cy="${f(py(opts.goal[0]))}" r="${f(c * 0.12)}" fill="#c0392b"/>`);
  parts.push('</svg>');
  return parts.join('\n');
}

function escapeXml(s: string): string {
  return s.replace(/[<>&"]/g, (ch) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[ch] ?? ch);
}
