/**
 * The SO-100 reach task (what the planner, the arm loop and the demonstration generator share): the state layout's
 * dims, the workspace targets are drawn from, and the seeded start / target samplers (held-out episodes use them).
 */
import { forwardKinematics, inverseKinematics } from '../../devices/so100/kinematics.js';
import type { Rng } from '../../util/rng.js';
import type { So100Config } from '../../devices/so100/config.js';
import { DEFAULT_SO100, JOINTS } from '../../devices/so100/config.js';

export const REACH_OBS_DIM = 12;
export const REACH_ACT_DIM = 6;
export const REACH_GOAL_DIM = 3;

/** Workspace the targets are drawn from (table frame, m). */
export const REACH_WORKSPACE = { rMin: 0.14, rMax: 0.3, panMax: 1.0, zMin: 0.03, zMax: 0.2 } as const;

const PITCHES = [Math.PI, 0.75 * Math.PI, 0.5 * Math.PI];

function withinLimits(q: ArrayLike<number>, cfg: So100Config, margin: number): boolean {
  for (let i = 0; i < 4; i++) {
    const [lo, hi] = cfg.jointLimitsRad[JOINTS[i]!];
    if (q[i]! < lo + margin || q[i]! > hi - margin) return false;
  }
  return true;
}

/** A reachable target and its IK solution, or undefined. */
export function sampleTarget(rng: Rng, cfg: So100Config = DEFAULT_SO100): { target: [number, number, number]; q: number[] } | undefined {
  const W = REACH_WORKSPACE;
  const th = rng.range(-W.panMax, W.panMax);
  const r = rng.range(W.rMin, W.rMax);
  const z = rng.range(W.zMin, W.zMax);
  const x = r * Math.cos(th); const y = r * Math.sin(th);
  for (const phi of PITCHES) {
    const q = inverseKinematics(x, y, z, phi);
    if (q && withinLimits(q, cfg, 0.05)) return { target: [x, y, z], q: [...q, 0, 0.3] };
  }
  return undefined;
}

/** A start pose with the grasp point ≥ 6 cm above the table. */
export function sampleStart(rng: Rng): number[] {
  for (;;) {
    const q = [rng.range(-1, 1), rng.range(-0.5, 0.6), rng.range(-0.6, 0.8), rng.range(-0.6, 1.2), 0, 0.3];
    const ee = forwardKinematics(q);
    if (ee[2]! > 0.06) return q;
  }
}
