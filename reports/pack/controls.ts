import type { Completeness, ControlResult, FindingRow, Summaries } from './model.js';
import type { PopulationName } from './queries.js';

/** What the control evaluation reads: the pack's own figures, nothing else. */
export interface ControlInputs {
  rowCounts: Record<PopulationName, number>;
  completeness: Completeness;
  summaries: Summaries;
  findings: FindingRow[];
  configChanges: { total: number; byVerifiedPipeline: number };
}

interface ControlDefinition {
  id: string;
  title: string;
  /** Detection rules (ids of the catalogue) whose findings evidence this criterion. */
  rules: string[];
  rule: string;
  evaluate(inputs: ControlInputs, open: FindingRow[], all: FindingRow[]): Omit<ControlResult, 'id' | 'title' | 'rule'>;
}

const HIGH = new Set(['high', 'critical']);

function plural(n: number, word: string): string {
  const many = /(s|x|ch|sh)$/.test(word) ? `${word}es` : `${word}s`;
  return `${n.toLocaleString('en-US')} ${n === 1 ? word : many}`;
}

function findingsLine(rules: string[], all: FindingRow[], open: FindingRow[]): string {
  const muted = all.filter((f) => f.status === 'muted').length;
  const resolved = all.filter((f) => f.status === 'resolved').length;
  return `Rules ${rules.join(', ')}: ${plural(all.length, 'finding')} in the period (${open.length} open, ${muted} muted, ${resolved} resolved).`;
}

/** The open findings by id (their subjects and details are in the exceptions section), at most eight. */
function openList(open: FindingRow[]): string[] {
  if (open.length === 0) return [];
  const shown = open.slice(0, 8).map((f) => `#${f.id} ${f.rule} (${f.severity})`);
  return [`Open: ${shown.join(', ')}${open.length > 8 ? `, and ${open.length - 8} more (section 6)` : ''}.`];
}

function openRule(rules: string[]): string {
  return `FAIL when a finding of ${rules.join(', ')} whose evidence falls in the period is open (neither resolved nor muted with a reason); otherwise PASS.`;
}

/** Automated verdict from the rules' open findings, with a line of evidence per figure given. */
function byOpenFindings(rules: string[], extra: (i: ControlInputs) => string[]) {
  return (inputs: ControlInputs, open: FindingRow[], all: FindingRow[]) => ({
    status: open.length ? ('FAIL' as const) : ('PASS' as const),
    evidence: [
      ...extra(inputs),
      findingsLine(rules, all, open),
      ...openList(open),
    ],
  });
}

function attributionLine(i: ControlInputs): string {
  const by = new Map<string, number>();
  for (const r of i.summaries.perDay) by.set(r.attribution, (by.get(r.attribution) ?? 0) + r.accesses);
  const total = i.rowCounts['secret-accesses'];
  const tied = total - (by.get('none') ?? 0);
  const share = total ? ((tied / total) * 100).toFixed(1) : '0.0';
  return `${plural(total, 'secret access')} (populations/secret-accesses.csv); ${tied.toLocaleString('en-US')} (${share}%) tied to a GitLab job.`;
}

function lifetimeLine(i: ControlInputs): string {
  const sum = (kind: 'token' | 'lease', key: 'ended_with_job' | 'outlived' | 'total') =>
    i.summaries.lifetime.filter((r) => r.kind === kind).reduce((n, r) => n + r[key], 0);
  return `Tokens: ${sum('token', 'total')} (${sum('token', 'ended_with_job')} ended with their job, ${sum('token', 'outlived')} outlived it); leases: ${sum('lease', 'total')} (${sum('lease', 'ended_with_job')} ended with their job, ${sum('lease', 'outlived')} outlived it).`;
}

function chainsIntact(c: Completeness): boolean {
  return c.hash_chains.every((h) => h.status === 'intact');
}

