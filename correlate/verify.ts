/**
 * Attribution evidence and verification against GitLab (DESIGN.md "Attribution and verification").
 * Pure functions over a request's claims, its time and the GitLab facts.
 */
import type { JobClaims } from './claims.js';
import type { GitlabView, JobFacts } from './gitlab-view.js';
import { addSeconds } from './times.js';

export type Attribution = 'claims' | 'correlation-id' | 'heuristic' | 'none';
export type Verified = 'yes' | 'no' | 'unknown';

export interface Contradiction {
  check: 'job' | 'project' | 'pipeline' | 'user' | 'ref' | 'time';
  claim: string | number | null;
  gitlab: string | number | null;
  detail: string;
}

export interface Verification {
  verified: Verified;
  contradictions: Contradiction[];
}

const MR_REF = /^refs\/merge-requests\/\d+\/(head|merge|train)$/;

function isMergeRequestPipeline(job: JobFacts, gitlab: GitlabView): boolean {
  if (job.pipeline_source === 'merge_request_event') return true;
  return gitlab.pipelineSource(job.pipeline_id) === 'merge_request_event' || (job.ref !== null && MR_REF.test(job.ref));
}

/**
 * Verifies one attributed request (or a token at its login). `claims` is null for correlation-id and
 * heuristic attribution, where only the job's existence and run window can be checked.
 */
export function verifyAgainstGitlab(
  jobId: number,
  claims: JobClaims | null,
  timeKey: string,
  gitlab: GitlabView,
  skewSeconds: number,
): Verification {
  const job = gitlab.job(jobId);
  if (!job) {
    if (gitlab.lookupStatus(jobId) === 'not-found') {
      return { verified: 'no', contradictions: [{ check: 'job', claim: jobId, gitlab: null, detail: 'GitLab has no such job' }] };
    }
    return { verified: 'unknown', contradictions: [] };
  }
  const out: Contradiction[] = [];
  if (claims) {
    const mr = isMergeRequestPipeline(job, gitlab);
    // The project of record is the job's project in GitLab. `job_project_*` name it when present; a fork MR
    // pipeline's `project_*` name the fork, which alone is not a contradiction.
    if (claims.job_project_id !== null && claims.job_project_id !== job.project_id) {
      out.push({ check: 'project', claim: claims.job_project_id, gitlab: job.project_id, detail: 'job_project_id differs from the job\'s project' });
    } else if (claims.job_project_id === null && claims.project_id !== null && claims.project_id !== job.project_id) {
      const claimed = gitlab.project(claims.project_id);
      const forkOfJobProject = claimed === null || claimed.forked_from_project_id === job.project_id;
      if (!(mr && forkOfJobProject)) {
        out.push({ check: 'project', claim: claims.project_id, gitlab: job.project_id, detail: 'the job belongs to another project' });
      }
    } else if (claims.job_project_id === null && claims.project_id === null && claims.project_path !== null) {
      const jobProject = gitlab.project(job.project_id);
      if (jobProject && jobProject.path !== claims.project_path) {
        const claimed = gitlab.projectNamed(claims.project_path);
        const forkOfJobProject = claimed === null || claimed.forked_from_project_id === job.project_id;
        if (!(mr && forkOfJobProject)) {
          out.push({ check: 'project', claim: claims.project_path, gitlab: jobProject.path, detail: 'the job belongs to another project' });
        }
      }
    }
    if (claims.pipeline_id !== null && claims.pipeline_id !== job.pipeline_id) {
      out.push({ check: 'pipeline', claim: claims.pipeline_id, gitlab: job.pipeline_id, detail: 'the job belongs to another pipeline' });
    }
    if (claims.user_login !== null && job.user_login !== null && claims.user_login !== job.user_login) {
      out.push({ check: 'user', claim: claims.user_login, gitlab: job.user_login, detail: 'the job was run by another user' });
    }
    // A merge-request pipeline's REST ref is refs/merge-requests/<iid>/head while the claim has the source branch.
    if (claims.ref !== null && job.ref !== null && claims.ref !== job.ref && !(MR_REF.test(job.ref) && mr)) {
      out.push({ check: 'ref', claim: claims.ref, gitlab: job.ref, detail: 'the job ran for another ref' });
    }
  }
  if (job.start_key && timeKey < addSeconds(job.start_key, -skewSeconds)) {
    out.push({ check: 'time', claim: timeKey, gitlab: job.start_key, detail: 'request before the job started (beyond the clock skew)' });
  }
  if (job.finished_key && timeKey > addSeconds(job.finished_key, skewSeconds)) {
    out.push({ check: 'time', claim: timeKey, gitlab: job.finished_key, detail: 'request after the job finished (beyond the clock skew)' });
  }
  return { verified: out.length ? 'no' : 'yes', contradictions: out };
}

