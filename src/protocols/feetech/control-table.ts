/**
 * Feetech STS/SMS series (STS3215) control table, addressed by the register names lerobot uses
 * (`STS_SMS_SERIES_CONTROL_TABLE`), plus the protocol constants of the SCS/STS serial protocol.
 * Facts: firmware-bridge/feetech/README.md; no code from lerobot or the Feetech SDK.
 */

export interface RegisterSpec {
  readonly addr: number;
  readonly size: 1 | 2;
  readonly access: 'ro' | 'rw';
  readonly area: 'eprom' | 'sram' | 'factory';
  /** Sign-magnitude sign bit, when the register is signed (lerobot MODEL_ENCODING_TABLE). */
  readonly signBit?: number;
}

export const STS_CONTROL_TABLE = {
  Firmware_Major_Version: { addr: 0, size: 1, access: 'ro', area: 'eprom' },
  Firmware_Minor_Version: { addr: 1, size: 1, access: 'ro', area: 'eprom' },
  Model_Number: { addr: 3, size: 2, access: 'ro', area: 'eprom' },
  ID: { addr: 5, size: 1, access: 'rw', area: 'eprom' },
  Baud_Rate: { addr: 6, size: 1, access: 'rw', area: 'eprom' },
  Return_Delay_Time: { addr: 7, size: 1, access: 'rw', area: 'eprom' },
  Response_Status_Level: { addr: 8, size: 1, access: 'rw', area: 'eprom' },
  Min_Position_Limit: { addr: 9, size: 2, access: 'rw', area: 'eprom' },
  Max_Position_Limit: { addr: 11, size: 2, access: 'rw', area: 'eprom' },
  Max_Temperature_Limit: { addr: 13, size: 1, access: 'rw', area: 'eprom' },
  Max_Voltage_Limit: { addr: 14, size: 1, access: 'rw', area: 'eprom' },
  Min_Voltage_Limit: { addr: 15, size: 1, access: 'rw', area: 'eprom' },
  Max_Torque_Limit: { addr: 16, size: 2, access: 'rw', area: 'eprom' },
  Phase: { addr: 18, size: 1, access: 'rw', area: 'eprom' },
  Unloading_Condition: { addr: 19, size: 1, access: 'rw', area: 'eprom' },
  LED_Alarm_Condition: { addr: 20, size: 1, access: 'rw', area: 'eprom' },
  P_Coefficient: { addr: 21, size: 1, access: 'rw', area: 'eprom' },
  D_Coefficient: { addr: 22, size: 1, access: 'rw', area: 'eprom' },
  I_Coefficient: { addr: 23, size: 1, access: 'rw', area: 'eprom' },
  Minimum_Startup_Force: { addr: 24, size: 2, access: 'rw', area: 'eprom' },
  CW_Dead_Zone: { addr: 26, size: 1, access: 'rw', area: 'eprom' },
  CCW_Dead_Zone: { addr: 27, size: 1, access: 'rw', area: 'eprom' },
  Protection_Current: { addr: 28, size: 2, access: 'rw', area: 'eprom' },
  Angular_Resolution: { addr: 30, size: 1, access: 'rw', area: 'eprom' },
  Homing_Offset: { addr: 31, size: 2, access: 'rw', area: 'eprom', signBit: 11 },
  Operating_Mode: { addr: 33, size: 1, access: 'rw', area: 'eprom' },
  Protective_Torque: { addr: 34, size: 1, access: 'rw', area: 'eprom' },
  Protection_Time: { addr: 35, size: 1, access: 'rw', area: 'eprom' },
  Overload_Torque: { addr: 36, size: 1, access: 'rw', area: 'eprom' },
  Velocity_closed_loop_P_proportional_coefficient: { addr: 37, size: 1, access: 'rw', area: 'eprom' },
  Over_Current_Protection_Time: { addr: 38, size: 1, access: 'rw', area: 'eprom' },
  Velocity_closed_loop_I_integral_coefficient: { addr: 39, size: 1, access: 'rw', area: 'eprom' },
  Torque_Enable: { addr: 40, size: 1, access: 'rw', area: 'sram' },
  Acceleration: { addr: 41, size: 1, access: 'rw', area: 'sram' },
  Goal_Position: { addr: 42, size: 2, access: 'rw', area: 'sram', signBit: 15 },
  Goal_Time: { addr: 44, size: 2, access: 'rw', area: 'sram' },
  Goal_Velocity: { addr: 46, size: 2, access: 'rw', area: 'sram', signBit: 15 },
  Torque_Limit: { addr: 48, size: 2, access: 'rw', area: 'sram' },
  Lock: { addr: 55, size: 1, access: 'rw', area: 'sram' },
  Present_Position: { addr: 56, size: 2, access: 'ro', area: 'sram', signBit: 15 },
  Present_Velocity: { addr: 58, size: 2, access: 'ro', area: 'sram', signBit: 15 },
  Present_Load: { addr: 60, size: 2, access: 'ro', area: 'sram', signBit: 10 },
  Present_Voltage: { addr: 62, size: 1, access: 'ro', area: 'sram' },
  Present_Temperature: { addr: 63, size: 1, access: 'ro', area: 'sram' },
  Status: { addr: 65, size: 1, access: 'ro', area: 'sram' },
  Moving: { addr: 66, size: 1, access: 'ro', area: 'sram' },
  Present_Current: { addr: 69, size: 2, access: 'ro', area: 'sram' },
  Maximum_Acceleration: { addr: 85, size: 1, access: 'rw', area: 'factory' },
} as const satisfies Record<string, RegisterSpec>;