const DEFINITIONS: ControlDefinition[] = [
  {
    id: 'CC6.1',
    title: 'Logical access security over protected information assets',
    rules: ['root-token-used', 'root-token-generated', 'raw-audit-logging'],
    rule: '',
    evaluate: byOpenFindings(['root-token-used', 'root-token-generated', 'raw-audit-logging'], (i) => [attributionLine(i)]),
  },
  {
    id: 'CC6.2',
    title: 'Credentials issued to registered, authorised users and removed when no longer needed',
    rules: ['job-not-found', 'claims-mismatch', 'token-used-after-job', 'lease-outlived-job', 'orphan-token-created', 'token-ttl-excessive'],
    rule: '',
    evaluate: byOpenFindings(
      ['job-not-found', 'claims-mismatch', 'token-used-after-job', 'lease-outlived-job', 'orphan-token-created', 'token-ttl-excessive'],
      (i) => [
        lifetimeLine(i),
        `${i.completeness.claimed_jobs.found_in_gitlab} of ${i.completeness.claimed_jobs.claimed} jobs named in claims are known to GitLab.`,
      ],
    ),
  },
  {
    id: 'CC6.3',
    title: 'Access authorised, modified or removed by role (least privilege)',
    rules: ['cross-project-access', 'unprotected-ref-prod-secret', 'unattributed-secret-access'],
    rule: '',
    evaluate: byOpenFindings(['cross-project-access', 'unprotected-ref-prod-secret', 'unattributed-secret-access'], (i) => [
      `${i.summaries.perProject.length} projects read secrets (per-project summary, section 5).`,
    ]),
  },
  {
    id: 'CC6.6',
    title: 'Protection against threats from outside the system boundary',
    rules: ['unexpected-source-ip', 'login-failure-burst', 'permission-denied-burst', 'token-multi-ip'],
    rule: '',
    evaluate: byOpenFindings(['unexpected-source-ip', 'login-failure-burst', 'permission-denied-burst', 'token-multi-ip'], (i) => {
      const denied = i.summaries.perDay.filter((r) => r.outcome !== 'ok').reduce((n, r) => n + r.accesses, 0);
      return [`${plural(denied, 'secret access')} denied or failed in the period.`];
    }),
  },
  {
    id: 'CC6.7',
    title: 'Transmission of information restricted to authorised users and processes',
    rules: ['untrusted-pipeline-source', 'secret-enumeration', 'off-hours-human-access'],
    rule: '',
    evaluate: byOpenFindings(['untrusted-pipeline-source', 'secret-enumeration', 'off-hours-human-access'], (i) => [attributionLine(i)]),
  },
  {
    id: 'CC7.1',
    title: 'Detection of configuration changes that introduce vulnerabilities',
    rules: ['audit-device-changed', 'policy-changed', 'auth-method-changed', 'jwt-role-changed', 'mount-changed'],
    rule: '',
    evaluate: byOpenFindings(['audit-device-changed', 'policy-changed', 'auth-method-changed', 'jwt-role-changed', 'mount-changed'], (i) => [
      `${plural(i.rowCounts['config-changes'], 'configuration change')} recorded (populations/config-changes.csv).`,
    ]),
  },
  {
    id: 'CC7.2',
    title: 'Monitoring of system components for anomalies',
    rules: ['audit-gap'],
    rule:
      'FAIL when a device\'s batch hash chain does not recompute, when an audit gap longer than the threshold is found, or when an audit-gap finding of the period is open; otherwise PASS.',
    evaluate: (i, open, all) => {
      const c = i.completeness;
      const broken = c.hash_chains.filter((h) => h.status === 'broken');
      const fail = broken.length > 0 || c.audit_gaps.length > 0 || open.length > 0;
      return {
        status: fail ? 'FAIL' : 'PASS',
        evidence: [
          `${plural(c.hash_chains.length, 'audit device')}; hash chains ${chainsIntact(c) ? 'intact' : `broken on ${broken.map((b) => b.device).join(', ')}`}.`,
          `${plural(c.audit_gaps.length, 'audit gap')} longer than ${c.gap_threshold_minutes} minutes.`,
          `Request/response pairing rate ${c.pairing.rate === null ? 'n/a' : `${(c.pairing.rate * 100).toFixed(2)}%`}.`,
          findingsLine(['audit-gap'], all, open),
        ],
      };
    },
  },
  {
    id: 'CC7.3',
    title: 'Evaluation of security events',
    rules: [],
    rule: 'FAIL when a high or critical finding whose evidence falls in the period is still open (neither resolved nor muted with a reason and owner); otherwise PASS.',
    evaluate: (i) => {
      const high = i.findings.filter((f) => HIGH.has(f.severity));
      const untriaged = high.filter((f) => f.status === 'open');
      const triaged = i.findings.filter((f) => f.triage_action !== null).length;
      return {
        status: untriaged.length ? 'FAIL' : 'PASS',
        evidence: [
          `${plural(high.length, 'high or critical finding')} in the period, ${untriaged.length} untriaged.`,
          `${plural(i.findings.filter((f) => f.status === 'muted').length, 'muted finding')} (each with a reason and owner, section 7); ${plural(triaged, 'finding')} with a triage record.`,
          ...openList(untriaged),
        ],
      };
    },
  },
  {
    id: 'CC8.1',
    title: 'Changes authorised, tested and approved',
    rules: [],
    rule: 'MANUAL: change approvals (merge request approvals) are not in the data keytrail collects.',
    evaluate: (i) => ({
      status: 'MANUAL',
      evidence: [
        `${plural(i.configChanges.total, 'configuration change')} in the period, ${i.configChanges.byVerifiedPipeline} made by a GitLab job whose attribution GitLab confirmed (populations/config-changes.csv).`,
      ],
      reviewerTask:
        'For each configuration change, confirm the merge request and approval behind its pipeline (or the change ticket for changes made by a person).',
    }),
  },
];

/** The rule of each control as the methodology states it. */
export function controlRules(): { id: string; rule: string }[] {
  return DEFINITIONS.map((d) => ({ id: d.id, rule: d.rule || openRule(d.rules) }));
}

/**
 * The control matrix. A period with no audited activity gives MANUAL rows (nothing operated that could be
 * evaluated), never PASS.
 */
export function evaluateControls(inputs: ControlInputs): ControlResult[] {
  const active = inputs.completeness.totals.lines_read > 0 || inputs.rowCounts['secret-accesses'] > 0;
  return DEFINITIONS.map((d) => {
    const rule = d.rule || openRule(d.rules);
    if (!active) {
      return {
        id: d.id,
        title: d.title,
        rule,
        status: 'MANUAL',
        evidence: ['No audited activity in the period: there is nothing automated to evaluate.'],
        reviewerTask: 'Confirm that Vault was not in use during the period, or that its audit devices were ingested.',
      };
    }
    const all = inputs.findings.filter((f) => d.rules.includes(f.rule));
    const open = all.filter((f) => f.status === 'open');
    return { id: d.id, title: d.title, rule, ...d.evaluate(inputs, open, all) };
  });
}
