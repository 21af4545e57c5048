/** LOGISTIC (sigmoid): the WASM/TS float kernel, or TFLite's int8 lookup table. */
import { BuiltinOperator } from '../../tflite/generated/tflite/builtin-operator.js';
import { activationOp } from './activation.js';
import { floatLut } from './lut.js';

export const LOGISTIC = activationOp({
  name: 'LOGISTIC', code: BuiltinOperator.LOGISTIC,
  float: (op, x, y, count) => ({ kind: 'logistic_f32', op, x, y, count }),
  lut: (qi, qo, xnn) => floatLut(qi, qo, (v) => 1 / (1 + Math.exp(-v)), xnn),
});
