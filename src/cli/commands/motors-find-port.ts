import { createInterface } from 'node:readline/promises';
import type { CommandSpec } from '../command.js';
import { optFlag, optNumber, optString } from '../command.js';
import { emitResult, say } from '../output.js';
import { KdpError } from '../../errors.js';
import { listSerialPorts } from '../../links/serial.js';
import type { SerialPortEntry } from '../../links/serial.js';

export const command: CommandSpec = {
  name: 'motors find-port',
  summary: 'find the serial port of a motor bus adapter',
  description: [
    'Lists serial ports by scanning /dev (ttyACM*, ttyUSB*, ttyAMA*, ttyTHS*, /dev/serial/by-id; no udevadm needed),',
    'then finds the adapter the way lerobot-find-port does: unplug its USB cable and the port that disappears is it.',
    '',
    '  kdp motors find-port                   interactive: press Enter after unplugging',
    '  kdp motors find-port --list --json     just the list: {"ports":[{path,device,byId,usbId,product}]}',
    '  kdp motors find-port --wait 30 --json  scripted: watch for up to 30 s for a port to vanish (or appear)',
  ].join('\n'),
  options: {
    list: { type: 'boolean', description: 'only list the ports' },
    wait: { type: 'string', placeholder: 'S', description: 'scripted: poll for S seconds until a port is removed or added' },
    all: { type: 'boolean', description: 'include on-board ttyS* ports' },
    'dev-dir': { type: 'string', placeholder: '<dir>', description: 'directory to scan (default /dev; for tests)' },
  },
  async run(ctx) {
    const devDir = optString(ctx, 'dev-dir') ?? '/dev';
    const all = optFlag(ctx, 'all');
    const scan = (): SerialPortEntry[] => listSerialPorts({ devDir, all });
    const before = scan();
    const show = (ps: SerialPortEntry[]): string => ps.length ? ps.map((p) => `  ${p.path}${p.path !== p.device ? ` -> ${p.device}` : ''}${p.usbId ? `  [${p.usbId}${p.product ? ` ${p.product}` : ''}]` : ''}`).join('\n') : '  (none)';
    if (optFlag(ctx, 'list')) {
      emitResult(ctx, { ports: before }, () => `Serial ports:\n${show(before)}`);
      return 0;
    }
    const waitS = optString(ctx, 'wait') !== undefined ? optNumber(ctx, 'wait', 30, { min: 0.1, max: 3600 }) : undefined;
    let after: SerialPortEntry[];
    if (waitS !== undefined) {
      say(ctx, `Ports now:\n${show(before)}\nUnplug (or plug in) the motor bus adapter; watching for ${waitS} s...`);
      const t0 = Date.now();
      after = before;
      while (Date.now() - t0 < waitS * 1000 && !ctx.signal.aborted) {
        await new Promise((r) => setTimeout(r, 200));
        after = scan();
        if (diff(before, after).removed.length || diff(before, after).added.length) break;
      }
    } else {
      if (!process.stdin.isTTY) {
        emitResult(ctx, { ports: before }, () => `Serial ports:\n${show(before)}\n(not a terminal: use --wait S to detect the adapter by unplugging it)`);
        return 0;
      }
      say(ctx, `Ports now:\n${show(before)}`);
      const rl = createInterface({ input: process.stdin, output: process.stderr });
      await rl.question('Remove the USB cable from your motor bus adapter and press Enter when done.');
      rl.close();
      await new Promise((r) => setTimeout(r, 500)); // let the kernel remove the node
      after = scan();
    }
    const d = diff(before, after);
    if (d.removed.length === 1) {
      const p = d.removed[0]!;
      emitResult(ctx, { port: p.path, device: p.device, event: 'removed', ports: after }, () => `The port of this motor bus is ${p.path}\nReconnect the USB cable.`);
      return 0;
    }
    if (d.added.length === 1 && d.removed.length === 0) {
      const p = d.added[0]!;
      emitResult(ctx, { port: p.path, device: p.device, event: 'added', ports: after }, () => `The port of this motor bus is ${p.path}`);
      return 0;
    }
    throw new KdpError('E_PORT_NOT_FOUND', d.removed.length + d.added.length === 0
      ? 'no port appeared or disappeared'
      : `ambiguous: removed ${d.removed.map((p) => p.path).join(', ') || 'none'}, added ${d.added.map((p) => p.path).join(', ') || 'none'}`,
    { hint: 'unplug only the motor bus adapter and try again; `kdp motors find-port --list` shows the ports' });
  },
};

function diff(a: SerialPortEntry[], b: SerialPortEntry[]): { removed: SerialPortEntry[]; added: SerialPortEntry[] } {
  const had = new Set(a.map((p) => p.device));
  const has = new Set(b.map((p) => p.device));
  return { removed: a.filter((p) => !has.has(p.device)), added: b.filter((p) => !had.has(p.device)) };
}
