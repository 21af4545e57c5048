// The relaxed-SIMD probe (relaxed-simd.ts) on this engine: on the real instruction, and on two broken
// stand-ins (one lane off by one; every lane doubled) that must be refused.
import { probeRelaxedDot, relaxedModule, type RelaxedExports } from '../../../src/planner/runtime/relaxed-simd.js';

const module = relaxedModule();
if (!module) throw new Error('relaxed SIMD unavailable on this engine');
const memory = new WebAssembly.Memory({ initial: 1 });
const r = new WebAssembly.Instance(module, { env: { memory, abort: () => { throw new Error('wasm abort'); } } }).exports as unknown as RelaxedExports;
const real = probeRelaxedDot({ probe_dot: (a, b, o) => r.probe_dot(a, b, o), memory });
const broken = (edit: (out: Int16Array) => void): string | null => probeRelaxedDot({
  memory,
  probe_dot: (a, b, o) => { r.probe_dot(a, b, o); edit(new Int16Array(memory.buffer, o, 8)); },
});
const wrongLane = broken((out) => { out[5] = out[5]! + 1; });
const doubled = broken((out) => { for (let i = 0; i < 8; i++) out[i] = out[i]! * 2; });
process.stdout.write(`${JSON.stringify({ arch: process.arch, real, wrongLane, doubled })}\n`);
