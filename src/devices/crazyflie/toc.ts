/**
 * Table of contents (log and param): fetched with TOC v2 item requests, cached on disk by CRC (cflib `toccache`),
 * cache files written atomically.
 */
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { writeJsonAtomic } from '../../util/atomic-write.js';

export interface TocItem { id: number; type: number; group: string; name: string }

export class Toc {
  readonly byName = new Map<string, TocItem>();
  readonly byId: TocItem[] = [];
  constructor(readonly crc: number, items: readonly TocItem[]) {
    for (const it of items) { this.byName.set(`${it.group}.${it.name}`, it); this.byId[it.id] = it; }
  }
  get size(): number { return this.byName.size; }
  get(name: string): TocItem | undefined { return this.byName.get(name); }
  names(): string[] { return [...this.byName.keys()]; }
}

export function defaultTocCacheDir(): string {
  return process.env.KDP_CF_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'kdp', 'crazyflie-toc');
}

export class TocCache {
  constructor(readonly dir: string | null) {}
  private file(kind: 'log' | 'param', crc: number): string { return join(this.dir!, `${crc.toString(16).padStart(8, '0')}.${kind}.json`); }

  load(kind: 'log' | 'param', crc: number, count: number): TocItem[] | undefined {
    if (!this.dir) return undefined;
    const f = this.file(kind, crc);
    if (!existsSync(f)) return undefined;
    try {
      const j = JSON.parse(readFileSync(f, 'utf8')) as { crc: number; items: TocItem[] };
      if (j.crc !== crc || !Array.isArray(j.items) || j.items.length !== count) return undefined;
      return j.items;
    } catch { return undefined; }
  }

  save(kind: 'log' | 'param', crc: number, items: readonly TocItem[]): void {
    if (!this.dir) return;
    try { writeJsonAtomic(this.file(kind, crc), { kind, crc, items }); } catch { /* a cache is best-effort */ }
  }
}
