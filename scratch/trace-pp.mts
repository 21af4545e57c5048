import { PickPlaceController } from '../src/arm/pick-place-controller.ts';
import { loadModelDir } from '../src/loop/model-loader.ts';
import { PickPlaceSim, samplePickPlace } from '../src/so100/pick-place.ts';
import { sampleStart } from '../src/so100/reach.ts';
import { Rng } from '../src/util/rng.ts';
const model = loadModelDir(process.argv[2]!);
const ep = Number(process.argv[3] ?? 0);
const sim = await PickPlaceSim.create();
const ctl = new PickPlaceController(model, { candidates: 32 });
const g = new Float64Array(6); const c = new Float64Array(3);
const rng = new Rng(4242 + ep);
const { cube, place } = samplePickPlace(rng); const q0 = sampleStart(rng); q0[5] = rng.range(0.2, 0.8);
sim.reset(q0, cube, place); ctl.reset(cube, place, sim.q);
console.log('cube', cube, 'place', place);
for (let k = 0; k < 600; k++) {
  ctl.step(sim.q, g); sim.apply(g); sim.step();
  if (k % 20 === 0) { sim.cube(c); console.log(k, 'ee', Array.from(sim.ee, v => v.toFixed(3)).join(','), 'grip', sim.q[5]!.toFixed(2), 'goal', Array.from(g, v=>v.toFixed(2)).join(','), 'cube', Array.from(c, v => v.toFixed(3)).join(',')); }
}
