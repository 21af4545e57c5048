export { Crazyflie, connectCrazyflie, type CrazyflieEvents, type CrazyflieOptions, type CrazyflieState, type LinkLostInfo } from './crazyflie.js';
export { Commander, DEFAULT_FAILSAFE, type FailsafeEvent, type FailsafeOptions } from './commander.js';
export { HighLevelCommander } from './high-level.js';
export { LogModule, LogSubscription, type KnownLogVariable, type LogVariable } from './log.js';
export { ParamModule, type KnownParam, type ParamName } from './param.js';
export { Toc, TocCache, defaultTocCacheDir, type TocItem } from './toc.js';
