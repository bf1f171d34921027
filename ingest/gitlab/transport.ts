/**
 * The one place keytrail talks HTTP to GitLab. Every request goes through `Transport.get`, which applies the
 * project's policy instead of gitbeaker's (gitbeaker retries 429/502 ten times in ~0.26 s and ignores
 * Retry-After):
 * - at most `concurrency` requests in flight;
 * - 429: wait what `Retry-After` (or `RateLimit-Reset`) says, and hold every other request meanwhile
 *   (GitLab's limits are per user, so one 429 speaks for all of them);
 * - 5xx, dropped connections and timeouts: retry with jittered exponential backoff, a bounded number of times;
 * - a per-request timeout, so one slow page cannot hang a run;
 * - 401 stops everything: the token is wrong and nothing else will work.
 * It counts every request sent (retries included). Tokens travel in headers only and are never logged.
 */
import { Semaphore } from './limit.js';

export interface GitlabLogger {
  debug(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

export interface RetryPolicy {
  /** Retries after the first attempt for 5xx, network errors and timeouts (default 4). */
  maxRetries: number;
  /** Retries after a 429 (default 8). */
  maxRateLimitRetries: number;
  /** Backoff base and cap in ms (defaults 500 and 15000). */
  backoffBaseMs: number;
  backoffMaxMs: number;
  /** A 429 asking to wait longer than this fails the request instead (default 5 minutes). */
  maxRateLimitWaitMs: number;
  /** Per-request timeout in ms, body included (default 30 s). */
  timeoutMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxRetries: 4,
  maxRateLimitRetries: 8,
  backoffBaseMs: 500,
  backoffMaxMs: 15_000,
  maxRateLimitWaitMs: 300_000,
  timeoutMs: 30_000,
};

export interface TransportOptions {
  concurrency?: number;
  retry?: Partial<RetryPolicy>;
  logger?: GitlabLogger;
  /** Injected in tests. */
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  now?: () => number;
}

export interface TransportResponse {
  body: unknown;
  headers: Record<string, string>;
  status: number;
}

export type FailureKind = 'http' | 'network' | 'timeout' | 'rate-limit' | 'auth';

/** A request that failed for good (after the retries the policy allows). Carries no request headers. */
export class GitlabRequestError extends Error {
  constructor(
    message: string,
    readonly kind: FailureKind,
    readonly status: number | null,
    /** Path and query after /api/v4 (no token: tokens are never in URLs). */
    readonly endpoint: string,
    readonly description: string | null = null,
  ) {
    super(message);
    this.name = 'GitlabRequestError';
  }
}

/** 401: the token is missing, wrong, expired or revoked. */
export class GitlabAuthError extends GitlabRequestError {
  constructor(endpoint: string, description: string | null) {
    super(`GitLab answered 401 Unauthorized for ${endpoint}`, 'auth', 401, endpoint, description);
    this.name = 'GitlabAuthError';
  }
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Seconds or an HTTP date (RFC 9110 Retry-After); RateLimit-Reset is Unix seconds. */
export function rateLimitWaitMs(headers: Headers, now: number): number | undefined {
  const retryAfter = headers.get('retry-after');
  if (retryAfter !== null && retryAfter.trim() !== '') {
    const s = retryAfter.trim();
    if (/^\d+(\.\d+)?$/.test(s)) return Number(s) * 1000;
    const at = Date.parse(s);
    if (!Number.isNaN(at)) return Math.max(0, at - now);
  }
  const reset = headers.get('ratelimit-reset');
  if (reset !== null && /^\d+$/.test(reset.trim())) {
    const n = Number(reset.trim());
    // An epoch (GitLab) or, from some proxies, a delta in seconds.
    return n > 1_000_000_000 ? Math.max(0, n * 1000 - now) : n * 1000;
  }
  return undefined;
}

function errorDescription(body: unknown): string | null {
  if (typeof body === 'string') return body.trim().slice(0, 300) || null;
  if (body && typeof body === 'object') {
    const o = body as Record<string, unknown>;
    const v = o.error ?? o.message;
    if (v === undefined) return null;
    return typeof v === 'string' ? v : JSON.stringify(v);
  }
  return null;
}

async function readBody(response: Response): Promise<unknown> {
  if (response.status === 204) return null;
  const type = (response.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  const text = await response.text();
  if (type === 'application/json') {
    if (text === '') return null;
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return text;
    }
  }
  return text;
}

function isTimeout(err: unknown): boolean {
  const name = (err as Error)?.name;
  return name === 'TimeoutError' || name === 'AbortError';
}

export class Transport {
  private readonly semaphore: Semaphore;
  private readonly policy: RetryPolicy;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;
  private readonly now: () => number;
  private readonly logger: GitlabLogger | undefined;
  /** No request starts before this time (set by a 429). */
  private pausedUntil = 0;
  private sent = 0;
  private retried = 0;
  private maxInFlight = 0;

  constructor(options: TransportOptions = {}) {
    this.semaphore = new Semaphore(options.concurrency ?? 4);
    this.policy = { ...DEFAULT_RETRY_POLICY, ...options.retry };
    this.sleep = options.sleep ?? defaultSleep;
    this.random = options.random ?? Math.random;
    this.now = options.now ?? Date.now;
    this.logger = options.logger;
  }

  /** HTTP requests sent so far, retries included. */
  get requests(): number {
    return this.sent;
  }

  get retries(): number {
    return this.retried;
  }

  /** The most requests that were ever in flight at once. */
  get peakConcurrency(): number {
    return this.maxInFlight;
  }

  private backoff(attempt: number): number {
    const ceiling = Math.min(this.policy.backoffMaxMs, this.policy.backoffBaseMs * 2 ** attempt);
    // Equal jitter: never less than half the step, so retries really back off, but spread out.
    return ceiling / 2 + this.random() * (ceiling / 2);
  }

  private async waitForPause(): Promise<void> {
    while (this.pausedUntil > this.now()) await this.sleep(this.pausedUntil - this.now());
  }

  /**
   * GET `url` (absolute). `endpoint` is the path after /api/v4, used in messages and logs.
   * Returns the parsed body or throws GitlabRequestError / GitlabAuthError.
   */
  async get(url: string, headers: Record<string, string>, endpoint: string): Promise<TransportResponse> {
    let failures = 0;
    let rateLimited = 0;
    for (;;) {
      await this.waitForPause();
      const outcome = await this.semaphore.run(async () => {
        this.sent++;
        this.maxInFlight = Math.max(this.maxInFlight, this.semaphore.inFlight);
        try {
          const response = await fetch(url, { method: 'GET', headers, signal: AbortSignal.timeout(this.policy.timeoutMs) });
          const body = await readBody(response);
          return { response, body } as const;
        } catch (err) {
          return { error: err } as const;
        }
      });

      if ('error' in outcome) {
        const kind: FailureKind = isTimeout(outcome.error) ? 'timeout' : 'network';
        const reason = kind === 'timeout' ? `no answer within ${this.policy.timeoutMs} ms` : networkReason(outcome.error);
        if (failures < this.policy.maxRetries) {
          const wait = this.backoff(failures++);
          this.retried++;
          this.logger?.debug({ endpoint, kind, reason, retry_in_ms: Math.round(wait) }, 'GitLab request failed, retrying');
          await this.sleep(wait);
          continue;
        }
        throw new GitlabRequestError(`GitLab request ${endpoint} failed after ${failures + 1} attempts: ${reason}`, kind, null, endpoint, reason);
      }

      const { response, body } = outcome;
      const headerObj = Object.fromEntries(response.headers.entries());
      if (response.ok) return { body, headers: headerObj, status: response.status };
      const description = errorDescription(body);
      if (response.status === 401) throw new GitlabAuthError(endpoint, description);

      if (response.status === 429) {
        const asked = rateLimitWaitMs(response.headers, this.now());
        const wait = asked ?? this.backoff(rateLimited);
        if (rateLimited >= this.policy.maxRateLimitRetries || wait > this.policy.maxRateLimitWaitMs) {
          throw new GitlabRequestError(
            `GitLab rate limit on ${endpoint}: gave up after ${rateLimited + 1} attempts (asked to wait ${Math.round(wait / 1000)} s)`,
            'rate-limit',
            429,
            endpoint,
            description,
          );
        }
        rateLimited++;
        this.retried++;
        // Hold every request, not only this one: the limit is per user.
        this.pausedUntil = Math.max(this.pausedUntil, this.now() + wait);
        this.logger?.warn({ endpoint, status: 429, wait_ms: Math.round(wait) }, 'GitLab rate limit reached, waiting as asked');
        continue;
      }

      if (response.status >= 500 && failures < this.policy.maxRetries) {
        const wait = this.backoff(failures++);
        this.retried++;
        this.logger?.debug({ endpoint, status: response.status, retry_in_ms: Math.round(wait) }, 'GitLab server error, retrying');
        await this.sleep(wait);
        continue;
      }
      throw new GitlabRequestError(
        `GitLab answered ${response.status} for ${endpoint}${description ? `: ${description}` : ''}`,
        'http',
        response.status,
        endpoint,
        description,
      );
    }
  }
}

function networkReason(err: unknown): string {
  const e = err as Error & { cause?: { code?: string; message?: string } };
  const code = e?.cause?.code;
  const msg = e?.cause?.message ?? e?.message ?? String(err);
  return code ? `${code} (${msg})` : msg;
}
