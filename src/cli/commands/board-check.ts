import type { CommandSpec } from '../command.js';
import { requireString } from '../command.js';
import { emitResult } from '../output.js';
import { checkHost, summarize } from '../../deploy/board-check.js';
import { listHostProfiles, loadHostProfile } from '../../boards/schema.js';

export const command: CommandSpec = {
  name: 'board check',
  summary: 'report what this host lacks for a board profile',
  description: 'Checks Node version, arch, cores and isolation, CPU governor, serial/USB permissions and groups,\n'
    + 'devices present and the udev rules against boards/hosts/<board>.json. Exit 1 if any check fails.\n'
    + `Profiles: ${listHostProfiles().join(', ')}`,
  options: {
    board: { type: 'string', placeholder: '<profile>', description: 'host profile name (boards/hosts/<name>.json) or a path to one' },
  },
  async run(ctx) {
    const profile = loadHostProfile(requireString(ctx, 'board', `one of: ${listHostProfiles().join(', ')}`));
    const checks = checkHost(profile);
    const summary = summarize(checks);
    const mark = { pass: 'PASS', warn: 'WARN', fail: 'FAIL' } as const;
    emitResult(ctx, { board: profile.name, checks, summary }, () => [
      `board check: ${profile.name} — ${profile.description}`,
      ...checks.map((c) => `  ${mark[c.status]}  ${c.id.padEnd(26)} ${c.message}${c.fix ? `\n        fix: ${c.fix}` : ''}`),
      `${summary.pass} pass, ${summary.warn} warn, ${summary.fail} fail`,
    ].join('\n'));
    return summary.fail > 0 ? 1 : 0;
  },
};
