import { readdirSync, readFileSync } from 'node:fs';
import { basename, extname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { ConfigError } from '../errors.js';

/**
 * Board profiles: hardware described as data.
 *   boards/hosts/<name>.json   — the companion computer (cores to pin, serial paths, latency budget, backend, ...)
 *   boards/robots/<name>.json  — the robot (limits, ids, rates)
 * Both are validated with zod at load time; a bad file raises a `ProfileError` (a `ConfigError`) that names
 * the file, the JSON pointer of the offending field, what was expected and what was found.
 */

/** Repository `boards/` directory (profiles ship with the package). */
export const BOARDS_DIR = fileURLToPath(new URL('../../boards/', import.meta.url));

const identifier = z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'a lower-case kebab-case identifier');
const devicePattern = z.string().regex(/^\/dev\//, 'a device path under /dev (globs * allowed)');
const mavlinkTargetString = z.string().regex(/^(udp|udpout|udpin|serial):.+$/, 'udp:HOST:PORT or serial:/dev/PATH[:BAUD]');

export const CPU_GOVERNORS = ['performance', 'schedutil', 'ondemand', 'conservative', 'powersave', 'userspace'] as const;

export const HostProfileSchema = z.strictObject({
  $schema: z.string().optional(),
  kind: z.literal('host'),
  name: identifier,
  description: z.string(),
  arch: z.enum(['arm64', 'arm', 'x64']),
  cpu: z.strictObject({
    /** online cores the profile assumes */
    cores: z.number().int().min(1).max(256),
    /** cores the control loop pins to (taskset / isolcpus); each < cores */
    pinCores: z.array(z.number().int().min(0)).min(1),
    /** expected scaling governor on the pinned cores; `kdp board check` warns on anything else */
    governor: z.enum(CPU_GOVERNORS),
    model: z.string().optional(),
  }),
  node: z.strictObject({ minMajor: z.number().int().min(20) }),
  serial: z.strictObject({
    /** group that owns tty devices (Debian/Raspberry Pi OS: dialout) */
    group: z.string().min(1),
    /** where robot adapters show up; globs allowed */
    paths: z.array(devicePattern).min(1),
    /** on-board UART for a flight controller link, if any */
    uart: devicePattern.optional(),
  }),
  loop: z.strictObject({
    /** default control loop rate */
    rateHz: z.number().int().min(1).max(2000),
    /** latency budget for one plan step (one invoke + un-normalise), µs */
    planStepBudgetUs: z.number().int().min(1),
    /** budget for a whole tick (read state, plan, send setpoint), µs; must fit in one period */
    tickBudgetUs: z.number().int().min(1),
  }),
  runtime: z.strictObject({
    preferredBackend: identifier,
    fallbackBackends: z.array(identifier),
    /** default tensor arena, bytes */
    arenaBytes: z.number().int().min(1024),
    threads: z.number().int().min(1).max(16),
  }),
  mavlink: z.strictObject({
    target: mavlinkTargetString,
    sysid: z.number().int().min(1).max(255),
    compid: z.number().int().min(1).max(255),
  }),
  udev: z.strictObject({ rules: z.array(z.string().regex(/^[0-9]{2}-[a-z0-9-]+\.rules$/, 'NN-name.rules')) }),
  /** robot: the robot profile (boards/robots/<name>.json) this board drives; `kdp flash` refuses models for other envs */
  deploy: z.strictObject({ user: z.string().min(1), remoteDir: z.string().min(1), robot: identifier.optional() }),
}).superRefine((p, ctx) => {
  p.cpu.pinCores.forEach((c, i) => {
    if (c >= p.cpu.cores) ctx.addIssue({ code: 'custom', path: ['cpu', 'pinCores', i], message: `core index < cpu.cores (${p.cpu.cores})`, input: c });
  });
  const periodUs = Math.floor(1e6 / p.loop.rateHz);
  if (p.loop.tickBudgetUs > periodUs) {
    ctx.addIssue({ code: 'custom', path: ['loop', 'tickBudgetUs'], message: `≤ the loop period (${periodUs} µs at ${p.loop.rateHz} Hz)`, input: p.loop.tickBudgetUs });
  }
  if (p.loop.planStepBudgetUs > p.loop.tickBudgetUs) {
    ctx.addIssue({ code: 'custom', path: ['loop', 'planStepBudgetUs'], message: `≤ loop.tickBudgetUs (${p.loop.tickBudgetUs})`, input: p.loop.planStepBudgetUs });
  }
});
export type HostProfile = z.infer<typeof HostProfileSchema>;

const vec3 = z.tuple([z.number(), z.number(), z.number()]);
const usbId = z.string().regex(/^[0-9a-f]{4}:[0-9a-f]{4}$/, 'vendor:product in lower-case hex, e.g. 1915:7777');

export const CrazyflieProfileSchema = z.strictObject({
  $schema: z.string().optional(),
  kind: z.literal('crazyflie'),
  name: identifier,
  description: z.string(),
  massKg: z.number().positive().max(1),
  /** motor axis to body centre, m */
  armLengthM: z.number().positive().max(1),
  geofence: z.strictObject({ minM: vec3, maxM: vec3 }),
  limits: z.strictObject({
    maxVelocityXyMps: z.number().positive(),
    maxVelocityZMps: z.number().positive(),
    maxAccelXyMps2: z.number().positive(),
    maxAccelZMps2: z.number().positive(),
    maxYawRateDegPerS: z.number().positive(),
  }),
  takeoffHeightM: z.number().positive(),
  landingVelocityMps: z.number().positive(),
  setpointRateHz: z.number().int().min(10).max(1000),
  radio: z.strictObject({
    uri: z.string().regex(/^(radio|usb|udp|mock|debug):\/\//, 'a cflib-style URI (radio://0/80/2M/E7E7E7E7E7, usb://0, ...)'),
    channel: z.number().int().min(0).max(125),
    datarate: z.enum(['250K', '1M', '2M']),
    address: z.string().regex(/^[0-9A-F]{10}$/, '10 upper-case hex digits'),
    usbIds: z.strictObject({ crazyradio: usbId, crazyflieUsb: usbId }),
  }),
  /** give up and land when no link for this long */
  linkTimeoutMs: z.number().int().positive(),
}).superRefine((p, ctx) => {
  for (let i = 0; i < 3; i++) {
    if (p.geofence.minM[i]! >= p.geofence.maxM[i]!) {
      ctx.addIssue({ code: 'custom', path: ['geofence', 'maxM', i], message: `> geofence.minM[${i}] (${p.geofence.minM[i]})`, input: p.geofence.maxM[i] });
    }
  }
  if (p.takeoffHeightM > p.geofence.maxM[2]) {
    ctx.addIssue({ code: 'custom', path: ['takeoffHeightM'], message: `≤ geofence.maxM[2] (${p.geofence.maxM[2]})`, input: p.takeoffHeightM });
  }
});
export type CrazyflieProfile = z.infer<typeof CrazyflieProfileSchema>;

export const SO100_JOINTS = ['shoulder_pan', 'shoulder_lift', 'elbow_flex', 'wrist_flex', 'wrist_roll', 'gripper'] as const;

const jointSchema = z.strictObject({
  name: z.enum(SO100_JOINTS),
  /** Feetech bus id */
  id: z.number().int().min(0).max(253),
  model: z.literal('sts3215'),
  /** lerobot MotorNormMode */
  normMode: z.enum(['range_m100_100', 'range_0_100', 'degrees']),
  /** raw encoder limits (0..4095 for the STS3215); calibration narrows them further */
  positionLimitsTicks: z.tuple([z.number().int().min(0).max(4095), z.number().int().min(0).max(4095)]),
  /** the same limits about the calibrated middle, degrees (for planners and safety clamps) */
  positionLimitsDeg: z.tuple([z.number(), z.number()]),
  maxVelocityDegPerS: z.number().positive(),
});

export const So100ProfileSchema = z.strictObject({
  $schema: z.string().optional(),
  kind: z.literal('so100'),
  name: identifier,
  description: z.string(),
  bus: z.strictObject({
    protocol: z.literal('feetech'),
    model: z.literal('sts3215'),
    baud: z.number().int().positive(),
    /** protocol version (0 for STS/SMS) */
    protocolVersion: z.number().int().min(0).max(1),
    usbIds: z.array(usbId).min(1),
  }),
  controlRateHz: z.strictObject({ default: z.number().int(), min: z.number().int().min(1), max: z.number().int().max(1000) }),
  /** lerobot `max_relative_target`: largest per-step goal change, degrees */
  maxRelativeTargetDeg: z.number().positive(),
  disableTorqueOnDisconnect: z.boolean(),
  joints: z.array(jointSchema).length(6),
}).superRefine((p, ctx) => {
  const c = p.controlRateHz;
  if (!(c.min <= c.default && c.default <= c.max)) {
    ctx.addIssue({ code: 'custom', path: ['controlRateHz', 'default'], message: `within [min ${c.min}, max ${c.max}]`, input: c.default });
  }
  const ids = new Set<number>();
  p.joints.forEach((j, i) => {
    if (j.name !== SO100_JOINTS[i]) ctx.addIssue({ code: 'custom', path: ['joints', i, 'name'], message: `"${SO100_JOINTS[i]}" (lerobot so100_follower order)`, input: j.name });
    if (ids.has(j.id)) ctx.addIssue({ code: 'custom', path: ['joints', i, 'id'], message: 'a bus id unique among joints', input: j.id });
    ids.add(j.id);
    if (j.positionLimitsTicks[0] >= j.positionLimitsTicks[1]) {
      ctx.addIssue({ code: 'custom', path: ['joints', i, 'positionLimitsTicks', 1], message: `> positionLimitsTicks[0] (${j.positionLimitsTicks[0]})`, input: j.positionLimitsTicks[1] });
    }
    if (j.positionLimitsDeg[0] >= j.positionLimitsDeg[1]) {
      ctx.addIssue({ code: 'custom', path: ['joints', i, 'positionLimitsDeg', 1], message: `> positionLimitsDeg[0] (${j.positionLimitsDeg[0]})`, input: j.positionLimitsDeg[1] });
    }
  });
});
export type So100Profile = z.infer<typeof So100ProfileSchema>;

export const RobotProfileSchema = z.discriminatedUnion('kind', [CrazyflieProfileSchema, So100ProfileSchema]);
export type RobotProfile = z.infer<typeof RobotProfileSchema>;

/** A profile that failed validation: `file`, `pointer` (RFC 6901), `expected`, `got`, plus every issue. */
export class ProfileError extends ConfigError {
  constructor(
    readonly file: string,
    readonly pointer: string,
    readonly expected: string,
    readonly got: string,
    readonly issues: readonly { pointer: string; expected: string; got: string }[] = [],
    hint?: string,
  ) {
    const more = issues.length > 1 ? `\n${issues.slice(1).map((i) => `  also ${i.pointer || '/'}: expected ${i.expected}, got ${i.got}`).join('\n')}` : '';
    super(`${pointer || '/'}: expected ${expected}, got ${got}${more}`, { file, ...(hint === undefined ? {} : { hint }) });
  }
  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), file: this.file, pointer: this.pointer, expected: this.expected, got: this.got, issues: this.issues };
  }
}

