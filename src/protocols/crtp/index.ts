/** CRTP codec: pure functions over caller-owned buffers (see docs/crazyflie.md). */
export * from './packet.js';
export * from './bytes.js';
export * from './commander.js';
export * from './high-level.js';
export * from './log.js';
export * from './param.js';
export * from './service.js';
export * from './types.js';
export * from './quat.js';
export * from './decode.js';
export * from '../cpx.js';
