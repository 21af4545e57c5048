/**
 * One error hierarchy for the whole package. Every error carries a stable `code` that scripts can
 * branch on, and a message that says what is wrong *and what to do about it* (the `hint`).
 * Hot paths (control tick, invoke) never throw; these are raised at load/connect/validate time.
 */
export class KdpError extends Error {
  readonly code: string;
  readonly hint: string | undefined;
  constructor(code: string, message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(options.hint ? `${message}\n  → ${options.hint}` : message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.hint = options.hint;
  }
  toJSON(): Record<string, unknown> {
    return { error: this.name, code: this.code, message: this.message };
  }
}

/** Bad command-line usage (unknown flag, missing value). Exit code 2. */
export class UsageError extends KdpError {
  constructor(message: string, hint?: string) {
    super('E_USAGE', message, hint === undefined ? {} : { hint });
  }
}

/** A config / board / robot profile file that does not validate. */
export class ConfigError extends KdpError {
  constructor(message: string, options: { hint?: string; cause?: unknown; file?: string } = {}) {
    super('E_CONFIG', options.file ? `${options.file}: ${message}` : message, options);
  }
}

/** A dataset that is missing, unreadable, or not in the expected layout. */
export class DatasetError extends KdpError {
  constructor(message: string, options: { hint?: string; cause?: unknown } = {}) {
    super('E_DATASET', message, options);
  }
}

/** Array shapes or dimensions that do not agree (dataset vs env, manifest vs env, input vs model). */
export class ShapeError extends KdpError {
  readonly expected: string;
  readonly got: string;
  constructor(what: string, expected: string | number, got: string | number, hint?: string) {
    super('E_SHAPE', `${what}: expected ${expected}, got ${got}`, hint === undefined ? {} : { hint });
    this.expected = String(expected);
    this.got = String(got);
  }
}

/** An environment name we do not know. */
export class UnknownEnvError extends KdpError {
  constructor(name: string, known: readonly string[]) {
    super('E_UNKNOWN_ENV', `unknown environment "${name}"`, { hint: `use one of: ${known.join(', ')}` });
  }
}

/** A checkpoint that is missing, corrupt or incompatible. */
export class CheckpointError extends KdpError {
  constructor(message: string, options: { hint?: string; cause?: unknown } = {}) {
    super('E_CHECKPOINT', message, options);
  }
}

/** A model file (.tflite / manifest) that is corrupt, unsupported or does not match. */
export class ModelError extends KdpError {
  constructor(code: 'E_MODEL_SCHEMA' | 'E_MODEL_UNSUPPORTED_OP' | 'E_MODEL_SHAPE' | 'E_MODEL_MISMATCH' | 'E_MODEL_IO' | 'E_MODEL_SIGNATURE',
    message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(code, message, options);
  }
}

/** The fixed arena is too small for the planned tensors. */
export class ArenaExhaustedError extends KdpError {
  constructor(readonly requestedBytes: number, readonly availableBytes: number) {
    super('E_ARENA', `arena too small: need ${requestedBytes} bytes, have ${availableBytes}`,
      { hint: 'allocate a larger arena (manifest.arenaBytes is the planned size)' });
  }
}

/** Transport-level failure (port, socket, USB). */
export class TransportError extends KdpError {
  constructor(message: string, options: { hint?: string; cause?: unknown; code?: string } = {}) {
    super(options.code ?? 'E_TRANSPORT', message, options);
  }
}
/** A pending read/write was cancelled because the transport closed. */
export class CanceledError extends TransportError {
  readonly canceled = true as const;
  constructor(message = 'operation canceled: transport closed') { super(message, { code: 'E_CANCELED' }); }
}
/** The device or link went away. */
export class DisconnectedError extends TransportError {
  readonly disconnected = true as const;
  constructor(message: string, hint = 'check the cable/radio and that the device is powered') {
    super(message, { code: 'E_DISCONNECTED', hint });
  }
}
/** No answer within the allowed time. */
export class TimeoutError extends TransportError {
  constructor(message: string, readonly timeoutMs: number, hint?: string) {
    super(`${message} (no answer within ${timeoutMs} ms)`, { code: 'E_TIMEOUT', ...(hint === undefined ? {} : { hint }) });
  }
}

/** A malformed frame/packet on a wire protocol. `frameHex` shows the offending bytes. */
export class ProtocolError extends KdpError {
  readonly frameHex: string;
  constructor(code: 'E_CHECKSUM' | 'E_FRAME' | 'E_UNEXPECTED_REPLY' | 'E_PROTOCOL', message: string, frame?: Uint8Array) {
    const hex = frame ? Buffer.from(frame.buffer, frame.byteOffset, Math.min(frame.length, 64)).toString('hex') : '';
    super(code, hex ? `${message} [${hex}${frame && frame.length > 64 ? '…' : ''}]` : message);
    this.frameHex = hex;
  }
}

/** A device reported a fault (servo error bits, battery, ...). */
export class DeviceFaultError extends KdpError {
  constructor(message: string, readonly details: Record<string, unknown> = {}, hint?: string) {
    super('E_DEVICE_FAULT', message, hint === undefined ? {} : { hint });
  }
}

/** Raised after a safe-stop sequence has run (torque off / stop setpoint), saying why. */
export class SafetyStopError extends KdpError {
  constructor(readonly reason: string, hint?: string) {
    super('E_SAFETY_STOP', `safety stop: ${reason}`, hint === undefined ? {} : { hint });
  }
}

/** Signature / integrity failure on a deployed model. */
export class IntegrityError extends KdpError {
  constructor(message: string, hint?: string) {
    super('E_INTEGRITY', message, hint === undefined ? {} : { hint });
  }
}

/**
 * The file system refused (disk full, read-only, permission, not a directory). `path` names the file or
 * folder; the message carries the OS reason, the hint what to do about it.
 */
export class IoError extends KdpError {
  readonly path: string;
  constructor(message: string, path: string, options: { hint?: string; cause?: unknown } = {}) {
    super('E_IO', message, options);
    this.path = path;
  }
}

const IO_HINTS: Record<string, string> = {
  ENOSPC: 'the disk is full: free space (or choose another folder) and run the command again',
  EDQUOT: 'the disk quota is exhausted: free space and run the command again',
  EROFS: 'the folder is on a read-only file system: choose a writable folder',
  EACCES: 'no permission to write there: choose a folder you own',
  EPERM: 'no permission to write there: choose a folder you own',
  ENOTDIR: 'a part of the path is a file, not a folder: choose another path',
  ENOENT: 'a parent folder does not exist or cannot be created (read-only location?): choose a writable folder',
  EISDIR: 'the path is a folder where a file was expected',
};

/**
 * Turn a Node fs error into an IoError naming `path` ("while writing the checkpoint" is `what`); a
 * KdpError passes through unchanged, and anything that is not an fs error is rethrown as is.
 */
export function toIoError(e: unknown, what: string, path: string): unknown {
  if (e instanceof KdpError) return e;
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  if (typeof code !== 'string' || !/^E[A-Z]+$/.test(code)) return e;
  return new IoError(`${what}: ${code} at ${path}`, path, { cause: e, hint: IO_HINTS[code] ?? `the operating system refused (${code}): check the path and free space` });
}

export function isKdpError(e: unknown): e is KdpError {
  return e instanceof KdpError;
}
