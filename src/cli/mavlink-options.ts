// The shared --mavlink CLI options (fly, arm, serve): spread into a command's `options`.
import type { OptionSpec } from './command.js';
import { DEFAULT_MAVLINK_HOST, DEFAULT_MAVLINK_PORT, MAVLINK_TARGET_FORMS } from '../links/mavlink-target.js';

/** The shared CLI options; spread into a command's `options`. */
export const MAVLINK_OPTIONS: Record<'mavlink' | 'mavlink-key' | 'mavlink-sysid', OptionSpec> = {
  mavlink: {
    type: 'string', placeholder: '<target>',
    description: `MAVLink telemetry target: ${MAVLINK_TARGET_FORMS}; e.g. udp:${DEFAULT_MAVLINK_HOST}:${DEFAULT_MAVLINK_PORT}`,
  },
  'mavlink-key': { type: 'string', placeholder: '<file>', description: 'MAVLink 2 signing key file (32 raw bytes, 64 hex chars, base64, or a passphrase hashed with SHA-256)' },
  'mavlink-sysid': { type: 'string', placeholder: 'N', description: 'MAVLink system id (default 1; component id is 191, MAV_COMP_ID_ONBOARD_COMPUTER)' },
};
