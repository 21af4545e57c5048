// Obstacle layout files: the shipped examples load, `writeObstacles` (kdp sim crazyflie --write-layout) writes what
// `loadObstacles` (kdp fly --obstacles) reads, a dataset's layouts.json is read as FILE#i, and a wrong file says
// what is expected.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../../../src/errors.js';
import { CF21 } from '../../../src/devices/crazyflie/vehicle.js';
import { loadObstacles, obstacleAt, writeObstacles } from '../../../src/envs/cf-nav/obstacles.js';

const dir = mkdtempSync(join(tmpdir(), 'kdp-layouts-'));
const EXAMPLES = new URL('../../../examples/layouts/', import.meta.url);

test('every shipped example loads; its start and goal notes lie in free space', () => {
  const files = readdirSync(EXAMPLES).filter((f) => f.endsWith('.json'));
  assert.ok(files.length >= 2, files.join());
  for (const f of files) {
    const path = new URL(f, EXAMPLES).pathname;
    const obstacles = loadObstacles(path);
    assert.ok(obstacles.length > 0, f);
    const notes = JSON.parse(readFileSync(path, 'utf8')) as { start?: number[]; goal?: number[] };
    for (const p of [notes.start, notes.goal]) if (p) assert.is(obstacleAt(obstacles, p, CF21.bodyRadiusM), undefined, `${f}: ${p} inside an obstacle`);
  }
});

test('writeObstacles → loadObstacles round trip, with the start as a note', () => {
  const obstacles = loadObstacles(new URL('nav-field.json', EXAMPLES).pathname);
  const out = join(dir, 'written.json');
  writeObstacles(out, obstacles, { start: [0, 0, 0.015] });
  assert.equal(loadObstacles(out), obstacles);
  assert.equal((JSON.parse(readFileSync(out, 'utf8')) as { start: number[] }).start, [0, 0, 0.015]);
});

test('a dataset layouts.json: FILE#i picks episode i; without #i or out of range a ConfigError says what to do', () => {
  const f = join(dir, 'nav.hdf5.layouts.json');
  const ep = (x: number) => ({ obstacles: [{ type: 'cylinder', x, y: 0, radius: 0.1, height: 2 }], start: [0, 0, 0.5], goal: [2, 0, 0.5] });
  writeFileSync(f, JSON.stringify({ seed: 0, episodes: [ep(1), ep(1.5)] }));
  assert.is((loadObstacles(`${f}#1`)[0] as { x: number }).x, 1.5);
  assert.throws(() => loadObstacles(f), (e: unknown) => e instanceof ConfigError && /2 episodes/.test(e.message) && /#0 … .*#1/.test(e.hint ?? ''));
  assert.throws(() => loadObstacles(`${f}#2`), (e: unknown) => e instanceof ConfigError && /#2 does not exist/.test(e.message));
});

test('a file of the wrong shape: the error shows the expected format', () => {
  const f = join(dir, 'bad.json');
  writeFileSync(f, JSON.stringify({ obstacles: [{ type: 'cone', x: 0 }] }));
  assert.throws(() => loadObstacles(f), (e: unknown) => e instanceof ConfigError && /invalid obstacle layout at \/obstacles\/0/.test(e.message) && /"type":"cylinder"/.test(e.hint ?? ''));
});

test.run();
