// A user's mistake on any command gives a typed error — exit 2 for usage, 1 for a bad file/device — with the
// stable code, and never a stack trace. One table row per command (the audit of every command).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runKdp } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'kdp-mistakes-'));
const existing = join(dir, 'existing');
writeFileSync(existing, '');
const layouts = join(dir, 'nav.hdf5.layouts.json');
writeFileSync(layouts, JSON.stringify({ episodes: [{ obstacles: [{ type: 'cylinder', x: 1, y: 0, radius: 0.1, height: 2 }] }] }));
const notJson = join(dir, 'in.json');
writeFileSync(notJson, '{"inputs": 3}');

const CASES: [args: string[], exit: number, code: string, message: RegExp][] = [
  [['dataset', 'maze2d', '--maze', 'nope'], 2, 'E_USAGE', /unknown maze "nope"/],
  [['dataset', 'so100-reach', '--episodes', '0'], 2, 'E_USAGE', /--episodes must be ≥ 1/],
  [['dataset', 'info', join(dir, 'missing.hdf5')], 1, 'E_DATASET', /not found/],
  [['dataset', 'info', layouts], 1, 'E_DATASET', /not an HDF5 file/],
  [['train', '--dataset', 'x'], 2, 'E_USAGE', /--env is required/],
  [['train', '--bogus'], 2, 'E_USAGE', /Unknown option '--bogus'/],
  [['train-scorer', '--out', join(dir, 'sc')], 2, 'E_USAGE', /--checkpoint RUN or --model DIR/],
  [['train-scorer', '--model', dir, '--out', join(dir, 'sc')], 1, 'E_MODEL_IO', /has no manifest\.json/],
  [['export', '--model', 'models/maze2d-umaze', '--scorer', dir, '--out', join(dir, 'm2')], 1, 'E_CHECKPOINT', /no scorer\.json/],
  [['eval', '--model', 'models/so100-reach'], 2, 'E_USAGE', /kdp arm/],
  [['ablate', 'modes', '--variants', 'foo'], 2, 'E_USAGE', /unknown variant "foo"/],
  [['export', '--checkpoint', dir, '--out', join(dir, 'm')], 1, 'E_CHECKPOINT', /no checkpoint\.json/],
  [['infer', '--model', 'models/maze2d-umaze', '--input', notJson], 2, 'E_USAGE', /"inputs" must be an array/],
  [['bench', '--model', join(dir, 'nope')], 1, 'E_MODEL_IO', /model not found/],
  [['eval', '--model', 'models/cf-nav'], 2, 'E_USAGE', /crazyflie-nav" has no in-process closed-loop simulator/],
  [['eval', '--model', 'models/maze2d-umaze', '--env', 'maze2d-tiny'], 1, 'E_UNKNOWN_ENV', /use one of: maze2d-umaze/],
  [['demo', '--model', join(dir, 'nope')], 1, 'E_MODEL_IO', /no model directory/],
  [['fly', '--uri', 'tcp://127.0.0.1:1', '--goal', '0.5,0,0.5'], 2, 'E_USAGE', /unsupported link URI "tcp:/],
  [['fly', '--goal', '1.5,0,0.5'], 2, 'E_USAGE', /outside the geofence[\s\S]*--geofence -0\.5/],
  [['fly', '--goal', '0.9,0,0.5', '--obstacles', 'examples/layouts/one-cylinder.json'], 2, 'E_USAGE', /inside .*the cylinder at x=0\.9/],
  [['fly', '--goal', '0.5,0,0.5', '--obstacles', layouts], 1, 'E_CONFIG', /dataset's layouts file with 1 episodes[\s\S]*#0/],
  [['fly', '--goal', '0.5,0,0.5', '--obstacles', notJson], 1, 'E_CONFIG', /no "obstacles" array[\s\S]*expected \{"obstacles"/],
  [['fly', '--goal', '0.5,0,0.5', '--mavlink', 'udp:nohost.invalid', '--uri', 'udp://127.0.0.1:9'], 2, 'E_USAGE', /cannot resolve host/],
  [['arm', '--port', join(dir, 'nope'), '--target', '0.2,0,0.1'], 1, 'E_TRANSPORT', /cannot open/],
  [['arm', '--port', join(dir, 'nope'), '--task', 'pick-place', '--cube', '0.2,0.05'], 2, 'E_USAGE', /--task pick-place needs --place x,y/],
  [['arm', '--port', join(dir, 'nope'), '--task', 'pick-place', '--cube', '0.6,0', '--place', '0.2,0'], 2, 'E_USAGE', /--cube 0\.6,0 is out of the arm's pick-and-place reach/],
  [['arm', '--port', join(dir, 'nope'), '--task', 'pick-place', '--target', '0.2,0,0.1'], 2, 'E_USAGE', /--target is for --task reach/],
  [['arm', '--port', join(dir, 'nope'), '--task', 'stack'], 2, 'E_USAGE', /--task stack is not supported/],
  [['dataset', 'so100-pick-place', '--noise', '-1'], 2, 'E_USAGE', /--noise/],
  [['sim', 'so100', '--pty', join(dir, 'newpty'), '--cube', '0.9,0'], 2, 'E_USAGE', /--cube 0\.9,0 is beyond the arm's reach/],
  [['sim', 'crazyflie', '--udp', '10.0.0.1:5'], 2, 'E_USAGE', /loopback/],
  [['sim', 'so100', '--pty', existing], 2, 'E_USAGE', /already exists/],
  [['sim', 'so100', '--serve', join(dir, 'nope')], 2, 'E_USAGE', /does not exist/],
  [['motors', 'setup', '--port', join(dir, 'nope'), '--motor', 'gripper', '--yes'], 1, 'E_TRANSPORT', /cannot open/],
  [['motors', 'setup', '--port', join(dir, 'nope')], 2, 'E_USAGE', /interactive[\s\S]*--yes/],
  [['calibrate', 'so100', '--port', join(dir, 'nope'), '--id', 'x'], 1, 'E_TRANSPORT', /cannot open/],
  [['board', 'check', '--board', 'nope'], 1, 'E_CONFIG', /unknown host board profile/],
  [['sign', '--key', join(dir, 'nope.key'), 'models/maze2d-umaze'], 1, 'E_CONFIG', /cannot read signing key/],
  [['flash', '--board', 'rpi5', '--host', 'x'], 2, 'E_USAGE', /--model is required/],
  [['rollback'], 2, 'E_USAGE', /--host is required/],
  [['serve', '--models', join(dir, 'nope'), '--duration', '1'], 1, 'E_INTEGRITY', /no loadable model/],
];

for (const [args, exit, code, message] of CASES) {
  test(`kdp ${args.join(' ')} → exit ${exit}, ${code}, no stack trace`, () => {
    const r = runKdp([...args, '--json'], { timeoutMs: 60_000 });
    assert.is(r.status, exit, r.stderr);
    const err = JSON.parse(r.stdout.trim().split('\n').pop()!) as { code: string; message: string };
    assert.is(err.code, code);
    assert.match(err.message, message);
    assert.not.match(r.stderr, /E_INTERNAL|\n\s+at .+:\d+:\d+\)?$/m, r.stderr);
  });
}

test('kdp fly without --obstacles warns that the planner assumes an empty field', () => {
  const r = runKdp(['fly', '--goal', '0.5,0,0.5', '--uri', 'udp://127.0.0.1:9', '--timeout', '1', '--link-timeout', '100'], { timeoutMs: 60_000 });
  assert.match(r.stderr, /warning: no --obstacles given: the planner assumes an empty field/);
  assert.is(r.status, 1, r.stderr); // nobody listens on port 9: link lost, a typed error
  assert.match(r.stderr, /E_DISCONNECTED/);
});

test.run();
