import type { CommandContext, CommandSpec, OptionSpec } from '../command.js';
import { optNumber, optString, requireString } from '../command.js';
import { emitResult, say } from '../output.js';
import { createProgress } from '../progress.js';
import { loadHostProfile, type HostProfile } from '../../boards/schema.js';
import { flashModel, type BoardTarget } from '../../deploy/flash.js';
import { parseSshTarget } from '../../deploy/ssh.js';
import { UsageError } from '../../errors.js';

/** SSH/board options shared by `kdp flash` and `kdp rollback`. */
export const BOARD_SSH_OPTIONS: Record<string, OptionSpec> = {
  host: { type: 'string', placeholder: '<user@host>', description: 'the board, e.g. pi@raspberrypi.local (user defaults to the profile\'s deploy.user)' },
  board: { type: 'string', placeholder: '<profile>', description: 'host profile (boards/hosts/<name>.json): default user and remote dir' },
  port: { type: 'string', placeholder: 'N', description: 'SSH port (default 22)' },
  identity: { type: 'string', placeholder: '<file>', description: 'SSH private key (default ~/.ssh/id_ed25519, id_ecdsa, id_rsa, then ssh-agent); key auth only' },
  'known-hosts': { type: 'string', placeholder: '<file>', description: 'known_hosts file checked for the board\'s host key (default ~/.ssh/known_hosts); unknown hosts are refused' },
  'remote-dir': { type: 'string', placeholder: '<dir>', description: 'deployment root on the board (default: profile deploy.remoteDir, else ~/kdp)' },
  'remote-verifier': { type: 'string', placeholder: 'auto|shell', description: 'board-side check: auto = node if present, else openssl + sha256sum; shell = force the latter' },
  'remote-node': { type: 'string', placeholder: '<path>', description: 'node binary on the board if not on the non-interactive PATH (e.g. nvm installs)' },
};

export function boardTarget(ctx: CommandContext): BoardTarget {
  const boardName = optString(ctx, 'board');
  const profile: HostProfile | undefined = boardName ? loadHostProfile(boardName) : undefined;
  const { user, host } = parseSshTarget(requireString(ctx, 'host', 'e.g. --host pi@raspberrypi.local'), profile?.deploy.user);
  const verifier = optString(ctx, 'remote-verifier') ?? 'auto';
  if (verifier !== 'auto' && verifier !== 'shell') throw new UsageError(`--remote-verifier must be auto|shell, got "${verifier}"`);
  const t: BoardTarget = {
    host, user, port: optNumber(ctx, 'port', 22, { int: true, min: 1, max: 65535 }),
    remoteDir: optString(ctx, 'remote-dir') ?? profile?.deploy.remoteDir ?? '~/kdp', remoteVerifier: verifier,
  };
  const identity = optString(ctx, 'identity');
  if (identity) t.identityFile = identity;
  const kh = optString(ctx, 'known-hosts');
  if (kh) t.knownHostsFile = kh;
  const node = optString(ctx, 'remote-node');
  if (node) t.remoteNode = node;
  return t;
}

export const command: CommandSpec = {
  name: 'flash',
  summary: 'deploy a model to a companion board over SSH (atomic, signed)',
  description: [
    'Uploads models/X (manifest.json + the model file it names) to <remote-dir>/staging/<slot>, verifies the sha256',
    'and the ed25519 signature ON THE BOARD against <remote-dir>/trusted_keys, then switches <remote-dir>/active to',
    'the new slot atomically (symlink + rename). The previous slot is kept for `kdp rollback`.',
    'The board refuses a model whose signed modelVersion is lower than the newest it ran (replay protection;',
    '`kdp rollback` is the explicit way back), and a model whose env does not fit the board\'s robot (--robot).',
    'The board\'s host key must already be in known_hosts. See docs/operations.md.',
    '',
    'Example: kdp flash --board rpi5 --host pi@raspberrypi.local --model models/maze2d-umaze --trust deploy.key.pub',
  ].join('\n'),
  options: {
    model: { type: 'string', placeholder: '<dir>', description: 'signed model directory (kdp export + kdp sign)' },
    trust: { type: 'string', placeholder: '<key.pub>', description: 'install this public key in the board\'s trusted_keys first (provisioning)' },
    robot: { type: 'string', placeholder: '<profile>', description: 'robot profile the board drives (default: the board profile\'s deploy.robot); models for another env are refused' },
    ...BOARD_SSH_OPTIONS,
  },
  async run(ctx) {
    const modelDir = requireString(ctx, 'model', 'e.g. --model models/maze2d-umaze');
    const target = boardTarget(ctx);
    const trust = optString(ctx, 'trust');
    const boardName = optString(ctx, 'board');
    const robot = optString(ctx, 'robot') ?? (boardName ? loadHostProfile(boardName).deploy.robot : undefined);
    let progress: ReturnType<typeof createProgress> | undefined;
    const r = await flashModel({
      ...target, modelDir, signal: ctx.signal,
      ...(trust ? { trustKeyFile: trust } : {}),
      ...(robot ? { robot } : {}),
      onProgress: (sent, total) => {
        progress ??= createProgress('upload', total, { json: ctx.json, intervalMs: 500 });
        progress.update(sent);
      },
    });
    progress?.stop();
    say(ctx, `verified on the board (${r.verifier}); active slot switched`);
    emitResult(ctx, r, () => [
      `board     ${r.board}  (${r.remoteDir})`,
      `active    ${r.active}`,
      `previous  ${r.previous ?? '(none)'}`,
      `sha256    ${r.sha256 ?? ''}`,
    ].join('\n'));
    return 0;
  },
};
