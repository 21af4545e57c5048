/** TFLite export: checkpoint → model.tflite + manifest.json. See docs/tflite-export.md. */
export { exportCheckpoint, type ExportCheckpointOptions, type ExportCheckpointResult } from './export-checkpoint.js';
export { exportMlp, writeMlpTflite, DEFAULT_CALIBRATION_SAMPLES, INPUT_NAMES, OUTPUT_NAME, SIGNATURE_KEY, type MlpExport, type MlpExportOptions, type Quantization } from './mlp-graph.js';
export { loadCheckpoint, type LoadedCheckpoint } from '../../model/checkpoint-io.js';
export { int8ReferenceForward, outputStep, type Int8Network, type Int8Layer, type QParams } from './quant.js';
export { greedyArenaPlan, planGraphArena, type ArenaPlan, type PlanItem } from './arena-plan.js';
export { writeTfliteGraph, type GraphDef, type OpDef, type TensorDef, type QuantParams } from './tflite-writer.js';
export { SeededRandom } from './prng.js';
