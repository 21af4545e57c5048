import { pino, type Logger } from 'pino';

/**
 * Structured logs (JSON lines) on stderr so stdout stays free for `--json` results.
 * Rule: never log once per control tick; the loop aggregates into counters and a reporter logs them.
 */
let root: Logger | undefined;

export function logger(): Logger {
  root ??= pino(
    { level: process.env.KDP_LOG_LEVEL ?? 'info', base: undefined },
    pino.destination({ dest: 2, sync: true }),
  );
  return root;
}

export function setLogLevel(level: string): void {
  logger().level = level;
}

export function childLogger(mod: string): Logger {
  return logger().child({ mod });
}
