/**
 * `SimSo100`: six simulated STS3215 servos (`SimFeetechBus`) moving a MuJoCo SO-100 (`So100Physics`) in real
 * time, served over a serial line (a pty end opened with the real `serialport`). A JSON control channel
 * (`command()`) injects faults, moves the limp arm by hand and reports the state.
 */
import type { JointName } from '../../devices/so100/config.js';
import { JOINTS } from '../../devices/so100/config.js';
import { CanceledError, DisconnectedError } from '../../errors.js';
import { SerialTransport } from '../../links/serial.js';
import { encodePing, encodeRead, encodeSyncRead } from '../../protocols/feetech/packet.js';
import { forwardKinematics } from '../../devices/so100/kinematics.js';
import { So100Physics } from './physics.js';
import { SimFeetechBus } from './sim-bus.js';
import type { SimServo } from './servo.js';
import { TICKS_PER_RAD } from './servo.js';

export interface SimSo100Options {
  /** Servo ids in joint order (default 1..6). Fewer ids = fewer joints powered (e.g. `[1]` for motor setup). */
  ids?: number[];
  /** Echo instructions back like a half-duplex adapter. */
  echo?: boolean;
  /** Initial joint angles (rad, JOINTS order). Default all 0 (mid-range). */
  joints?: number[];
  /** Return_Delay_Time register value for every servo (×2 µs). Default 0 (lerobot's setting). */
  returnDelay?: number;
  jointLimitsRad?: Record<JointName, [number, number]>;
  /** Physics timer period (ms). Default 4. */
  tickMs?: number;
  /** Exercise the physics and the protocol paths before serving so the first replies are not slowed by the JIT. Default true. */
  warmup?: boolean;
  /**
   * A hand moving the arm: joint angles (rad, JOINTS order) as a function of time (s since start()), written into
   * `out`. The joints are set to it instead of stepping the physics (a leader arm the operator moves).
   */
  motion?: (tS: number, out: number[]) => void;
  /** Put a cube (3 cm, 30 g; MuJoCo contact and friction with the jaws and the table) at rest at this table xy (m). */
  cube?: readonly [number, number];
}

/**
 * Scripted leader-arm motion: slow, smooth sweeps of every joint inside the SO-100 limits (periods 4–7 s),
 * the gripper opening and closing, starting at the rest pose (all sines at phase 0).
 */
export function leaderSweep(tS: number, out: number[]): void {
  const w = (period: number): number => Math.sin((2 * Math.PI * tS) / period);
  out[0] = 0.6 * w(6);
  out[1] = 0.4 * w(5);
  out[2] = 0.5 * w(7);
  out[3] = 0.5 * w(4);
  out[4] = 0.8 * w(6.5);
  out[5] = 0.6 - 0.6 * Math.cos((2 * Math.PI * tS) / 4);
}

/** Run the hot paths a few hundred times (read-only instructions, physics from the initial pose) and reset. */
function warmUp(bus: SimFeetechBus, physics: So100Physics, q0: number[]): void {
  physics.setJoints(q0);
  physics.step(300);
  const frame = new Uint8Array(64);
  const ids = bus.servos.map((s) => s.id);
  const out = bus.output;
  bus.output = () => {};
  for (let k = 0; k < 300; k++) {
    let n = encodeSyncRead(frame, 0, 56, k % 2 ? 2 : 8, ids);
    bus.receive(frame.subarray(0, n));
    n = encodePing(frame, 0, ids[k % ids.length]!);
    bus.receive(frame.subarray(0, n));
    n = encodeRead(frame, 0, ids[k % ids.length]!, 3, 2);
    bus.receive(frame.subarray(0, n));
  }
  bus.output = out;
  bus.stats.instructions = 0;
  bus.stats.replies = 0;
  for (const k of Object.keys(bus.stats.byInstruction)) delete bus.stats.byInstruction[k];
}

const MAX_STEPS_PER_TICK = 4;

export type FaultName = 'overload' | 'voltage' | 'overheat' | 'angle' | 'silent';
export const FAULT_NAMES: readonly FaultName[] = ['overload', 'voltage', 'overheat', 'angle', 'silent'];

/** Control-channel commands (one JSON object per line on the CLI's stdin). */
export type SimCommand =
  | { cmd: 'state' }
  | { cmd: 'fault'; id: number; fault: FaultName; on?: boolean }
  | { cmd: 'clear'; id?: number }
  | { cmd: 'move'; joints: number[] }
  | { cmd: 'garbage'; bytes: number }
  | { cmd: 'echo'; on: boolean }
  | { cmd: 'cube'; x: number; y: number };

