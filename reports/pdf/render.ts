import { timeKeyToIso } from '../../db/index.js';
import { controlRules } from '../pack/controls.js';
import type { ControlStatus, ReportModel, SampleRow } from '../pack/model.js';
import { periodDays } from '../pack/period.js';
import { horizontalBarChart, stackedBarChart } from './charts.js';
import { COLOR, FONT, PdfLayout, type Cell } from './layout.js';

/** report.pdf: a thin renderer of the model, in the order the auditor reads it. */
export async function renderReportPdf(model: ReportModel): Promise<Buffer> {
  const { period } = model;
  const layout = new PdfLayout({
    title: 'keytrail SOC 2 evidence pack',
    subject: `Vault secret access evidence, ${period.from} to ${period.to} (UTC)`,
    createdAt: new Date(model.generatedAt),
    runningHeader: `keytrail SOC 2 evidence pack  ·  period ${period.from} 00:00 to ${period.to} 24:00 UTC  ·  data SHA-256 ${model.dataSha256.slice(0, 16)}…`,
  });
  cover(layout, model);
  scope(layout, model);
  completeness(layout, model);
  controls(layout, model);
  populations(layout, model);
  lifetime(layout, model);
  exceptions(layout, model);
  sample(layout, model);
  methodology(layout, model);
  appendix(layout, model);
  return layout.finish();
}

const n = (v: number) => v.toLocaleString('en-US');
const pct = (v: number | null) => (v === null ? 'n/a (nothing to measure)' : `${(v * 100).toFixed(2)}%`);
/** A time key (9 fractional digits) as a compact ISO time for people. */
const iso = (k: string | null | undefined) => (k ? timeKeyToIso(k) : '-');
const dash = (v: string | number | null | undefined) => (v === null || v === undefined || v === '' ? '-' : String(v));
const statusColor = (s: ControlStatus) => (s === 'PASS' ? COLOR.pass : s === 'FAIL' ? COLOR.fail : COLOR.manual);
const isEmpty = (m: ReportModel) => m.completeness.totals.lines_read === 0 && m.rowCounts['secret-accesses'] === 0;

const SECTIONS = [
  '1. Scope and data sources',
  '2. Completeness and accuracy of the information',
  '3. Control matrix (SOC 2 Trust Services Criteria)',
  '4. Population summaries',
  '5. Credential lifetime',
  '6. Exceptions (findings)',
  '7. Sample and drill-down',
  '8. Methodology',
  '9. Hash appendix',
];

function cover(l: PdfLayout, m: ReportModel): void {
  l.space(40);
  l.text('SOC 2 evidence pack', { size: 26, font: FONT.bold, color: COLOR.headerBg, gapAfter: 4 });
  l.text('Secret access by CI pipelines: HashiCorp Vault audit logs joined to GitLab jobs', { size: 12, color: COLOR.muted, gapAfter: 24 });
  l.keyValues(
    [
      ['System', `HashiCorp Vault (${m.sources.devices.length} audit device${m.sources.devices.length === 1 ? '' : 's'}) used by GitLab CI${m.sources.gitlab.url ? ` at ${m.sources.gitlab.url}` : ''}`],
      ['Period (UTC)', `${m.period.from} 00:00:00 to ${m.period.to} 23:59:59.999999999 (inclusive)`],
      ['Generated at', m.generatedAt],
      ['Tool', `keytrail ${m.toolVersion}`],
      ['Data SHA-256', m.dataSha256],
      ['Signing key', m.keyFingerprint ? `Ed25519, SHA-256 fingerprint ${m.keyFingerprint}` : 'not signed (no signing.private_key_file configured)'],
      ['Configuration SHA-256', m.configSha256],
      ['Previous pack manifest', m.previousManifestSha256 ?? 'none (first pack of this database)'],
    ],
    { labelWidth: 130, monoValues: true },
  );
  if (isEmpty(m)) {
    l.space(6);
    l.text('This period holds no audited activity: no audit line, request or secret access was recorded between its first and last day. The pack is complete and valid; its populations are empty.', {
      size: 10.5,
      font: FONT.bold,
      color: COLOR.manual,
      gapAfter: 10,
    });
  }
  l.space(8);
  l.text('At a glance', { size: 12, font: FONT.bold, gapAfter: 6 });
  const counts = (s: ControlStatus) => m.controls.filter((c) => c.status === s).length;
  l.table(
    [
      { header: 'Population', width: 3 },
      { header: 'Rows', width: 1, align: 'right' },
    ],
    [
      ['Secret accesses (populations/secret-accesses.csv)', n(m.rowCounts['secret-accesses'])],
      ['Tokens (populations/tokens.csv)', n(m.rowCounts.tokens)],
      ['Leases (populations/leases.csv)', n(m.rowCounts.leases)],
      ['Configuration changes (populations/config-changes.csv)', n(m.rowCounts['config-changes'])],
      ['Findings (populations/findings.csv)', n(m.rowCounts.findings)],
      ['Sample (populations/sample.csv)', n(m.rowCounts.sample)],
      [
        'Controls: PASS / FAIL / MANUAL',
        { text: `${counts('PASS')} / ${counts('FAIL')} / ${counts('MANUAL')}`, font: FONT.bold },
      ],
    ],
    { fontSize: 9 },
  );
  l.text('Contents', { size: 12, font: FONT.bold, gapAfter: 4 });
  for (const s of SECTIONS) l.text(s, { size: 9.5, gapAfter: 0 });
  l.space(10);
  l.text(
    'Integrity: every file of this pack is listed with its SHA-256 in manifest.json (section 9 repeats the data files). Check the pack with `keytrail verify <pack-dir> --public-key <key.pub>`; re-perform each population with `sqlite3 keytrail.db < queries.sql`.',
    { size: 8.5, color: COLOR.muted },
  );
}

