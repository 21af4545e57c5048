import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runKdp } from '../helpers/cli.js';
import { COMMANDS } from '../../src/cli/registry.js';
import { main } from '../../src/cli/main.js';

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

test('every command that exists answers --help (one process, in-process dispatch)', async () => {
  const r = runKdp(['--help']);
  const listed = Object.keys(COMMANDS).filter((n) => r.stdout.includes(`  ${n} `));
  assert.ok(listed.length >= 15, `only ${listed.length} commands listed`);
  // spawning one process per command costs ~2 s each under tsx; dispatch in-process instead
  const chunks: string[] = [];
  const write = process.stdout.write.bind(process.stdout);
  (process.stdout as unknown as { write: (c: string) => boolean }).write = (c: string) => { chunks.push(String(c)); return true; };
  try {
    for (const name of listed) {
      chunks.length = 0;
      const code = await main([...name.split(' '), '--help']);
      assert.is(code, 0, name);
      assert.match(chunks.join(''), new RegExp(`Usage: kdp ${name}`));
      assert.match(chunks.join(''), /--json/);
    }
  } finally {
    (process.stdout as unknown as { write: typeof write }).write = write;
  }
});

test('a command run with a bad flag exits 2 and points at its --help', () => {
  const r = runKdp(['eval', '--no-such-flag']);
  assert.is(r.status, 2);
  assert.match(r.stderr, /kdp eval --help/);
});

test('--version prints the package version', () => {
  const r = runKdp(['--version']);
  assert.is(r.status, 0);
  assert.match(r.stdout.trim(), /^\d+\.\d+\.\d+/);
});

test.run();
