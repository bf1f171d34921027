/**
 * GitLab sync: the client keytrail owns (gitbeaker resources over our own requester and retry policy), the
 * incremental project sync and the targeted job lookups for jobs named in Vault data.
 */
export { createGitlabClient, normaliseBaseUrl, type GitlabAuth, type GitlabClient, type GitlabClientOptions, type Json, type Page } from './client.js';
export { GitlabAuthError, GitlabRequestError, DEFAULT_RETRY_POLICY, type GitlabLogger, type RetryPolicy } from './transport.js';
export { syncGitlab, sinceToIso, DEFAULT_OVERLAP_SECONDS, type SyncOptions, type SyncProgress, type SyncSummary } from './sync.js';
export { syncJobsFromAudit, jobIdsFromAudit, type TargetedOptions } from './targeted.js';
export { gitlabAuthFromEnv, tokenProblem, type GitlabEnvAuth } from './auth.js';
