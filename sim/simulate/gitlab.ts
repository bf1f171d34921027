import { GITLAB_URL, type Group, type Organisation, type Project, type Runner, type RunnerManager, type User } from './org.js';
import { isoMs } from './time.js';

/** GitLab REST v4 shapes (test/fixtures/public/gitlab) for the state the fake server serves. */

export function avatar(u: User): string {
  return `https://www.gravatar.com/avatar/${u.id.toString(16).padStart(32, '0')}?s=80&d=identicon`;
}

export function userBasic(u: User): Record<string, unknown> {
  return { id: u.id, username: u.username, name: u.name, state: 'active', locked: false, avatar_url: avatar(u), web_url: `${GITLAB_URL}/${u.username}` };
}

export function userFull(u: User): Record<string, unknown> {
  return {
    ...userBasic(u),
    created_at: isoMs(u.createdUs), bio: '', location: '', public_email: null, skype: '', linkedin: '', twitter: '',
    discord: '', website_url: '', organization: 'Acme', job_title: '', pronouns: null, bot: u.bot, work_information: null,
    followers: 0, following: 0, local_time: null,
  };
}

export function groupJson(g: Group): Group {
  return { id: g.id, name: g.name, path: g.path, full_path: g.full_path, parent_id: g.parent_id, web_url: g.web_url };
}

export function projectJson(p: Project, lastActivityUs: number): Record<string, unknown> {
  const web = `${GITLAB_URL}/${p.fullPath}`;
  const nsWeb = p.namespace.kind === 'group' ? `${GITLAB_URL}/groups/${p.namespace.full_path}` : `${GITLAB_URL}/${p.namespace.full_path}`;
  const o: Record<string, unknown> = {
    id: p.id,
    description: `${p.name} service`,
    name: p.name,
    name_with_namespace: `${p.namespace.name} / ${p.name}`,
    path: p.path,
    path_with_namespace: p.fullPath,
    created_at: isoMs(p.createdUs),
    updated_at: isoMs(lastActivityUs),
    default_branch: 'main',
    tag_list: [],
    topics: [],
    ssh_url_to_repo: `git@gitlab.example.com:${p.fullPath}.git`,
    http_url_to_repo: `${web}.git`,
    web_url: web,
    readme_url: `${web}/-/blob/main/README.md`,
    avatar_url: null,
    forks_count: !p.fork && p.name === 'payments-api' ? 1 : 0,
    star_count: 0,
    last_activity_at: isoMs(lastActivityUs),
    namespace: { ...p.namespace, avatar_url: null, web_url: nsWeb },
    _links: { self: `${GITLAB_URL}/api/v4/projects/${p.id}` },
    empty_repo: false,
    archived: false,
    visibility: 'private',
    issues_enabled: true,
    merge_requests_enabled: true,
    jobs_enabled: true,
    shared_runners_enabled: true,
    group_runners_enabled: true,
    creator_id: p.members[0]?.id ?? 100,
    open_issues_count: 0,
    ci_default_git_depth: 20,
    ci_forward_deployment_enabled: true,
    ci_allow_fork_pipelines_to_run_in_parent_project: true,
    ci_id_token_sub_claim_components: ['project_path', 'ref_type', 'ref'],
    ci_job_token_scope_enabled: false,
    ci_config_path: '',
    public_jobs: true,
  };
  if (p.fork) {
    const f = p.fork;
    o.forked_from_project = {
      id: f.id, description: `${f.name} service`, name: f.name, name_with_namespace: `${f.namespace.name} / ${f.name}`,
      path: f.path, path_with_namespace: f.fullPath, created_at: isoMs(f.createdUs), default_branch: 'main',
      tag_list: [], topics: [], ssh_url_to_repo: `git@gitlab.example.com:${f.fullPath}.git`,
      http_url_to_repo: `${GITLAB_URL}/${f.fullPath}.git`, web_url: `${GITLAB_URL}/${f.fullPath}`, avatar_url: null,
      star_count: 0, last_activity_at: isoMs(lastActivityUs),
      namespace: { ...f.namespace, avatar_url: null, web_url: `${GITLAB_URL}/groups/${f.namespace.full_path}` },
    };
  }
  return o;
}

export interface CommitInfo {
  sha: string;
  beforeSha: string;
  title: string;
  author: User;
  createdUs: number;
}

export interface PipelineRec {
  id: number;
  iid: number;
  project: Project;
  sha: string;
  ref: string;
  source: string;
  status: string;
  name: string | null;
  tag: boolean;
  user: User;
  createdUs: number;
  startedUs: number | null;
  finishedUs: number | null;
  commit: CommitInfo;
}

const STATUS_TEXT: Record<string, [string, string]> = {
  success: ['passed', 'status_success'],
  failed: ['failed', 'status_failed'],
  canceled: ['canceled', 'status_canceled'],
  skipped: ['skipped', 'status_skipped'],
};

