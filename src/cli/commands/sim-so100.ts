import { existsSync, lstatSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { basename, dirname, join, resolve } from 'node:path';
import type { CommandSpec } from '../command.js';
import { optFlag, optNumber, optString, optVector } from '../command.js';
import { say } from '../output.js';
import { UsageError } from '../../errors.js';
import { createPtyPair } from '../../sim/so100/pty-pair.js';
import type { PtyPair } from '../../sim/so100/pty-pair.js';
import { FAULT_NAMES, SimSo100, leaderSweep } from '../../sim/so100/sim-so100.js';
import type { FaultName, SimCommand } from '../../sim/so100/sim-so100.js';

/** A dangling symlink (a stale --pty link) does not "exist" for existsSync. */
function isLink(p: string): boolean {
  try { return lstatSync(p).isSymbolicLink(); } catch { return false; }
}

export const command: CommandSpec = {
  name: 'sim so100',
  summary: 'simulated SO-100 servo bus on a pty',
  description: [
    'Answers as six Feetech STS3215 servos (ids 1..6) on a serial line, the joints moved by a MuJoCo model of the',
    'SO-100. With --pty PATH it creates a socat pty pair and links PATH for the host side (give PATH to',
    '`kdp calibrate so100 --port PATH`, `kdp arm --port PATH`, ...); PATH must not exist yet (it is refused rather',
    'than replaced). With --serve TTY it answers on one end of a pair you made yourself, e.g.',
    '  socat -d -d pty,raw,echo=0,link=/tmp/host pty,raw,echo=0,link=/tmp/dev &   kdp sim so100 --serve /tmp/dev',
    'and the host side is then /tmp/host. --hand-sweep moves the limp arm through its range after a calibration\'s',
    'homing step (what a user does by hand), so `kdp calibrate so100 --yes` records ranges of motion.',
    '',
    'Control channel: one JSON object per line on stdin; the answer is one JSON line on stdout:',
    '  {"cmd":"state"}                                 joints, end effector, per-servo registers',
    '  {"cmd":"fault","id":3,"fault":"overload"}       overload|voltage|overheat|angle|silent (add "on":false to clear)',
    '  {"cmd":"clear"}                                 clear all faults ("id": n for one servo)',
    '  {"cmd":"move","joints":[0,0.3,0.2,0,0,0]}     move the arm by hand (rad, joint order; torque-off poses)',
    '  {"cmd":"garbage","bytes":7}                     prepend line noise to the next reply',
    '  {"cmd":"echo","on":true}                        echo instructions like a half-duplex adapter',
    '  {"cmd":"cube","x":0.2,"y":0.05}                 put the cube back at rest at x,y (needs --cube)',
    'With --cube x,y a 3 cm, 30 g cube rests on the table at x,y (m): MuJoCo contact and friction with the jaws and the',
    'table, so a grasp holds or slips physically. Its pose is ground truth for scoring, in {"cmd":"state"} ("cube":',
    '{"pos","quat"}); `kdp arm --task pick-place` never reads it (the cube position is its --cube input).',
    'With --leader-pty PATH a second bus answers on its own pty pair: a leader arm (six STS3215, torque off) whose',
    'joints sweep slowly through a scripted motion, as if an operator moved it, for `kdp record --leader-port PATH`.',
    'The control channel drives the follower (--pty) arm.',
    'SIGUSR1 injects an overload on servo 2 (shoulder_lift), SIGUSR2 clears all faults.',
    'With --json the first stdout line is {"event":"ready","pty":...,"simPty":...,"socatPid":...,"pid":...}.',
    '',
    'Examples:',
    '  kdp sim so100 --pty /tmp/so100 --hand-sweep &   kdp calibrate so100 --port /tmp/so100 --id sim_arm --yes --range-seconds 5',
    '  kdp sim so100 --pty /tmp/so100 --fault overload:3 --silent 6',
    '  kdp sim so100 --pty /tmp/so100 --cube 0.2,0.05 &   kdp arm --port /tmp/so100 --task pick-place --cube 0.2,0.05 --place 0.18,-0.1 --json',
    '  kdp sim so100 --pty /tmp/follower --leader-pty /tmp/leader &   kdp record --robot so100 --leader-port /tmp/leader --follower-port /tmp/follower --task "follow" --episodes 2 --out data/sim-teleop',
  ].join('\n'),
  options: {
    pty: { type: 'string', placeholder: '<path>', description: 'create a socat pty pair and link <path> for the host side' },
    'leader-pty': { type: 'string', placeholder: '<path>', description: 'also simulate a leader arm (scripted motion) on its own pty pair linked at <path>' },
    serve: { type: 'string', placeholder: '<tty>', description: 'serve an existing pty/tty instead of creating a pair' },
    ids: { type: 'string', placeholder: '<ids>', description: 'servo ids in joint order (default 1,2,3,4,5,6)' },
    joints: { type: 'string', placeholder: '<rad,...>', description: 'initial joint angles (six numbers, rad)' },
    cube: { type: 'string', placeholder: '<x,y>', description: 'put a cube on the table at x,y (m) for pick-and-place' },
    echo: { type: 'boolean', description: 'echo every instruction back (half-duplex adapter)' },
    'hand-sweep': { type: 'boolean', description: 'after a calibration\'s homing step, move every joint ±0.4 rad about its pose (twice, 3 s), as a user would' },
    fault: { type: 'string', multiple: true, placeholder: '<kind:id>', description: `start with a fault (${FAULT_NAMES.join('|')}:id), repeatable` },
    silent: { type: 'string', placeholder: '<id>', description: 'servo id that never answers' },
    'return-delay': { type: 'string', placeholder: 'N', description: 'Return_Delay_Time register (×2 µs) for every servo', default: '0' },
    baud: { type: 'string', placeholder: 'N', description: 'baud rate to open the pty with', default: '1000000' },
  },
  async run(ctx) {
    const ptyPath = optString(ctx, 'pty');
    const servePath = optString(ctx, 'serve');
    if ((ptyPath === undefined) === (servePath === undefined)) throw new UsageError('give exactly one of --pty <path> or --serve <tty>', 'e.g. kdp sim so100 --pty /tmp/so100');
    if (ptyPath !== undefined && (existsSync(ptyPath) || isLink(ptyPath))) {
      throw new UsageError(`--pty ${ptyPath} already exists: it would be replaced by a new pty pair`,
        'pick a new path, remove the old link, or answer on your own pair with --serve <tty>');
    }
    if (servePath !== undefined && !existsSync(servePath)) throw new UsageError(`--serve ${servePath} does not exist`, 'give one end of an existing pty pair (socat … link=PATH)');
    const idsRaw = optString(ctx, 'ids');
    const ids = idsRaw ? idsRaw.split(',').map((s) => Number(s.trim())) : [1, 2, 3, 4, 5, 6];
    if (ids.some((i) => !Number.isInteger(i) || i < 0 || i > 253) || ids.length < 1 || ids.length > 6) throw new UsageError(`--ids must be 1..6 ids in 0..253, got "${idsRaw}"`);
    const joints = optVector(ctx, 'joints', 6);
    const cube = optVector(ctx, 'cube', 2) as [number, number] | undefined;
    if (cube && Math.hypot(cube[0], cube[1]) > 0.45) throw new UsageError(`--cube ${cube.join(',')} is beyond the arm's reach`, 'the cube goes on the table within 0.45 m of the base, e.g. --cube 0.2,0.05');
    const returnDelay = optNumber(ctx, 'return-delay', 0, { int: true, min: 0, max: 254 });
    const baud = optNumber(ctx, 'baud', 1_000_000, { int: true, min: 1 });
    const sim = await SimSo100.create({ ids, echo: optFlag(ctx, 'echo'), returnDelay, ...(joints ? { joints } : {}), ...(cube ? { cube } : {}) });
    const faults = (ctx.values.fault as string[] | undefined) ?? [];
    for (const f of faults) {
      const [kind, id] = f.split(':');
      if (!FAULT_NAMES.includes(kind as FaultName) || !Number.isInteger(Number(id))) throw new UsageError(`--fault must be kind:id with kind ${FAULT_NAMES.join('|')}, got "${f}"`);
      sim.command({ cmd: 'fault', id: Number(id), fault: kind as FaultName });
    }
    const silent = optString(ctx, 'silent');
    if (silent !== undefined) sim.command({ cmd: 'fault', id: Number(silent), fault: 'silent' });

    const leaderPath = optString(ctx, 'leader-pty');
    if (leaderPath !== undefined && ptyPath !== undefined && resolve(leaderPath) === resolve(ptyPath)) throw new UsageError('--leader-pty must differ from --pty', 'e.g. --pty /tmp/follower --leader-pty /tmp/leader');
    let leader: SimSo100 | undefined;
    let leaderPair: PtyPair | undefined;
    let pair: PtyPair | undefined;
    let simSide: string;
    if (ptyPath !== undefined) {
      const a = resolve(ptyPath);
      const b = join(dirname(a), `.${basename(a)}.sim`);
      pair = await createPtyPair(a, b);
      simSide = b;
    } else simSide = resolve(servePath!);
    try {
      if (leaderPath !== undefined) {
        const a = resolve(leaderPath);
        leaderPair = await createPtyPair(a, join(dirname(a), `.${basename(a)}.sim`));
        leader = await SimSo100.create({ ids, motion: leaderSweep });
        await leader.serve(leaderPair.b, baud);
        leader.start();
      }
      await sim.serve(simSide, baud);
      sim.start();
      if (optFlag(ctx, 'hand-sweep')) sim.startHandSweep();
      const ready = {
        event: 'ready', pty: ptyPath !== undefined ? resolve(ptyPath) : undefined, simPty: simSide, socatPid: pair?.pid, pid: process.pid, ids,
        ...(leaderPair ? { leaderPty: leaderPair.a, leaderSocatPid: leaderPair.pid } : {}),
      };
      if (ctx.json) process.stdout.write(JSON.stringify(ready) + '\n');
      else say(ctx, `SO-100 simulator: servos ${ids.join(',')} on ${ready.pty ?? simSide} (1 Mbaud)${leaderPair ? `, leader arm on ${leaderPair.a}` : ''}. JSON commands on stdin; Ctrl-C to stop.`);

      const onUsr1 = (): void => { sim.command({ cmd: 'fault', id: ids[1] ?? ids[0]!, fault: 'overload' }); };
      const onUsr2 = (): void => { sim.command({ cmd: 'clear' }); };
      process.on('SIGUSR1', onUsr1);
      process.on('SIGUSR2', onUsr2);
      const rl = createInterface({ input: process.stdin, terminal: false });
      rl.on('line', (line) => {
        const text = line.trim();
        if (!text) return;
        let out: unknown;
        try { out = sim.command(JSON.parse(text) as SimCommand); } catch (e) { out = { error: (e as Error).message }; }
        process.stdout.write(JSON.stringify(out) + '\n');
      });
      await new Promise<void>((res) => {
        if (ctx.signal.aborted) { res(); return; }
        ctx.signal.addEventListener('abort', () => res(), { once: true });
        pair?.exited.then(() => res(), () => res());
        leaderPair?.exited.then(() => res(), () => res());
      });
      rl.close();
      process.off('SIGUSR1', onUsr1);
      process.off('SIGUSR2', onUsr2);
      process.stdin.destroy();
    } finally {
      await sim.close();
      await pair?.close();
      await leader?.close();
      await leaderPair?.close();
    }
    return 0;
  },
};
