/** Root token use, and the integrity of the audit trail itself (gaps, broken hash chains, log_raw devices). */
import { createHash } from 'node:crypto';
import { sql } from 'kysely';
import type { Evidence, Rule } from '../context.js';
import { ACCESS_COLUMNS, chunks, humanDuration, parseJson, tokenSubject } from '../context.js';
import { dateToTimeKey } from '../../../db/time.js';

export const rootTokenUsed: Rule = {
  id: 'root-token-used',
  async detect(ctx) {
    const rootTokens = await ctx.db
      .selectFrom('tokens')
      .selectAll()
      .where((eb) => eb.or([eb('policies', 'like', '%"root"%'), eb('display_name', '=', 'root')]))
      .execute();
    const roots = rootTokens.filter((t) => t.display_name === 'root' || (parseJson<string[]>(t.policies) ?? []).includes('root'));
    ctx.rememberTokens(roots);
    const byId = new Map(roots.map((t) => [t.id, t]));
    const rows = [];
    for (const part of chunks([...byId.keys()])) {
      rows.push(...(await ctx.db.selectFrom('accesses').select([...ACCESS_COLUMNS]).where('token_id', 'in', part).execute()));
    }
    // A root token keytrail has no token row for still shows its display name.
    const seen = new Set(rows.map((r) => r.request_id));
    for (const r of await ctx.db.selectFrom('accesses').select([...ACCESS_COLUMNS]).where('display_name', '=', 'root').execute()) {
      if (!seen.has(r.request_id)) rows.push(r);
    }
    const out: Evidence[] = [];
    for (const r of rows) {
      const token = r.token_id !== null ? byId.get(r.token_id) : undefined;
      // The login or create that issued the root token is not a use of it.
      if (token && token.issue_request_id === r.request_id) continue;
      const subject = tokenSubject(token?.accessor ?? r.token_accessor, r.token_id) ?? `address:${r.remote_address ?? 'unknown'}`;
      out.push({
        subject,
        time_key: r.time_key,
        request_id: r.request_id,
        job_id: r.job_id,
        project_id: r.project_id,
        project_path: r.project_path,
        user_login: r.user_login,
        path: r.path,
        facts: { address: r.remote_address, display_name: r.display_name, operation: r.operation },
      });
    }
    return out;
  },
  describe(group) {
    const addresses = [...new Set(group.items.map((e) => e.facts?.address).filter(Boolean))];
    return `a root token was used for ${group.count} request${group.count === 1 ? '' : 's'} (first ${group.first.facts?.operation} ${group.first.path}${addresses.length ? ` from ${addresses.slice(0, 3).join(', ')}` : ''}); find who holds it and revoke it.`;
  },
};

export const rawAuditLogging: Rule = {
  id: 'raw-audit-logging',
  async detect(ctx) {
    const devices = await ctx.db.selectFrom('devices').selectAll().where('log_raw', '=', 1).execute();
    const out: Evidence[] = [];
    for (const d of devices) {
      // Batches whose stored bytes differ from the bytes read are the ones keytrail had to redact; the
      // requests in them are the evidence (their secrets reached the device's files in clear).
      const redacted = await ctx.db
        .selectFrom('ingest_batches')
        .select(['id'])
        .where('device', '=', d.name)
        .whereRef('sha256', '!=', 'stored_sha256')
        .execute();
      const batchIds = redacted.map((b) => b.id);
      const base = { subject: `device:${d.name}` } as const;
      for (const part of chunks(batchIds)) {
        const rows = await ctx.db
          .selectFrom('audit_copies')
          .innerJoin('audit_entries', 'audit_entries.id', 'audit_copies.entry_id')
          .select(['audit_entries.request_id', 'audit_copies.time_key', 'audit_copies.batch_id', 'audit_entries.path'])
          .where('audit_copies.batch_id', 'in', part)
          .execute();
        for (const r of rows) out.push({ ...base, time_key: r.time_key, request_id: r.request_id, path: null, facts: { batch: r.batch_id } });
      }
      if (out.every((e) => e.subject !== base.subject)) {
        const detected = d.log_raw_detected_at ? (d.log_raw_detected_at.length === 30 ? d.log_raw_detected_at : dateToTimeKey(new Date(d.log_raw_detected_at))) : null;
        out.push({ ...base, time_key: d.first_time_key ?? detected ?? dateToTimeKey(ctx.now), request_id: null, facts: {} });
      }
    }
    return out;
  },
  describe(group) {
    const batches = new Set(group.items.map((e) => e.facts?.batch).filter((b) => b !== undefined && b !== null)).size;
    const requests = new Set(group.items.map((e) => e.request_id).filter(Boolean)).size;
    return `audit device ${group.subject.slice(7)} writes tokens and secrets in clear (log_raw=true)${batches ? `; keytrail redacted ${batches} batch${batches === 1 ? '' : 'es'} (${requests} request${requests === 1 ? '' : 's'}) before storage` : ''}. Disable log_raw and rotate the credentials in its files.`;
  },
};

/** sha256 over the previous chain hash (empty for the first batch) followed by the batch's stored hash. */
export function chainHash(prev: string | null, stored: string): string {
  return createHash('sha256')
    .update((prev ?? '') + stored)
    .digest('hex');
}

