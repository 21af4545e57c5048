import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { ConfigError } from '../../src/errors.js';
import {
  BOARDS_DIR, ProfileError, SO100_JOINTS, listHostProfiles, listRobotProfiles, loadCrazyflieProfile, loadHostProfile,
  loadRobotProfile, loadSo100Profile,
} from '../../src/boards/schema.js';

const tmp = mkdtempSync(join(tmpdir(), 'kdp-boards-'));

function mutated(file: string, edit: (p: Record<string, any>) => void): string {
  const p = JSON.parse(readFileSync(join(BOARDS_DIR, file), 'utf8')) as Record<string, any>;
  edit(p);
  const out = join(tmp, `${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(out, JSON.stringify(p));
  return out;
}

function catchError(fn: () => unknown): unknown {
  try { fn(); } catch (e) { return e; }
  throw new Error('expected an error');
}

test('all shipped host profiles validate', () => {
  const names = listHostProfiles();
  for (const n of ['rpi4', 'rpi5', 'jetson-orin-nano', 'x86-dev']) assert.ok(names.includes(n), n);
  for (const n of names) {
    const h = loadHostProfile(n);
    assert.is(h.name, n);
    assert.ok(h.loop.planStepBudgetUs <= h.loop.tickBudgetUs);
    assert.ok(h.cpu.pinCores.every((c) => c < h.cpu.cores));
  }
});

test('robot profiles validate and carry the expected facts', () => {
  assert.equal(listRobotProfiles().sort(), ['crazyflie21', 'so100']);
  const cf = loadCrazyflieProfile();
  assert.is(cf.radio.usbIds.crazyradio, '1915:7777');
  assert.is(cf.radio.usbIds.crazyflieUsb, '0483:5740');
  const so = loadSo100Profile();
  assert.equal(so.joints.map((j) => j.name), [...SO100_JOINTS]);
  assert.equal(so.joints.map((j) => j.id), [1, 2, 3, 4, 5, 6]);
  assert.is(so.bus.baud, 1_000_000);
  assert.ok(so.controlRateHz.min >= 50 && so.controlRateHz.max <= 100);
  const r = loadRobotProfile('so100');
  assert.is(r.kind, 'so100');
});

test('a profile can be loaded by path', () => {
  const h = loadHostProfile(join(BOARDS_DIR, 'hosts', 'rpi5.json'));
  assert.is(h.name, 'rpi5');
});

test('wrong type → ProfileError (a ConfigError) naming file, pointer, expected, got', () => {
  const f = mutated('hosts/rpi5.json', (p) => { p.loop.rateHz = 'fast'; });
  const e = catchError(() => loadHostProfile(f));
  assert.ok(e instanceof ConfigError);
  assert.ok(e instanceof ProfileError);
  const pe = e as ProfileError;
  assert.is(pe.code, 'E_CONFIG');
  assert.is(pe.file, f);
  assert.is(pe.pointer, '/loop/rateHz');
  assert.is(pe.expected, 'number');
  assert.is(pe.got, '"fast"');
  assert.match(pe.message, f);
  assert.match(pe.message, '/loop/rateHz: expected number, got "fast"');
});

test('joint id out of range and duplicate ids are named by index', () => {
  const f = mutated('robots/so100.json', (p) => { p.joints[2].id = 300; });
  const e = catchError(() => loadRobotProfile(f)) as ProfileError;
  assert.is(e.pointer, '/joints/2/id');
  assert.match(e.expected, '253');
  assert.is(e.got, '300');
  const g = mutated('robots/so100.json', (p) => { p.joints[4].id = 1; });
  const e2 = catchError(() => loadSo100Profile(g)) as ProfileError;
  assert.is(e2.pointer, '/joints/4/id');
  assert.match(e2.expected, 'unique');
});

test('joint order, missing fields, unknown keys, enums and cross-field rules', () => {
  let e = catchError(() => loadSo100Profile(mutated('robots/so100.json', (p) => { [p.joints[0], p.joints[1]] = [p.joints[1], p.joints[0]]; }))) as ProfileError;
  assert.is(e.pointer, '/joints/0/name');
  e = catchError(() => loadHostProfile(mutated('hosts/rpi5.json', (p) => { delete p.cpu.governor; }))) as ProfileError;
  assert.is(e.pointer, '/cpu/governor');
  assert.is(e.got, 'nothing (missing)');
  e = catchError(() => loadHostProfile(mutated('hosts/rpi5.json', (p) => { p.cpu.governer = 'performance'; }))) as ProfileError;
  assert.match(e.expected, 'unknown field');
  assert.match(e.got, 'governer');
  e = catchError(() => loadHostProfile(mutated('hosts/rpi5.json', (p) => { p.cpu.governor = 'turbo'; }))) as ProfileError;
  assert.match(e.expected, '"performance"');
  e = catchError(() => loadHostProfile(mutated('hosts/rpi5.json', (p) => { p.cpu.pinCores = [7]; }))) as ProfileError;
  assert.is(e.pointer, '/cpu/pinCores/0');
  e = catchError(() => loadHostProfile(mutated('hosts/rpi5.json', (p) => { p.loop.tickBudgetUs = 30000; }))) as ProfileError;
  assert.is(e.pointer, '/loop/tickBudgetUs');
  e = catchError(() => loadCrazyflieProfile(mutated('robots/crazyflie21.json', (p) => { p.geofence.maxM[2] = -1; }))) as ProfileError;
  assert.is(e.pointer, '/geofence/maxM/2');
  e = catchError(() => loadCrazyflieProfile(mutated('robots/crazyflie21.json', (p) => { p.radio.usbIds.crazyradio = '1915-7777'; }))) as ProfileError;
  assert.is(e.pointer, '/radio/usbIds/crazyradio');
  assert.match(e.expected, 'vendor:product');
  e = catchError(() => loadRobotProfile(mutated('robots/crazyflie21.json', (p) => { p.kind = 'drone'; }))) as ProfileError;
  assert.is(e.pointer, '/kind');
});

test('unknown name and invalid JSON give ConfigErrors with hints', () => {
  const e = catchError(() => loadHostProfile('rpi9')) as ConfigError;
  assert.ok(e instanceof ConfigError);
  assert.match(e.message, 'rpi5');
  const bad = join(tmp, 'bad.json');
  writeFileSync(bad, '{ "kind": "host", }');
  const e2 = catchError(() => loadHostProfile(bad)) as ConfigError;
  assert.ok(e2 instanceof ConfigError);
  assert.match(e2.message, 'not valid JSON');
  assert.match(e2.message, bad);
});

test('udev rules cover the Crazyradio, Crazyflie USB and Feetech adapters', () => {
  const dir = join(BOARDS_DIR, 'udev');
  const text = readdirSync(dir).map((f) => readFileSync(join(dir, f), 'utf8')).join('\n');
  for (const [v, p] of [['1915', '7777'], ['0483', '5740'], ['1a86', '7523'], ['1a86', '55d3'], ['10c4', 'ea60'], ['0403', '6001']]) {
    assert.match(text, `ATTRS{idVendor}=="${v}", ATTRS{idProduct}=="${p}"`);
  }
  for (const h of listHostProfiles()) for (const r of loadHostProfile(h).udev.rules) assert.ok(readdirSync(dir).includes(r), r);
});

test.after(() => rmSync(tmp, { recursive: true, force: true }));
test.run();