export function pipelineBasic(p: PipelineRec): Record<string, unknown> {
  return {
    id: p.id, iid: p.iid, project_id: p.project.id, sha: p.sha, ref: p.ref, status: p.status, source: p.source,
    created_at: isoMs(p.createdUs), updated_at: isoMs(p.finishedUs ?? p.createdUs),
    web_url: `${GITLAB_URL}/${p.project.fullPath}/-/pipelines/${p.id}`,
  };
}

export function pipelineJson(p: PipelineRec): Record<string, unknown> {
  const [text, icon] = STATUS_TEXT[p.status] ?? [p.status, `status_${p.status}`];
  const duration = p.startedUs !== null && p.finishedUs !== null ? Math.round((p.finishedUs - p.startedUs) / 1e6) : null;
  return {
    id: p.id, iid: p.iid, project_id: p.project.id, name: p.name, sha: p.sha, ref: p.ref, status: p.status, source: p.source,
    created_at: isoMs(p.createdUs), updated_at: isoMs(p.finishedUs ?? p.createdUs),
    web_url: `${GITLAB_URL}/${p.project.fullPath}/-/pipelines/${p.id}`,
    before_sha: p.commit.beforeSha, tag: p.tag, yaml_errors: null, user: userBasic(p.user),
    started_at: p.startedUs === null ? null : isoMs(p.startedUs),
    finished_at: p.finishedUs === null ? null : isoMs(p.finishedUs),
    committed_at: null, duration,
    queued_duration: p.startedUs === null ? null : Math.round((p.startedUs - p.createdUs) / 1e6),
    coverage: null,
    detailed_status: {
      icon, text, label: text, group: p.status, tooltip: text, has_details: false,
      details_path: `/${p.project.fullPath}/-/pipelines/${p.id}`, illustration: null,
      favicon: `/assets/ci_favicons/favicon_${icon}.png`,
    },
    archived: false,
  };
}

export interface JobRec {
  id: number;
  name: string;
  stage: string;
  pipeline: PipelineRec;
  status: 'success' | 'failed' | 'canceled' | 'skipped';
  createdUs: number;
  startedUs: number | null;
  finishedUs: number | null;
  runner: Runner | null;
  manager: RunnerManager | null;
  /** The address the job's requests to Vault come from. */
  sourceIp: string | null;
  retried: boolean;
  allowFailure: boolean;
  failureReason?: string;
}

function commitJson(p: PipelineRec): Record<string, unknown> {
  const c = p.commit;
  const when = isoMs(c.createdUs);
  return {
    id: c.sha, short_id: c.sha.slice(0, 8), created_at: when, parent_ids: [c.beforeSha], title: c.title, message: `${c.title}\n`,
    author_name: c.author.name, author_email: c.author.email, authored_date: when, committer_name: c.author.name,
    committer_email: c.author.email, committed_date: when, trailers: {}, extended_trailers: {},
    web_url: `${GITLAB_URL}/${p.project.fullPath}/-/commit/${c.sha}`,
  };
}

export function jobJson(j: JobRec): Record<string, unknown> {
  const p = j.pipeline;
  const r = j.runner;
  const m = j.manager;
  const o: Record<string, unknown> = {
    id: j.id, status: j.status, stage: j.stage, name: j.name, ref: p.ref, tag: p.tag, coverage: null,
    allow_failure: j.allowFailure, created_at: isoMs(j.createdUs),
    started_at: j.startedUs === null ? null : isoMs(j.startedUs),
    finished_at: j.finishedUs === null ? null : isoMs(j.finishedUs),
    erased_at: null,
    duration: j.startedUs !== null && j.finishedUs !== null ? Math.round((j.finishedUs - j.startedUs) / 1000) / 1000 : null,
    queued_duration: j.startedUs === null ? null : Math.round((j.startedUs - j.createdUs) / 1000) / 1000,
    user: userFull(p.user),
    commit: commitJson(p),
    pipeline: pipelineBasic(p),
    web_url: `${GITLAB_URL}/${p.project.fullPath}/-/jobs/${j.id}`,
    project: { ci_job_token_scope_enabled: false },
    artifacts: [],
    runner: r
      ? { id: r.id, description: r.description, ip_address: null, active: true, paused: false, is_shared: r.runner_type === 'instance_type', runner_type: r.runner_type, name: 'gitlab-runner', online: true, status: 'online' }
      : null,
    runner_manager: m && r
      ? { id: m.id, system_id: m.system_id, version: '17.11.1', revision: 'a2c3c0b4', platform: 'linux', architecture: 'amd64', created_at: isoMs(m.createdUs), contacted_at: isoMs(j.finishedUs ?? j.createdUs), ip_address: m.ip, status: 'online' }
      : null,
    artifacts_expire_at: null,
    archived: false,
    tag_list: r ? [...r.tags].sort() : [],
    source: p.source,
  };
  if (j.status === 'failed') o.failure_reason = j.failureReason ?? 'script_failure';
  o._retried = j.retried;
  return o;
}

export function serverJson(token: string): Record<string, unknown> {
  return { tokens: [token], oauth_tokens: [] };
}

export function allProjects(org: Organisation): Project[] {
  return [...org.projects, org.fork];
}
