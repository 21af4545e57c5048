// The latency model (src/bench/latency-model.ts): MACs and bytes of an invoke from the model file and the
// kernels, the estimate's arithmetic and inputs, and `kdp bench --board`.
import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { BOARD_RATES, estimateLatency, estimateLine, planCost } from '../../src/bench/latency-model.js';
import { parseTflite } from '../../src/planner/runtime/tflite-model.js';
import { runKdp } from '../helpers/cli.js';

const umaze = parseTflite(new Uint8Array(readFileSync('models/maze2d-umaze/model.tflite')));
const PER_CANDIDATE = 22 * 256 + 256 * 256 * 2 + 256 * 188; // noise 16 + condition 6 → 256×3 → 188

test('plan cost of the shipped umaze model: MACs = N × Σ in·out; weight bytes by kernel layout (i6 bytes, i16 widened at N ≥ 4)', () => {
  const i6 = planCost(umaze, 64, ['fc_i6', 'fc_i6', 'fc_i6', 'fc_i6']);
  assert.is(i6.macs, 64 * PER_CANDIDATE);
  assert.is(i6.weightBytes, PER_CANDIDATE);
  assert.is(i6.activationBytes, 64 * (256 * 3 + 188));
  assert.equal(i6.layers.map((l) => [l.inDim, l.outDim]), [[22, 256], [256, 256], [256, 256], [256, 188]]);
  assert.is(planCost(umaze, 64, ['fc_i8', 'fc_i8', 'fc_i8', 'fc_i8']).weightBytes, 2 * PER_CANDIDATE);
  assert.is(planCost(umaze, 1, ['fc_i8', 'fc_i8', 'fc_i8', 'fc_i8']).weightBytes, PER_CANDIDATE, 'N < 4: int8 weights widened on load');
  assert.throws(() => planCost(umaze, 64, ['fc_i6']), /4 FULLY_CONNECTED ops but 1 FC kernels/);
});

test('estimate = Σ MACs / (MAC per cycle × clock) at both corners; the x86-dev row brackets the measured 220 µs', () => {
  const cost = planCost(umaze, 64, ['fc_i6', 'fc_i6', 'fc_i6', 'fc_i6']);
  const x = estimateLatency(cost, 'x86-dev');
  assert.is(x.basis, 'calibrated');
  assert.ok(x.lowUs <= 220 && 220 <= x.highUs, `${x.lowUs}–${x.highUs}`);
  const pi5 = estimateLatency(cost, 'rpi5');
  const r = BOARD_RATES.rpi5!;
  assert.is(pi5.basis, 'assumed');
  assert.is(pi5.lowUs, Math.round((cost.macs / (r.macPerCycle.fc_i6[1] * r.clockGHz[1] * 1e3)) * 10) / 10);
  assert.is(pi5.highUs, Math.round((cost.macs / (r.macPerCycle.fc_i6[0] * r.clockGHz[0] * 1e3)) * 10) / 10);
  assert.equal(pi5.inputs.macPerCycle, { fc_i6: r.macPerCycle.fc_i6 });
  assert.ok(pi5.inputs.weightsFitL2);
  // the i16 layout (no relaxed SIMD) is slower everywhere, and on the Orin's 256 KiB L2 its weights no longer fit
  const i16 = planCost(umaze, 64, ['fc_i8', 'fc_i8', 'fc_i8', 'fc_i8']);
  for (const b of Object.keys(BOARD_RATES)) assert.ok(estimateLatency(i16, b).highUs > estimateLatency(cost, b).highUs, b);
  assert.not.ok(estimateLatency(i16, 'jetson-orin-nano').inputs.weightsFitL2);
  assert.match(estimateLine(pi5), /^ESTIMATE for rpi5 \(assumed rates, not measured\): [\d.]+–[\d.]+ µs per invoke = 11\.83 M MACs/);
  assert.throws(() => estimateLatency(cost, 'commodore-64'), /no latency model for board "commodore-64"/);
});

test('kdp bench --board rpi5 --json carries the estimate with its inputs next to the measured figures; unknown board → E_USAGE', () => {
  const r = runKdp(['bench', '--model', 'models/maze2d-umaze', '--iterations', '50', '--warmup', '5', '--board', 'rpi5', '--json']);
  assert.is(r.status, 0, r.stderr);
  const j = JSON.parse(r.stdout) as { p50Us: number; estimate: { board: string; basis: string; lowUs: number; highUs: number; inputs: { macs: number; core: string } } };
  assert.ok(j.p50Us > 0);
  assert.is(j.estimate.board, 'rpi5');
  assert.is(j.estimate.basis, 'assumed');
  assert.is(j.estimate.inputs.macs, 64 * PER_CANDIDATE);
  assert.is(j.estimate.inputs.core, 'Cortex-A76');
  assert.ok(j.estimate.lowUs < j.estimate.highUs);
  const bad = runKdp(['bench', '--model', 'models/maze2d-umaze', '--board', 'pi9', '--json']);
  assert.is(bad.status, 2);
  assert.match(JSON.parse(bad.stdout).message as string, /--board pi9: no latency model/);
});

test.run();