export const auditGap: Rule = {
  id: 'audit-gap',
  async detect(ctx) {
    const out: Evidence[] = [];
    const gapMs = Math.max(1, ctx.settings.detections.audit_gap_minutes) * 60_000;

    // 1. Silence: per device, the minutes in which it logged anything.
    const buckets = await ctx.db
      .selectFrom('audit_copies')
      .select(['device', sql<string>`substr(time_key, 1, 16)`.as('minute')])
      .groupBy(['device', sql`substr(time_key, 1, 16)`])
      .execute();
    const perDevice = new Map<string, number[]>();
    for (const b of buckets) {
      const ms = Date.parse(`${b.minute}:00Z`);
      if (Number.isNaN(ms)) continue;
      let list = perDevice.get(b.device);
      if (!list) perDevice.set(b.device, (list = []));
      list.push(ms);
    }
    if (perDevice.size > 1) {
      const all = new Map<number, Set<string>>();
      for (const [device, list] of perDevice) {
        list.sort((a, b) => a - b);
        for (const m of list) {
          let s = all.get(m);
          if (!s) all.set(m, (s = new Set()));
          s.add(device);
        }
      }
      const allMinutes = [...all.keys()].sort((a, b) => a - b);
      const othersLoggedBetween = (device: string, from: number, to: number): boolean => {
        // Binary search the first minute after `from`, then look for one of another device before `to`.
        let lo = 0;
        let hi = allMinutes.length;
        while (lo < hi) {
          const mid = (lo + hi) >> 1;
          if (allMinutes[mid]! <= from) lo = mid + 1;
          else hi = mid;
        }
        for (let i = lo; i < allMinutes.length && allMinutes[i]! < to; i++) {
          const devices = all.get(allMinutes[i]!)!;
          if (devices.size > 1 || !devices.has(device)) return true;
        }
        return false;
      };
      const globalLast = allMinutes[allMinutes.length - 1]!;
      for (const [device, list] of perDevice) {
        const ends = [...list, globalLast + 60_000];
        for (let i = 0; i + 1 < ends.length; i++) {
          const from = ends[i]!;
          const to = ends[i + 1]!;
          // A minute bucket covers [m, m+60s): the silence runs from the end of one to the start of the next.
          const silent = to - (from + 60_000);
          if (silent < gapMs) continue;
          if (i + 1 === ends.length - 1 && to === globalLast + 60_000) {
            // Trailing silence: the device stopped while others went on logging.
            if (!othersLoggedBetween(device, from, to)) continue;
          } else if (!othersLoggedBetween(device, from, to)) continue;
          const facts = { kind: 'silence', from: new Date(from + 60_000).toISOString(), to: new Date(Math.min(to, globalLast + 60_000)).toISOString(), ms: silent, trailing: i + 1 === ends.length - 1 };
          // The evidence: what the other devices logged while this one was silent.
          const logged = await ctx.db
            .selectFrom('audit_entries')
            .select(['request_id', 'time_key'])
            .where('time_key', '>=', dateToTimeKey(new Date(from + 60_000)))
            .where('time_key', '<', dateToTimeKey(new Date(to)))
            .where('request_id', 'is not', null)
            .orderBy('time_key')
            .execute();
          const seen = new Set<string>();
          for (const r of logged) {
            if (seen.has(r.request_id!)) continue;
            seen.add(r.request_id!);
            out.push({ subject: `device:${device}`, time_key: r.time_key, request_id: r.request_id, facts });
          }
          if (seen.size === 0) out.push({ subject: `device:${device}`, time_key: dateToTimeKey(new Date(from + 60_000)), request_id: null, facts });
        }
      }
    }

    // 2. The per-device batch hash chain must link and recompute.
    const batches = await ctx.db
      .selectFrom('ingest_batches')
      .select(['id', 'device', 'stored_sha256', 'prev_chain_sha256', 'chain_sha256', 'first_time_key', 'created_at'])
      .orderBy('device')
      .orderBy('id')
      .execute();
    let device = '';
    let prevChain: string | null = null;
    for (const b of batches) {
      if (b.device !== device) {
        device = b.device;
        prevChain = null;
      }
      const linked = (b.prev_chain_sha256 ?? null) === prevChain;
      const recomputed = chainHash(b.prev_chain_sha256, b.stored_sha256) === b.chain_sha256;
      if (!linked || !recomputed) {
        out.push({
          subject: `device:${b.device}`,
          time_key: b.first_time_key ?? dateToTimeKey(new Date(b.created_at)),
          request_id: null,
          facts: { kind: 'chain', batch: b.id, reason: !linked ? 'does not link to the previous batch' : 'hash does not recompute' },
        });
      }
      prevChain = b.chain_sha256;
    }
    return out;
  },
  describe(group) {
    const silences = [...new Map(group.items.filter((e) => e.facts?.kind === 'silence').map((e) => [e.facts!.from as string, e])).values()];
    const breaks = group.items.filter((e) => e.facts?.kind === 'chain');
    const parts: string[] = [];
    if (silences.length) {
      const longest = silences.reduce((a, b) => ((a.facts!.ms as number) >= (b.facts!.ms as number) ? a : b));
      parts.push(
        `audit device ${group.subject.slice(7)} was silent ${silences.length === 1 ? '' : `${silences.length} times, longest `}for ${humanDuration(longest.facts!.ms as number)} (${longest.facts!.from} to ${longest.facts!.to}${longest.facts!.trailing ? ', and has not logged since' : ''}) while other devices logged`,
      );
    }
    if (breaks.length) {
      parts.push(`the hash chain of ${group.subject.slice(7)} breaks at batch ${breaks[0]!.facts!.batch} (${breaks[0]!.facts!.reason})${breaks.length > 1 ? ` and ${breaks.length - 1} more` : ''}`);
    }
    return `${parts.join('; ')}; check the device and its shipper, and re-ingest the missing files.`;
  },
};

