/** MAVLink telemetry for the control loop (issue 7). See docs/operations.md §2. */
export {
  MavlinkTelemetry, NullTelemetrySink, RecordingTelemetrySink, STAT_NAMES, MAV_COMP_ID_ONBOARD_COMPUTER, openTelemetry,
} from './telemetry.js';
export type {
  FaultSeverity, MavlinkTelemetryOptions, OpenTelemetryOptions, OpenedTelemetry, PlanSample, PlanStatsSample, StateSample,
  TelemetryCounters, TelemetrySink,
} from './telemetry.js';
export { DEFAULT_MAVLINK_HOST, DEFAULT_MAVLINK_PORT, MAVLINK_OPTIONS, formatMavlinkTarget, parseMavlinkTarget } from './target.js';
export type { MavlinkTarget } from './target.js';
export { MemoryLink, SerialLink, UdpLink, openMavlinkLink } from './link.js';
export type { LinkCounters, MavlinkLink } from './link.js';
export { FrameSigner, loadSigningKey, signingKeyId } from './signing.js';
