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
  // a readable report: one row per episode, the model named in words (not a JSON blob), a latency histogram
  const rows = md.split('\n').filter((l) => /^\| \d+ \| \d+ \| \(/.test(l));
  assert.is(rows.length, 4, md);
  for (const row of rows) {
    const cells = row.split('|').map((c) => c.trim());
    assert.match(cells[5]!, /^(\d+|—)$/, `steps to goal: ${row}`);
    assert.ok(Number.isFinite(Number(cells[6])) && Number.isFinite(Number(cells[7])), row);
  }
  assert.match(md, /\| model \| models\/maze2d-umaze \(int8, 6-bit weights\) \|/);
  assert.not.match(md, /\{"checkpoint"/, 'no raw provenance JSON');
  assert.match(md, /!\[histogram of per-plan latency\]\(latency\.svg\)/);
  const hist = readFileSync(join(out, 'latency.svg'), 'utf8');
  assert.match(hist, /plan latency \(µs, log scale\)/);
  assert.ok((hist.match(/<rect /g) ?? []).length > 3, 'bars');
  // the episode figure: big enough to read, with a caption and a legend naming every mark
  const svg = readFileSync(join(out, 'episode-000.svg'), 'utf8');
  const width = Number(/width="(\d+)"/.exec(svg)![1]);
  assert.ok(width >= 480, `width ${width}`);
  for (const label of ['executed path', 'candidate plans', 'start', 'goal (dashed: success radius 0.5)']) assert.match(svg, label);
  const human = runKdp(['demo', '--episodes', '1', '--out', join(out, 'h')]);
  assert.is(human.status, 0, human.stderr);
  assert.match(human.stdout, /normalized score .* success/);
  assert.match(human.stdout, /p50 [\d.]+ µs, p99 [\d.]+ µs/);
});

test.run();
