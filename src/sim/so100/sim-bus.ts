/**
 * The wire side of the simulator: parses instruction packets (with the same scanner as the host) and
 * answers as a set of `SimServo`s with real status packets: PING, READ, WRITE, REG_WRITE, ACTION,
 * SYNC_READ, SYNC_WRITE, RESET. Replies honour Response_Status_Level, Return_Delay_Time (×2 µs, emulated with
 * timer resolution: 0 = at once, otherwise ≥ 1 ms) and the servos' faults (error bits; a silent servo never
 * answers). Options emulate a half-duplex adapter that echoes the host's bytes and line noise.
 */
import { BROADCAST_ID, Instruction } from '../../protocols/feetech/control-table.js';
import { FRAME_OK, encodeStatus, newFrameView, newScanStats, scanFrame } from '../../protocols/feetech/packet.js';
import { SimServo } from './servo.js';
import { Rng } from '../../util/rng.js';

export interface SimBusOptions {
  ids?: number[];
  /** Echo every received instruction back before the replies (half-duplex adapter). */
  echo?: boolean;
}

export interface SimBusStats {
  instructions: number;
  replies: number;
  byInstruction: Record<string, number>;
  badFrames: number;
}

const NAMES: Record<number, string> = {
  [Instruction.PING]: 'PING', [Instruction.READ]: 'READ', [Instruction.WRITE]: 'WRITE', [Instruction.REG_WRITE]: 'REG_WRITE',
  [Instruction.ACTION]: 'ACTION', [Instruction.RESET]: 'RESET', [Instruction.SYNC_READ]: 'SYNC_READ', [Instruction.SYNC_WRITE]: 'SYNC_WRITE',
};

export class SimFeetechBus {
  readonly servos: SimServo[] = [];
  echo: boolean;
  /** Random bytes to prepend to the next reply (line noise), then reset to 0. */
  garbageNext = 0;
  /** the injected garbage's bytes: seeded, so a failing fault-injection run replays */
  private readonly garbageRng = new Rng(0x5eed);
  readonly stats: SimBusStats = { instructions: 0, replies: 0, byInstruction: {}, badFrames: 0 };
  /** Called with each reply burst to put on the wire. */
  output: (bytes: Uint8Array) => void = () => {};
  /** Called after every instruction (for logs / tests). */
  onInstruction: ((name: string, id: number) => void) | undefined;

  private readonly rx = new Uint8Array(4096);
  private rxEnd = 0;
  private readonly view = newFrameView();
  private readonly scan = newScanStats();
  private readonly out = new Uint8Array(4096);

  constructor(options: SimBusOptions = {}) {
    for (const id of options.ids ?? [1, 2, 3, 4, 5, 6]) this.servos.push(new SimServo(id));
    this.echo = options.echo ?? false;
  }

  servo(id: number): SimServo | undefined {
    for (const s of this.servos) if (s.id === id) return s;
    return undefined;
  }

  /** Feed bytes received from the host. */
  receive(chunk: Uint8Array): void {
    if (this.rxEnd + chunk.length > this.rx.length) this.rxEnd = 0; // overflow: drop (a real servo would too)
    this.rx.set(chunk, this.rxEnd);
    this.rxEnd += chunk.length;
    let at = 0;
    while (scanFrame(this.rx, at, this.rxEnd, this.view, 'instruction', this.scan) === FRAME_OK) {
      const v = this.view;
      this.handle(v.id, v.code, this.rx.subarray(v.paramsStart, v.paramsStart + v.paramsLength), this.rx.subarray(v.start, v.start + v.length));
      at = v.start + v.length;
    }
    at = this.view.start > at ? this.view.start : at;
    this.rx.copyWithin(0, at, this.rxEnd);
    this.rxEnd -= at;
    this.stats.badFrames = this.scan.badFrames;
  }

