import { PickPlaceController } from '../src/arm/pick-place-controller.ts';
import { loadModelDir } from '../src/loop/model-loader.ts';
import { PickPlaceSim, samplePickPlace, scorePickPlace } from '../src/so100/pick-place.ts';
import { sampleStart } from '../src/so100/reach.ts';
import { Rng } from '../src/util/rng.ts';
const model = loadModelDir(process.argv[2]!);
const N = Number(process.argv[3] ?? 10);
const cand = Number(process.argv[4] ?? 32);
const sim = await PickPlaceSim.create();
const ctl = new PickPlaceController(model, { candidates: cand });
const g = new Float64Array(6); const c = new Float64Array(3);
let ok = 0, picked = 0;
for (let i = 0; i < N; i++) {
  const rng = new Rng(4242 + i);
  const { cube, place } = samplePickPlace(rng); const q0 = sampleStart(rng); q0[5] = rng.range(0.2, 0.8);
  sim.reset(q0, cube, place); ctl.reset(cube, place, sim.q);
  let k = 0;
  for (; k < 1000; k++) {
    if (ctl.progress.done) break;
    ctl.step(sim.q, g); sim.apply(g); sim.step();
    if (sim.overloaded) break;
  }
  sim.cube(c);
  const s = scorePickPlace(c, place, sim.maxCubeZ);
  if (s.placed) ok++; if (s.picked) picked++;
  console.log(i, JSON.stringify(s), 'arm:', ctl.progress.picked, ctl.progress.placed(0.02), ctl.progress.placeErrorM.toFixed(3), 'k', k, sim.overloaded ? 'OVERLOAD' : '', 'cube', Array.from(c, v => v.toFixed(3)).join(','));
}
console.log(`placed ${ok}/${N} picked ${picked}/${N}`);
sim.close();
