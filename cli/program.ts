import { Command, CommanderError, Option } from 'commander';
import { TOOL_VERSION } from './version.js';
import { registerMigrate } from './commands/migrate.js';
import { registerInit } from './commands/init.js';
import { registerIngestVault } from './commands/ingest-vault.js';
import { registerIngestServerLog } from './commands/ingest-server-log.js';
import { registerIngestGitlab } from './commands/ingest-gitlab.js';
import { registerCorrelate } from './commands/correlate.js';
import { registerQueryAccesses } from './commands/query-accesses.js';
import { registerQueryTokens } from './commands/query-tokens.js';
import { registerQueryLeases } from './commands/query-leases.js';
import { registerQueryFindings } from './commands/query-findings.js';
import { registerQueryQuarantine } from './commands/query-quarantine.js';
import { registerExplain } from './commands/explain.js';
import { registerFindings } from './commands/findings.js';
import { registerAlerts } from './commands/alerts.js';
import { registerReport } from './commands/report.js';
import { registerVerify } from './commands/verify.js';
import { registerKeygen } from './commands/keygen.js';
import { registerRun } from './commands/run.js';
import { registerPrune } from './commands/prune.js';
import { registerSimulate } from './commands/simulate.js';
import { registerDemo } from './commands/demo.js';
import { registerServe } from './commands/serve.js';

// Every command is registered at start-up, so command modules import their heavy implementations (the PDF
// writer, the GitLab client, the nightly run) only when they run: loaded eagerly they cost every command,
// `--help` and a nightly cron's ingest included, about a quarter of a second of start-up.

/** Builds the command tree (CONTRACT.md "Commands"). Usage errors exit 2, as the contract says. */
export function buildProgram(): Command {
  const program = new Command('keytrail')
    .description('Proves who used which secret: Vault audit logs joined to the GitLab CI jobs and people behind them.')
    .version(TOOL_VERSION, '-V, --version')
    .addOption(new Option('--db <path>', 'database file (env KEYTRAIL_DB; default ./keytrail.db)'))
    .option('--config <file>', 'configuration file (default ./keytrail.yaml when present)')
    .option('--quiet', 'log errors only')
    .option('--verbose', 'log debug detail')
    .showHelpAfterError('(run with --help for usage)')
    .enablePositionalOptions(false);

  registerInit(program);
  registerMigrate(program);
  const ingest = program.command('ingest').description('read Vault audit logs, Vault server logs and GitLab into the database');
  registerIngestVault(ingest);
  registerIngestServerLog(ingest);
  registerIngestGitlab(ingest);
  registerCorrelate(program);
  const query = program.command('query').description('access history, tokens, leases, findings and quarantined lines');
  registerQueryAccesses(query);
  registerQueryTokens(query);
  registerQueryLeases(query);
  registerQueryFindings(query);
  registerQueryQuarantine(query);
  registerExplain(program);
  registerFindings(program);
  registerAlerts(program);
  registerReport(program);
  registerVerify(program);
  registerKeygen(program);
  registerRun(program);
  registerPrune(program);
  registerSimulate(program);
  registerDemo(program);
  registerServe(program);

  // Every (sub)command reports usage errors through us so they exit 2, not commander's default 1.
  const override = (cmd: Command): void => {
    cmd.exitOverride();
    cmd.commands.forEach(override);
  };
  override(program);
  return program;
}

/** Parses argv and runs; resolves to the process exit code. */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return 0;
      return 2;
    }
    throw err;
  }
  return typeof process.exitCode === 'number' ? process.exitCode : 0;
}
