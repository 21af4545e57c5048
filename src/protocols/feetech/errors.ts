import { DeviceFaultError, KdpError } from '../../errors.js';
import { errorBitNames } from './control-table.js';

export interface ServoFault {
  id: number;
  /** Raw status error byte. */
  error: number;
  /** Names of the bits set: voltage, angle sensor, overheat, over-current, overload. */
  bits: string[];
  /** Joint name when the caller knows it. */
  joint?: string;
}

/** One or more servos reported error bits in a status packet. */
export class MotorFaultError extends DeviceFaultError {
  readonly faults: ServoFault[];
  constructor(faults: ServoFault[]) {
    const what = faults.map((f) => `servo ${f.id}${f.joint ? ` (${f.joint})` : ''}: ${f.bits.join('+') || 'error'} [0x${f.error.toString(16).padStart(2, '0')}]`).join('; ');
    super(`servo fault: ${what}`, { faults },
      faults.some((f) => f.bits.includes('overload'))
        ? 'the joint is blocked or carrying too much: free it, then power-cycle the arm (overload latches until the servo restarts)'
        : faults.some((f) => f.bits.includes('voltage'))
          ? 'check the servo power supply (STS3215: 6–12 V; the SO-100 kit uses 5–7.4 V or 12 V variants)'
          : 'check the servo, its wiring and temperature; power-cycle to clear');
    this.faults = faults;
  }
}

export function faultOf(id: number, error: number, joint?: string): ServoFault {
  return { id, error, bits: errorBitNames(error), ...(joint === undefined ? {} : { joint }) };
}

/** Expected servos missing or of the wrong model (lerobot `_assert_motors_exist` analogue). */
export class MotorNotFoundError extends KdpError {
  constructor(readonly missing: number[], readonly wrongModel: { id: number; expected: number; found: number }[], port: string) {
    const lines = [
      ...missing.map((id) => `  id ${id}: no answer`),
      ...wrongModel.map((w) => `  id ${w.id}: model ${w.found}, expected ${w.expected}`),
    ];
    super('E_MOTOR_NOT_FOUND', `servos missing or wrong on ${port}:\n${lines.join('\n')}`,
      { hint: 'check power and the daisy-chain cables; set ids with `kdp motors setup --port ' + port + '`' });
  }
}
