/**
 * Every op this runtime implements, in one list: registering an op is one line here. `builtinResolver`
 * builds a resolver holding all of them (or the named subset, TFLite Micro style).
 */
import { ModelError } from '../../../errors.js';
import { ADD } from './add.js';
import { BATCH_MATMUL } from './batch-matmul.js';
import { CONCATENATION } from './concatenation.js';
import { DEQUANTIZE } from './dequantize.js';
import { FULLY_CONNECTED } from './fully-connected.js';
import { LOGISTIC } from './logistic.js';
import { MUL } from './mul.js';
import type { OpUnit } from './op-unit.js';
import { OpResolver } from './op-resolver.js';
import { QUANTIZE } from './quantize.js';
import { RELU, RELU6, RELU_N1_TO_1 } from './relu.js';
import { RESHAPE } from './reshape.js';
import { SOFTMAX } from './softmax.js';
import { TANH } from './tanh.js';

export const BUILTIN_OPS: readonly OpUnit[] = [
  FULLY_CONNECTED, ADD, MUL, CONCATENATION, RESHAPE, RELU, RELU6, RELU_N1_TO_1, TANH, LOGISTIC, QUANTIZE, DEQUANTIZE,
  BATCH_MATMUL, SOFTMAX,
];

export const SUPPORTED_OPS: readonly string[] = BUILTIN_OPS.map((u) => u.name);

/** A resolver with every builtin op, or only `names` (each must be one this runtime implements). */
export function builtinResolver(names?: readonly string[]): OpResolver {
  const units = names === undefined ? BUILTIN_OPS : names.map((name) => {
    const u = BUILTIN_OPS.find((b) => b.name === name);
    if (!u) throw unknownOp(name);
    return u;
  });
  const r = new OpResolver(Math.max(1, units.length));
  for (const u of units) r.add(u);
  return r;
}

function unknownOp(name: string): ModelError {
  return new ModelError('E_MODEL_UNSUPPORTED_OP', `op resolver: ${name} is not implemented by this runtime`,
    { hint: `this runtime supports ${SUPPORTED_OPS.join(', ')} on float32 and int8 (per-tensor)` });
}
