import type { Command } from 'commander';
import { userInfo } from 'node:os';
import { runAction } from '../action.js';
import { UsageError } from '../../db/errors.js';
import { reopenFinding, resolveFinding } from '../../reports/detect/index.js';

/** Who triages: $USER, else the OS account name. */
export function triageActor(env: NodeJS.ProcessEnv = process.env): string {
  if (env.USER) return env.USER;
  try {
    return userInfo().username || 'unknown';
  } catch {
    return 'unknown';
  }
}

function findingId(value: string | undefined): number {
  if (!value || !/^\d+$/.test(value)) throw new UsageError(`finding id must be a positive integer (got "${value ?? ''}")`);
  return Number(value);
}

export function registerFindings(parent: Command): void {
  const findings = parent.command('findings').description('triage findings');
  findings
    .command('resolve')
    .description('mark a finding resolved, with a note')
    .argument('<id>', 'finding id')
    .requiredOption('--note <text>', 'why it is resolved')
    .action(
      runAction<{ note: string }>(async (ctx, opts, args) => {
        const handle = await ctx.openDb();
        const row = await resolveFinding(handle, findingId(args[0]), { note: opts.note, actor: triageActor() });
        process.stdout.write(`finding ${row.id} (${row.rule}) resolved\n`);
      }),
    );
  findings
    .command('reopen')
    .description('re-open a resolved finding, with a note')
    .argument('<id>', 'finding id')
    .requiredOption('--note <text>', 'why it is re-opened')
    .action(
      runAction<{ note: string }>(async (ctx, opts, args) => {
        const handle = await ctx.openDb();
        const row = await reopenFinding(handle, findingId(args[0]), { note: opts.note, actor: triageActor(), mutes: ctx.config().detections.mute });
        process.stdout.write(`finding ${row.id} (${row.rule}) ${row.status === 'muted' ? 're-opened (muted by config)' : 're-opened'}\n`);
      }),
    );
}
