import type { Command } from 'commander';
import cliProgress from 'cli-progress';
import { collect, dateOption, runAction } from '../action.js';
import { parseSummaryFormat, writeSummary } from '../output.js';
import { KeytrailError, UsageError } from '../../db/errors.js';
import type { SyncSummary } from '../../ingest/gitlab/index.js';

interface IngestGitlabOptions {
  url: string;
  project: string[];
  group?: string;
  includeSubgroups?: boolean;
  jobsFromAudit?: boolean;
  since?: string;
  format: string;
}

function checkUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UsageError(`--url must be an http(s) URL such as https://gitlab.example.com (got "${url}")`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new UsageError('--url must start with http:// or https://');
  if (parsed.username || parsed.password) throw new UsageError('--url must not carry credentials; the token comes from GITLAB_TOKEN');
  return url;
}

/** A progress bar on stderr, only when a person watches a terminal. */
function progressBar(enabled: boolean, unit: string) {
  if (!enabled) return undefined;
  const bar = new cliProgress.SingleBar(
    { stream: process.stderr, format: `gitlab {bar} {value}/{total} ${unit} | {pipelines} pipelines, {jobs} jobs, {requests} requests`, hideCursor: true, clearOnComplete: true },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    update(value: number, total: number, payload: Record<string, number>) {
      if (!started) {
        bar.start(total, value, payload);
        started = true;
      } else {
        bar.setTotal(total);
        bar.update(value, payload);
      }
    },
    stop() {
      if (started) bar.stop();
    },
  };
}

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
    .action(
      runAction<IngestGitlabOptions>(async (ctx, opts) => {
        const format = parseSummaryFormat(opts.format);
        const modes = [opts.project.length > 0, opts.group !== undefined, opts.jobsFromAudit === true].filter(Boolean).length;
        if (modes !== 1) throw new UsageError('give exactly one of --project (repeatable), --group or --jobs-from-audit');
        if (opts.includeSubgroups && opts.group === undefined) throw new UsageError('--include-subgroups needs --group');
        const url = checkUrl(opts.url);

        const { createGitlabClient, gitlabAuthFromEnv, GitlabAuthError, GitlabRequestError, syncGitlab, syncJobsFromAudit, tokenProblem } = await import(
          '../../ingest/gitlab/index.js'
        );
        const fromEnv = gitlabAuthFromEnv(process.env);
        if (!fromEnv) throw new KeytrailError(tokenProblem(undefined));
        const config = ctx.config();
        const concurrency = config.gitlab.concurrency;
        if (!Number.isInteger(concurrency) || concurrency < 1) throw new UsageError('config: gitlab.concurrency must be a positive integer');

        const { db } = await ctx.openDb();
        const client = createGitlabClient({ url, auth: fromEnv.auth, concurrency, logger: ctx.logger });
        const bar = progressBar(process.stderr.isTTY === true && !ctx.options.quiet, opts.jobsFromAudit ? 'jobs' : 'projects');
        let summary: SyncSummary;
        try {
          if (opts.jobsFromAudit) {
            summary = await syncJobsFromAudit(db, client, {
              concurrency,
              roles: config.roles,
              logger: ctx.logger,
              onProgress: (done, total) => bar?.update(done, total, { pipelines: 0, jobs: done, requests: client.requests }),
            });
          } else {
            summary = await syncGitlab(db, client, {
              projects: opts.project,
              group: opts.group !== undefined ? { path: opts.group, includeSubgroups: opts.includeSubgroups === true } : undefined,
              since: opts.since,
              concurrency,
              logger: ctx.logger,
              onProgress: (p) => bar?.update(p.projectsDone, p.projectsTotal, { pipelines: p.pipelines, jobs: p.jobs, requests: p.requests }),
            });
          }
        } catch (err) {
          if (err instanceof GitlabAuthError) throw new KeytrailError(tokenProblem(fromEnv.variable));
          if (err instanceof GitlabRequestError) {
            if (opts.group !== undefined && err.status === 404) throw new KeytrailError(`GitLab group not found (or not visible to this token): ${opts.group}`);
            throw new KeytrailError(err.message);
          }
          throw err;
        } finally {
          bar?.stop();
        }
        // Keys in the contract's order, whichever mode ran.
        const { projects, pipelines, jobs, requests, skipped } = summary;
        writeSummary({ projects, pipelines, jobs, requests, skipped }, format);
        if (summary.skipped > 0) {
          ctx.logger.error({ skipped: summary.skipped }, 'some GitLab data could not be read (see the warnings above); the next run asks for it again');
          return 1;
        }
        return 0;
      }),
    );
}
