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
  /** a heading drawn above the maze */
  caption?: string;
  /** a key drawn below the maze, one row per entry (line, thin line, dot or dashed ring) */
  legend?: { kind: 'line' | 'thin' | 'dot' | 'ring'; color: string; label: string }[];
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
  // room for a caption above and axis labels + legend below (only when asked for, so plain mazes keep their size)
  const top = opts.caption ? 28 : 0;
  const legend = opts.legend ?? [];
  const bottom = opts.caption || legend.length ? 24 + legend.length * 20 + 8 : 0;
  const px = (y: number): number => (y - y0) * c; // svg x from qpos y
  const py = (x: number): number => (x - x0) * c + top; // svg y from qpos x
  const f = (v: number): string => (Math.round(v * 10) / 10).toString();
  const parts: string[] = [];
  const TH = top + H + bottom;
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${TH}" width="${W}" height="${TH}" font-family="sans-serif" font-size="13">`);
  if (opts.title) parts.push(`<title>${escapeXml(opts.title)}</title>`);
  if (top || bottom) parts.push(`<rect x="0" y="0" width="${W}" height="${TH}" fill="#ffffff"/>`);
  if (opts.caption) parts.push(`<text x="${W / 2}" y="19" text-anchor="middle" font-size="15">${escapeXml(opts.caption)}</text>`);
  parts.push(`<rect x="0" y="${top}" width="${W}" height="${H}" fill="#f7f5f0"/>`);
  for (let i = 0; i < layout.nx; i++) {
    for (let j = 0; j < layout.ny; j++) {
      if (layout.tiles[i * layout.ny + j] !== WALL) continue;
      parts.push(`<rect x="${f(j * c)}" y="${f(i * c + top)}" width="${c}" height="${c}" fill="#b3805a"/>`);
    }
  }
  for (const p of opts.paths ?? []) {
    if (p.points.length === 0) continue;
    const d = p.points.map((q, k) => `${k === 0 ? 'M' : 'L'}${f(px(q[1] ?? 0))},${f(py(q[0] ?? 0))}`).join(' ');
    parts.push(`<path d="${d}" fill="none" stroke="${escapeXml(p.stroke ?? '#1f5fbf')}" stroke-width="${p.width ?? 2}" stroke-opacity="${p.opacity ?? 0.8}" stroke-linejoin="round" stroke-linecap="round"/>`);
  }
  if (opts.start) parts.push(`<circle cx="${f(px(opts.start[1]))}" cy="${f(py(opts.start[0]))}" r="${f(c * 0.12)}" fill="#2a9d4b"/>`);
  if (opts.goal) parts.push(`<circle cx="${f(px(opts.goal[1]))}" cy="${f(py(opts.goal[0]))}" r="${f(c * 0.5)}" fill="none" stroke="#c0392b" stroke-width="2" stroke-dasharray="4 3"/><circle cx="${f(px(opts.goal[1]))}" cy="${f(py(opts.goal[0]))}" r="${f(c * 0.12)}" fill="#c0392b"/>`);
  if (bottom) {
    const y = top + H;
    parts.push(`<text x="${W / 2}" y="${y + 17}" text-anchor="middle" fill="#555">qpos y (m) → · qpos x (m) ↓ · one wall block = 1 m</text>`);
    legend.forEach((e, k) => {
      const ly = y + 24 + k * 20 + 10;
      if (e.kind === 'line' || e.kind === 'thin') parts.push(`<line x1="12" y1="${ly}" x2="40" y2="${ly}" stroke="${escapeXml(e.color)}" stroke-width="${e.kind === 'line' ? 3 : 1.5}"/>`);
      else if (e.kind === 'dot') parts.push(`<circle cx="26" cy="${ly}" r="5" fill="${escapeXml(e.color)}"/>`);
      else parts.push(`<circle cx="26" cy="${ly}" r="8" fill="none" stroke="${escapeXml(e.color)}" stroke-width="2" stroke-dasharray="4 3"/><circle cx="26" cy="${ly}" r="3" fill="${escapeXml(e.color)}"/>`);
      parts.push(`<text x="48" y="${ly + 4}">${escapeXml(e.label)}</text>`);
    });
  }
  parts.push('</svg>');
  return parts.join('\n');
}

/** Bar chart of a latency histogram (log-spaced bins, µs) with labelled axes. */
export function latencyHistogramSvg(h: { edgesUs: number[]; counts: number[] }, opts: { title: string; p50: number; p99: number }): string {
  const W = 640, H = 320, L = 60, R = 20, T = 36, B = 56;
  const n = h.counts.length, max = Math.max(1, ...h.counts);
  const bw = (W - L - R) / Math.max(1, n);
  const parts = [`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`,
    `<title>${escapeXml(opts.title)}</title>`, `<rect width="${W}" height="${H}" fill="#ffffff"/>`,
    `<text x="${W / 2}" y="20" text-anchor="middle" font-size="15">${escapeXml(opts.title)}</text>`];
  h.counts.forEach((c, i) => {
    const bh = ((H - T - B) * c) / max;
    parts.push(`<rect x="${(L + i * bw + 1).toFixed(1)}" y="${(H - B - bh).toFixed(1)}" width="${(bw - 2).toFixed(1)}" height="${bh.toFixed(1)}" fill="#1f5fbf"/>`);
  });
  h.edgesUs.forEach((e, i) => { if (i % 2 === 0) parts.push(`<text x="${(L + i * bw).toFixed(1)}" y="${H - B + 16}" text-anchor="middle">${e}</text>`); });
  parts.push(`<line x1="${L}" y1="${H - B}" x2="${W - R}" y2="${H - B}" stroke="#333"/>`, `<line x1="${L}" y1="${T}" x2="${L}" y2="${H - B}" stroke="#333"/>`,
    `<text x="${L - 6}" y="${T + 4}" text-anchor="end">${max}</text>`, `<text x="${L - 6}" y="${H - B}" text-anchor="end">0</text>`,
    `<text x="${(L + W - R) / 2}" y="${H - 18}" text-anchor="middle">plan latency (µs, log scale) — p50 ${opts.p50} µs, p99 ${opts.p99} µs</text>`,
    `<text x="16" y="${(T + H - B) / 2}" text-anchor="middle" transform="rotate(-90 16 ${(T + H - B) / 2})">plans</text>`, '</svg>');
  return parts.join('\n');
}

function escapeXml(s: string): string {
  return s.replace(/[<>&"]/g, (ch) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[ch] ?? ch);
}
