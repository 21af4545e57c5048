/**
 * Shared by test/fly/*.test.ts and test/perf/crazyflie-fly.test.ts: held-out nav layouts (seeds the dataset never
 * used), a `kdp sim crazyflie` child process per layout (UDP on an ephemeral loopback port), and one flight.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { SeededRng } from '../../src/util/rng.js';
import { randomNavLayout, type NavLayout } from '../../src/sim/crazyflie/nav-dataset.js';

export const CLI = join(process.cwd(), 'dist/cli/bin.mjs');
/** The nav layouts' arena (x up to 2.5 m): the crazyflie21 profile's 2 × 2 m fence is too small for them. */
export const NAV_FENCE = '-0.5,-1.5,0,3,1.5,1.5';
export const NAV_FENCE_OBJ = { min: [-0.5, -1.5, 0] as [number, number, number], max: [3, 1.5, 1.5] as [number, number, number] };
/** Evaluation layouts: seeds 100000 + i (the dataset draws its layouts from one stream seeded with --seed 0). */
export const HELD_OUT_SEED_BASE = 100_000;

export function heldOutLayout(i: number): NavLayout { return randomNavLayout(new SeededRng(HELD_OUT_SEED_BASE + i)); }

export function writeLayoutFile(layout: NavLayout, dir = mkdtempSync(join(tmpdir(), 'kdp-fly-'))): string {
  const f = join(dir, 'obstacles.json');
  writeFileSync(f, JSON.stringify({ obstacles: layout.obstacles }));
  return f;
}

export interface SimChild { uri: string; child: ChildProcess; events: Record<string, unknown>[]; stop(): Promise<Record<string, unknown> | undefined> }

/** Start `kdp sim crazyflie --udp 127.0.0.1:0 --obstacles F --start x,y,0.015 --json` and wait for its port. */
export async function spawnSim(obstaclesFile: string, start: readonly number[]): Promise<SimChild> {
  const child = spawn(process.execPath, [CLI, 'sim', 'crazyflie', '--udp', '127.0.0.1:0', '--obstacles', obstaclesFile, '--start', `${start[0]},${start[1]},0.015`, '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const events: Record<string, unknown>[] = [];
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
  const rl = createInterface({ input: child.stdout! });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const uri = await new Promise<string>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`simulator did not start: ${stderr}`)), 30_000);
    rl.on('line', (line) => {
      let e: Record<string, unknown>;
      try { e = JSON.parse(line) as Record<string, unknown>; } catch { return; }
      events.push(e);
      if (e.event === 'listening') { clearTimeout(t); resolve(String(e.uri)); }
    });
    child.once('exit', (code) => { clearTimeout(t); reject(new Error(`simulator exited (${code}): ${stderr}`)); });
  });
  return {
    uri, child, events,
    async stop() {
      if (child.exitCode === null) child.kill('SIGINT');
      const killer = setTimeout(() => { if (child.exitCode === null) child.kill('SIGKILL'); }, 5000);
      await exited;
      clearTimeout(killer);
      rl.close();
      return events.find((e) => e.event === 'stopped');
    },
  };
}
