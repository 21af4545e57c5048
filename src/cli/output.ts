import type { CommandContext } from './command.js';

/** Print a command's result: JSON on stdout with --json, otherwise the human rendering. */
export function emitResult(ctx: CommandContext, result: unknown, human: () => string): void {
  if (ctx.json) process.stdout.write(JSON.stringify(result) + '\n');
  else process.stdout.write(human() + '\n');
}

/** Human text that must not pollute --json stdout (notes, summaries). */
export function say(ctx: CommandContext, text: string): void {
  (ctx.json ? process.stderr : process.stdout).write(text + '\n');
}
