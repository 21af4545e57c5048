/**
 * The op resolver (TFLite Micro's MicroMutableOpResolver idea): a fixed-capacity table of op units
 * looked up by builtin code. `add` refuses a duplicate and refuses beyond capacity with a typed error,
 * so a deployment that registers only the ops its model needs fails at setup, not at the first invoke.
 */
import { KdpError } from '../../../errors.js';
import type { OpUnit } from './op-unit.js';

export class OpResolver {
  private readonly units: OpUnit[] = [];

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new KdpError('E_USAGE', `op resolver capacity ${capacity} is not a positive integer`, { hint: 'pass the number of ops the model uses' });
    }
  }

  add(unit: OpUnit): this {
    if (this.units.some((u) => u.code === unit.code)) {
      throw new KdpError('E_OP_RESOLVER_DUPLICATE', `op resolver: ${unit.name} is already registered`, { hint: 'register each op once' });
    }
    if (this.units.length >= this.capacity) {
      throw new KdpError('E_OP_RESOLVER_FULL', `op resolver: no room for ${unit.name} (capacity ${this.capacity}, holds ${this.names().join(', ')})`,
        { hint: 'create the resolver with a capacity that covers every op the model uses' });
    }
    this.units.push(unit);
    return this;
  }

  /** The unit for a builtin code, or undefined when it is not registered. */
  find(code: number): OpUnit | undefined {
    for (const u of this.units) if (u.code === code) return u;
    return undefined;
  }

  names(): string[] { return this.units.map((u) => u.name); }
  get size(): number { return this.units.length; }
}
