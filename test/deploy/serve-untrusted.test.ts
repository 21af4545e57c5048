// The serve agent's model loader on a signed folder whose model file was swapped for a FIFO, a symlink to
// /dev/zero or out of the folder: refused at once (a FIFO used to block the thread pool, and with it SIGINT).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createModelLoader } from '../../src/deploy/serve-agent.js';
import { generateSigningKey, signModelDir } from '../../src/deploy/keys.js';
import { IntegrityError } from '../../src/errors.js';
import { makeModelDir } from './fixtures.js';

const work = mkdtempSync(join(tmpdir(), 'kdp-serve-untrusted-'));
const key = generateSigningKey(join(work, 'deploy.key'));
const trusted = join(work, 'trusted_keys');
mkdirSync(trusted);
copyFileSync(key.publicKeyFile, join(trusted, `${key.keyId}.pub`));
writeFileSync(join(work, 'outside.bin'), Buffer.alloc(4096, 7));

test('FIFO, /dev/zero symlink, symlink out of the folder: IntegrityError within a second, no hang', async () => {
  const load = createModelLoader({ trustedKeysDir: trusted });
  const swaps: Array<[string, (f: string) => void, RegExp]> = [
    ['fifo', (f) => execFileSync('mkfifo', [f]), /not a regular file/],
    ['zero', (f) => symlinkSync('/dev/zero', f), /outside|not a regular file/],
    ['out', (f) => symlinkSync(join(work, 'outside.bin'), f), /outside/],
  ];
  for (const [name, swap, re] of swaps) {
    const dir = makeModelDir(work, name, 4096, 1);
    await signModelDir(dir, key.privateKeyFile);
    rmSync(join(dir, 'model.tflite'));
    swap(join(dir, 'model.tflite'));
    const t0 = performance.now();
    try { await load(dir); assert.unreachable(`${name} loaded`); } catch (e) {
      assert.instance(e, IntegrityError, String((e as Error)?.stack));
      assert.match((e as Error).message, re);
    }
    assert.ok(performance.now() - t0 < 1000, `${name}: ${performance.now() - t0} ms`);
  }
});

test.run();
