/**
 * What the loop needs from a planner runtime: fixed, caller-visible buffers and a synchronous,
 * allocation-free invoke that maps (noise, condition) to N candidate plans (normalized units).
 */
export interface PlannerBackend {
  readonly candidates: number;
  readonly noiseDim: number;
  readonly condDim: number;
  readonly outDim: number;
  /** N × noiseDim */
  readonly noise: Float32Array;
  /** N × condDim */
  readonly condition: Float32Array;
  /** N × outDim, valid after invoke() */
  readonly plan: Float32Array;
  invoke(): void;
  readonly arenaBytes: number;
  readonly name: string;
}