export function jsonPointer(path: readonly PropertyKey[]): string {
  return path.map((k) => '/' + String(k).replace(/~/g, '~0').replace(/\//g, '~1')).join('');
}

function describeValue(v: unknown): string {
  if (v === undefined) return 'nothing (missing)';
  const s = JSON.stringify(v);
  if (s === undefined) return typeof v;
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

function expectedOf(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'invalid_type': return issue.expected;
    case 'invalid_value': return `one of ${issue.values.map((v) => JSON.stringify(v)).join('|')}`;
    case 'too_small': return issue.origin === 'array' || issue.origin === 'string'
      ? `${issue.origin} with ${issue.exact ? 'exactly' : 'at least'} ${String(issue.minimum)} items`
      : `${issue.origin} ${issue.inclusive ? '≥' : '>'} ${String(issue.minimum)}`;
    case 'too_big': return issue.origin === 'array' || issue.origin === 'string'
      ? `${issue.origin} with ${issue.exact ? 'exactly' : 'at most'} ${String(issue.maximum)} items`
      : `${issue.origin} ${issue.inclusive ? '≤' : '<'} ${String(issue.maximum)}`;
    case 'unrecognized_keys': return `no key ${issue.keys.map((k) => JSON.stringify(k)).join(', ')} (unknown field)`;
    case 'invalid_format': return issue.message.replace(/^Invalid string: must match pattern .*$/, issue.format);
    case 'invalid_union': return 'kind "host", "crazyflie" or "so100"';
    case 'custom': return issue.message;
    default: return issue.message;
  }
}

function gotOf(issue: z.core.$ZodIssue, root: unknown): string {
  if (issue.code === 'unrecognized_keys') return describeValue(issue.keys);
  let v: unknown = root;
  for (const k of issue.path) v = v !== null && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[k] : undefined;
  return describeValue('input' in issue ? issue.input : v);
}

/** Validate already-parsed JSON; raises ProfileError naming `file`. */
export function validateProfile<S extends z.ZodType>(schema: S, data: unknown, file: string): z.infer<S> {
  const r = schema.safeParse(data, { reportInput: true });
  if (r.success) return r.data;
  const issues = r.error.issues.map((i) => {
    let expected = expectedOf(i);
    // zod regex messages carry our description
    if (i.code === 'invalid_format' && i.message && !i.message.startsWith('Invalid')) expected = i.message;
    return { pointer: jsonPointer(i.path), expected, got: gotOf(i, data) };
  });
  const first = issues[0]!;
  throw new ProfileError(file, first.pointer, first.expected, first.got, issues,
    'fix the field in the profile (see docs/operations.md, "Board profiles")');
}

function readJson(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError(`cannot read profile: ${(e as Error).message}`, { file, cause: e });
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new ConfigError(`not valid JSON: ${(e as Error).message}`, { file, cause: e, hint: 'profiles are plain JSON (no comments, no trailing commas)' });
  }
}

function listNames(dir: string): string[] {
  try {
    return readdirSync(dir).filter((f) => f.endsWith('.json') && !f.includes('.example.')).map((f) => basename(f, '.json')).sort();
  } catch {
    return [];
  }
}

/** `rpi5` → boards/hosts/rpi5.json; anything with a slash or a .json suffix is a path. */
export function resolveProfilePath(kind: 'hosts' | 'robots', nameOrPath: string, boardsDir = BOARDS_DIR): { file: string; byName: boolean } {
  if (nameOrPath.includes('/') || extname(nameOrPath) === '.json' || isAbsolute(nameOrPath)) {
    return { file: resolve(nameOrPath), byName: false };
  }
  const dir = join(boardsDir, kind);
  const names = listNames(dir);
  if (!names.includes(nameOrPath)) {
    throw new ConfigError(`unknown ${kind === 'hosts' ? 'host board' : 'robot'} profile "${nameOrPath}"`,
      { hint: `use one of: ${names.join(', ') || '(none found)'} (from ${dir}), or pass a path to a .json file` });
  }
  return { file: join(dir, `${nameOrPath}.json`), byName: true };
}

function checkName(p: { name: string }, file: string, byName: boolean): void {
  if (byName && p.name !== basename(file, '.json')) {
    throw new ProfileError(file, '/name', JSON.stringify(basename(file, '.json')) + ' (the file name)', JSON.stringify(p.name));
  }
}

export function loadHostProfile(nameOrPath: string, boardsDir?: string): HostProfile {
  const { file, byName } = resolveProfilePath('hosts', nameOrPath, boardsDir);
  const p = validateProfile(HostProfileSchema, readJson(file), file);
  checkName(p, file, byName);
  return p;
}

export function loadRobotProfile(nameOrPath: string, boardsDir?: string): RobotProfile {
  const { file, byName } = resolveProfilePath('robots', nameOrPath, boardsDir);
  const p = validateProfile(RobotProfileSchema, readJson(file), file);
  checkName(p, file, byName);
  return p;
}

/** Environments a model may be trained for to run on a robot of this kind (the sim-only maze2d envs run on none). */
export const ROBOT_ENVS: Record<RobotProfile['kind'], readonly string[]> = { crazyflie: ['crazyflie-nav'], so100: ['so100-reach'] };

/** Typed helpers for callers that need a specific robot kind. */
export function loadCrazyflieProfile(nameOrPath = 'crazyflie21', boardsDir?: string): CrazyflieProfile {
  const { file, byName } = resolveProfilePath('robots', nameOrPath, boardsDir);
  const p = validateProfile(CrazyflieProfileSchema, readJson(file), file);
  checkName(p, file, byName);
  return p;
}

export function loadSo100Profile(nameOrPath = 'so100', boardsDir?: string): So100Profile {
  const { file, byName } = resolveProfilePath('robots', nameOrPath, boardsDir);
  const p = validateProfile(So100ProfileSchema, readJson(file), file);
  checkName(p, file, byName);
  return p;
}

export function listHostProfiles(boardsDir = BOARDS_DIR): string[] { return listNames(join(boardsDir, 'hosts')); }
export function listRobotProfiles(boardsDir = BOARDS_DIR): string[] { return listNames(join(boardsDir, 'robots')); }
/** Directory of the shipped udev rules. */
export const UDEV_DIR = join(BOARDS_DIR, 'udev');
