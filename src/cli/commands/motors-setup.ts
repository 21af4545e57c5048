import { createInterface } from 'node:readline/promises';
import type { CommandSpec } from '../command.js';
import { optChoice, optFlag, optNumber, requireString } from '../command.js';
import { emitResult, say } from '../output.js';
import { KdpError, UsageError } from '../../errors.js';
import { FeetechBus } from '../../devices/feetech/bus.js';
import { BAUD_CODES, baudCode } from '../../protocols/feetech/control-table.js';
import { JOINTS, loadSo100Config } from '../../devices/so100/config.js';
import type { JointName } from '../../devices/so100/config.js';
import { SerialTransport } from '../../links/serial.js';

export const command: CommandSpec = {
  name: 'motors setup',
  summary: 'assign ids and baud rate to Feetech servos one at a time',
  description: [
    'lerobot-setup-motors for the SO-100: connect ONE servo at a time to the adapter (gripper first, then wrist_roll,',
    '..., shoulder_pan); each is found by a broadcast ping at every baud rate, then given its id (1..6) and the bus baud.',
    '',
    '  kdp motors setup --port /dev/ttyACM0                      all six, interactive',
    '  kdp motors setup --port /dev/ttyACM0 --motor gripper --yes --json   one servo, scripted',
  ].join('\n'),
  options: {
    port: { type: 'string', placeholder: '<path>', description: 'serial port of the adapter (see `kdp motors find-port`)' },
    motor: { type: 'string', placeholder: '<joint>', description: `only this joint (${JOINTS.join('|')}); default all` },
    baud: { type: 'string', placeholder: 'N', description: 'target bus baud rate', default: '1000000' },
    yes: { type: 'boolean', description: 'do not wait for Enter (the right servo is already the only one connected)' },
  },
  async run(ctx) {
    const port = requireString(ctx, 'port', 'run `kdp motors find-port` to find it');
    const baud = optNumber(ctx, 'baud', 1_000_000, { int: true });
    const code = baudCode(baud);
    const cfg = loadSo100Config();
    const only = ctx.values.motor === undefined ? undefined : optChoice<JointName>(ctx, 'motor', JOINTS, 'gripper');
    const order = only ? [only] : [...JOINTS].reverse();
    // without a terminal the Enter prompts would wait forever: say how to script it instead
    if (!optFlag(ctx, 'yes') && !process.stdin.isTTY) {
      throw new UsageError('motors setup is interactive (it waits for Enter between servos) and stdin is not a terminal',
        'script it one servo at a time: --motor <joint> --yes');
    }
    const transport = new SerialTransport({ path: port, baudRate: baud });
    const bus = new FeetechBus({ transport, timeoutMs: 100, retries: 3 });
    await bus.open();
    const rl = optFlag(ctx, 'yes') ? undefined : createInterface({ input: process.stdin, output: process.stderr });
    const results: { joint: JointName; id: number; previousId: number; previousBaud: number; baud: number }[] = [];
    try {
      for (const joint of order) {
        const target = cfg.ids[joint];
        if (rl) await rl.question(`Connect the adapter to the '${joint}' servo only and press Enter.`);
        const found = await findSingleServo(bus, transport, baud);
        await bus.write(found.id, 'Torque_Enable', 0);
        await bus.write(found.id, 'Lock', 0);
        if (found.id !== target) await bus.write(found.id, 'ID', target);
        if (found.baud !== baud) {
          try { await bus.write(target, 'Baud_Rate', code); } catch { /* it may answer at the new rate */ }
          await transport.setBaudRate(baud);
        }
        if (!(await bus.probe(target, 200))) throw new KdpError('E_SETUP', `'${joint}': servo did not answer as id ${target} at ${baud} baud after setup`, { hint: 'power-cycle it and run the setup again' });
        results.push({ joint, id: target, previousId: found.id, previousBaud: found.baud, baud });
        say(ctx, `'${joint}' motor id set to ${target} (was ${found.id}), baud ${baud}`);
      }
    } finally {
      rl?.close();
      await bus.close();
    }
    emitResult(ctx, { port, motors: results }, () => `done: ${results.map((r) => `${r.joint}=${r.id}`).join(', ')}`);
    return 0;
  },
};

/** Broadcast-ping at each baud rate (the target first) until exactly one servo answers. */
async function findSingleServo(bus: FeetechBus, transport: SerialTransport, first: number): Promise<{ id: number; baud: number }> {
  for (const b of [first, ...BAUD_CODES.filter((x) => x !== first)]) {
    await transport.setBaudRate(b);
    const ids = await bus.broadcastPing(150);
    if (ids.length === 1) return { id: ids[0]!, baud: b };
    if (ids.length > 1) throw new KdpError('E_SETUP', `more than one servo answers at ${b} baud (ids ${ids.join(', ')})`, { hint: 'connect only the servo being set up' });
  }
  await transport.setBaudRate(first);
  throw new KdpError('E_SETUP', 'no servo answered at any baud rate', { hint: 'check the servo power supply and the cable to the adapter' });
}
