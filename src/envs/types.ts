/**
 * What the planning loop and `kdp eval` need from an environment. Implementations must not allocate
 * in `observe`/`step` (they run inside the fixed-memory control tick).
 */
export interface PlanningEnv {
  readonly name: string;
  readonly stateDim: number;
  readonly actionDim: number;
  readonly goalDim: number;
  /** seconds per env step */
  readonly dt: number;
  readonly maxEpisodeSteps: number;
  /** Start an episode; the seed picks the start (and goal, for goal tasks). */
  reset(seed: number): void;
  /** Current state into `out` (length stateDim). */
  observe(out: Float32Array): void;
  /** Current goal into `out` (length goalDim). */
  goal(out: Float32Array): void;
  /** Apply one action (clipped to the action space); returns the step reward. */
  step(action: Float32Array): number;
  /** True once the episode ended early (most D4RL tasks only time out). */
  readonly done: boolean;
  /** Optional feasibility cost of a plan of states (stateDim per step, unnormalized): e.g. wall hits. */
  planCost?(states: Float32Array, steps: number): number;
  /** D4RL-style normalized score (0 = random, 100 = expert reference) of an episode return. */
  normalizedScore(episodeReturn: number): number;
  close(): void;
}
