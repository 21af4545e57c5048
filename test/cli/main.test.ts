import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runKdp } from '../helpers/cli.js';
import { COMMANDS } from '../../src/cli/registry.js';

test('kdp --help lists commands and exits 0', () => {
  const r = runKdp(['--help']);
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, /Usage: kdp <command>/);
});

test('unknown command → usage error, exit 2, hint', () => {
  const r = runKdp(['frobnicate']);
  assert.is(r.status, 2);
  assert.match(r.stderr, /E_USAGE/);
  assert.match(r.stderr, /kdp --help/);
});

test('unknown command with --json prints a JSON error on stdout', () => {
  const r = runKdp(['frobnicate', '--json']);
  assert.is(r.status, 2);
  const parsed = JSON.parse(r.stdout.trim()) as { code: string };
  assert.is(parsed.code, 'E_USAGE');
});

test('every command that exists answers --help', () => {
  const r = runKdp(['--help']);
  const listed = Object.keys(COMMANDS).filter((n) => r.stdout.includes(`  ${n} `));
  assert.ok(listed.length > 0);
  for (const name of listed) {
    const h = runKdp([...name.split(' '), '--help']);
    assert.is(h.status, 0, `${name}: ${h.stderr}`);
    assert.match(h.stdout, new RegExp(`Usage: kdp ${name}`));
  }
});

test('--version prints the package version', () => {
  const r = runKdp(['--version']);
  assert.is(r.status, 0);
  assert.match(r.stdout.trim(), /^\d+\.\d+\.\d+/);
});

test.run();
