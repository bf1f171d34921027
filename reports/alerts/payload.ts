/** What a delivery carries: the finding row of CONTRACT.md plus `event`, as JSON, Slack blocks or a table line. */
import type { FindingRow } from '../detect/row.js';

export type AlertEvent = 'new' | 'reopened' | 'escalated';

export type AlertPayload = FindingRow & { event: AlertEvent };

export function alertPayload(row: FindingRow, event: string): AlertPayload {
  return { ...row, event: event as AlertEvent };
}

const SLACK_EMOJI: Record<string, string> = { critical: ':rotating_light:', high: ':red_circle:', medium: ':large_orange_circle:', low: ':white_circle:' };

/** Slack incoming-webhook message: a fallback text and blocks (header, detail, facts). */
export function slackMessage(p: AlertPayload): Record<string, unknown> {
  const head = `${p.severity.toUpperCase()} ${p.event}: ${p.title}`;
  const facts = [
    `*rule* \`${p.rule}\``,
    `*subject* \`${p.subject}\``,
    p.job_id !== null ? `*job* ${p.job_id}` : null,
    p.project_id !== null ? `*project* ${p.project_id}` : null,
    p.path ? `*path* \`${p.path}\`` : null,
    `*seen* ${p.first_seen} → ${p.last_seen} (${p.count})`,
    `*finding* #${p.id}`,
  ].filter(Boolean);
  return {
    text: `${head} — ${p.detail}`,
    blocks: [
      { type: 'header', text: { type: 'plain_text', text: head.slice(0, 150) } },
      { type: 'section', text: { type: 'mrkdwn', text: `${SLACK_EMOJI[p.severity] ?? ''} ${p.detail}`.slice(0, 3000) } },
      { type: 'context', elements: [{ type: 'mrkdwn', text: facts.join('  ·  ').slice(0, 3000) }] },
    ],
  };
}

/** One readable line for the table format of `keytrail alerts`. */
export function alertLine(p: AlertPayload): string {
  const event = p.event.toUpperCase().padEnd(9);
  const severity = p.severity.padEnd(8);
  return `${event} ${severity} #${p.id} ${p.rule}: ${p.detail}`;
}
