import { existsSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { KdpError, UsageError } from '../errors.js';
import { setLogLevel } from '../log.js';
import type { CommandContext, CommandSpec, OptionSpec } from './command.js';
import { COMMANDS } from './registry.js';

const GLOBAL_OPTIONS: Record<string, OptionSpec> = {
  json: { type: 'boolean', description: 'print the result as JSON on stdout (logs and progress go to stderr)' },
  help: { type: 'boolean', short: 'h', description: 'show help for this command' },
  'log-level': { type: 'string', placeholder: '<level>', description: 'trace|debug|info|warn|error (default info; env KDP_LOG_LEVEL)' },
};

function moduleUrl(mod: string, ext: 'ts' | 'js'): URL {
  return new URL(`./commands/${mod}.${ext}`, import.meta.url);
}

function isAvailable(mod: string): boolean {
  return existsSync(fileURLToPath(moduleUrl(mod, 'ts'))) || existsSync(fileURLToPath(moduleUrl(mod, 'js')));
}

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

export function topLevelHelp(): string {
  const names = Object.keys(COMMANDS).filter((n) => isAvailable(COMMANDS[n]!.module));
  const width = Math.max(...names.map((n) => n.length));
  return [
    'kdp — Keyed Drifting Policies on the edge',
    '',
    'Usage: kdp <command> [options]        kdp <command> --help',
    '',
    'Commands:',
    ...names.map((n) => `  ${n.padEnd(width)}  ${COMMANDS[n]!.summary}`),
    '',
    'Global options: --json, --log-level <level>, --help, --version',
  ].join('\n');
}

export function commandHelp(spec: CommandSpec): string {
  const all = { ...spec.options, ...GLOBAL_OPTIONS };
  const rows = Object.entries(all).map(([name, o]) => {
    const flag = `${o.short ? `-${o.short}, ` : ''}--${name}${o.type === 'string' ? ` ${o.placeholder ?? '<value>'}` : ''}`;
    const def = o.default !== undefined ? ` (default: ${String(o.default)})` : '';
    return [flag, o.description + def] as const;
  });
  const width = Math.max(...rows.map(([f]) => f.length));
  return [
    `kdp ${spec.name} — ${spec.summary}`,
    '',
    `Usage: kdp ${spec.name}${spec.positionals ? ` ${spec.positionals}` : ''} [options]`,
    ...(spec.description ? ['', spec.description] : []),
    '',
    'Options:',
    ...rows.map(([f, d]) => `  ${f.padEnd(width)}  ${d}`),
  ].join('\n');
}

/** Longest prefix of argv that names a command (`dataset maze2d` before `dataset`). */
function resolveCommand(argv: string[]): { name: string; rest: string[] } | undefined {
  for (let n = Math.min(3, argv.length); n >= 1; n--) {
    const name = argv.slice(0, n).join(' ');
    if (COMMANDS[name]) return { name, rest: argv.slice(n) };
  }
  return undefined;
}

async function loadCommand(name: string): Promise<CommandSpec> {
  const entry = COMMANDS[name]!;
  if (!isAvailable(entry.module)) {
    throw new UsageError(`"kdp ${name}" is not available in this build yet`, 'run `kdp --help` for the commands this build has');
  }
  const mod = (await import(moduleUrl(entry.module, 'js').href)) as { command: CommandSpec };
  return mod.command;
}

export async function main(argv: string[]): Promise<number> {
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
    process.stdout.write(topLevelHelp() + '\n');
    return 0;
  }
  if (argv[0] === '--version' || argv[0] === '-v') {
    process.stdout.write(version() + '\n');
    return 0;
  }
  const json = argv.includes('--json');
  const controller = new AbortController();
  // First Ctrl-C: abort, and the command runs its safe stop (land, torque off, checkpoint). A second one
  // must not cut that short on a hardware path, so only a third forces the exit.
  let signals = 0;
  const onSignal = (): void => {
    signals++;
    if (signals === 1) { controller.abort(); return; }
    if (signals === 2) { process.stderr.write('stopping safely (stop setpoint / torque off / checkpoint)… press Ctrl-C again to force quit\n'); return; }
    process.exit(130);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const resolved = resolveCommand(argv);
    if (!resolved) {
      const group = Object.keys(COMMANDS).filter((n) => n.startsWith(`${argv[0]} `));
      throw new UsageError(`unknown command "${argv.join(' ')}"`,
        group.length ? `did you mean one of: ${group.map((g) => `kdp ${g}`).join(', ')}?` : 'run `kdp --help` for the list of commands');
    }
    const spec = await loadCommand(resolved.name);
    const options = Object.fromEntries(Object.entries({ ...spec.options, ...GLOBAL_OPTIONS }).map(([k, o]) => {
      const p: { type: 'string' | 'boolean'; short?: string; multiple?: boolean } = { type: o.type };
      if (o.short) p.short = o.short;
      if (o.multiple) p.multiple = true;
      return [k, p];
    }));
    let parsed;
    try {
      parsed = parseArgs({ args: joinNegativeValues(resolved.rest, options), options, allowPositionals: true, strict: true });
    } catch (e) {
      throw new UsageError((e as Error).message, `run \`kdp ${resolved.name} --help\``);
    }
    if (parsed.values.help) {
      process.stdout.write(commandHelp(spec) + '\n');
      return 0;
    }
    const level = parsed.values['log-level'];
    if (typeof level === 'string') setLogLevel(level);
    const values: CommandContext['values'] = {};
    for (const [k, o] of Object.entries(spec.options)) {
      const v = parsed.values[k];
      values[k] = v === undefined && o.default !== undefined ? (o.type === 'string' ? String(o.default) : o.default) : (v as string | boolean | string[] | undefined);
    }
    const code = await spec.run({ values, positionals: parsed.positionals, json, signal: controller.signal });
    return typeof code === 'number' ? code : 0;
  } catch (e) {
    return reportError(e, json);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/**
 * `--geofence -0.5,-1,0,3,1,1`: node's parseArgs reads a value that starts with "-" as an option and refuses
 * it. A value that looks like a negative number (or a list starting with one) after a string option is joined
 * as `--name=value`, so examples run as a user types them.
 */
export function joinNegativeValues(args: string[], options: Record<string, { type: 'string' | 'boolean'; short?: string }>): string[] {
  const stringFlags = new Set<string>();
  for (const [name, o] of Object.entries(options)) {
    if (o.type !== 'string') continue;
    stringFlags.add(`--${name}`);
    if (o.short) stringFlags.add(`-${o.short}`);
  }
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!, next = args[i + 1];
    if (a === '--') { out.push(...args.slice(i)); break; }
    if (stringFlags.has(a) && next !== undefined && /^-(\d|\.\d)/.test(next)) { out.push(`${a}=${next}`); i++; continue; }
    out.push(a);
  }
  return out;
}

export function reportError(e: unknown, json: boolean): number {
  const code = e instanceof UsageError ? 2 : 1;
  if (e instanceof KdpError) {
    if (json) process.stdout.write(JSON.stringify(e.toJSON()) + '\n');
    process.stderr.write(`error [${e.code}]: ${e.message}\n`);
  } else {
    // a bug, not a user mistake: one message with the stack (printed once), and where to report it
    if (json) process.stdout.write(JSON.stringify({ error: 'Error', code: 'E_INTERNAL', message: String((e as Error)?.message ?? e) }) + '\n');
    process.stderr.write(`error [E_INTERNAL]: ${(e as Error)?.stack ?? String(e)}\n  → this is a bug in kdp, not in your input: please report it with the command line\n`);
  }
  return code;
}
