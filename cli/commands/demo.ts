import type { Command } from 'commander';
import { existsSync, rmSync, mkdirSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { runAction } from '../action.js';
import { UsageError } from '../../db/errors.js';
import { loadConfig } from '../config.js';
import { openDatabase } from '../../db/index.js';
import { parsePeriod } from '../run/period.js';
import type { StepResult } from '../run/steps.js';

const DEMO_DIR = 'keytrail-demo';

export function registerDemo(parent: Command): void {
  parent
    .command('demo')
    .description('the whole pipeline on a small simulated organisation in ./keytrail-demo/ (recreated each run)')
    .option('--seed <n>', 'simulation seed', '7')
    .action(
      runAction<{ seed: string }>(async (ctx, opts) => {
        const out = (text = '') => process.stdout.write(`${text}\n`);
        const dir = resolve(DEMO_DIR);
        const shown = relative(process.cwd(), dir) || '.';
        // The demo recreates its own folder, and only a folder that a previous demo wrote.
        if (existsSync(dir) && !existsSync(join(dir, 'keytrail.db')) && !existsSync(join(dir, 'sim'))) {
          throw new UsageError(`${shown}/ exists and was not written by the demo; move it away first`);
        }
        rmSync(dir, { recursive: true, force: true });
        mkdirSync(dir, { recursive: true });
        const logger = ctx.options.verbose ? ctx.logger : ctx.logger.child({}, { level: 'warn' });

        out('keytrail demo: a simulated organisation, one week of GitLab CI against Vault');
        // Loaded here, not with the CLI: every other command starts faster without the simulator.
        const { simulate } = await import('../../sim/index.js');
        const { startFakeGitlab } = await import('../../sim/fake-gitlab/index.js');
        const sim = await simulate({ outDir: join(dir, 'sim'), seed: Number(opts.seed) || 7, days: 7, projects: 8, jobsPerDay: 40 });
        out(`  simulated ${sim.jobs} jobs in ${sim.pipelines} pipelines, ${sim.requests} Vault requests, ${sim.lines} audit lines`);

        const gitlab = await startFakeGitlab({ stateDir: join(sim.outDir, 'gitlab') });
        out(`  fake GitLab API listening on ${gitlab.url}`);
        const config = loadConfig(join(sim.outDir, 'keytrail.yaml'));
        config.gitlab.url = gitlab.url;
        config.report.out_dir = join(dir, 'packs');
        const handle = await openDatabase(join(dir, 'keytrail.db'));
        let alertsText = '';
        let steps: StepResult[];
        let packDir: string | undefined;
        try {
          const { runNightly } = await import('../run/nightly.js');
          const result = await runNightly(handle, {
            config,
            logger,
            alertFormat: 'json',
            write: (text) => {
              alertsText += text;
            },
            env: { ...process.env, GITLAB_TOKEN: sim.gitlabToken, GITLAB_OAUTH_TOKEN: undefined },
            // The simulated week lies in March 2026: force that month's pack, generated at a fixed time.
            reportPeriod: parsePeriod('2026-03'),
            generatedAt: '2026-04-01T06:00:00Z',
          });
          steps = result.steps;
          packDir = result.packDir;
        } finally {
          await gitlab.close();
        }

        const step = (name: string) => steps.find((s) => s.name === name);
        const n = (v: unknown) => (typeof v === 'number' ? v : 0);
        out();
        const ingest = step('ingest-vault')?.summary ?? {};
        out(`Ingested ${n(ingest.lines)} audit lines from ${n(ingest.devices)} devices: ${n(ingest.stored)} stored, ${n(ingest.duplicates)} duplicates (the same request logged by another device), ${n(ingest.quarantined)} quarantined (torn lines).`);
        const gl = step('gitlab')?.summary ?? {};
        out(`Synced GitLab: ${n(gl.projects)} projects, ${n(gl.pipelines)} pipelines, ${n(gl.jobs)} jobs in ${n(gl.requests)} API requests.`);

        const attribution = await handle.db
          .selectFrom('accesses')
          .select(['attribution', (eb) => eb.fn.countAll<number>().as('n')])
          .groupBy('attribution')
          .execute();
        const verified = await handle.db
          .selectFrom('accesses')
          .select(['verified', (eb) => eb.fn.countAll<number>().as('n')])
          .where('verified', 'is not', null)
          .groupBy('verified')
          .execute();
        const total = attribution.reduce((s, r) => s + Number(r.n), 0);
        const count = (kind: string) => Number(attribution.find((r) => r.attribution === kind)?.n ?? 0);
        const check = (state: string) => Number(verified.find((r) => r.verified === state)?.n ?? 0);
        out(
          `Correlated ${total} Vault requests: ${count('claims')} tied to their GitLab job by token claims, ${count('correlation-id')} by an X-Correlation-ID header, ` +
            `${count('heuristic')} by the heuristic (one running job fitted), ${count('none')} to no job (people, operators, unmapped roles).`,
        );
        out(`GitLab confirmed ${check('yes')} of those attributions and contradicted ${check('no')}; ${check('unknown')} are still unknown.`);

        const findings = await handle.db
          .selectFrom('findings')
          .select(['id', 'rule', 'severity', 'status', 'detail'])
          .orderBy('id')
          .execute();
        const rank: Record<string, number> = { critical: 0, high: 1, medium: 2, low: 3 };
        const bySeverity = Object.entries(
          findings.reduce<Record<string, number>>((acc, f) => ((acc[f.severity] = (acc[f.severity] ?? 0) + 1), acc), {}),
        ).sort(([a], [b]) => (rank[a] ?? 9) - (rank[b] ?? 9));
        out(`Detections raised ${findings.length} findings (${bySeverity.map(([s, c]) => `${c} ${s}`).join(', ')}), for example:`);
        const oneEach = new Map<string, (typeof findings)[number]>();
        for (const f of [...findings].sort((a, b) => (rank[a.severity] ?? 9) - (rank[b.severity] ?? 9))) {
          if (!oneEach.has(f.rule)) oneEach.set(f.rule, f);
        }
        for (const f of [...oneEach.values()].slice(0, 6)) {
          out(`  #${f.id} [${f.severity}] ${f.rule}: ${f.detail}`);
        }
        const delivered = alertsText.split('\n').filter(Boolean).length;
        out(`  (${delivered} alerts delivered; \`keytrail query findings\` lists them all)`);

        if (packDir) {
          out();
          out(`Evidence pack for March 2026: ${relative(process.cwd(), packDir)}/report.pdf (with CSV populations, queries.sql and a manifest; ${relative(process.cwd(), packDir)}.zip beside it)`);
        }
        const failed = steps.filter((s) => s.status === 'failed');
        for (const f of failed) out(`Step ${f.name} failed: ${String(f.summary.error)}`);

        const sample = await handle.db
          .selectFrom('accesses')
          .select(['request_id', 'path'])
          .where('attribution', '=', 'claims')
          .where('is_secret_access', '=', 1)
          .orderBy('time_key')
          .limit(1)
          .executeTakeFirst();
        await handle.close();
        const db = `--db ${shown}/keytrail.db`;
        out();
        out('Try next:');
        out(`  npx keytrail query accesses ${db} --path 'kv/data/**' --attribution claims --limit 10`);
        out(`  npx keytrail explain ${sample?.request_id ?? '<request_id>'} ${db}`);
        out(`  npx keytrail verify ${packDir ? relative(process.cwd(), packDir) : `${shown}/packs/2026-03`}`);
        return failed.length > 0 ? 1 : 0;
      }),
    );
}