export interface SimState {
  timeS: number;
  jointsRad: number[];
  ee: number[];
  eeFk: number[];
  servos: { id: number; torqueEnable: number; presentPosition: number; goalPosition: number; homingOffset: number; load: number; error: number; silent: boolean; torqueWrites: number }[];
  instructions: Record<string, number>;
  contacts: number;
  /** Ground truth for scoring (only with a cube): its centre (m), orientation quaternion (w, x, y, z), highest centre (m) since placed. */
  cube?: { pos: number[]; quat: number[]; maxZ: number };
}

export class SimSo100 {
  readonly bus: SimFeetechBus;
  readonly physics: So100Physics;
  private transport: SerialTransport | undefined;
  private timer: NodeJS.Timeout | undefined;
  private t0 = 0;
  private stepsDone = 0;
  private writeChain: Promise<void> = Promise.resolve();
  private readLoop: Promise<void> | undefined;
  private readonly tickMs: number;
  private readonly motion: ((tS: number, out: number[]) => void) | undefined;
  private readonly motionQ = [0, 0, 0, 0, 0, 0];
  /** Set when the serial line fails. */
  lineError: Error | undefined;

  private constructor(bus: SimFeetechBus, physics: So100Physics, tickMs: number, motion?: (tS: number, out: number[]) => void) {
    this.bus = bus;
    this.physics = physics;
    this.tickMs = tickMs;
    this.motion = motion;
  }

  static async create(options: SimSo100Options = {}): Promise<SimSo100> {
    const ids = options.ids ?? [1, 2, 3, 4, 5, 6];
    const bus = new SimFeetechBus({ ids, echo: options.echo ?? false });
    if (options.returnDelay !== undefined) for (const s of bus.servos) s.reg('Return_Delay_Time', options.returnDelay);
    const byJoint: (SimServo | undefined)[] = JOINTS.map((_, i) => bus.servos[i]);
    const physics = await So100Physics.create(byJoint, options.jointLimitsRad, { cube: options.cube !== undefined });
    const q0 = options.joints ?? [0, 0, 0, 0, 0, 0];
    if (options.warmup ?? true) warmUp(bus, physics, q0);
    physics.setJoints(q0);
    if (options.cube) physics.setCube(options.cube[0], options.cube[1]);
    for (const s of bus.servos) s.reg('Goal_Position', s.get('Present_Position'));
    return new SimSo100(bus, physics, options.tickMs ?? 4, options.motion);
  }

  /**
   * A scripted pair of hands for `kdp calibrate so100 --yes`: once the calibration's homing step is done (every
   * servo torque off and its Homing_Offset written twice — reset to 0, then the offset — since this was armed),
   * move every joint `amplitudeRad` either side of the pose it is in (sinusoid of `periodS`) for `cycles` periods
   * and put it back. A user does this by hand; without it the ranges recorded on the simulator are empty.
   */
  startHandSweep(o: { amplitudeRad?: number; periodS?: number; cycles?: number } = {}): { stop(): void; readonly phase: 'waiting' | 'sweeping' | 'done' } {
    const amp = o.amplitudeRad ?? 0.4, period = o.periodS ?? 1.5, cycles = o.cycles ?? 2;
    let phase: 'waiting' | 'sweeping' | 'done' = 'waiting';
    let sweepAt = 0;
    let pose: number[] = [];
    const base = this.bus.servos.map((sv) => sv.homingWrites);
    const timer = setInterval(() => {
      const now = performance.now();
      if (phase === 'waiting') {
        const homed = this.bus.servos.every((sv, i) => sv.get('Torque_Enable') === 0 && sv.homingWrites >= base[i]! + 2);
        if (!homed) return;
        pose = Array.from(this.physics.state().qpos);
        phase = 'sweeping'; sweepAt = now;
      }
      if (phase !== 'sweeping') return;
      const t = (now - sweepAt) / 1000;
      if (t >= period * cycles) { this.physics.setJoints(pose); phase = 'done'; clearInterval(timer); return; }
      const k = Math.sin((2 * Math.PI * t) / period);
      this.physics.setJoints(pose.map((q) => q + amp * k));
    }, 20);
    timer.unref();
    return { stop: () => clearInterval(timer), get phase() { return phase; } };
  }

  /** Start real-time physics. */
  start(): void {
    if (this.timer) return;
    this.t0 = performance.now();
    this.stepsDone = 0;
    this.timer = setInterval(() => this.advance(), this.tickMs);
  }

