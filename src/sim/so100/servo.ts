/**
 * One simulated STS3215: the control-table memory and its semantics (EPROM lock, read-only registers,
 * torque enable, position limits, goal → motion profile, error bits). Physics lives elsewhere
 * (`So100Physics`); it reads `targetTicks()` and reports back with `setMeasured()`.
 *
 * Frames: `actualTicks` is the absolute encoder reading (2048 = joint angle 0 in the MuJoCo model);
 * the registers use the calibrated frame `Present_Position = (actual − Homing_Offset) mod 4096`,
 * `actual goal = Goal_Position + Homing_Offset`.
 */
import type { RegisterName } from '../../protocols/feetech/control-table.js';
import { MODEL_NUMBERS, STS_CONTROL_TABLE, StatusError } from '../../protocols/feetech/control-table.js';
import { readRegister, writeRegister } from '../../protocols/feetech/encoding.js';

export const TICKS_PER_RAD = 4096 / (2 * Math.PI);
/** No-load speed used when Goal_Velocity is 0 (≈ 270°/s). */
export const MAX_SPEED_TICKS_S = 3000;
const MAX_ACCEL_TICKS_S2 = 60_000;

export interface ServoFaults {
  overload: boolean;
  voltage: boolean;
  overheat: boolean;
  angle: boolean;
  /** Never answers (unplugged / dead). */
  silent: boolean;
}

const mod4096 = (v: number): number => ((Math.round(v) % 4096) + 4096) % 4096;

export class SimServo {
  readonly mem = new Uint8Array(256);
  readonly faults: ServoFaults = { overload: false, voltage: false, overheat: false, angle: false, silent: false };
  /** Absolute encoder position (float ticks) and velocity (ticks/s), from physics. */
  actualTicks = 2048;
  velocityTicksS = 0;
  /** Motion-profile setpoint (absolute ticks) the position loop tracks. */
  private profile = 2048;
  private profileVel = 0;
  /** Time (s) the load has been above Overload_Torque. */
  private overloadS = 0;
  /** Buffered REG_WRITE: address + bytes. */
  pending: { addr: number; data: Uint8Array } | undefined;
  /** Writes seen per register name (for tests). */
  torqueWrites = 0;
  /** Host writes touching Homing_Offset (the calibration's homing step writes it twice: 0, then the offset). */
  homingWrites = 0;

  constructor(id: number) {
    this.factoryReset(id);
  }

  factoryReset(id: number): void {
    this.mem.fill(0);
    const set = (name: RegisterName, v: number): void => { writeRegister(this.mem, STS_CONTROL_TABLE[name].addr, STS_CONTROL_TABLE[name], v); };
    set('Firmware_Major_Version', 3); set('Firmware_Minor_Version', 10);
    set('Model_Number', MODEL_NUMBERS.sts3215);
    set('ID', id); set('Baud_Rate', 0); set('Return_Delay_Time', 0); set('Response_Status_Level', 1);
    set('Min_Position_Limit', 0); set('Max_Position_Limit', 4095);
    set('Max_Temperature_Limit', 70); set('Max_Voltage_Limit', 140); set('Min_Voltage_Limit', 40);
    set('Max_Torque_Limit', 1000); set('Phase', 0x0c);
    set('P_Coefficient', 32); set('D_Coefficient', 32); set('I_Coefficient', 0);
    set('Protection_Current', 500); set('Homing_Offset', 0); set('Operating_Mode', 0);
    set('Protective_Torque', 20); set('Protection_Time', 100); set('Overload_Torque', 80);
    set('Torque_Enable', 0); set('Acceleration', 0); set('Torque_Limit', 1000); set('Lock', 0);
    set('Present_Voltage', 120); set('Present_Temperature', 30); set('Maximum_Acceleration', 254);
    this.syncPresent();
    this.reg('Goal_Position', this.get('Present_Position'));
  }

  get id(): number { return this.mem[STS_CONTROL_TABLE.ID.addr]!; }
  get(name: RegisterName): number { return readRegister(this.mem, STS_CONTROL_TABLE[name].addr, STS_CONTROL_TABLE[name]); }
  /** Internal register update (bypasses access rules). */
  reg(name: RegisterName, v: number): void { writeRegister(this.mem, STS_CONTROL_TABLE[name].addr, STS_CONTROL_TABLE[name], v); }
  get torqueEnabled(): boolean { return this.mem[STS_CONTROL_TABLE.Torque_Enable.addr] !== 0; }

  /** Status error byte (fault flags). */
  errorByte(): number {
    const f = this.faults;
    return (f.voltage ? StatusError.VOLTAGE : 0) | (f.angle ? StatusError.ANGLE : 0) | (f.overheat ? StatusError.OVERHEAT : 0) | (f.overload ? StatusError.OVERLOAD : 0);
  }

