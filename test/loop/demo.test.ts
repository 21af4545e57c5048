import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runKdp } from '../helpers/cli.js';

test('kdp demo (npm start) runs the shipped umaze model closed-loop and writes a report', () => {
  const out = join(mkdtempSync(join(tmpdir(), 'kdp-demo-')), 'demo');
  const r = runKdp(['demo', '--episodes', '4', '--out', out, '--json']);
  assert.is(r.status, 0, r.stderr);
  const res = JSON.parse(r.stdout.trim().split('\n').pop()!) as { normalizedScore: number; successRate: number; candidates: number; planLatencyUs: { p50: number; p99: number }; report: string };
  assert.is(res.candidates, 64);
  assert.ok(res.planLatencyUs.p50 > 0);
  assert.ok(res.successRate >= 0.75, `success ${res.successRate}: the shipped model should reach the goal`);
  assert.ok(res.normalizedScore > 80, `score ${res.normalizedScore}`);
  const md = readFileSync(res.report, 'utf8');
  assert.match(md, /normalized score/);
  assert.ok(existsSync(join(out, 'episode-000.svg')));
  const human = runKdp(['demo', '--episodes', '1', '--out', join(out, 'h')]);
  assert.is(human.status, 0, human.stderr);
  assert.match(human.stdout, /normalized score .* success/);
  assert.match(human.stdout, /p50 [\d.]+ µs, p99 [\d.]+ µs/);
});

test.run();
