/** RELU, RELU6, RELU_N1_TO_1: a float clamp, or an int8 rescale-and-clamp table. */
import { BuiltinOperator } from '../../tflite/generated/tflite/builtin-operator.js';
import { activationOp } from './activation.js';
import { reluLut } from './lut.js';
import { floatRange, type Act } from './op-unit.js';

function clampOp(name: string, code: number, act: Act): ReturnType<typeof activationOp> {
  const [lo, hi] = floatRange(act);
  return activationOp({
    name, code,
    float: (op, x, y, count) => ({ kind: 'clamp_f32', op, x, y, count, lo, hi }),
    lut: (qi, qo) => reluLut(qi, qo, act),
  });
}

export const RELU = clampOp('RELU', BuiltinOperator.RELU, 'relu');
export const RELU6 = clampOp('RELU6', BuiltinOperator.RELU6, 'relu6');
export const RELU_N1_TO_1 = clampOp('RELU_N1_TO_1', BuiltinOperator.RELU_N1_TO_1, 'relu_n1_to_1');
