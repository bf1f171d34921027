/**
 * `log_raw` devices write tokens, accessors and secret values in clear. keytrail detects them by token-shaped
 * values where a normal device writes `hmac-sha256:…`, and replaces every value Vault itself would have
 * HMAC'd with keytrail's own keyed hash (HMAC-SHA256, key in `<db>.key`) before anything is stored, so that
 * equality joins inside the device still work and no secret reaches the database.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';

/** Prefix of keytrail's own keyed hash, distinct from Vault's `hmac-sha256:` so a reader knows whose it is. */
export const KEYTRAIL_HMAC_PREFIX = 'keytrail-hmac-sha256:';

/** Vault token formats: `hvs.`/`hvb.`/`hvr.` (1.10+), legacy `s.`/`b.`/`r.` (+ an optional namespace suffix). */
const TOKEN_VALUE = /^(?:hv[sbr]\.[A-Za-z0-9_-]{20,}|[sbr]\.[A-Za-z0-9]{20,})(?:\.[A-Za-z0-9]+)?$/;
/** The same shapes anywhere in text (quarantined lines, excerpts). */
const TOKEN_IN_TEXT = /\b(?:hv[sbr]\.[A-Za-z0-9_-]{20,}|[sbr]\.[A-Za-z0-9]{20,})(?:\.[A-Za-z0-9]+)?/g;

export function keyPathFor(dbPath: string): string {
  return `${dbPath}.key`;
}

/** Reads `<db>.key`, creating it (32 random bytes, hex, mode 0600) on first need. */
export function loadOrCreateKey(keyPath: string): Buffer {
  try {
    return Buffer.from(readFileSync(keyPath, 'utf8').trim(), 'hex');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const key = randomBytes(32);
  try {
    writeFileSync(keyPath, key.toString('hex') + '\n', { flag: 'wx', mode: 0o600 });
    chmodSync(keyPath, 0o600);
    return key;
  } catch (err) {
    // Another process (or the parse worker) created it first: use theirs.
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return Buffer.from(readFileSync(keyPath, 'utf8').trim(), 'hex');
    throw err;
  }
}

export function isVaultTokenValue(value: unknown): boolean {
  return typeof value === 'string' && TOKEN_VALUE.test(value);
}

type Obj = Record<string, unknown>;
const asObj = (v: unknown): Obj | undefined => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : undefined);

/** True when the entry carries a clear Vault token where a hashing device writes an HMAC. */
export function looksLogRaw(entry: Obj): boolean {
  const auth = asObj(entry.auth);
  const request = asObj(entry.request);
  const response = asObj(entry.response);
  const respAuth = asObj(response?.auth);
  const wrap = asObj(response?.wrap_info);
  const data = asObj(request?.data);
  return (
    isVaultTokenValue(auth?.client_token) ||
    isVaultTokenValue(request?.client_token) ||
    isVaultTokenValue(respAuth?.client_token) ||
    isVaultTokenValue(wrap?.token) ||
    isVaultTokenValue(data?.token)
  );
}

export class Redactor {
  constructor(private readonly key: Buffer) {}

  hash(value: string): string {
    return KEYTRAIL_HMAC_PREFIX + createHmac('sha256', this.key).update(value).digest('hex');
  }

  /** Every string leaf (map keys are kept), as Vault's hashstructure does. */
  private hashLeaves(value: unknown): unknown {
    if (typeof value === 'string') return this.hash(value);
    if (Array.isArray(value)) return value.map((v) => this.hashLeaves(v));
    const o = asObj(value);
    if (!o) return value;
    const out: Obj = {};
    for (const [k, v] of Object.entries(o)) out[k] = this.hashLeaves(v);
    return out;
  }

  private hashFields(o: Obj | undefined, fields: string[]): void {
    if (!o) return;
    for (const f of fields) if (typeof o[f] === 'string' && o[f] !== '') o[f] = this.hash(o[f] as string);
  }

  /**
   * Redacts in place what Vault would have HMAC'd: tokens, accessors, wrap info and every string in request
   * and response data. `response.secret.lease_id`, paths and identities stay clear, as on a normal device.
   */
  redactEntry(entry: Obj): Obj {
    this.hashFields(asObj(entry.auth), ['client_token', 'accessor']);
    const request = asObj(entry.request);
    if (request) {
      this.hashFields(request, ['client_token', 'client_token_accessor']);
      if (request.data !== undefined && request.data !== null) request.data = this.hashLeaves(request.data);
    }
    const response = asObj(entry.response);
    if (response) {
      this.hashFields(asObj(response.auth), ['client_token', 'accessor']);
      this.hashFields(asObj(response.wrap_info), ['token', 'accessor', 'wrapped_accessor']);
      if (response.data !== undefined && response.data !== null) response.data = this.hashLeaves(response.data);
    }
    return entry;
  }

  /** Token-shaped substrings of any text (a torn line, an error message) replaced by their keyed hash. */
  redactText(text: string): string {
    return text.replace(TOKEN_IN_TEXT, (m) => this.hash(m));
  }
}

/** For excerpts of quarantined lines on any device: token-shaped values are masked. */
export function maskTokens(text: string): string {
  return text.replace(TOKEN_IN_TEXT, '[token]');
}
