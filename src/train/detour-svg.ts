import { DETOUR_GOAL, DETOUR_OBSTACLE } from './tasks/detour.js';

export interface VariantSamples {
  name: string;
  /** per condition: S plans, each H waypoints [x, y] */
  plans: number[][][][];
  metrics?: string;
}

/** One panel per variant: the obstacle, the goal, and each condition's sampled plans. */
export function detourSamplesSvg(variants: VariantSamples[], title = 'mode benchmark: samples per variant'): string {
  const panel = 260, pad = 10, cols = variants.length;
  const W = cols * panel, H = panel + 52;
  const sx = (x: number): number => pad + ((x + 1.2) / 2.4) * (panel - 2 * pad);
  const sy = (y: number): number => 30 + pad + ((1.2 - y) / 2.4) * (panel - 2 * pad);
  const colors = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b'];
  const parts: string[] = [`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<title>${title}</title>`, `<rect width="${W}" height="${H}" fill="#fff"/>`];
  variants.forEach((v, k) => {
    const ox = k * panel;
    parts.push(`<g transform="translate(${ox},0)">`);
    parts.push(`<text x="${panel / 2}" y="16" text-anchor="middle" font-weight="bold">${v.name}</text>`);
    parts.push(`<rect x="${pad}" y="${30 + pad}" width="${panel - 2 * pad}" height="${panel - 2 * pad}" fill="#fafafa" stroke="#ccc"/>`);
    const r = (DETOUR_OBSTACLE.r / 2.4) * (panel - 2 * pad);
    parts.push(`<circle cx="${sx(DETOUR_OBSTACLE.x).toFixed(1)}" cy="${sy(DETOUR_OBSTACLE.y).toFixed(1)}" r="${r.toFixed(1)}" fill="#555" opacity="0.8"/>`);
    parts.push(`<circle cx="${sx(DETOUR_GOAL[0]).toFixed(1)}" cy="${sy(DETOUR_GOAL[1]).toFixed(1)}" r="5" fill="#e5a00d"/>`);
    v.plans.forEach((cond, c) => {
      const color = colors[c % colors.length]!;
      for (const plan of cond) {
        const pts: string[] = [];
        for (let t = 0; t < plan.length; t++) pts.push(`${sx(plan[t]![0]!).toFixed(1)},${sy(plan[t]![1]!).toFixed(1)}`);
        parts.push(`<polyline points="${pts.join(' ')}" fill="none" stroke="${color}" stroke-width="1" opacity="0.45"/>`);
      }
      const s = cond[0]?.[0];
      if (s) parts.push(`<circle cx="${sx(s[0]!).toFixed(1)}" cy="${sy(s[1]!).toFixed(1)}" r="3.5" fill="${color}" stroke="#000" stroke-width="0.5"/>`);
    });
    if (v.metrics) parts.push(`<text x="${panel / 2}" y="${panel + 44}" text-anchor="middle" font-size="10">${v.metrics}</text>`);
    parts.push('</g>');
  });
  parts.push('</svg>');
  return parts.join('\n');
}