function scope(l: PdfLayout, m: ReportModel): void {
  l.newPage();
  l.heading(SECTIONS[0]!);
  l.text(
    'In scope: every request the listed Vault audit devices recorded in the period, the Vault server log events of the period, and the GitLab projects, pipelines and jobs synchronised from the GitLab API. Secret accesses are requests whose path is neither under sys/ nor under auth/.',
  );
  l.heading('Vault audit devices', 2);
  if (m.sources.devices.length === 0) l.text('No audit device has been ingested.', { color: COLOR.muted });
  else
    l.table(
      [
        { header: 'Device', width: 2 },
        { header: 'Values', width: 1.6 },
        { header: 'First line ingested', width: 2.2 },
        { header: 'Last line ingested', width: 2.2 },
      ],
      m.sources.devices.map((d) => [d.name, d.log_raw ? 'log_raw (keyed-hashed by keytrail)' : 'HMAC-SHA256 (Vault)', iso(d.first), iso(d.last)]),
    );
  l.heading('Files read', 2);
  const files = m.sources.auditFiles;
  if (files.length === 0) l.text('No file has been read (socket devices only, or nothing ingested).', { color: COLOR.muted });
  else {
    l.table(
      [
        { header: 'Kind', width: 1 },
        { header: 'Device', width: 1.4 },
        { header: 'Path', width: 4.5 },
        { header: 'Lines', width: 1, align: 'right' },
        { header: 'Bytes', width: 1.2, align: 'right' },
        { header: 'Complete', width: 0.9 },
      ],
      files.slice(0, 200).map((f) => [f.kind, f.device, f.path, n(f.lines), n(f.bytes), f.complete ? 'yes' : 'growing']),
    );
    if (files.length > 200) l.text(`… ${files.length - 200} more files (audit_files table).`, { size: 8, color: COLOR.muted });
  }
  l.text(`Vault server log events in the period: ${n(m.sources.serverEventsInPeriod)}.`);
  l.heading('GitLab', 2);
  l.keyValues([
    ['Instance', m.sources.gitlab.url ?? 'not configured'],
    ['Projects synchronised', `${m.sources.gitlab.projects.length}`],
    ['Pipelines created in the period', n(m.sources.gitlab.pipelinesInPeriod)],
    ['Jobs started in the period', n(m.sources.gitlab.jobsInPeriod)],
  ]);
  if (m.sources.gitlab.projects.length) {
    l.text(m.sources.gitlab.projects.slice(0, 60).map((p) => `${p.path} (${p.id})`).join(', ') + (m.sources.gitlab.projects.length > 60 ? ', …' : ''), { size: 8 });
  }
  l.heading('Configuration', 2);
  l.keyValues(
    [
      ['File', m.sources.configSource ?? 'none (built-in defaults)'],
      ['SHA-256', m.configSha256],
      ['Sample seed / size', `${m.seed} / ${m.sampleSize}`],
    ],
    { monoValues: true },
  );
}

