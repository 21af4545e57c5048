// A board's models folder with one signed, active slot of the shipped U-Maze model (what `kdp flash` leaves
// behind): trusted key installed, slot staged and activated. For the serve tests.
import { cpSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateSigningKey, signModelDir } from '../../src/deploy/keys.js';
import { activate } from '../../src/deploy/remote/kdp-slot.mjs';

export async function signedUmazeBoard(prefix: string): Promise<{ work: string; root: string; trustedKeysDir: string }> {
  const work = mkdtempSync(join(tmpdir(), prefix));
  const root = join(work, 'kdp');
  const key = generateSigningKey(join(work, 'deploy.key'));
  mkdirSync(join(root, 'trusted_keys'), { recursive: true });
  cpSync(key.publicKeyFile, join(root, 'trusted_keys', 'deploy.pub'));
  const model = join(work, 'src', 'umaze');
  cpSync('models/maze2d-umaze', model, { recursive: true });
  await signModelDir(model, key.privateKeyFile);
  cpSync(model, join(root, 'staging', 'umaze'), { recursive: true });
  await activate(root, 'umaze');
  return { work, root, trustedKeysDir: join(root, 'trusted_keys') };
}
