/**
 * A small deterministic GitLab organisation in the state format (notes/GITLAB_STATE.md), for tests and the
 * benchmark. Shapes follow the public fixtures: single-pipeline objects like get_pipeline.json, jobs like
 * get_job.json with the full PipelineBasic, a runner whose ip_address is null and a runner_manager that has one.
 */
import type { GitlabState, Json } from './state.js';

export interface SyntheticOptions {
  projects?: number;
  pipelinesPerProject?: number;
  jobsPerPipeline?: number;
  /** Every Nth pipeline gets a child pipeline (source parent_pipeline) with 2 jobs; 0 for none. */
  childEvery?: number;
  /** Every Nth pipeline has its first job retried once (an extra retried job); 0 for none. */
  retriedEvery?: number;
  groupPath?: string;
  token?: string;
  oauthToken?: string;
  /** First pipeline's creation time. */
  start?: string;
  host?: string;
}

const USERS = ['alice', 'bob', 'carol', 'dave'];

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function sha(n: number): string {
  return n.toString(16).padStart(8, '0').repeat(5);
}

export function syntheticState(opts: SyntheticOptions = {}): GitlabState {
  const nProjects = opts.projects ?? 2;
  const perProject = opts.pipelinesPerProject ?? 3;
  const perPipeline = opts.jobsPerPipeline ?? 2;
  const groupPath = opts.groupPath ?? 'acme';
  const host = opts.host ?? 'https://gitlab.example.com';
  const start = Date.parse(opts.start ?? '2026-03-02T08:00:00.000Z');
  const groups: Json[] = [
    { id: 10, name: groupPath, path: groupPath, full_path: groupPath, parent_id: null, web_url: `${host}/groups/${groupPath}` },
    { id: 11, name: 'infra', path: 'infra', full_path: `${groupPath}/infra`, parent_id: 10, web_url: `${host}/groups/${groupPath}/infra` },
  ];
  const projects: Json[] = [];
  const pipelines: Json[] = [];
  const jobs: Json[] = [];
  let pipelineId = 1000;
  let jobId = 100000;
  for (let p = 0; p < nProjects; p++) {
    const projectId = 100 + p;
    // Every third project lives in the subgroup, so --include-subgroups matters.
    const ns = p % 3 === 2 ? groups[1]! : groups[0]!;
    const path = `app-${p}`;
    const full = `${String(ns.full_path)}/${path}`;
    projects.push({
      id: projectId,
      description: null,
      name: path,
      name_with_namespace: `${String(ns.name)} / ${path}`,
      path,
      path_with_namespace: full,
      created_at: iso(start - 86_400_000),
      updated_at: iso(start - 86_400_000),
      default_branch: 'main',
      tag_list: [],
      topics: [],
      web_url: `${host}/${full}`,
      last_activity_at: iso(start),
      namespace: { id: ns.id, name: ns.name, path: ns.path, kind: 'group', full_path: ns.full_path, parent_id: ns.parent_id, avatar_url: null, web_url: ns.web_url },
      visibility: 'private',
    });
    const makePipeline = (i: number, source: string, created: number): Json => {
      const id = pipelineId++;
      const user = USERS[(p + i) % USERS.length]!;
      return {
        id,
        iid: i + 1,
        project_id: projectId,
        name: source === 'parent_pipeline' ? 'child' : 'Build pipeline',
        sha: sha(id),
        ref: 'main',
        status: 'success',
        source,
        created_at: iso(created),
        updated_at: iso(created + 120_000),
        web_url: `${host}/${full}/-/pipelines/${id}`,
        before_sha: '0000000000000000000000000000000000000000',
        tag: false,
        yaml_errors: null,
        user: { id: 1 + USERS.indexOf(user), username: user, name: user, state: 'active', locked: false, avatar_url: null, web_url: `${host}/${user}` },
        started_at: iso(created + 5_000),
        finished_at: iso(created + 120_000),
        committed_at: null,
        duration: 115,
        queued_duration: 5,
        coverage: null,
        detailed_status: { icon: 'status_success', text: 'passed', label: 'passed', group: 'success', tooltip: 'passed', has_details: false, details_path: `/${full}/-/pipelines/${id}`, illustration: null, favicon: '/assets/favicon.png' },
        archived: false,
      };
    };
    const makeJob = (pl: Json, k: number, retried: boolean): Json => {
      const id = jobId++;
      const created = Date.parse(String(pl.created_at));
      const startedAt = created + 5_000 + k * 1_000;
      const user = pl.user as Json;
      return {
        commit: { id: pl.sha, short_id: String(pl.sha).slice(0, 8), created_at: pl.created_at, title: 'Change', message: 'Change', author_name: user.name, author_email: `${String(user.username)}@example.com` },
        coverage: null,
        archived: false,
        source: pl.source === 'parent_pipeline' ? 'parent_pipeline' : 'push',
        allow_failure: false,
        created_at: iso(created + 1_000),
        started_at: iso(startedAt),
        finished_at: iso(startedAt + 60_000),
        erased_at: null,
        duration: 60.0,
        queued_duration: 4.0,
        artifacts_expire_at: null,
        tag_list: ['docker'],
        id,
        name: `job-${k}`,
        pipeline: { id: pl.id, iid: pl.iid, project_id: projectId, sha: pl.sha, ref: pl.ref, status: pl.status, source: pl.source, created_at: pl.created_at, updated_at: pl.updated_at, web_url: pl.web_url },
        ref: pl.ref,
        artifacts: [],
        runner: { id: 7, description: 'shared-runner-1', ip_address: null, active: true, paused: false, is_shared: true, runner_type: 'instance_type', name: 'gitlab-runner', online: true, status: 'online' },
        runner_manager: { id: 70, system_id: 's_0123456789ab', version: '17.5.0', revision: 'abcdef12', platform: 'linux', architecture: 'amd64', created_at: iso(start - 86_400_000), contacted_at: iso(startedAt), ip_address: `10.0.0.${1 + (k % 4)}`, status: 'online' },
        stage: 'test',
        status: retried ? 'failed' : 'success',
        ...(retried ? { failure_reason: 'script_failure' } : {}),
        tag: false,
        web_url: `${host}/${full}/-/jobs/${id}`,
        project: { ci_job_token_scope_enabled: false },
        user: { ...user, created_at: iso(start - 86_400_000), bio: '', location: null, public_email: null, linkedin: '', twitter: '', website_url: '', organization: '' },
        _retried: retried,
      };
    };
    for (let i = 0; i < perProject; i++) {
      const created = start + (p * perProject + i) * 600_000;
      const pl = makePipeline(i, 'push', created);
      pipelines.push(pl);
      for (let k = 0; k < perPipeline; k++) {
        if (opts.retriedEvery && k === 0 && (i + 1) % opts.retriedEvery === 0) jobs.push(makeJob(pl, k, true));
        jobs.push(makeJob(pl, k, false));
      }
      if (opts.childEvery && (i + 1) % opts.childEvery === 0) {
        const child = makePipeline(i, 'parent_pipeline', created + 30_000);
        pipelines.push(child);
        for (let k = 0; k < 2; k++) jobs.push(makeJob(child, k, false));
      }
    }
  }
  return {
    tokens: [opts.token ?? 'glpat-test-token-0123456789'],
    oauth_tokens: opts.oauthToken ? [opts.oauthToken] : [],
    groups,
    projects,
    pipelines,
    jobs,
  };
}
