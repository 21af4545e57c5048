// SSH identities that cannot be used: typed E_CONFIG with a hint, before any connection (no E_INTERNAL stack).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeModelDir } from './fixtures.js';
import { runKdp } from '../helpers/cli.js';
import { generateSigningKey, signModelDir } from '../../src/deploy/keys.js';

const dir = mkdtempSync(join(tmpdir(), 'kdp-sshid-'));
const enc = join(dir, 'id_enc');
spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', 'right-pass', '-f', enc, '-C', 'kdp-test']);
const notKey = join(dir, 'notes.txt');
writeFileSync(notKey, 'this is not a key\n');
let model: string;

test.before(async () => {
  model = makeModelDir(dir, 'm', 4096, 1);
  const key = generateSigningKey(join(dir, 'deploy.key'));
  await signModelDir(model, key.privateKeyFile);
});

function flash(identity: string, env: Record<string, string> = {}): { status: number; stderr: string } {
  return runKdp(['flash', '--host', 'root@127.0.0.1', '--port', '1', '--identity', identity, '--known-hosts', notKey, '--model', model], { env });
}

test('encrypted key without / with a wrong passphrase, a file that is not a key, the .pub file: E_CONFIG with a hint', () => {
  const cases: Array<[string, Record<string, string>, RegExp]> = [
    [enc, {}, /encrypted and no passphrase was given/],
    [enc, { KDP_SSH_PASSPHRASE: 'wrong' }, /KDP_SSH_PASSPHRASE does not decrypt it/],
    [notKey, {}, /not a usable SSH private key/],
    [`${enc}.pub`, {}, /not a usable SSH private key/],
    [join(dir, 'missing'), {}, /cannot read SSH identity/],
  ];
  for (const [file, env, re] of cases) {
    const r = flash(file, env);
    assert.is(r.status, 1, r.stderr);
    assert.match(r.stderr, /error \[E_CONFIG\]/, r.stderr);
    assert.match(r.stderr, re);
    assert.match(r.stderr, /→ /);
    assert.not.match(r.stderr, /E_INTERNAL|\n\s+at /);
  }
});

test.run();