  /** Host write of `data` at `addr` with the servo's access rules; returns false if nothing was writable. */
  write(addr: number, data: Uint8Array): void {
    const locked = this.mem[STS_CONTROL_TABLE.Lock.addr] !== 0;
    for (let i = 0; i < data.length; i++) {
      const a = addr + i;
      if (a > 255) break;
      const spec = specAt(a);
      if (!spec) { this.mem[a] = data[i]!; continue; }
      if (spec.access === 'ro') continue;
      if (spec.area === 'eprom' && locked) continue;
      this.mem[a] = data[i]!;
    }
    const touches = (name: RegisterName): boolean => {
      const s = STS_CONTROL_TABLE[name];
      return addr <= s.addr + s.size - 1 && addr + data.length - 1 >= s.addr;
    };
    if (touches('Torque_Enable')) {
      this.torqueWrites++;
      const on = this.torqueEnabled;
      if (on && this.faults.overload) this.reg('Torque_Enable', 0); // latched until power cycle
      else if (on) { this.profile = this.actualTicks; this.profileVel = 0; }
    }
    if (touches('Goal_Position')) this.clampGoal();
    if (touches('Homing_Offset')) this.homingWrites++;
    if (touches('Homing_Offset') || touches('Phase')) this.syncPresent();
  }

  private clampGoal(): void {
    const lo = this.get('Min_Position_Limit');
    const hi = this.get('Max_Position_Limit');
    if (hi > lo) {
      const g = this.get('Goal_Position');
      if (g < lo) this.reg('Goal_Position', lo);
      else if (g > hi) this.reg('Goal_Position', hi);
    }
  }

  /** Absolute target the position loop should track now (ticks), or undefined when torque is off. */
  targetTicks(): number | undefined {
    return this.torqueEnabled ? this.profile : undefined;
  }

  /** Advance the motion profile (velocity + acceleration limited) toward the goal by `dt` seconds. */
  stepProfile(dt: number): void {
    if (!this.torqueEnabled) {
      this.profile = this.actualTicks;
      this.profileVel = 0;
      // the goal follows the arm while limp, so enabling torque holds the pose
      this.reg('Goal_Position', mod4096(this.actualTicks - this.get('Homing_Offset')));
      return;
    }
    const goalAbs = this.get('Goal_Position') + this.get('Homing_Offset');
    const vMax = this.get('Goal_Velocity') > 0 ? Math.min(this.get('Goal_Velocity'), MAX_SPEED_TICKS_S) : MAX_SPEED_TICKS_S;
    const accReg = this.get('Acceleration');
    const aMax = accReg > 0 ? Math.min(accReg * 100, MAX_ACCEL_TICKS_S2) : MAX_ACCEL_TICKS_S2;
    const err = goalAbs - this.profile;
    // speed that can still stop in time, capped by vMax; then acceleration-limited change
    const vWant = Math.sign(err) * Math.min(vMax, Math.sqrt(2 * aMax * Math.abs(err)));
    const dv = Math.max(-aMax * dt, Math.min(aMax * dt, vWant - this.profileVel));
    this.profileVel += dv;
    let next = this.profile + this.profileVel * dt;
    if ((goalAbs - next) * err <= 0) { next = goalAbs; this.profileVel = 0; }
    this.profile = next;
  }

  /** Physics feedback: absolute position (ticks), velocity (ticks/s), load fraction of max torque (−1..1). */
  setMeasured(actualTicks: number, velTicksS: number, loadFraction: number, dt: number): void {
    this.actualTicks = actualTicks;
    this.velocityTicksS = velTicksS;
    this.syncPresent();
    const vel = Math.max(-32767, Math.min(32767, Math.round(velTicksS)));
    this.reg('Present_Velocity', vel);
    const load = Math.max(-1000, Math.min(1000, Math.round(loadFraction * 1000)));
    this.reg('Present_Load', load);
    this.reg('Present_Current', Math.min(65535, Math.round(Math.abs(loadFraction) * 400)));
    this.reg('Moving', Math.abs(velTicksS) > 20 ? 1 : 0);
    this.reg('Present_Voltage', this.faults.voltage ? 45 : 120);
    // overload protection: load above Overload_Torque % for longer than Protection_Time (×10 ms)
    if (this.torqueEnabled && Math.abs(loadFraction) * 100 >= this.get('Overload_Torque')) {
      this.overloadS += dt;
      if (this.overloadS >= this.get('Protection_Time') * 0.01) this.injectOverload();
    } else this.overloadS = 0;
  }

  injectOverload(): void {
    this.faults.overload = true;
    this.reg('Torque_Enable', 0);
  }

  syncPresent(): void {
    this.reg('Present_Position', mod4096(this.actualTicks - this.get('Homing_Offset')));
  }
}

const BY_ADDR: (typeof STS_CONTROL_TABLE)[RegisterName][] = [];
for (const s of Object.values(STS_CONTROL_TABLE)) for (let k = 0; k < s.size; k++) BY_ADDR[s.addr + k] = s;
function specAt(addr: number): (typeof STS_CONTROL_TABLE)[RegisterName] | undefined { return BY_ADDR[addr]; }
