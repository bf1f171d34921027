/** End-to-end: the built CLI's `correlate`, `query accesses|tokens|leases` in every format, with filters. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from './helpers/cli.js';
import { harness, storeGitlab, type Harness } from './fixtures/correlate/harness.js';
import { buildScenario, GITLAB, BASE } from './fixtures/correlate/scenario.js';
import { at } from './fixtures/correlate/vault-builder.js';

let h: Harness;
let db: string;
let config: string;
let req: Record<string, string>;
let leaseId: string;

beforeAll(async () => {
  h = await harness();
  const s = buildScenario([
    { name: 'node-a', salt: 'a' },
    { name: 'node-b', salt: 'b' },
  ]);
  req = s.req;
  leaseId = s.audit.leaseRead(s.tokens.good!, at(BASE, 200), 'database/creds/app').leaseId;
  s.audit.request(s.tokens.good!, { time: at(BASE, 210), path: 'secret/data/app/very/long/nested/path/to/a/secret/that/needs/shortening/in/tables', devices: ['node-b'] });
  await storeGitlab(h.handle, GITLAB);
  await h.ingestText('a.log', s.audit.file('node-a'), 'node-a');
  await h.ingestText('b.log', s.audit.file('node-b'), 'node-b');
  db = h.handle.path;
  await h.handle.close();
  config = join(h.dir, 'keytrail.yaml');
  writeFileSync(config, 'roles:\n  deployer: acme/deployer\n  ops: acme/other\ncorrelation:\n  clock_skew_seconds: 60\n');
});

afterAll(async () => {
  await h?.close().catch(() => undefined);
});

const cli = (...args: string[]) => runCli(['--db', db, '--config', config, ...args]);

describe('keytrail correlate and query (CLI)', () => {
  it('correlate --format json prints the contract summary on one line, then zeros', async () => {
    const r = await cli('correlate', '--format', 'json');
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n')).toHaveLength(1);
    const s = JSON.parse(r.stdout);
    expect(Object.keys(s)).toEqual(['requests', 'attribution', 'verified', 'tokens', 'leases']);
    expect(Object.keys(s.attribution)).toEqual(['claims', 'correlation-id', 'heuristic', 'none']);
    expect(Object.keys(s.verified)).toEqual(['yes', 'no', 'unknown']);
    expect(Object.keys(s.leases)).toEqual(['open', 'ended', 'outlived']);
    expect(s.requests).toBeGreaterThanOrEqual(30);
    expect(s.attribution.heuristic).toBe(4);
    const again = await cli('correlate', '--format', 'json');
    expect(again.stdout).toBe(
      '{"requests":0,"attribution":{"claims":0,"correlation-id":0,"heuristic":0,"none":0},"verified":{"yes":0,"no":0,"unknown":0},"tokens":0,"leases":{"open":0,"ended":0,"outlived":0}}\n',
    );
    const table = await cli('correlate');
    expect(table.stdout).toContain('requests: 0');
  });

  it('query accesses --format json: contract fields, numbers for ids, null for unknown, ordered by time', async () => {
    const r = await cli('query', 'accesses', '--format', 'json');
    expect(r.code).toBe(0);
    const rows = JSON.parse(r.stdout) as Record<string, unknown>[];
    expect(Object.keys(rows[0]!)).toEqual([
      'request_id', 'time', 'devices', 'operation', 'path', 'namespace', 'mount_type', 'outcome', 'remote_address', 'display_name',
      'entity_id', 'auth_mount', 'role', 'token_accessor', 'lease_id', 'job_id', 'pipeline_id', 'project_id', 'project_path',
      'user_login', 'ref', 'attribution', 'verified',
    ]);
    const times = rows.map((x) => `${x.time}`);
    expect(rows.map((x) => x.request_id)).toHaveLength(new Set(rows.map((x) => x.request_id)).size);
    const good = rows.find((x) => x.request_id === req['good.read'])!;
    expect(good).toMatchObject({ job_id: 1001, pipeline_id: 201, project_id: 10, project_path: 'acme/app', devices: ['node-a', 'node-b'], verified: 'yes' });
    const human = rows.find((x) => x.request_id === req['human.read'])!;
    expect(human).toMatchObject({ job_id: null, verified: null, attribution: 'none' });
    expect(times.length).toBe(rows.length);
  });

  it('filters: --project path and id, --from/--to days, --limit', async () => {
    const ids = async (...args: string[]) => {
      const r = await cli('query', 'accesses', '--format', 'json', ...args);
      expect(r.code, r.stderr).toBe(0);
      return (JSON.parse(r.stdout) as { request_id: string; path: string }[]).map((x) => x.request_id);
    };
    const byPath = await ids('--project', 'acme/app');
    expect(byPath).toContain(req['good.read']);
    expect(byPath).toContain(req['fork.read']); // the fork MR job runs in acme/app
    expect(byPath).not.toContain(req['heur.read']);
    expect(await ids('--project', '10')).toEqual(byPath);
    expect(await ids('--project', 'acme/app', '--from', '2026-03-02', '--to', '2026-03-02')).toEqual(byPath);
    expect(await ids('--project', 'acme/app', '--from', '2026-03-03')).toEqual([]);
    expect(await ids('--project', 'acme/app', '--to', '2026-03-01')).toEqual([]);
    expect(await ids('--project', 'acme/app', '--limit', '2')).toEqual(byPath.slice(0, 2));
  });

  it('filters: --path globs, --attribution, --outcome, --device, --user, --job', async () => {
    const ids = async (...args: string[]) => {
      const r = await cli('query', 'accesses', '--format', 'json', ...args);
      expect(r.code, r.stderr).toBe(0);
      return (JSON.parse(r.stdout) as { request_id: string; path: string }[]).map((x) => x.request_id);
    };
    const oneLevel = await ids('--path', 'secret/data/app/*');
    expect(oneLevel).toContain(req['good.read']);
    expect(oneLevel.length).toBeGreaterThan(3);
    const r = await cli('query', 'accesses', '--format', 'json', '--path', 'secret/data/app/**');
    const deep = JSON.parse(r.stdout) as { path: string }[];
    expect(deep.some((x) => x.path.includes('/very/long/'))).toBe(true);
    expect(deep.length).toBe(oneLevel.length + 1);
    expect(await ids('--path', 'secret/data/app/db')).toContain(req['good.read']);
    expect(await ids('--attribution', 'correlation-id')).toEqual([req['corr.read']]);
    expect(await ids('--outcome', 'denied')).toEqual([req['denied']]);
    const onlyB = await ids('--device', 'node-b');
    const onlyA = await ids('--device', 'node-a');
    expect(onlyB.length).toBe(onlyA.length + 1);
    expect(await ids('--device', 'node')).toEqual([]);
    expect(await ids('--user', 'erin')).toEqual([req['byUser.login'], req['byUser.read']]);
    expect(await ids('--job', '1003')).toEqual([req['heur.login'], req['heur.read']]);
  });

  it('ndjson, csv and table formats', async () => {
    const nd = await cli('query', 'accesses', '--format', 'ndjson', '--project', 'acme/app');
    const lines = nd.stdout.trim().split('\n');
    expect(JSON.parse(lines[0]!).project_path).toBe('acme/app');
    const csv = await cli('query', 'accesses', '--format', 'csv', '--project', 'acme/app');
    const csvLines = csv.stdout.trim().split('\n');
    expect(csvLines[0]).toBe(
      'request_id,time,devices,operation,path,namespace,mount_type,outcome,remote_address,display_name,entity_id,auth_mount,role,token_accessor,lease_id,job_id,pipeline_id,project_id,project_path,user_login,ref,attribution,verified',
    );
    expect(csvLines).toHaveLength(lines.length + 1);
    expect(csv.stdout).toContain('node-a;node-b');
    const table = await cli('query', 'accesses', '--path', 'secret/data/app/**');
    const tl = table.stdout.trimEnd().split('\n');
    expect(tl[0]).toMatch(/^time\s+request_id\s+operation\s+path\s+outcome/);
    expect(tl[1]).toMatch(/^-+\s+-+/);
    // Columns align: every row starts its request_id where the header does.
    const col = tl[0]!.indexOf('request_id');
    for (const line of tl.slice(2)) expect(line[col - 1]).toBe(' ');
    expect(table.stdout).toContain('…'); // the long path is shortened in the middle
    expect(table.stdout).toMatch(/secret\/data\/app\/very\S*…\S*in\/tables/);
    const empty = await cli('query', 'accesses', '--format', 'json', '--project', 'nobody/none');
    expect(empty.stdout).toBe('[]\n');
    const emptyNd = await cli('query', 'accesses', '--format', 'ndjson', '--project', 'nobody/none');
    expect(emptyNd.stdout).toBe('');
  });

  it('query tokens and query leases', async () => {
    const t = await cli('query', 'tokens', '--format', 'json', '--attribution', 'heuristic');
    const tokens = JSON.parse(t.stdout) as Record<string, unknown>[];
    expect(tokens.map((x) => x.job_id).sort()).toEqual([1003, 1008]);
    expect(tokens[0]).toMatchObject({ attribution: 'heuristic', verified: 'yes', token_type: 'service', end_inferred: true });
    const byJob = JSON.parse((await cli('query', 'tokens', '--format', 'json', '--job', '1001')).stdout) as Record<string, unknown>[];
    expect(byJob.length).toBe(4);
    const tt = await cli('query', 'tokens', '--project', 'acme/deployer');
    expect(tt.stdout).toMatch(/^token\s+issued_at/);
    const l = await cli('query', 'leases', '--format', 'json', '--path', 'database/creds/app');
    const leases = JSON.parse(l.stdout) as Record<string, unknown>[];
    expect(leases).toHaveLength(1);
    expect(leases[0]).toMatchObject({ lease_id: leaseId, job_id: 1001, project_id: 10, end_inferred: true, outlived_job: true });
    const lcsv = await cli('query', 'leases', '--format', 'csv', '--project', '10');
    expect(lcsv.stdout.split('\n')[0]).toMatch(/^lease_id,issued_at,issue_request_id,token_id/);
    expect((await cli('query', 'leases', '--format', 'json', '--path', 'aws/**')).stdout).toBe('[]\n');
  });

  it('bad filter values are usage errors (exit 2)', async () => {
    expect((await cli('query', 'accesses', '--outcome', 'maybe')).code).toBe(2);
    expect((await cli('query', 'accesses', '--from', '2026-13-40')).code).toBe(2);
    expect((await cli('query', 'tokens', '--format', 'xml')).code).toBe(2);
  });
});