function completeness(l: PdfLayout, m: ReportModel): void {
  const c = m.completeness;
  l.newPage();
  l.heading(SECTIONS[1]!);
  l.text(
    'Every audit line read is accounted for as stored (first copy of a request or response), duplicate (the same entry again from another device or node) or quarantined (unparseable, with its reason). Lines read = stored + duplicates + quarantined. These figures are in completeness.json and are re-performed by the summary queries of queries.sql.',
  );
  l.keyValues([
    ['Lines read', n(c.totals.lines_read)],
    ['Stored', n(c.totals.stored)],
    ['Duplicates', n(c.totals.duplicates)],
    ['Quarantined', `${n(c.totals.quarantined)}${Object.keys(c.quarantine_reasons).length ? ` (${Object.entries(c.quarantine_reasons).map(([r, k]) => `${r}: ${n(k)}`).join(', ')})` : ''}`],
    ['Request/response pairing', `${pct(c.pairing.rate)}: ${n(c.pairing.paired)} paired, ${n(c.pairing.request_only)} request only, ${n(c.pairing.response_only)} response only, of ${n(c.pairing.total)} requests`],
    ['Claimed jobs found in GitLab', `${pct(c.claimed_jobs.share)}: ${n(c.claimed_jobs.found_in_gitlab)} of ${n(c.claimed_jobs.claimed)} jobs named by claims or correlation ids`],
    ['Audit gaps', `${n(c.audit_gaps.length)} silence${c.audit_gaps.length === 1 ? '' : 's'} longer than ${c.gap_threshold_minutes} minutes`],
  ]);
  l.heading('Batch hash chains (recomputed)', 2);
  if (c.hash_chains.length === 0) l.text('No ingest batch recorded.', { color: COLOR.muted });
  else
    l.table(
      [
        { header: 'Device', width: 1.6 },
        { header: 'Batches', width: 0.8, align: 'right' },
        { header: 'Re-hashed in period', width: 1, align: 'right' },
        { header: 'Pruned', width: 0.7, align: 'right' },
        { header: 'State', width: 0.8 },
        { header: 'Head (chain_sha256, in full in section 9)', width: 4.2, font: FONT.mono },
      ],
      c.hash_chains.map((h) => [
        h.device,
        n(h.batches),
        n(h.rehashed),
        n(h.pruned),
        { text: h.status, color: h.status === 'intact' ? COLOR.pass : COLOR.fail, font: FONT.bold },
        h.head ? `${h.head.slice(0, 24)}…` : '-',
      ]),
    );
  for (const h of c.hash_chains) for (const p of h.problems.slice(0, 20)) l.text(`${h.device}: ${p}`, { size: 8.5, color: COLOR.fail });
  l.heading('Coverage per device', 2);
  if (c.device_coverage.length === 0) l.text('No audit line in the period.', { color: COLOR.muted });
  else
    l.table(
      [
        { header: 'Device', width: 2 },
        { header: 'First line in period', width: 3 },
        { header: 'Last line in period', width: 3 },
        { header: 'Lines', width: 1.2, align: 'right' },
      ],
      c.device_coverage.map((d) => [d.device, iso(d.first), iso(d.last), n(d.lines)]),
    );
  if (c.audit_gaps.length) {
    l.heading('Audit gaps', 2);
    l.table(
      [
        { header: 'Device', width: 2 },
        { header: 'Silent from', width: 3 },
        { header: 'Until', width: 3 },
        { header: 'Minutes', width: 1, align: 'right' },
      ],
      c.audit_gaps.slice(0, 300).map((g) => [g.device, iso(g.gap_start), iso(g.gap_end), n(g.minutes)]),
    );
    if (c.audit_gaps.length > 300) l.text(`… ${c.audit_gaps.length - 300} more (completeness.json).`, { size: 8, color: COLOR.muted });
  }
  l.heading('Lines per device and day', 2);
  if (c.per_device_day.length === 0) l.text('No audit line in the period.', { color: COLOR.muted });
  else
    l.table(
      [
        { header: 'Device', width: 2.4 },
        { header: 'Day (UTC)', width: 1.4 },
        { header: 'Read', width: 1, align: 'right' },
        { header: 'Stored', width: 1, align: 'right' },
        { header: 'Duplicates', width: 1, align: 'right' },
        { header: 'Quarantined', width: 1, align: 'right' },
      ],
      c.per_device_day.map((r) => [r.device, r.day, n(r.lines_read), n(r.stored), n(r.duplicates), n(r.quarantined)]),
    );
}

