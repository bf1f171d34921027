/** HTTP POST of one alert with a timeout per attempt and retries with exponential backoff. */
export interface RetryPolicy {
  /** Attempts per delivery within one run (default 3). */
  attempts: number;
  /** Per-attempt timeout in milliseconds (default 10 s). */
  timeoutMs: number;
  /** First backoff in milliseconds, doubled after each failed attempt (default 500 ms). */
  backoffMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 3, timeoutMs: 10_000, backoffMs: 500 };

export interface PostOutcome {
  ok: boolean;
  attempts: number;
  error: string | null;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Status codes worth another attempt (the server may recover); other 4xx will not change on retry. */
function retryable(status: number): boolean {
  return status === 408 || status === 425 || status === 429 || status >= 500;
}

/** The URL without credentials or query, for error messages (webhook URLs often carry a secret). */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    const path = u.pathname.length > 12 ? `${u.pathname.slice(0, 12)}…` : u.pathname;
    return `${u.protocol}//${u.host}${path}`;
  } catch {
    return '(invalid url)';
  }
}

export async function postJson(url: string, body: unknown, policy: RetryPolicy = DEFAULT_RETRY): Promise<PostOutcome> {
  const text = JSON.stringify(body);
  let error: string | null = null;
  const attempts = Math.max(1, policy.attempts);
  for (let attempt = 1; attempt <= attempts; attempt++) {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), policy.timeoutMs);
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': 'keytrail-alerts' },
        body: text,
        signal: controller.signal,
      });
      // Drain the body so the connection is released.
      await res.arrayBuffer().catch(() => undefined);
      if (res.ok) return { ok: true, attempts: attempt, error: null };
      error = `HTTP ${res.status} from ${redactUrl(url)}`;
      if (!retryable(res.status)) return { ok: false, attempts: attempt, error };
    } catch (err) {
      error = controller.signal.aborted
        ? `no answer from ${redactUrl(url)} within ${policy.timeoutMs} ms`
        : `${redactUrl(url)}: ${(err as Error & { cause?: Error }).cause?.message ?? (err as Error).message}`;
    } finally {
      clearTimeout(timer);
    }
    if (attempt < attempts) await sleep(policy.backoffMs * 2 ** (attempt - 1));
  }
  return { ok: false, attempts, error };
}
