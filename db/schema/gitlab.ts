import type { Generated } from 'kysely';

/** Tables written by the GitLab sync (ingest/gitlab). IDs are GitLab's integers; raw keeps the REST JSON. */
export interface GitlabProjectsTable {
  id: number;
  path_with_namespace: string;
  name: string | null;
  namespace_full_path: string | null;
  web_url: string | null;
  default_branch: string | null;
  forked_from_project_id: number | null;
  raw: string;
  synced_at: string;
}

/** A project reference as the user gave it (`--project group/app` or `42`), resolved once. */
export interface GitlabProjectRefsTable {
  ref: string;
  project_id: number;
}

export interface GitlabPipelinesTable {
  id: number;
  project_id: number;
  iid: number | null;
  sha: string | null;
  ref: string | null;
  status: string | null;
  source: string | null;
  created_at: string | null;
  updated_at: string | null;
  web_url: string | null;
  raw: string;
  synced_at: string;
  /**
   * 1 once this pipeline's jobs (retried included) were synced at this `updated_at`. A pipeline stored from a
   * targeted job lookup has 0, so the incremental sync still fetches its jobs.
   */
  jobs_synced: Generated<number>;
}

export interface GitlabJobsTable {
  id: number;
  project_id: number;
  pipeline_id: number;
  pipeline_source: string | null;
  name: string | null;
  stage: string | null;
  status: string | null;
  ref: string | null;
  tag: number;
  sha: string | null;
  user_id: number | null;
  user_login: string | null;
  created_at: string | null;
  started_at: string | null;
  finished_at: string | null;
  duration: number | null;
  web_url: string | null;
  retried: number;
  runner_id: number | null;
  runner_description: string | null;
  /** runner_manager.ip_address when GitLab returns it (the REST runner.ip_address is always null). */
  runner_ip: string | null;
  raw: string;
  synced_at: string;
}

/** Per-project incremental cursor, one per pipeline listing (plain and source=parent_pipeline). */
export interface GitlabSyncCursorsTable {
  project_id: number;
  listing: string; // 'plain' | 'parent_pipeline'
  updated_after: string;
  updated_at: string;
}

/** Targeted job lookups (--jobs-from-audit): remembered so unknown jobs are not asked for on every run. */
export interface GitlabJobLookupsTable {
  job_id: number;
  project_id: number | null;
  status: string; // 'found' | 'not-found' | 'forbidden' | 'error'
  http_status: number | null;
  checked_at: string;
  /** Where the job id came from: 'claim' (token metadata job_id) or 'correlation-id'. */
  origin: string | null;
  /** Projects asked, JSON array of ids (a correlation id has no project of its own). */
  projects_tried: string | null;
  attempts: Generated<number>;
}

export interface GitlabTables {
  gitlab_projects: GitlabProjectsTable;
  gitlab_project_refs: GitlabProjectRefsTable;
  gitlab_pipelines: GitlabPipelinesTable;
  gitlab_jobs: GitlabJobsTable;
  gitlab_sync_cursors: GitlabSyncCursorsTable;
  gitlab_job_lookups: GitlabJobLookupsTable;
}