function controls(l: PdfLayout, m: ReportModel): void {
  l.newPage();
  l.heading(SECTIONS[2]!);
  l.text('Each criterion is PASS or FAIL by the rule stated in the methodology (section 8), or MANUAL where keytrail holds no automated evidence; a MANUAL row carries what the reviewer has to establish and a line for their conclusion.');
  l.table(
    [
      { header: 'Criterion', width: 0.9 },
      { header: 'Objective', width: 2.2 },
      { header: 'Status', width: 0.8 },
      { header: 'Evidence', width: 5.2 },
    ],
    m.controls.map((c) => [
      { text: c.id, font: FONT.bold },
      c.title,
      { text: c.status, color: statusColor(c.status), font: FONT.bold },
      [...c.evidence, ...(c.reviewerTask ? [`Reviewer: ${c.reviewerTask}`] : [])].join('\n'),
    ]),
    { fontSize: 7.5, maxLines: 14 },
  );
  const manual = m.controls.filter((c) => c.status === 'MANUAL');
  if (manual.length) {
    l.heading('Reviewer conclusions for MANUAL criteria', 2);
    for (const c of manual) {
      l.text(`${c.id}: ${c.reviewerTask ?? ''}`, { size: 9 });
      l.signatureLine('Conclusion:');
      l.signatureLine('Reviewer, date:');
      l.space(4);
    }
  }
}

const ATTRIBUTION_COLORS: Record<string, string> = {
  claims: '#2b6cb0',
  'correlation-id': '#38a169',
  heuristic: '#d69e2e',
  none: '#c53030',
};

function populations(l: PdfLayout, m: ReportModel): void {
  l.newPage();
  l.heading(SECTIONS[3]!);
  l.text(`${n(m.rowCounts['secret-accesses'])} secret accesses in the period. Each population's full rows are in populations/*.csv; the exact SQL is in queries.sql.`);
  const days = periodDays(m.period);
  const kinds = ['claims', 'correlation-id', 'heuristic', 'none'];
  const series = kinds.map((k) => ({
    name: k,
    color: ATTRIBUTION_COLORS[k]!,
    values: days.map((d) => m.summaries.perDay.filter((r) => r.day === d && r.attribution === k).reduce((a, r) => a + r.accesses, 0)),
  }));
  stackedBarChart(l, days.map((d) => d.slice(5)), series, { title: 'Secret accesses per day (UTC) by attribution kind' });
  if (m.summaries.topPaths.length) horizontalBarChart(l, m.summaries.topPaths.map((p) => ({ label: p.path, value: p.accesses })), { title: 'Top secret paths' });
  else l.text('No secret path was accessed in the period.', { color: COLOR.muted });
  if (m.summaries.perProject.length) {
    horizontalBarChart(l, m.summaries.perProject.slice(0, 15).map((p) => ({ label: p.project, value: p.accesses })), { title: 'Secret accesses per GitLab project', color: '#38a169' });
    l.table(
      [
        { header: 'Project', width: 4 },
        { header: 'Accesses', width: 1, align: 'right' },
        { header: 'Jobs', width: 1, align: 'right' },
        { header: 'Verified yes', width: 1, align: 'right' },
        { header: 'Verified no', width: 1, align: 'right' },
      ],
      m.summaries.perProject.map((p) => [p.project, n(p.accesses), n(p.jobs), n(p.verified_yes), { text: n(p.verified_no), color: p.verified_no ? COLOR.fail : COLOR.text }]),
    );
  }
}

