import type { Command } from 'commander';
import { loadConfig, type Config } from './config.js';
import { createLogger, type Logger } from './logger.js';
import { openDatabase, type KeytrailDb } from '../db/index.js';

/** Global options (CONTRACT.md "Conventions"), resolved once per command. */
export interface GlobalOptions {
  db: string;
  config?: string;
  quiet?: boolean;
  verbose?: boolean;
}

export interface CommandContext {
  options: GlobalOptions;
  dbPath: string;
  logger: Logger;
  /** keytrail.yaml (read on first use, so commands that do not need it never fail on it). */
  config(): Config;
  /** Opens the database (migrations applied); closed by `runAction` when the command ends. */
  openDb(): Promise<KeytrailDb>;
}

export function globalOptions(cmd: Command): GlobalOptions {
  const all = cmd.optsWithGlobals() as Partial<GlobalOptions>;
  return {
    db: all.db ?? process.env.KEYTRAIL_DB ?? './keytrail.db',
    config: all.config,
    quiet: all.quiet,
    verbose: all.verbose,
  };
}

export function createContext(cmd: Command): CommandContext & { dispose(): Promise<void> } {
  const options = globalOptions(cmd);
  const logger = createLogger(options);
  let config: Config | undefined;
  const opened: KeytrailDb[] = [];
  return {
    options,
    dbPath: options.db,
    logger,
    config: () => (config ??= loadConfig(options.config)),
    openDb: async () => {
      const handle = await openDatabase(options.db, {
        onMigrate: (pending) => logger.info({ db: options.db, migrations: pending }, 'applying database migrations (minutes on a large database)'),
      });
      opened.push(handle);
      return handle;
    },
    dispose: async () => {
      for (const h of opened.splice(0)) await h.close();
    },
  };
}