export interface HeuristicInput {
  role: string | null;
  loginKey: string | null;
  displayName: string | null;
  authMount: string | null;
  remoteAddress: string | null;
}

export interface HeuristicDecision {
  jobId: number | null;
  evidence: Record<string, unknown> | null;
}

/** The user name a display name carries: `<mount with / → ->` + user_claim value. */
export function userFromDisplayName(displayName: string | null, authMount: string | null): string | null {
  if (!displayName) return null;
  if (authMount) {
    const source = authMount.replace(/^auth\//, '').replace(/\/+$/, '').replace(/\//g, '-');
    if (source && displayName.startsWith(`${source}-`)) return displayName.slice(source.length + 1) || null;
  }
  const dash = displayName.indexOf('-');
  return dash > 0 ? displayName.slice(dash + 1) || null : null;
}

/**
 * Heuristic attribution, decided once per token at its login: the jobs of the role's project running at the
 * login time ± skew, narrowed by the GitLab user (when the display name carries one) and by the runner's
 * address (when GitLab knows it). Exactly one candidate names the job; anything else names none, and the
 * evidence keeps the count.
 */
export function decideHeuristic(
  input: HeuristicInput,
  roles: Record<string, string>,
  gitlab: GitlabView,
  skewSeconds: number,
): HeuristicDecision {
  if (!input.role || !input.loginKey || !Object.prototype.hasOwnProperty.call(roles, input.role)) return { jobId: null, evidence: null };
  const projectPath = roles[input.role]!;
  const project = gitlab.projectNamed(projectPath);
  const base = { role: input.role, project_path: projectPath, login_time: input.loginKey, skew_seconds: skewSeconds };
  if (!project) return { jobId: null, evidence: { ...base, candidates: 0, reason: 'project not synced from GitLab' } };
  const lo = addSeconds(input.loginKey, -skewSeconds);
  const hi = addSeconds(input.loginKey, skewSeconds);
  let candidates = gitlab.jobsRunningBetween(project.id, lo, hi);
  const running = candidates.length;
  const narrowedBy: string[] = [];
  const user = userFromDisplayName(input.displayName, input.authMount);
  if (user && gitlab.isGitlabUser(user)) {
    candidates = candidates.filter((j) => j.user_login === user);
    narrowedBy.push('user');
  }
  if (input.remoteAddress && candidates.some((j) => j.runner_ip !== null)) {
    candidates = candidates.filter((j) => j.runner_ip === null || j.runner_ip === input.remoteAddress);
    narrowedBy.push('runner_ip');
  }
  const evidence = {
    ...base,
    project_id: project.id,
    running_jobs: running,
    user: user && narrowedBy.includes('user') ? user : null,
    runner_ip: narrowedBy.includes('runner_ip') ? input.remoteAddress : null,
    narrowed_by: narrowedBy,
    candidates: candidates.length,
    candidate_job_ids: candidates.slice(0, 20).map((j) => j.id),
  };
  return { jobId: candidates.length === 1 ? candidates[0]!.id : null, evidence };
}