function lifetime(l: PdfLayout, m: ReportModel): void {
  l.newPage();
  l.heading(SECTIONS[4]!);
  l.text('Tokens and leases of the period by project: ended with their job (revoked or expired by the job\'s end plus the configured grace), outlived it, unknown (the job or its end is not known), or obtained by no job at all.');
  for (const kind of ['token', 'lease'] as const) {
    const rows = m.summaries.lifetime.filter((r) => r.kind === kind);
    l.heading(kind === 'token' ? 'Tokens' : 'Leases', 2);
    if (rows.length === 0) {
      l.text(`No ${kind} in the period.`, { color: COLOR.muted });
      continue;
    }
    const sum = (k: 'total' | 'ended_with_job' | 'outlived' | 'unknown' | 'no_job') => rows.reduce((a, r) => a + r[k], 0);
    l.table(
      [
        { header: 'Project', width: 4 },
        { header: 'Total', width: 1, align: 'right' },
        { header: 'Ended with job', width: 1.2, align: 'right' },
        { header: 'Outlived job', width: 1.1, align: 'right' },
        { header: 'Unknown', width: 1, align: 'right' },
        { header: 'No job', width: 1, align: 'right' },
      ],
      [
        ...rows.map((r) => [r.project, n(r.total), n(r.ended_with_job), { text: n(r.outlived), color: r.outlived ? COLOR.fail : COLOR.text }, n(r.unknown), n(r.no_job)]),
        [
          { text: 'All projects', font: FONT.bold },
          { text: n(sum('total')), font: FONT.bold },
          { text: n(sum('ended_with_job')), font: FONT.bold },
          { text: n(sum('outlived')), font: FONT.bold },
          { text: n(sum('unknown')), font: FONT.bold },
          { text: n(sum('no_job')), font: FONT.bold },
        ],
      ],
    );
  }
}

const PDF_FINDINGS_LIMIT = 400;

function exceptions(l: PdfLayout, m: ReportModel): void {
  l.newPage();
  l.heading(SECTIONS[5]!);
  const f = m.findings;
  const by = (s: string) => f.filter((x) => x.status === s).length;
  l.text(`${n(f.length)} findings whose evidence falls in the period: ${by('open')} open, ${by('muted')} muted, ${by('resolved')} resolved. Muted findings are kept and shown with their reason and owner.`);
  if (f.length === 0) {
    l.text('No finding in the period.', { color: COLOR.muted });
    return;
  }
  l.table(
    [
      { header: 'Id', width: 0.5, align: 'right' },
      { header: 'Rule', width: 1.7 },
      { header: 'Severity', width: 0.8 },
      { header: 'Status', width: 0.8 },
      { header: 'Subject and detail', width: 4 },
      { header: 'Count', width: 0.6, align: 'right' },
      { header: 'Evidence, first and last (UTC)', width: 2.1 },
    ],
    f.slice(0, PDF_FINDINGS_LIMIT).map((x) => [
      String(x.id),
      x.rule,
      { text: x.severity, color: x.severity === 'critical' || x.severity === 'high' ? COLOR.fail : COLOR.text },
      { text: x.status, font: FONT.bold, color: x.status === 'open' ? COLOR.fail : x.status === 'muted' ? COLOR.manual : COLOR.pass },
      `${x.subject}\n${x.detail}`,
      n(x.count),
      `${x.first_seen}\n${x.last_seen}`,
    ]),
    { maxLines: 6 },
  );
  if (f.length > PDF_FINDINGS_LIMIT) l.text(`… ${n(f.length - PDF_FINDINGS_LIMIT)} more in populations/findings.csv.`, { size: 8, color: COLOR.muted });
  const muted = f.filter((x) => x.status === 'muted');
  l.heading('Muted findings and their reasons', 2);
  if (muted.length === 0) l.text('No finding of the period is muted.', { color: COLOR.muted });
  else
    l.table(
      [
        { header: 'Id', width: 0.5, align: 'right' },
        { header: 'Rule', width: 1.7 },
        { header: 'Subject', width: 2.5 },
        { header: 'Reason', width: 3.5 },
        { header: 'Owner', width: 1.3 },
      ],
      muted.map((x) => [String(x.id), x.rule, x.subject, dash(x.mute_reason), dash(x.mute_owner)]),
    );
  const triaged = f.filter((x) => x.triage_action);
  if (triaged.length) {
    l.heading('Triage records', 2);
    l.table(
      [
        { header: 'Id', width: 0.5, align: 'right' },
        { header: 'Action', width: 0.9 },
        { header: 'Note', width: 4.5 },
        { header: 'By', width: 1.3 },
        { header: 'At', width: 2 },
      ],
      triaged.slice(0, PDF_FINDINGS_LIMIT).map((x) => [String(x.id), dash(x.triage_action), dash(x.triage_note), dash(x.triage_actor), dash(x.triage_at)]),
    );
  }
}

