/**
 * High-level commander client (port 8). Each command stops setpoint streaming first (with notify-setpoint-stop,
 * so the firmware lets the planner take over) and resolves with the firmware's reply errno (0 ok), or -1 if no
 * reply arrived within `replyTimeoutMs` (old firmware does not answer).
 */
import type { DownlinkMessage } from '../../protocols/crtp/decode.js';
import { HlCommand, encodeHlDefineTrajectory, encodeHlGoTo, encodeHlLand, encodeHlStartTrajectory, encodeHlStop, encodeHlTakeoff, type HlGoToOptions, type HlStartTrajectoryOptions } from '../../protocols/crtp/high-level.js';
import type { Commander } from './commander.js';
import type { CfCore } from './core.js';

export class HighLevelCommander {
  replyTimeoutMs = 300;
  private readonly buf = new Uint8Array(32);
  constructor(private readonly cf: CfCore, private readonly commander: Commander) {}

  private async command(len: number, cmd: number): Promise<number> {
    if (this.commander.streaming) await this.commander.stopStreaming({ notify: true });
    try {
      const r = await this.cf.request(this.buf, len,
        (m: DownlinkMessage): m is Extract<DownlinkMessage, { kind: 'hlReply' }> => m.kind === 'hlReply' && m.cmd === cmd,
        { timeoutMs: this.replyTimeoutMs, retries: 0 });
      return r.errno;
    } catch { return -1; }
  }

  /** Take off to an absolute height (m) in `durationS`; `yawRad` null keeps the current yaw. */
  takeoff(heightM: number, durationS: number, yawRad: number | null = null, groupMask = 0): Promise<number> {
    return this.command(encodeHlTakeoff(this.buf, heightM, durationS, yawRad, groupMask), HlCommand.TAKEOFF_2);
  }
  land(heightM: number, durationS: number, yawRad: number | null = null, groupMask = 0): Promise<number> {
    return this.command(encodeHlLand(this.buf, heightM, durationS, yawRad, groupMask), HlCommand.LAND_2);
  }
  stop(groupMask = 0): Promise<number> { return this.command(encodeHlStop(this.buf, groupMask), HlCommand.STOP); }
  goTo(x: number, y: number, z: number, yawRad: number, durationS: number, o: HlGoToOptions = {}): Promise<number> {
    const pv = this.cf.protocolVersion;
    return this.command(encodeHlGoTo(this.buf, x, y, z, yawRad, durationS, { ...o, protocolVersion: pv }), pv >= 8 ? HlCommand.GO_TO_2 : HlCommand.GO_TO);
  }
  startTrajectory(trajectoryId: number, timeScale = 1, o: HlStartTrajectoryOptions = {}): Promise<number> {
    const pv = this.cf.protocolVersion;
    return this.command(encodeHlStartTrajectory(this.buf, trajectoryId, timeScale, { ...o, protocolVersion: pv }), pv >= 10 ? HlCommand.START_TRAJECTORY_2 : HlCommand.START_TRAJECTORY);
  }
  defineTrajectory(trajectoryId: number, offset: number, nPieces: number, type = 0): Promise<number> {
    return this.command(encodeHlDefineTrajectory(this.buf, trajectoryId, offset, nPieces, type), HlCommand.DEFINE_TRAJECTORY);
  }
}
