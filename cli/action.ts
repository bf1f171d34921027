import { InvalidArgumentError, type Command } from 'commander';
import { KeytrailError } from '../db/errors.js';
import { createContext, type CommandContext } from './context.js';

/** What an action returns: an exit code (0 ok, 1 operational failure, 3 findings delivered), or nothing for 0. */
export type ActionResult = number | void;

/**
 * Wraps a command action: builds the context, maps errors to exit codes and one-line messages on stderr,
 * and closes what the action opened. `args` are the positional arguments; `opts` the command's own options.
 */
export function runAction<O>(
  fn: (ctx: CommandContext, opts: O, args: string[], cmd: Command) => Promise<ActionResult>,
): (...args: unknown[]) => Promise<void> {
  return async (...raw: unknown[]) => {
    const cmd = raw[raw.length - 1] as Command;
    const opts = raw[raw.length - 2] as O;
    const positional = raw.slice(0, -2).flatMap((a) => (Array.isArray(a) ? a.map(String) : a === undefined ? [] : [String(a)]));
    const ctx = createContext(cmd);
    try {
      const code = await fn(ctx, opts, positional, cmd);
      process.exitCode = typeof code === 'number' ? code : 0;
    } catch (err) {
      if (err instanceof KeytrailError) {
        process.stderr.write(`keytrail: ${err.message}\n`);
        process.exitCode = err.exitCode;
      } else {
        process.stderr.write(`keytrail: unexpected error: ${(err as Error)?.stack ?? String(err)}\n`);
        process.exitCode = 1;
      }
    } finally {
      await ctx.dispose();
    }
  };
}

/** Parses a positive integer option value, or fails as a usage error naming the flag. */
export function intOption(flag: string): (value: string) => number {
  return (value: string) => {
    if (!/^\d+$/.test(value)) throw new InvalidArgumentError(`${flag} must be a non-negative integer.`);
    return Number(value);
  };
}

/** Validates a UTC day given as an option (`YYYY-MM-DD`). */
export function dateOption(flag: string): (value: string) => string {
  return (value: string) => {
    if (!/^\d{4}-\d{2}-\d{2}$/.test(value) || Number.isNaN(Date.parse(`${value}T00:00:00Z`))) {
      throw new InvalidArgumentError(`${flag} must be a UTC date YYYY-MM-DD.`);
    }
    return value;
  };
}

/** Collects a repeatable option into an array. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}
