// Child of test/control/no-inline-alloc.test.ts: one control loop (argv[2]: reach | pick-place | maze — the last is
// `npm start`'s loop: U-Maze, learned selection with the shipped scorer) with the shipped model and its real planner, warmed up, then the allocation meter over argv[3] ticks; prints the report as JSON.
// Run under --expose-gc and whatever V8 flags the parent chooses (it uses --no-turbo-inlining).
import { PickPlaceController } from '../../src/arm/pick-place-controller.js';
import { ReachController } from '../../src/arm/reach-controller.js';
import { VirtualClock } from '../../src/control/clock.js';
import { loadModelDir } from '../../src/planner/model-loader.js';
import { measureAllocations } from '../../src/util/alloc-meter.js';
import { createEnvLoop } from '../../src/control/env-loop.js';
import { createEnv } from '../../src/sim/env-factory.js';
import { envInfo } from '../../src/envs/registry.js';
import { fileURLToPath } from 'node:url';
import { MODEL_DIR, PP_MODEL_DIR } from '../arm/harness.js';

const which = process.argv[2], ticks = Number(process.argv[3] ?? 20_000);
const q = new Float64Array([0.1, 0.2, 0.3, 0.4, 0, 0.5]), goal = new Float64Array(6);
let step: () => void;
if (which === 'reach') {
  const ctl = new ReachController(loadModelDir(MODEL_DIR), { candidates: 8, clock: new VirtualClock() });
  ctl.reset([0.2, 0.05, 0.1], q);
  step = () => { ctl.step(q, goal); };
} else if (which === 'pick-place') {
  const ctl = new PickPlaceController(loadModelDir(PP_MODEL_DIR), { candidates: 8, clock: new VirtualClock() });
  if (ctl.select !== 'learned') throw new Error(`expected the learned progress selection, got ${ctl.select}`);
  ctl.reset([0.2, 0.1], [0.2, -0.1], q);
  step = () => { ctl.step(q, goal); };
} else if (which === 'maze') {
  const model = loadModelDir(fileURLToPath(new URL('../../models/maze2d-umaze', import.meta.url)));
  const loop = createEnvLoop({ env: await createEnv('maze2d-umaze'), info: envInfo('maze2d-umaze'), model, candidates: 8, seed: 0, replanEvery: 1, clock: new VirtualClock() });
  if (loop.cfg.select !== 'learned') throw new Error(`expected the learned selection, got ${loop.cfg.select}`);
  const state = new Float32Array([1, 1, 0, 0]), target = new Float32Array([1, 3]), action = new Float32Array(2);
  let i = 0;
  step = () => { state[0] = 1 + (i++ % 50) * 0.01; loop.tick(state, target, action); };
} else throw new Error(`usage: loop-alloc-child.ts reach|pick-place|maze [ticks]`);
const run = (n: number): void => { for (let k = 0; k < n; k++) step(); };
run(ticks);
await new Promise((r) => setTimeout(r, 200));
const r = await measureAllocations(run, ticks);
process.stdout.write(JSON.stringify(r) + '\n');
