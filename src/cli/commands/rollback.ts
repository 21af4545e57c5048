import type { CommandSpec } from '../command.js';
import { optFlag } from '../command.js';
import { emitResult } from '../output.js';
import { boardStatus, rollbackBoard } from '../../deploy/flash.js';
import { BOARD_SSH_OPTIONS, boardTarget } from './flash.js';

export const command: CommandSpec = {
  name: 'rollback',
  summary: 'switch a board back to its previous model slot',
  description: 'Verifies the previous slot again on the board, then swaps `active` and `previous` atomically.\n'
    + 'Example: kdp rollback --board rpi5 --host pi@raspberrypi.local',
  options: {
    status: { type: 'boolean', description: 'only show the active/previous slots' },
    ...BOARD_SSH_OPTIONS,
  },
  async run(ctx) {
    const target = boardTarget(ctx);
    const r = optFlag(ctx, 'status') ? await boardStatus(target) : await rollbackBoard(target);
    emitResult(ctx, r, () => [
      `board     ${r.board}  (${r.remoteDir})`,
      `active    ${r.active ?? '(none)'}`,
      `previous  ${r.previous ?? '(none)'}`,
    ].join('\n'));
    return 0;
  },
};
