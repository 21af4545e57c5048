/**
 * What the KDP trainer needs of a generator network (MlpTrainer, ConvTrainer, TransformerTrainer): a
 * batched forward / backward over caller-written inputs, one optimiser step, EMA weights, and the
 * train-state blob of a checkpoint.
 */
export interface GeneratorNet {
  readonly batch: number;
  /** flat trained parameters and their EMA (weights.bin) */
  readonly params: Float32Array;
  readonly ema: Float32Array;
  /** batch × (noiseDim + condDim), written by the caller */
  readonly input: Float32Array;
  /** batch × outputDim, valid after forward() */
  readonly output: Float32Array;
  /** batch × outputDim, dLoss/dOutput written by the caller before backward() */
  readonly gradOutput: Float32Array;
  lastGradNorm: number;
  readonly stepCount: number;
  forward(rows?: number): Float32Array;
  backward(rows?: number): void;
  step(): void;
  useEma(): () => void;
  readonly trainStateFloats: number;
  packTrainState(): Float32Array;
  restoreTrainState(state: Float32Array, ema: Float32Array, t: number): void;
}
