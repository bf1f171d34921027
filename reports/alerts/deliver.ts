/**
 * Delivers finding events exactly once per channel. Each (event, channel) gets an `alert_deliveries` row:
 * `pending`/`failed` rows are tried again on the next run, `delivered` rows are never sent again, and
 * events of muted findings are recorded as `muted` and never sent. stdout is one channel whatever the format,
 * so `alerts` and `run` share what was already printed.
 */
import { createHash } from 'node:crypto';
import type { KeytrailDb } from '../../db/connection.js';
import { getState, setState } from '../../db/state.js';
import { findingRow } from '../detect/row.js';
import { alertLine, alertPayload, slackMessage, type AlertPayload } from './payload.js';
import { DEFAULT_RETRY, postJson, type PostOutcome, type RetryPolicy } from './webhook.js';

export interface StdoutChannel {
  kind: 'stdout';
  format: 'table' | 'json';
  write(text: string): void;
}

export interface WebhookChannel {
  kind: 'webhook';
  url: string;
  format: 'generic' | 'slack';
}

export type AlertChannel = StdoutChannel | WebhookChannel;

export interface DeliveryOptions {
  channels: AlertChannel[];
  retry?: Partial<RetryPolicy>;
  now?: Date;
  /**
   * Events recorded by the detection run that precedes this delivery. A webhook seen for the first time
   * starts with these (older events are not replayed to it); stdout delivers everything not yet printed.
   */
  currentEventIds?: number[];
}

export interface Delivery {
  channel: string;
  event_id: number;
  payload: AlertPayload;
  ok: boolean;
  error: string | null;
}

export interface DeliveryResult {
  delivered: number;
  failed: number;
  muted: number;
  /** Delivered, unmuted new/reopened/escalated findings of severity high or critical. */
  delivered_high: number;
  deliveries: Delivery[];
  errors: string[];
  /** 1 when a delivery failed; else 3 when a high or critical finding was delivered; else 0. */
  exitCode: 0 | 1 | 3;
}

/** Stable channel id; a webhook is known by a hash of its URL (URLs often embed a secret). */
export function channelId(c: AlertChannel): string {
  if (c.kind === 'stdout') return 'stdout';
  return `webhook:${c.format}:${createHash('sha256').update(c.url).digest('hex').slice(0, 16)}`;
}

async function send(c: AlertChannel, p: AlertPayload, retry: RetryPolicy): Promise<PostOutcome> {
  if (c.kind === 'stdout') {
    c.write(c.format === 'json' ? `${JSON.stringify(p)}\n` : `${alertLine(p)}\n`);
    return { ok: true, attempts: 1, error: null };
  }
  return postJson(c.url, c.format === 'slack' ? slackMessage(p) : p, retry);
}

export async function deliverAlerts(handle: KeytrailDb, options: DeliveryOptions): Promise<DeliveryResult> {
  const db = handle.db;
  const retry: RetryPolicy = { ...DEFAULT_RETRY, ...options.retry };
  const now = options.now ?? new Date();
  const result: DeliveryResult = { delivered: 0, failed: 0, muted: 0, delivered_high: 0, deliveries: [], errors: [], exitCode: 0 };

  const channels = new Map<string, AlertChannel>();
  for (const c of options.channels) if (!channels.has(channelId(c))) channels.set(channelId(c), c);

  const maxEvent = Number((await db.selectFrom('finding_events').select((eb) => eb.fn.max('id').as('max')).executeTakeFirst())?.max ?? 0);
  const current = options.currentEventIds ?? [];
  const floor = current.length ? Math.min(...current) - 1 : maxEvent;

  for (const [id, channel] of channels) {
    const sinceKey = `alerts.channel.${id}.since`;
    let since = Number(await getState(db, sinceKey));
    if (!Number.isFinite(since) || (await getState(db, sinceKey)) === undefined) {
      since = channel.kind === 'stdout' ? 0 : floor;
      await setState(db, sinceKey, String(since));
    }
    // Give every event after the channel's start a delivery row (once: unique on event and channel).
    const missing = await db
      .selectFrom('finding_events')
      .select('finding_events.id')
      .where('finding_events.id', '>', since)
      .where((eb) => eb.not(eb.exists(eb.selectFrom('alert_deliveries').select('alert_deliveries.id').whereRef('alert_deliveries.event_id', '=', 'finding_events.id').where('alert_deliveries.channel', '=', id))))
      .execute();
    if (missing.length) {
      await db
        .insertInto('alert_deliveries')
        .values(missing.map((m) => ({ event_id: Number(m.id), channel: id, status: 'pending', attempts: 0, last_error: null, delivered_at: null })))
        .onConflict((oc) => oc.columns(['event_id', 'channel']).doNothing())
        .execute();
    }

    const due = await db
      .selectFrom('alert_deliveries')
      .innerJoin('finding_events', 'finding_events.id', 'alert_deliveries.event_id')
      .innerJoin('findings', 'findings.id', 'finding_events.finding_id')
      .selectAll('findings')
      .select(['alert_deliveries.id as delivery_id', 'alert_deliveries.attempts as delivery_attempts', 'finding_events.id as event_id', 'finding_events.event as event'])
      .where('alert_deliveries.channel', '=', id)
      .where('alert_deliveries.status', 'in', ['pending', 'failed'])
      .orderBy('finding_events.id')
      .execute();

    // After a delivery to this channel failed every retry, the rest wait for the next run instead of each
    // waiting out its own timeouts (a dead webhook would otherwise stall the run for minutes).
    let down: string | null = null;
    for (const d of due) {
      if (d.status === 'muted') {
        await db.updateTable('alert_deliveries').set({ status: 'muted' }).where('id', '=', d.delivery_id).execute();
        result.muted++;
        continue;
      }
      const payload = alertPayload(findingRow(d), d.event);
      const outcome: PostOutcome = down ? { ok: false, attempts: 0, error: `not attempted: ${down}` } : await send(channel, payload, retry);
      if (!outcome.ok && !down) down = `an earlier delivery to this channel failed in this run (${outcome.error})`;
      const attempts = Number(d.delivery_attempts) + outcome.attempts;
      if (outcome.ok) {
        await db
          .updateTable('alert_deliveries')
          .set({ status: 'delivered', attempts, last_error: null, delivered_at: now.toISOString() })
          .where('id', '=', d.delivery_id)
          .execute();
        result.delivered++;
        if (payload.severity === 'high' || payload.severity === 'critical') result.delivered_high++;
      } else {
        await db.updateTable('alert_deliveries').set({ status: 'failed', attempts, last_error: outcome.error }).where('id', '=', d.delivery_id).execute();
        result.failed++;
        result.errors.push(`finding ${payload.id} (${payload.event}) to ${id}: ${outcome.error}`);
      }
      result.deliveries.push({ channel: id, event_id: Number(d.event_id), payload, ok: outcome.ok, error: outcome.error });
    }
  }
  result.exitCode = result.failed > 0 ? 1 : result.delivered_high > 0 ? 3 : 0;
  return result;
}
