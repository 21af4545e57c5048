/**
 * SIGKILL campaign against `kdp train --checkpoint-every 1`: start the real CLI, kill it at a random
 * moment once it saves (0–maxMs after a new generation appears: mid-step, mid-save, mid-prune), check the run folder still resolves to a verifying checkpoint generation, repeat; finally
 * let it finish. Used by the small unit version and the 50-kill soak.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { hasCheckpoint, listGenerations, resolveCheckpoint } from '../../src/model/checkpoint-io.js';

const BIN = fileURLToPath(new URL('../../dist/cli/bin.mjs', import.meta.url));

export interface KillCampaignResult {
  kills: number;
  /** kills after which a checkpoint existed and verified */
  resumable: number;
  /** kills that hit before the first checkpoint existed */
  beforeFirstSave: number;
  /** generations that were skipped as damaged when resolving (a save cut mid-way is expected to leave none) */
  skippedGenerations: number;
  finalStep: number;
  finalExit: number;
  failures: string[];
}

const newestStep = (out: string): number => listGenerations(out)[0]?.step ?? -1;

/**
 * Run `kdp train`; with `killAfterMs`, SIGKILL it that long after it saved a new generation (the
 * process spends its time in startup otherwise, and the kills are meant to land among saves).
 */
function runFor(args: string[], out: string, killAfterMs: number | null): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> {
  return new Promise((resolve) => {
    const before = newestStep(out);
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, KDP_LOG_LEVEL: 'warn' } });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    let timer: NodeJS.Timeout | null = null;
    const poll = killAfterMs === null ? null : setInterval(() => {
      if (newestStep(out) <= before) return;
      clearInterval(poll!);
      timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    }, 10);
    child.on('close', (code, signal) => { if (poll) clearInterval(poll); if (timer) clearTimeout(timer); resolve({ code, signal, stderr }); });
  });
}

/** `steps` is far beyond what a run reaches before its kill; the final run trains `finalExtraSteps` past the last checkpoint. */
export async function trainKillCampaign(o: { trainArgs: string[]; out: string; kills: number; minMs: number; maxMs: number; seed: number; steps: number; finalExtraSteps: number }): Promise<KillCampaignResult> {
  let s = o.seed >>> 0 || 1;
  const rnd = (): number => { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; return s / 0x100000000; };
  const argsFor = (steps: number): string[] => [...o.trainArgs, '--out', o.out, '--steps', String(steps), '--checkpoint-every', '1', '--keep', '2', '--json'];
  const args = argsFor(o.steps);
  const r: KillCampaignResult = { kills: 0, resumable: 0, beforeFirstSave: 0, skippedGenerations: 0, finalStep: -1, finalExit: -1, failures: [] };
  for (let k = 0; k < o.kills; k++) {
    const res = await runFor(args, o.out, o.minMs + rnd() * (o.maxMs - o.minMs));
    if (res.signal !== 'SIGKILL') {
      if (res.code !== 0) r.failures.push(`run ${k} exited ${res.code} before the kill: ${res.stderr.slice(-400)}`);
      continue;
    }
    r.kills++;
    if (!hasCheckpoint(o.out)) { r.beforeFirstSave++; continue; }
    try {
      const c = resolveCheckpoint(o.out);
      r.skippedGenerations += c.skipped.length;
      r.resumable++;
    } catch (e) {
      r.failures.push(`after kill ${k}: ${(e as Error).message}`);
    }
  }
  let from = 0;
  try { from = hasCheckpoint(o.out) ? resolveCheckpoint(o.out).meta.step : 0; } catch { /* reported above */ }
  const target = from + o.finalExtraSteps;
  const last = await runFor(argsFor(target), o.out, null);
  r.finalExit = last.code ?? -1;
  if (last.code !== 0) r.failures.push(`final run exited ${last.code}: ${last.stderr.slice(-400)}`);
  try { r.finalStep = resolveCheckpoint(o.out).meta.step; } catch (e) { r.failures.push(`final: ${(e as Error).message}`); }
  if (r.finalStep !== target) r.failures.push(`final run ended at step ${r.finalStep}, expected ${target}`);
  return r;
}
