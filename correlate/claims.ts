/**
 * The GitLab job named by a token's metadata (JWT `claim_mappings`). GitLab puts ids in the JWT as strings;
 * they are stored as numbers. `job_project_*` name the project the job runs in (a fork MR pipeline's
 * `project_*` name the fork).
 */
export interface JobClaims {
  role: string | null;
  job_id: number | null;
  pipeline_id: number | null;
  project_id: number | null;
  project_path: string | null;
  job_project_id: number | null;
  job_project_path: string | null;
  user_login: string | null;
  ref: string | null;
}

function str(v: unknown): string | null {
  return typeof v === 'string' && v !== '' ? v : typeof v === 'number' ? String(v) : null;
}

/** A decimal id (GitLab's ids are positive integers); anything else is no id. */
export function decimalId(v: unknown): number | null {
  const s = str(v);
  if (s === null || !/^\d{1,15}$/.test(s.trim())) return null;
  const n = Number(s.trim());
  return n > 0 ? n : null;
}

export function parseJson<T>(text: string | null | undefined): T | null {
  if (!text) return null;
  try {
    return JSON.parse(text) as T;
  } catch {
    return null;
  }
}

/** Claims by metadata text: one job's token repeats the same metadata on every request it makes. */
const claimsMemo = new Map<string, Readonly<JobClaims>>();
const CLAIMS_MEMO_LIMIT = 20_000;

/** The claims in a token's metadata (a shared, frozen object: do not modify). */
export function claimsOf(metadataJson: string | null | undefined): Readonly<JobClaims> {
  const key = metadataJson ?? '';
  let claims = claimsMemo.get(key);
  if (claims === undefined) {
    if (claimsMemo.size >= CLAIMS_MEMO_LIMIT) claimsMemo.clear();
    claims = Object.freeze(parseClaims(metadataJson));
    claimsMemo.set(key, claims);
  }
  return claims;
}

function parseClaims(metadataJson: string | null | undefined): JobClaims {
  const md = parseJson<Record<string, unknown>>(metadataJson) ?? {};
  return {
    role: str(md.role),
    job_id: decimalId(md.job_id),
    pipeline_id: decimalId(md.pipeline_id),
    project_id: decimalId(md.project_id),
    project_path: str(md.project_path),
    job_project_id: decimalId(md.job_project_id),
    job_project_path: str(md.job_project_path),
    user_login: str(md.user_login),
    ref: str(md.ref),
  };
}

/** The job id carried by an `x-correlation-id` / `correlation-id` header: a decimal GitLab job id, or nothing. */
export function correlationJobId(header: string | null | undefined): number | null {
  return decimalId(header);
}
