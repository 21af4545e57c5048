import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IntegrityError } from '../../src/errors.js';
import { loadPublicKey, readManifest, verifyManifest } from '../../src/deploy/keys.js';
import { canonicalJson, signedPayload } from '../../src/deploy/remote/kdp-slot.mjs';
import { runKdp } from '../helpers/cli.js';
import { makeModelDir } from './fixtures.js';

const work = mkdtempSync(join(tmpdir(), 'kdp-sign-'));
test.after(() => rmSync(work, { recursive: true, force: true }));

test('canonical JSON: sorted keys, no whitespace, rejects non-finite; payload drops `signature` only', () => {
  assert.is(canonicalJson({ b: [1, { d: 'x', c: null }], a: 1.5, z: undefined }), '{"a":1.5,"b":[1,{"c":null,"d":"x"}]}');
  assert.throws(() => canonicalJson({ a: NaN }), TypeError);
  assert.is(signedPayload({ b: 1, signature: { alg: 'ed25519' }, a: 2 }).toString(), '{"a":2,"b":1}');
});

test('kdp sign --generate-key, sign, verify; every manifest field and the model bytes are covered', () => {
  const key = join(work, 'deploy.key');
  let r = runKdp(['sign', '--generate-key', key, '--json']);
  assert.is(r.status, 0, r.stderr);
  const gen = JSON.parse(r.stdout) as { keyId: string; publicKeyFile: string };
  assert.is(statSync(key).mode & 0o777, 0o600);
  assert.match(readFileSync(gen.publicKeyFile, 'utf8'), 'BEGIN PUBLIC KEY');
  r = runKdp(['sign', '--generate-key', key]);
  assert.is(r.status, 1);
  assert.match(r.stderr, 'refusing to overwrite');

  const dir = makeModelDir(work, 'm', 8192);
  r = runKdp(['sign', '--key', key, dir, '--json']);
  assert.is(r.status, 0, r.stderr);
  const m = readManifest(dir);
  assert.is(m.signature?.keyId, gen.keyId);
  const pub = loadPublicKey(gen.publicKeyFile);
  assert.is(verifyManifest(m, [pub]), gen.keyId);
  // any field change breaks it (formatting does not)
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(m));
  assert.is(verifyManifest(readManifest(dir), [pub]), gen.keyId);
  for (const edit of [(x: any) => { x.normalizer.state.scale[0] = 2; }, (x: any) => { x.model.sha256 = 'f'.repeat(64); }, (x: any) => { x.candidates = 9; }, (x: any) => { x.extra = 1; }]) {
    const copy = JSON.parse(JSON.stringify(m)) as any;
    edit(copy);
    assert.throws(() => verifyManifest(copy, [pub]), (e: unknown) => e instanceof IntegrityError && /BAD SIGNATURE/.test((e as Error).message));
  }
  // signing refuses a model whose bytes do not match the manifest
  writeFileSync(join(dir, 'model.tflite'), Buffer.alloc(8192, 1));
  r = runKdp(['sign', '--key', key, dir]);
  assert.is(r.status, 1);
  assert.match(r.stderr, 'E_INTEGRITY');
  r = runKdp(['sign', dir]);
  assert.is(r.status, 2);
});

test.run();
