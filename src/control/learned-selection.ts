import type { ScorerBackend } from '../planner/scorer-backend.js';

/** Where a planner's candidates sit in its output buffer, for the learned scorer. */
export interface PlanGeometry {
  candidates: number;
  horizon: number;
  stateDim: number;
  /** state + action per plan step */
  step: number;
  /** planner output per candidate: the window without s_0 */
  outDim: number;
  /** the two position dims the scorer reads */
  positionDims: readonly number[];
}

/**
 * Score every candidate with the learned scorer: one row per waypoint after s_0 (normalized plan
 * position + the normalized goal at `goal[goalOffset …]`, or for the first `nearSteps` waypoints `nearGoal`),
 * one batched invoke, then per candidate the
 * cost-to-go averaged over its waypoints (env steps: reach the goal soon, then stay) + `penalty` per
 * waypoint below the calibrated occupancy threshold. Writes `costs` and the unvisited counts `bad`;
 * allocation-free.
 */
export function scorePlansLearned(
  sc: ScorerBackend, plan: Float32Array, g: PlanGeometry, goal: Float32Array, goalOffset: number, goalDim: number,
  penalty: number, costs: Float64Array, bad: Int32Array,
  /** hierarchical: waypoints t ≤ nearSteps read this goal (the subgoal) at nearGoal[0 …] instead */
  nearGoal?: Float32Array, nearSteps = 0,
): void {
  const { candidates: N, horizon: H, stateDim: S, step, outDim } = g;
  const p0 = g.positionDims[0]!, p1 = g.positionDims[1]!;
  const W = H - 1;
  for (let i = 0; i < N; i++) {
    for (let t = 1; t < H; t++) {
      const r = i * W + t - 1;
      const j = i * outDim + t * step - S;
      sc.points[r * 2] = plan[j + p0]!;
      sc.points[r * 2 + 1] = plan[j + p1]!;
      if (nearGoal && t <= nearSteps) for (let k = 0; k < goalDim; k++) sc.goals[r * goalDim + k] = nearGoal[k]!;
      else for (let k = 0; k < goalDim; k++) sc.goals[r * goalDim + k] = goal[goalOffset + k]!;
    }
  }
  sc.invoke();
  const out = sc.out, thr = sc.occupancyThreshold;
  for (let i = 0; i < N; i++) {
    let b = 0, ctg = 0;
    for (let t = 0; t < W; t++) {
      if (out[(i * W + t) * 2]! < thr) b++;
      ctg += out[(i * W + t) * 2 + 1]!;
    }
    bad[i] = b;
    costs[i] = (ctg / W) * sc.ctgScale + penalty * b;
  }
}
