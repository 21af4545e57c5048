// `kdp bench --cpu-quota`: the cgroup it makes (v1 and v2 layouts, on a scratch tree standing in for
// /sys/fs/cgroup), the process really moved into it before the benchmark starts, the typed error when
// no CPU controller is available; `--cpus` + `--cpu-quota` usage errors through the real CLI.
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { KdpError } from '../../src/errors.js';
import { findCpuHierarchy, runUnderCpuQuota } from '../../src/bench/cpu-quota.js';
import { runKdp } from '../helpers/cli.js';

function fakeRoot(kind: 'v1' | 'v2' | 'none'): string {
  const root = mkdtempSync(join(tmpdir(), 'kdp-cg-'));
  if (kind === 'v1') { mkdirSync(join(root, 'cpu')); writeFileSync(join(root, 'cpu', 'cpu.cfs_quota_us'), '-1\n'); }
  if (kind === 'v2') writeFileSync(join(root, 'cgroup.subtree_control'), 'cpuset cpu io memory\n');
  return root;
}

// the child reports which group it was put in and the limit that group had when it started
const REPORT = `const fs=require('fs'),p=require('path'),d=process.env.CG_DIR_PARENT;const g=fs.readdirSync(d).find(n=>n.startsWith('kdp-bench-'));`
  + `const f=(n)=>{try{return fs.readFileSync(p.join(d,g,n),'utf8').trim()}catch{return null}};`
  + `console.log(JSON.stringify({procs:f('cgroup.procs'),pid:process.pid,max:f('cpu.max'),quota:f('cpu.cfs_quota_us'),period:f('cpu.cfs_period_us'),env:process.env.X}))`;

for (const kind of ['v1', 'v2'] as const) {
  test(`cgroup ${kind}: a child group limited to 25 % of a core (25000/100000 µs), the command runs inside it`, () => {
    const root = fakeRoot(kind);
    const h = findCpuHierarchy(root);
    assert.equal(h, kind === 'v2' ? { version: 2, dir: root } : { version: 1, dir: join(root, 'cpu') });
    const parent = typeof h === 'string' ? '' : h.dir;
    const out = join(root, 'out.json');
    const status = runUnderCpuQuota(25, ['/bin/sh', '-c', `"${process.execPath}" -e "${REPORT.replace(/"/g, '\\"')}" > "${out}"`],
      { ...process.env, CG_DIR_PARENT: parent, X: 'kept' }, root);
    assert.is(status, 0);
    const r = JSON.parse(readFileSync(out, 'utf8')) as { procs: string; max: string | null; quota: string | null; period: string | null; env: string };
    assert.match(r.procs, /^\d+$/, 'the shell wrote its pid into cgroup.procs before exec');
    if (kind === 'v2') assert.is(r.max, '25000 100000');
    else { assert.is(r.quota, '25000'); assert.is(r.period, '100000'); }
    assert.is(r.env, 'kept');
  });
}

test('no CPU controller → KdpError E_NO_CGROUP naming where it looked, with the systemd-run alternative', () => {
  const root = fakeRoot('none');
  assert.type(findCpuHierarchy(root), 'string');
  try {
    runUnderCpuQuota(50, ['/bin/true'], process.env, root);
    assert.unreachable('should throw');
  } catch (e) {
    assert.instance(e, KdpError);
    assert.is((e as KdpError).code, 'E_NO_CGROUP');
    assert.match((e as KdpError).message, new RegExp(`no cgroup CPU controller found under ${root}`));
    assert.match((e as KdpError).hint!, /systemd-run --scope -p CPUQuota=50%/);
  }
});

test('kdp bench --cpu-quota with a bad value is a usage error (exit 2), no stack trace', () => {
  const r = runKdp(['bench', '--model', 'models/fixtures/mlp-relu-int8.tflite', '--cpu-quota', 'half', '--json']);
  assert.is(r.status, 2);
  assert.is((JSON.parse(r.stdout) as { code: string }).code, 'E_USAGE');
  assert.not.match(r.stderr, /at .*\.ts:\d+/);
});

test.run();