function claimsText(json: string | null): string {
  if (!json) return '-';
  try {
    const obj = JSON.parse(json) as Record<string, unknown>;
    const entries = Object.entries(obj).sort(([a], [b]) => a.localeCompare(b));
    return entries.length ? entries.map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(', ') : '-';
  } catch {
    return json;
  }
}

function drillDown(l: PdfLayout, s: SampleRow): void {
  l.ensure(160);
  l.doc.moveTo(l.left, l.y).lineTo(l.left + l.width, l.y).lineWidth(0.3).strokeColor(COLOR.rule).stroke();
  l.space(4);
  l.heading(`Sample ${s.sample_no}: request ${s.request_id}`, 3);
  const outlived = (v: number | null) => (v === null ? 'unknown' : v ? 'yes' : 'no');
  l.keyValues(
    [
      ['Request', `${dash(s.operation)} ${dash(s.path)} at ${s.time}, outcome ${s.outcome}, from ${dash(s.remote_address)}; devices ${s.devices}`],
      ['Caller', `${dash(s.display_name)} (entity ${dash(s.entity_id)}), ${dash(s.auth_mount)} role ${dash(s.role)}`],
      ['Attribution', `${s.attribution}${s.verified ? `, verified ${s.verified}` : ''}`],
      ['Token login claims', s.token_id === null ? 'no token recorded' : `token ${s.token_id} issued ${dash(s.token_issued_at)}: ${claimsText(s.token_claims)}; ends ${dash(s.token_ends_at)}, outlived job: ${outlived(s.token_outlived_job)}`],
      ['Lease', s.lease_id ? `${s.lease_id}: issued ${dash(s.lease_issued_at)}, ended ${dash(s.lease_ended_at)} (${dash(s.lease_end_kind)}), outlived job: ${outlived(s.lease_outlived_job)}` : 'none (this request issued, renewed or revoked no lease)'],
      ['GitLab job', s.job_id === null ? 'none' : s.job_name === null ? `${s.job_id} (not found in GitLab)` : `${s.job_id} "${s.job_name}" of ${dash(s.job_project_path ?? s.job_project_id)}, pipeline ${dash(s.job_pipeline_id)}, ref ${dash(s.job_ref)}, by ${dash(s.job_user_login)}, ${dash(s.job_status)}, ran ${dash(s.job_started_at)} to ${dash(s.job_finished_at)}${s.job_web_url ? `, ${s.job_web_url}` : ''}`],
      ['Raw audit line SHA-256', s.raw?.sha256 ? `${s.raw.sha256} (device ${s.raw.device}, batch ${s.raw.batchId})` : s.raw ? `unavailable: ${s.raw.missing}` : 'no stored request line'],
    ],
    { labelWidth: 115, size: 8.5 },
  );
}

function sample(l: PdfLayout, m: ReportModel): void {
  l.newPage();
  l.heading(SECTIONS[6]!);
  l.text(`The sample is the ${m.sampleSize} secret accesses with the smallest SHA3-256 of "${m.seed}:" followed by the request id: reproducible from the seed alone (the sample query of queries.sql re-draws it) and independent of row order. ${n(m.sample.length)} drawn from ${n(m.rowCounts['secret-accesses'])}.`);
  if (m.sample.length === 0) {
    l.text('Nothing to sample: the population is empty.', { color: COLOR.muted });
    return;
  }
  l.table(
    [
      { header: 'No', width: 0.4, align: 'right' },
      { header: 'Request id', width: 2.3 },
      { header: 'Time (UTC)', width: 2.1 },
      { header: 'Path', width: 3 },
      { header: 'Attribution', width: 1.2 },
      { header: 'Job', width: 0.8, align: 'right' },
    ],
    m.sample.map((s) => [String(s.sample_no), s.request_id, s.time, dash(s.path), `${s.attribution}${s.verified ? ` (${s.verified})` : ''}`, dash(s.job_id)]),
  );
  for (const s of m.sample) drillDown(l, s);
}

