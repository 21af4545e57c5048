/** The real-TFLite oracle for tests (implementation lives in src so `kdp bench` can use it too). */
export { loadTfliteOracle, type TfliteOracle } from '../../src/planner/tflite/tfjs-tflite-runner.js';
