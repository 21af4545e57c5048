import type { CommandSpec } from '../command.js';
import { optFlag, optString, optNumber } from '../command.js';
import { emitResult } from '../output.js';
import { UsageError } from '../../errors.js';
import { generateSigningKey, signModelDir } from '../../deploy/keys.js';

export const command: CommandSpec = {
  name: 'sign',
  summary: 'sign a model manifest (ed25519)',
  positionals: '[<model-dir>]',
  description: [
    'Signs models/X/manifest.json in place. The signature covers the manifest without its `signature` field',
    'in canonical JSON; the manifest records the model file\'s sha256 and size, so the .tflite bytes are covered too.',
    '',
    'Examples:',
    '  kdp sign --generate-key deploy.key          # writes deploy.key (0600) and deploy.key.pub',
    '  kdp sign --key deploy.key models/maze2d-umaze      # sign a model',
    'Install deploy.key.pub on boards once with `kdp flash --trust deploy.key.pub ...`.',
  ].join('\n'),
  options: {
    key: { type: 'string', placeholder: '<file>', description: 'ed25519 private key (PKCS#8 PEM)' },
    'generate-key': { type: 'string', placeholder: '<file>', description: 'create a new key pair <file> + <file>.pub and exit' },
    force: { type: 'boolean', description: 'with --generate-key: overwrite an existing key' },
    'model-version': { type: 'string', placeholder: 'N', description: 'monotonic release number signed into the manifest (default: the manifest\'s, else the signing time in seconds); boards refuse lower versions than they ran' },
  },
  async run(ctx) {
    const gen = optString(ctx, 'generate-key');
    if (gen !== undefined) {
      const r = generateSigningKey(gen, { force: optFlag(ctx, 'force') });
      emitResult(ctx, r, () => `wrote ${r.privateKeyFile} (private, 0600) and ${r.publicKeyFile} (public)\nkey id ${r.keyId}`);
      return 0;
    }
    const key = optString(ctx, 'key');
    const dir = ctx.positionals[0];
    if (!key || !dir) throw new UsageError('kdp sign needs --key <file> and a model directory', 'e.g. kdp sign --key deploy.key models/maze2d-umaze (or --generate-key deploy.key)');
    if (ctx.positionals.length > 1) throw new UsageError('kdp sign takes one model directory');
    const mv = optString(ctx, 'model-version');
    const r = await signModelDir(dir, key, mv === undefined ? {} : { modelVersion: optNumber(ctx, 'model-version', 0, { int: true, min: 0, max: Number.MAX_SAFE_INTEGER }) });
    emitResult(ctx, r, () => `signed ${r.manifestFile} (key id ${r.keyId}, model sha256 ${r.sha256.slice(0, 16)}…)`);
    return 0;
  },
};