function methodology(l: PdfLayout, m: ReportModel): void {
  l.newPage();
  l.heading(SECTIONS[7]!);
  l.heading('Populations', 2);
  for (const q of m.queries) l.text(`${q.file}: ${q.description}`, { size: 8.5 });
  l.heading('Control rules', 2);
  l.table(
    [
      { header: 'Criterion', width: 1 },
      { header: 'Pass/fail rule', width: 7 },
    ],
    controlRules().map((r) => [{ text: r.id, font: FONT.bold }, r.rule]),
    { fontSize: 8 },
  );
  l.text('A finding falls in the period when its first evidence is on or before the period\'s last day and its last evidence on or after its first day. A period without audited activity makes every criterion MANUAL.', { size: 8.5 });
  l.heading('Attribution', 2);
  l.text('claims: the token\'s login metadata names the GitLab job (exact). correlation-id: an X-Correlation-ID header names the job (exact). heuristic: exactly one running job of the role\'s project fits the login time, user and runner address (evidence stored). none: nothing ties the request to a job. verified: yes when GitLab confirms job, project, pipeline, user, ref and run time; no when it contradicts them; unknown when GitLab has not been synchronised for it.', { size: 8.5 });
  l.heading('Known limits of the source data', 2);
  for (const t of [
    'Vault does not audit some sys/ paths (for example sys/health and seal status); they cannot appear in any population.',
    'Each request is counted once however many audit devices and nodes logged it; the union over all devices is used.',
    'HMAC\'d values (tokens, accessors, secret data) are kept as Vault wrote them: no secret value is in the pack. HMACs compare only within one device.',
    'Lease expiry by TTL is not in the audit log: it comes from the Vault server log when ingested, otherwise it is inferred from the configured TTLs (end_inferred = 1).',
    'Secrets never read do not appear: the populations are built from use, not from an inventory.',
    'Quarantined lines carry no time of their own: they are counted on the day of their batch\'s first entry.',
  ])
    l.text(`• ${t}`, { size: 8.5, gapAfter: 1 });
  l.heading('Re-performance and integrity', 2);
  l.text('queries.sql holds every statement with the period bound as literals. Run in an empty directory, `sqlite3 keytrail.db < queries.sql` writes one CSV per population and summary, byte-identical to the pack\'s (the sample adds one column computed outside SQL, the raw line\'s SHA-256). manifest.json lists every file with its SHA-256 and size; data_sha256 is the SHA-256 of the `sha256sum`-style lines ("<sha256>  <path>") of every file but report.pdf and manifest.*, sorted by path. manifest.sig is an Ed25519 signature of the exact manifest.json bytes. previous_manifest_sha256 chains this pack to the latest earlier pack of the same database; batch_chain_heads records the head of each device\'s ingest hash chain.', { size: 8.5 });
}

function appendix(l: PdfLayout, m: ReportModel): void {
  l.newPage();
  l.heading(SECTIONS[8]!);
  l.table(
    [
      { header: 'File', width: 2.4 },
      { header: 'Bytes', width: 0.8, align: 'right' },
      { header: 'SHA-256', width: 6, font: FONT.mono },
    ],
    m.files.map((f) => [f.path, n(f.bytes), f.sha256]),
  );
  l.keyValues([['Data SHA-256', m.dataSha256], ['Previous manifest', m.previousManifestSha256 ?? 'none']], { labelWidth: 110, monoValues: true });
  l.heading('Batch chain heads', 2);
  const heads = Object.entries(m.batchChainHeads);
  if (heads.length === 0) l.text('No ingest batch recorded.', { color: COLOR.muted });
  else
    l.table(
      [
        { header: 'Device', width: 2.6 },
        { header: 'Head chain_sha256', width: 6, font: FONT.mono },
      ],
      heads.map(([d, h]) => [d, h] as (string | Cell)[]),
    );
}
