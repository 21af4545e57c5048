/** MUL: elementwise product with suffix broadcast and fused activation (float32, int8 requantized). */
import { BuiltinOperator } from '../../tflite/generated/tflite/builtin-operator.js';
import { binaryOp } from './binary.js';

export const MUL = binaryOp('MUL', BuiltinOperator.MUL);