export type RegisterName = keyof typeof STS_CONTROL_TABLE;
export const REGISTER_NAMES = Object.keys(STS_CONTROL_TABLE) as RegisterName[];

export function registerSpec(name: RegisterName): RegisterSpec {
  return STS_CONTROL_TABLE[name];
}

export function isRegisterName(name: string): name is RegisterName {
  return Object.prototype.hasOwnProperty.call(STS_CONTROL_TABLE, name);
}

/** Instruction codes (scservo_def.py). */
export const Instruction = {
  PING: 0x01,
  READ: 0x02,
  WRITE: 0x03,
  REG_WRITE: 0x04,
  ACTION: 0x05,
  RESET: 0x0a,
  OFSCAL: 0x0b,
  SYNC_READ: 0x82,
  SYNC_WRITE: 0x83,
} as const;
export type InstructionName = keyof typeof Instruction;
export type InstructionCode = (typeof Instruction)[InstructionName];

/** Status-packet error bits. */
export const StatusError = {
  VOLTAGE: 0x01,
  ANGLE: 0x02,
  OVERHEAT: 0x04,
  OVERELE: 0x08,
  OVERLOAD: 0x20,
} as const;

/** Human names of the error bits set in `err` (e.g. `['overload']`). */
export function errorBitNames(err: number): string[] {
  const out: string[] = [];
  if (err & StatusError.VOLTAGE) out.push('voltage');
  if (err & StatusError.ANGLE) out.push('angle sensor');
  if (err & StatusError.OVERHEAT) out.push('overheat');
  if (err & StatusError.OVERELE) out.push('over-current');
  if (err & 0x10) out.push('bit 0x10');
  if (err & StatusError.OVERLOAD) out.push('overload');
  if (err & 0x40) out.push('bit 0x40');
  return out;
}

export const BROADCAST_ID = 0xfe;
export const MAX_ID = 0xfc;
export const MAX_PACKET_BYTES = 250;
export const DEFAULT_BAUD = 1_000_000;
/** Baud_Rate register code → baud. */
export const BAUD_CODES: readonly number[] = [1_000_000, 500_000, 250_000, 128_000, 115_200, 57_600, 38_400, 19_200];
export function baudCode(baud: number): number {
  const i = BAUD_CODES.indexOf(baud);
  if (i < 0) throw new RangeError(`"baud" must be one of ${BAUD_CODES.join(', ')}, got ${baud}`);
  return i;
}
export const MODEL_NUMBERS = { sts3215: 777, sts3250: 2825 } as const;
/** Encoder counts per revolution (STS3215). */
export const RESOLUTION = 4096;