  private advance(): void {
    if (this.motion) {
      this.motion((performance.now() - this.t0) / 1000, this.motionQ);
      this.physics.setJoints(this.motionQ);
      return;
    }
    const due = Math.floor((performance.now() - this.t0) / 1000 / this.physics.dt);
    // at most a few steps per timer callback so serial I/O is never held up for long; if the host is too
    // loaded to keep up, simulated time slows down instead of blocking the replies
    let n = due - this.stepsDone;
    if (n > MAX_STEPS_PER_TICK) { this.stepsDone = due - MAX_STEPS_PER_TICK; n = MAX_STEPS_PER_TICK; }
    if (n > 0) { this.physics.step(n); this.stepsDone += n; }
  }

  /** Answer on a serial line (a pty end). */
  async serve(path: string, baudRate = 1_000_000): Promise<void> {
    const t = new SerialTransport({ path, baudRate, lock: false });
    await t.open();
    this.transport = t;
    this.bus.output = (bytes) => {
      this.writeChain = this.writeChain.then(() => t.write(bytes)).catch((e: unknown) => { this.lineError ??= e as Error; });
    };
    const buf = new Uint8Array(1024);
    this.readLoop = (async () => {
      for (;;) {
        try {
          const n = await t.read(buf, 0, buf.length);
          this.bus.receive(buf.subarray(0, n));
        } catch (e) {
          if (!(e instanceof CanceledError)) this.lineError ??= e as Error;
          if (e instanceof CanceledError || e instanceof DisconnectedError) return;
          return;
        }
      }
    })();
  }

  command(c: SimCommand): unknown {
    switch (c.cmd) {
      case 'state': return this.state();
      case 'fault': {
        const s = this.bus.servo(c.id);
        if (!s) throw new RangeError(`no servo with id ${c.id}`);
        if (!FAULT_NAMES.includes(c.fault)) throw new RangeError(`fault must be one of ${FAULT_NAMES.join(', ')}`);
        const on = c.on ?? true;
        if (c.fault === 'overload' && on) s.injectOverload();
        else s.faults[c.fault] = on;
        return { ok: true };
      }
      case 'clear':
        for (const s of this.bus.servos) {
          if (c.id !== undefined && s.id !== c.id) continue;
          for (const f of FAULT_NAMES) s.faults[f] = false;
        }
        return { ok: true };
      case 'move':
        this.physics.setJoints(c.joints);
        return { ok: true };
      case 'garbage':
        this.bus.garbageNext = c.bytes;
        return { ok: true };
      case 'echo':
        this.bus.echo = c.on;
        return { ok: true };
      case 'cube':
        if (!this.physics.hasCube) throw new RangeError('no cube in this simulator: start it with --cube x,y');
        if (!Number.isFinite(c.x) || !Number.isFinite(c.y) || Math.hypot(c.x, c.y) > 0.45) throw new RangeError('cube x, y must be finite, within 0.45 m of the base');
        this.physics.setCube(c.x, c.y);
        return { ok: true };
      default:
        throw new RangeError(`unknown command ${JSON.stringify(c)}`);
    }
  }

  state(): SimState {
    const st = this.physics.state();
    const fk = forwardKinematics(st.qpos);
    const r = (v: number): number => Math.round(v * 1e5) / 1e5;
    return {
      timeS: r(st.timeS),
      jointsRad: Array.from(st.qpos, r),
      ee: Array.from(st.ee, r),
      eeFk: Array.from(fk, r),
      servos: this.bus.servos.map((s) => ({
        id: s.id, torqueEnable: s.get('Torque_Enable'), presentPosition: s.get('Present_Position'), goalPosition: s.get('Goal_Position'),
        homingOffset: s.get('Homing_Offset'), load: s.get('Present_Load'), error: s.errorByte(), silent: s.faults.silent, torqueWrites: s.torqueWrites,
      })),
      instructions: { ...this.bus.stats.byInstruction },
      contacts: st.contacts,
      ...(st.cube ? { cube: { pos: Array.from(st.cube.pos, r), quat: Array.from(st.cube.quat, r), maxZ: r(st.cube.maxZ) } } : {}),
    };
  }

  /** Joint angle (rad) → absolute ticks, for tests. */
  static ticksOf(rad: number): number { return Math.round(2048 + rad * TICKS_PER_RAD); }

  async close(): Promise<void> {
    if (this.timer) { clearInterval(this.timer); this.timer = undefined; }
    const t = this.transport;
    this.transport = undefined;
    if (t) {
      await this.writeChain.catch(() => {});
      await t.close();
      await this.readLoop;
    }
    this.physics.dispose();
  }
}
