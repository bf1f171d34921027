import { afterEach, describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { harness, storeGitlab, recordJobNotFound, type Harness } from './fixtures/correlate/harness.js';
import { buildScenario, GITLAB, ROLES } from './fixtures/correlate/scenario.js';

async function access(h: Harness, requestId: string) {
  return h.handle.db.selectFrom('accesses').selectAll().where('request_id', '=', requestId).executeTakeFirstOrThrow();
}

function detail(row: { verify_detail: string | null }) {
  return row.verify_detail ? (JSON.parse(row.verify_detail) as { contradictions?: { check: string }[]; heuristic?: { candidates: number; narrowed_by: string[] } }) : {};
}

/** The scenario as a committed JSONL audit file (regenerate with KEYTRAIL_WRITE_FIXTURES=1). */
const FIXTURE = resolve(import.meta.dirname, 'fixtures/correlate/scenario-audit.jsonl');

describe('committed fixture', () => {
  it('test/fixtures/correlate/scenario-audit.jsonl is what the scenario builder writes', () => {
    const text = buildScenario().audit.file('file');
    if (process.env.KEYTRAIL_WRITE_FIXTURES) writeFileSync(FIXTURE, text);
    expect(readFileSync(FIXTURE, 'utf8')).toBe(text);
  });
});

describe('attribution and verification', () => {
  let h: Harness;
  afterEach(async () => h?.close());

  async function setup() {
    h = await harness();
    const s = buildScenario();
    await storeGitlab(h.handle, GITLAB);
    await recordJobNotFound(h.handle, 7777);
    await h.ingestFile(FIXTURE, 'file');
    const summary = await h.correlate({ roles: ROLES });
    return { s, summary };
  }

  it('claims: verified yes, with the job, pipeline, project and person from GitLab', async () => {
    const { s } = await setup();
    const r = await access(h, s.req['good.read']!);
    expect(r).toMatchObject({
      attribution: 'claims',
      verified: 'yes',
      job_id: 1001,
      pipeline_id: 201,
      project_id: 10,
      project_path: 'acme/app',
      user_login: 'alice',
      ref: 'main',
      role: 'ci',
      auth_mount: 'auth/jwt/',
      outcome: 'ok',
      pairing: 'paired',
      is_secret_access: 1,
    });
    expect(r.verify_detail).toBeNull();
    const login = await access(h, s.req['good.login']!);
    expect(login).toMatchObject({ attribution: 'claims', verified: 'yes', is_secret_access: 0 });
    expect(login.token_id).toBe(r.token_id);
  });

  it('claims contradicted by GitLab: verified no with each contradiction recorded', async () => {
    const { s } = await setup();
    const pipeline = await access(h, s.req['wrongPipeline.read']!);
    expect(pipeline.verified).toBe('no');
    expect(detail(pipeline).contradictions!.map((c) => c.check)).toEqual(['pipeline']);
    const project = await access(h, s.req['wrongProject.read']!);
    expect(project.verified).toBe('no');
    expect(detail(project).contradictions!.map((c) => c.check)).toEqual(['project']);
    expect(project.project_id).toBe(10); // the project of record is the job's project in GitLab
    const late = await access(h, s.req['late.read']!);
    expect(late.verified).toBe('no');
    expect(detail(late).contradictions!.map((c) => c.check)).toEqual(['time']);
    const lateLogin = await access(h, s.req['late.login']!);
    expect(lateLogin.verified).toBe('yes');
    const ghost = await access(h, s.req['ghost.read']!);
    expect(ghost.verified).toBe('no');
    expect(detail(ghost).contradictions!.map((c) => c.check)).toEqual(['job']);
  });

  it('claims of a job GitLab has not been synced for: verified unknown', async () => {
    const { s } = await setup();
    const r = await access(h, s.req['unsynced.read']!);
    expect(r).toMatchObject({ attribution: 'claims', verified: 'unknown', job_id: 5555, pipeline_id: 555, project_id: 10, project_path: 'acme/app' });
  });

  it('a fork merge-request pipeline is not a contradiction (project of record = the job project; MR ref ≠ branch)', async () => {
    const { s } = await setup();
    const r = await access(h, s.req['fork.read']!);
    expect(r).toMatchObject({ attribution: 'claims', verified: 'yes', job_id: 1002, project_id: 10, project_path: 'acme/app', ref: 'feature-x', user_login: 'bob' });
  });

  it('correlation-id: a decimal job id in x-correlation-id; any other value attributes nothing', async () => {
    const { s } = await setup();
    const r = await access(h, s.req['corr.read']!);
    expect(r).toMatchObject({ attribution: 'correlation-id', verified: 'yes', job_id: 1006, pipeline_id: 201, project_id: 10, user_login: 'alice' });
    const other = await access(h, s.req['corr.notAJob']!);
    expect(other).toMatchObject({ attribution: 'none', verified: null, job_id: null });
  });

  it('heuristic: exactly one running job of the role project (runner address), inherited by the token requests', async () => {
    const { s } = await setup();
    const r = await access(h, s.req['heur.read']!);
    expect(r).toMatchObject({ attribution: 'heuristic', verified: 'yes', job_id: 1003, project_id: 30, project_path: 'acme/deployer', user_login: 'carol' });
    expect(detail(r).heuristic).toMatchObject({ candidates: 1, narrowed_by: ['runner_ip'] });
    const tok = await h.handle.db.selectFrom('tokens').selectAll().where('id', '=', r.token_id!).executeTakeFirstOrThrow();
    expect(tok).toMatchObject({ attribution: 'heuristic', job_id: 1003 });
  });

  it('heuristic with two fitting jobs: none, with the candidate count', async () => {
    const { s } = await setup();
    const r = await access(h, s.req['ambiguous.read']!);
    expect(r).toMatchObject({ attribution: 'none', verified: null, job_id: null });
    expect(detail(r).heuristic).toMatchObject({ candidates: 2 });
  });

  it('heuristic narrowed by the GitLab user the display name carries', async () => {
    const { s } = await setup();
    const r = await access(h, s.req['byUser.read']!);
    expect(r).toMatchObject({ attribution: 'heuristic', job_id: 1008, user_login: 'erin', verified: 'yes' });
    expect(detail(r).heuristic).toMatchObject({ candidates: 1, narrowed_by: ['user'] });
  });

  it('none for a person, and outcomes ok / denied / error (failed login) with pairing labels', async () => {
    const { s } = await setup();
    expect(await access(h, s.req['human.read']!)).toMatchObject({ attribution: 'none', verified: null, display_name: 'userpass-mallory', outcome: 'ok' });
    expect(await access(h, s.req['human.login']!)).toMatchObject({ auth_mount: 'auth/userpass/', outcome: 'ok' });
    expect(await access(h, s.req['denied']!)).toMatchObject({ outcome: 'denied' });
    expect(await access(h, s.req['failedLogin']!)).toMatchObject({ outcome: 'error', token_id: null });
    expect(await access(h, s.req['probe']!)).toMatchObject({ pairing: 'request-only', namespace: '', outcome: 'ok' });
  });

  it('the summary counts what the run processed', async () => {
    const { summary } = await setup();
    const rows = await h.handle.db.selectFrom('accesses').selectAll().execute();
    expect(summary.requests).toBe(rows.length);
    const count = (f: (r: (typeof rows)[number]) => boolean) => rows.filter(f).length;
    expect(summary.attribution).toEqual({
      claims: count((r) => r.attribution === 'claims'),
      'correlation-id': count((r) => r.attribution === 'correlation-id'),
      heuristic: count((r) => r.attribution === 'heuristic'),
      none: count((r) => r.attribution === 'none'),
    });
    expect(summary.attribution['correlation-id']).toBe(1);
    expect(summary.verified.no).toBe(count((r) => r.verified === 'no'));
    expect(summary.verified.unknown).toBe(2);
  });

  it('GitLab data arriving later re-evaluates pending rows: unknown → yes, none → heuristic', async () => {
    h = await harness();
    const s = buildScenario();
    await h.ingestText('audit.log', s.audit.file('file'), 'file');
    await h.correlate({ roles: ROLES });
    expect((await access(h, s.req['good.read']!)).verified).toBe('unknown');
    expect((await access(h, s.req['heur.read']!)).attribution).toBe('none');
    await storeGitlab(h.handle, GITLAB);
    const second = await h.correlate({ roles: ROLES });
    expect(second.requests).toBeGreaterThan(0);
    expect(await access(h, s.req['good.read']!)).toMatchObject({ verified: 'yes', project_path: 'acme/app' });
    expect(await access(h, s.req['heur.read']!)).toMatchObject({ attribution: 'heuristic', job_id: 1003 });
    const third = await h.correlate({ roles: ROLES });
    expect(third.requests).toBe(0);
    expect(third.tokens).toBe(0);
  });
});
