/** ADD: elementwise sum with suffix broadcast and fused activation (float32, int8 with TFLite's 20-bit left shift). */
import { BuiltinOperator } from '../../tflite/generated/tflite/builtin-operator.js';
import { binaryOp } from './binary.js';

export const ADD = binaryOp('ADD', BuiltinOperator.ADD);
