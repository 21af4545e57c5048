import { UsageError } from '../errors.js';

/** One CLI option. Names are kebab-case; `--json` and `--help` are added to every command. */
export interface OptionSpec {
  type: 'string' | 'boolean';
  description: string;
  short?: string;
  default?: string | boolean;
  /** Shown in --help, e.g. `<path>` or `N`. */
  placeholder?: string;
  multiple?: boolean;
}

export interface CommandSpec {
  /** Words after `kdp`, e.g. `train` or `dataset maze2d`. */
  name: string;
  summary: string;
  /** Longer text for --help (examples, notes). */
  description?: string;
  /** Positional arguments shown in usage, e.g. `<model-dir>`. */
  positionals?: string;
  options: Record<string, OptionSpec>;
  run(ctx: CommandContext): Promise<number | void>;
}

export type OptionValues = Record<string, string | boolean | string[] | undefined>;

export interface CommandContext {
  values: OptionValues;
  positionals: string[];
  /** `--json`: machine-readable result on stdout, logs/progress on stderr. */
  json: boolean;
  /** Aborted on SIGINT/SIGTERM; long work should check it and stop cleanly. */
  signal: AbortSignal;
}

export function optString(ctx: CommandContext, name: string): string | undefined {
  const v = ctx.values[name];
  if (v === undefined || typeof v === 'string') return v;
  throw new UsageError(`--${name} takes a value`);
}

export function requireString(ctx: CommandContext, name: string, hint?: string): string {
  const v = optString(ctx, name);
  if (v === undefined || v === '') throw new UsageError(`--${name} is required`, hint);
  return v;
}

export function optNumber(ctx: CommandContext, name: string, fallback: number, opts: { int?: boolean; min?: number; max?: number } = {}): number {
  const raw = optString(ctx, name);
  if (raw === undefined) return fallback;
  const v = Number(raw);
  if (!Number.isFinite(v) || (opts.int && !Number.isInteger(v))) {
    throw new UsageError(`--${name} must be ${opts.int ? 'an integer' : 'a number'}, got "${raw}"`);
  }
  if (opts.min !== undefined && v < opts.min) throw new UsageError(`--${name} must be ≥ ${opts.min}, got ${v}`);
  if (opts.max !== undefined && v > opts.max) throw new UsageError(`--${name} must be ≤ ${opts.max}, got ${v}`);
  return v;
}

export function optFlag(ctx: CommandContext, name: string): boolean {
  return ctx.values[name] === true;
}

/** Parse `a,b,c` into numbers, checking the count. */
export function optVector(ctx: CommandContext, name: string, length: number): number[] | undefined {
  const raw = optString(ctx, name);
  if (raw === undefined) return undefined;
  const parts = raw.split(',').map((s) => Number(s.trim()));
  if (parts.length !== length || parts.some((x) => !Number.isFinite(x))) {
    throw new UsageError(`--${name} must be ${length} comma-separated numbers, got "${raw}"`);
  }
  return parts;
}

export function optChoice<T extends string>(ctx: CommandContext, name: string, choices: readonly T[], fallback: T): T {
  const raw = optString(ctx, name);
  if (raw === undefined) return fallback;
  if (!(choices as readonly string[]).includes(raw)) throw new UsageError(`--${name} must be one of ${choices.join('|')}, got "${raw}"`);
  return raw as T;
}
