import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createMaze2dEnv, MAZE2D_ENVS, parseLayout, U_MAZE, WaypointController, pyRound, isWallCell } from '../../src/envs/maze2d/index.js';
import { SeededRng } from '../../src/util/rng.js';

test('pyRound rounds half to even like Python 3', () => {
  assert.equal([0.5, 1.5, 2.5, -0.5, 2.4999, 2.5001, 3].map(pyRound), [0, 2, 2, -0, 2, 3, 3]);
});

test('waypoints follow the U around the wall (grid Q-iteration), jittered by −U(0, 0.2) except the target', () => {
  const layout = parseLayout(U_MAZE);
  const c = new WaypointController(layout, new SeededRng(3));
  const out = new Float64Array(2);
  c.getAction(3, 1, 0, 0, 1.05, 0.95, out); // from (3,1) to the goal cell (1,1)
  const wps = c.waypoints();
  const cells = wps.map(([x, y]) => [Math.ceil(x - 1e-9), Math.ceil(y - 1e-9)]);
  assert.equal(cells, [[3, 2], [3, 3], [2, 3], [1, 3], [1, 2], [1, 1]]);
  for (const [x, y] of wps.slice(0, -1)) {
    const fx = Math.ceil(x) - x, fy = Math.ceil(y) - y;
    assert.ok(fx >= 0 && fx <= 0.2 && fy >= 0 && fy <= 0.2);
  }
  assert.equal(wps[wps.length - 1], [1, 1]);
  for (const [i, j] of cells) assert.not.ok(isWallCell(layout, i!, j!));
  // first action pushes towards (3, 2): +y, saturated
  assert.ok(out[1]! > 0.99 && Math.abs(out[0]!) <= 1);
});

for (const name of MAZE2D_ENVS) {
  test(`${name}: the noisy waypoint controller reaches random goals (a handful of episodes)`, async () => {
    const env = await createMaze2dEnv(name, { resetTarget: true });
    const rng = new SeededRng(11);
    const ctrl = new WaypointController(env.layout, rng);
    const s = new Float64Array(4), a = new Float32Array(2), act = new Float64Array(2);
    let reached = 0;
    const episodes = 6;
    for (let ep = 0; ep < episodes; ep++) {
      env.resetWith(rng);
      ctrl.reset();
      for (let t = 0; t < env.maxEpisodeSteps; t++) {
        env.observe(s);
        const done = ctrl.getAction(s[0]!, s[1]!, s[2]!, s[3]!, env.targetX, env.targetY, act);
        if (done) { reached++; break; }
        a[0] = act[0]! + rng.normal() * 0.5;
        a[1] = act[1]! + rng.normal() * 0.5;
        env.step(a);
      }
    }
    env.close();
    assert.ok(reached >= episodes - 1, `${reached}/${episodes}`);
  });
}

test.run();
