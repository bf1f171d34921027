import type { Command } from 'commander';
import { notImplemented } from '../not-implemented.js';
import { collect, dateOption } from '../action.js';

export function registerIngestGitlab(parent: Command): void {
  parent
    .command('gitlab')
    .description('sync projects, pipelines and jobs from the GitLab REST API (token from GITLAB_TOKEN or GITLAB_OAUTH_TOKEN)')
    .requiredOption('--url <url>', 'GitLab base URL, e.g. https://gitlab.example.com')
    .option('--project <id-or-path>', 'project to sync (repeatable)', collect, [])
    .option('--group <path>', 'sync every project of a group')
    .option('--include-subgroups', 'with --group, include subgroups')
    .option('--jobs-from-audit', 'fetch the jobs named in Vault data that are not synced yet')
    .option('--since <date>', 'bound the first backfill (UTC date)', dateOption('--since'))
    .option('--format <format>', 'summary format: table or json', 'table')
    .action(notImplemented('ingest gitlab'));
}