  private handle(id: number, instr: number, p: Uint8Array, frame: Uint8Array): void {
    this.stats.instructions++;
    const name = NAMES[instr] ?? `0x${instr.toString(16)}`;
    this.stats.byInstruction[name] = (this.stats.byInstruction[name] ?? 0) + 1;
    let o = 0;
    const out = this.out;
    if (this.echo) { out.set(frame, 0); o = frame.length; }
    let delayUs = -1;
    const reply = (s: SimServo, params?: Uint8Array): void => {
      if (s.faults.silent) return;
      if (delayUs < 0) delayUs = s.get('Return_Delay_Time') * 2;
      o += encodeStatus(out, o, s.id, s.errorByte(), params);
      this.stats.replies++;
    };
    const targets = id === BROADCAST_ID ? this.servos : this.servos.filter((s) => s.id === id);
    switch (instr) {
      case Instruction.PING:
        for (const s of targets) reply(s);
        break;
      case Instruction.READ: {
        if (p.length < 2 || id === BROADCAST_ID) break;
        const addr = p[0]!; const len = p[1]!;
        for (const s of targets) reply(s, s.mem.subarray(addr, Math.min(256, addr + len)));
        break;
      }
      case Instruction.WRITE:
      case Instruction.REG_WRITE: {
        if (p.length < 1) break;
        for (const s of targets) {
          if (s.faults.silent) continue;
          if (instr === Instruction.WRITE) s.write(p[0]!, p.subarray(1));
          else s.pending = { addr: p[0]!, data: new Uint8Array(p.subarray(1)) };
          if (id !== BROADCAST_ID && s.get('Response_Status_Level') >= 1) reply(s);
        }
        break;
      }
      case Instruction.ACTION:
        for (const s of targets) {
          if (s.faults.silent) continue;
          if (s.pending) { s.write(s.pending.addr, s.pending.data); s.pending = undefined; }
          if (id !== BROADCAST_ID && s.get('Response_Status_Level') >= 1) reply(s);
        }
        break;
      case Instruction.RESET:
        for (const s of targets) { if (id !== BROADCAST_ID) reply(s); }
        break;
      case Instruction.SYNC_READ: {
        if (p.length < 2) break;
        const addr = p[0]!; const len = p[1]!;
        for (let i = 2; i < p.length; i++) {
          const s = this.servo(p[i]!);
          if (s) reply(s, s.mem.subarray(addr, Math.min(256, addr + len)));
        }
        break;
      }
      case Instruction.SYNC_WRITE: {
        if (p.length < 2) break;
        const addr = p[0]!; const len = p[1]!;
        for (let i = 2; i + len < p.length; i += len + 1) {
          const s = this.servo(p[i]!);
          if (s && !s.faults.silent) s.write(addr, p.subarray(i + 1, i + 1 + len));
        }
        break;
      }
      default:
        break;
    }
    this.onInstruction?.(name, id);
    if (o === 0) return;
    let bytes = out.slice(0, o);
    if (this.garbageNext > 0) {
      const g = new Uint8Array(this.garbageNext + o);
      for (let i = 0; i < this.garbageNext; i++) g[i] = i % 5 === 0 ? 0xff : this.garbageRng.int(256);
      g.set(bytes, this.garbageNext);
      bytes = g;
      this.garbageNext = 0;
    }
    // Return_Delay_Time: 0 → at once; otherwise never earlier than the register says (a real servo is
    // exact). Timers use the event loop's cached clock and can fire early by up to one loop iteration,
    // so the remaining time is checked against performance.now() and waited out.
    if (delayUs > 0) {
      const due = performance.now() + delayUs / 1000;
      const fire = (): void => {
        const left = due - performance.now();
        if (left > 0) setTimeout(fire, Math.max(1, Math.ceil(left)));
        else this.output(bytes);
      };
      setTimeout(fire, Math.ceil(delayUs / 1000));
    } else this.output(bytes);
  }
}
