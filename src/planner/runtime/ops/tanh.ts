/** TANH: the WASM/TS float kernel, or TFLite's int8 lookup table. */
import { BuiltinOperator } from '../../tflite/generated/tflite/builtin-operator.js';
import { activationOp } from './activation.js';
import { floatLut } from './lut.js';

export const TANH = activationOp({
  name: 'TANH', code: BuiltinOperator.TANH,
  float: (op, x, y, count) => ({ kind: 'tanh_f32', op, x, y, count }),
  lut: (qi, qo, xnn) => floatLut(qi, qo, Math.tanh, xnn),
});
