/**
 * Which token to use, from an environment the CLI passes in (this module never reads process.env itself).
 * `GITLAB_TOKEN` (personal, project or group access token, sent as PRIVATE-TOKEN) wins over
 * `GITLAB_OAUTH_TOKEN` (sent as Authorization: Bearer). The token is only ever put in a request header.
 */
import type { GitlabAuth } from './client.js';

export interface GitlabEnvAuth {
  auth: GitlabAuth;
  /** The variable the token came from, for messages (never the value). */
  variable: 'GITLAB_TOKEN' | 'GITLAB_OAUTH_TOKEN';
}

export function gitlabAuthFromEnv(env: Record<string, string | undefined>): GitlabEnvAuth | undefined {
  const pat = env.GITLAB_TOKEN?.trim();
  if (pat) return { auth: { kind: 'private-token', token: pat }, variable: 'GITLAB_TOKEN' };
  const oauth = env.GITLAB_OAUTH_TOKEN?.trim();
  if (oauth) return { auth: { kind: 'oauth', token: oauth }, variable: 'GITLAB_OAUTH_TOKEN' };
  return undefined;
}

/** The one line a user sees when the token is missing or GitLab rejects it. */
export function tokenProblem(variable: string | undefined): string {
  if (!variable) {
    return 'no GitLab token: set GITLAB_TOKEN to an access token with the read_api scope (or GITLAB_OAUTH_TOKEN to an OAuth token)';
  }
  return `GitLab rejected the token in ${variable} (401 Unauthorized): set ${variable} to a valid, unexpired token with the read_api scope`;
}
