/**
 * `npm run bench -- report [--scale N]`: the SOC 2 evidence pack over a quarter with N secret accesses
 * (default 1,000,000). The rows are written straight into the tables the pack reads (accesses, tokens, leases,
 * GitLab jobs, findings, and audit entries/copies whose ingest batches hold real gzip bytes on a valid hash
 * chain), so the benchmark measures the pack, not ingest or correlate.
 *
 * Measured in a child process (so its peak RSS is the pack's alone): the pack's wall time, peak RSS and PDF
 * size; the baseline is a plain SELECT of the same population streamed to CSV, in the same run.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import Database from 'better-sqlite3';
import { openDatabase, requestKey } from '../db/index.js';
import { machineLine, type BenchOptions } from './run.js';

const FROM = '2026-01-01';
const TO = '2026-03-31';
const DAYS = 90;
const PROJECTS = 60;
const ACCESSES_PER_JOB = 50;
const BATCH_LINES = 5000;
const DIST = resolve(import.meta.dirname, '..');

function key(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 23)}000000Z`;
}

/** Builds the quarter's database from scratch (a partial one from an interrupted run is never reused). */
async function buildDatabase(path: string, accesses: number): Promise<void> {
  if (existsSync(path)) rmSync(path);
  for (const suffix of ['-wal', '-shm']) if (existsSync(path + suffix)) rmSync(path + suffix);
  const handle = await openDatabase(path);
  await handle.close();
  const s = new Database(path);
  s.pragma('journal_mode = WAL');
  s.pragma('synchronous = OFF');
  const start = Date.parse(`${FROM}T00:00:00Z`);
  const span = DAYS * 86_400_000;
  const jobs = Math.ceil(accesses / ACCESSES_PER_JOB);
  const now = new Date().toISOString();
  const insertProject = s.prepare("INSERT INTO gitlab_projects (id, path_with_namespace, name, raw, synced_at) VALUES (?, ?, ?, '{}', ?)");
  const insertJob = s.prepare(
    "INSERT INTO gitlab_jobs (id, project_id, pipeline_id, name, stage, status, ref, tag, user_login, created_at, started_at, finished_at, retried, raw, synced_at) VALUES (?, ?, ?, 'deploy', 'deploy', 'success', 'main', 0, ?, ?, ?, ?, 0, '{}', ?)",
  );
  const insertToken = s.prepare(`INSERT INTO tokens (id, issue_request_id, issued_at, issued_time_key, accessor, token_type, auth_mount, role, display_name, policies, metadata, ttl_seconds, orphan, job_id, pipeline_id, project_id, user_login, ref, attribution, verified, request_count, last_used_time_key, ends_at, end_inferred, job_finished_at, outlived_job)
    VALUES (?, ?, ?, ?, ?, 'service', 'auth/jwt/', 'ci', 'jwt-ci', '["default"]', ?, 3600, 1, ?, ?, ?, ?, 'main', 'claims', 'yes', ?, ?, ?, 0, ?, ?)`);
  const insertLease = s.prepare(`INSERT INTO leases (lease_id, issued_at, issued_time_key, issue_request_id, token_id, mount_type, job_id, pipeline_id, project_id, user_login, renew_count, ttl_seconds, ended_at, end_kind, end_inferred, job_finished_at, outlived_job)
    VALUES (?, ?, ?, ?, ?, 'database', ?, ?, ?, ?, 0, 3600, ?, 'token-revoked', 0, ?, ?)`);
  const insertEntry = s.prepare("INSERT INTO audit_entries (request_id, request_key, type, time, time_key, operation, path, remote_address, display_name, response_error) VALUES (?, ?, 'request', ?, ?, ?, ?, '10.0.0.5', 'jwt-ci', 0)");
  // One device: every line's copy lives in its entry row (migration 0006).
  const insertCopy = s.prepare("UPDATE audit_entries SET device = 'vault-a.log', batch_id = ?, line_offset = ?, line_length = ? WHERE id = ?");
  const insertBatch = s.prepare(`INSERT INTO ingest_batches (device, source, file_path, start_offset, end_offset, line_count, stored_count, duplicate_count, quarantined_count, sha256, stored_sha256, prev_chain_sha256, chain_sha256, raw_bytes, first_time_key, last_time_key, created_at)
    VALUES ('vault-a.log', 'file', '/var/log/vault/audit.log', 0, ?, ?, ?, 0, 0, ?, ?, ?, ?, ?, ?, ?, ?)`);
  const insertAccess = s.prepare(`INSERT INTO accesses (request_id, time, time_key, devices, operation, path, namespace, mount_type, outcome, remote_address, display_name, entity_id, auth_mount, role, token_accessor, token_id, lease_id, job_id, pipeline_id, project_id, project_path, user_login, ref, attribution, verified, pairing, request_entry_id, is_secret_access)
    VALUES (?, ?, ?, 'vault-a.log', ?, ?, '', ?, ?, '10.0.0.5', 'jwt-ci', NULL, 'auth/jwt/', 'ci', ?, ?, ?, ?, ?, ?, ?, ?, 'main', ?, ?, 'paired', ?, ?)`);
  const insertFinding = s.prepare(`INSERT INTO findings (rule, subject, severity, status, title, detail, first_seen, last_seen, count, request_ids, mute_reason, mute_owner, created_at, updated_at)
    VALUES (?, ?, ?, ?, 'Synthetic finding', 'A synthetic finding for the benchmark.', ?, ?, 1, '[]', ?, ?, ?, ?)`);

  let batch: { lines: string[]; copies: [number, string, string, number, number][]; first: string } = { lines: [], copies: [], first: '' };
  let offset = 0;
  let prevChain: string | null = null;
  const flushBatch = () => {
    if (batch.lines.length === 0) return;
    const bytes = Buffer.from(batch.lines.join(''), 'utf8');
    const sha = createHash('sha256').update(bytes).digest('hex');
    const chain = createHash('sha256').update(prevChain ?? '').update(sha).digest('hex');
    const last = batch.copies[batch.copies.length - 1]![2];
    const id = Number(insertBatch.run(bytes.length, batch.lines.length, batch.lines.length, sha, sha, prevChain, chain, gzipSync(bytes, { level: 1 }), batch.first, last, now).lastInsertRowid);
    for (const c of batch.copies) insertCopy.run(id, c[3], c[4], c[0]);
    prevChain = chain;
    batch = { lines: [], copies: [], first: '' };
    offset = 0;
  };
  const tx = s.transaction((fn: () => void) => fn());
  tx(() => {
    for (let p = 1; p <= PROJECTS; p++) insertProject.run(p, `acme/service-${String(p).padStart(2, '0')}`, `service-${p}`, now);
  });
  let written = 0;
  let reqNo = 0;
  const CHUNK = 500;
  for (let j0 = 0; j0 < jobs; j0 += CHUNK) {
    tx(() => {
      for (let j = j0; j < Math.min(jobs, j0 + CHUNK); j++) {
        const jobId = 100_000 + j;
        const project = 1 + (j % PROJECTS);
        const pipeline = 500_000 + Math.floor(j / 3);
        const user = `dev${j % 40}`;
        const t0 = start + Math.floor((j / jobs) * span);
        const finished = t0 + 5 * 60_000;
        insertJob.run(jobId, project, pipeline, user, new Date(t0 - 10_000).toISOString(), new Date(t0).toISOString(), new Date(finished).toISOString(), now);
        const outlived = j % 50 === 0 ? 1 : 0;
        const n = Math.min(ACCESSES_PER_JOB, accesses - written);
        insertToken.run(j + 1, `login-${j}`, new Date(t0 + 1000).toISOString(), key(t0 + 1000), `hmac-sha256:${j}`, JSON.stringify({ job_id: String(jobId), project_id: String(project), role: 'ci' }), jobId, pipeline, project, user, n, key(t0 + 1000 + n * 2000), new Date(finished + (outlived ? 7_200_000 : 0)).toISOString(), new Date(finished).toISOString(), outlived);
        const lease = `database/creds/service-${project}/${j}`;
        insertLease.run(lease, new Date(t0 + 2000).toISOString(), key(t0 + 2000), `req-${reqNo}`, j + 1, jobId, pipeline, project, user, new Date(finished).toISOString(), new Date(finished).toISOString(), outlived);
        for (let i = 0; i < n; i++) {
          const ms = t0 + 2000 + i * 2000;
          const id = `req-${reqNo++}`;
          const path = i === 0 ? `database/creds/service-${project}` : `kv/data/service-${project}/secret-${i % 7}`;
          const time = new Date(ms).toISOString();
          const line = `${JSON.stringify({ time, type: 'request', auth: { accessor: `hmac-sha256:${j}`, metadata: { job_id: String(jobId) } }, request: { id, operation: 'read', path } })}\n`;
          const entry = Number(insertEntry.run(id, requestKey(id, 'request'), time, key(ms), 'read', path).lastInsertRowid);
          if (batch.lines.length === 0) batch.first = key(ms);
          batch.lines.push(line);
          const len = Buffer.byteLength(line) - 1;
          batch.copies.push([entry, time, key(ms), offset, len]);
          offset += len + 1;
          insertAccess.run(id, time, key(ms), 'read', path, i === 0 ? 'database' : 'kv', i % 97 === 0 ? 'denied' : 'ok', `hmac-sha256:${j}`, j + 1, i === 0 ? lease : null, jobId, pipeline, project, `acme/service-${String(project).padStart(2, '0')}`, user, 'claims', 'yes', entry, 1);
          if (batch.lines.length >= BATCH_LINES) flushBatch();
        }
        written += n;
      }
    });
  }
  tx(() => {
    flushBatch();
    for (let f = 0; f < 300; f++) {
      const day = new Date(start + (f % DAYS) * 86_400_000).toISOString().slice(0, 10);
      const status = f % 3 === 0 ? 'muted' : f % 3 === 1 ? 'resolved' : 'open';
      insertFinding.run(['token-multi-ip', 'lease-outlived-job', 'policy-changed'][f % 3], `subject-${f}`, f % 5 === 0 ? 'high' : 'medium', status, `${day}T10:00:00Z`, `${day}T11:00:00Z`, status === 'muted' ? 'Known scanner, ticket SEC-1' : null, status === 'muted' ? 'sec-team' : null, now, now);
    }
    s.prepare("INSERT INTO devices (name, log_raw, first_time_key, last_time_key) VALUES ('vault-a.log', 0, ?, ?)").run(key(start), key(start + span));
  });
  s.pragma('wal_checkpoint(TRUNCATE)');
  s.close();
}

/** The baseline: the same population, plain SELECT, streamed to CSV without any formatting care. */
const BASELINE = `
import Database from 'better-sqlite3';
import { openSync, writeSync, closeSync } from 'node:fs';
const [db, out, from, to] = process.argv.slice(2);
const s = new Database(db, { readonly: true });
const t0 = performance.now();
const fd = openSync(out, 'w');
const stmt = s.prepare("SELECT * FROM accesses WHERE time_key >= ? AND time_key <= ? AND path IS NOT NULL AND substr(path, 1, 4) <> 'sys/' AND substr(path, 1, 5) <> 'auth/' ORDER BY time_key, request_id").raw(true);
let buf = []; let n = 0;
for (const row of stmt.iterate(from, to)) { buf.push(row.join(',')); n++; if (buf.length >= 5000) { writeSync(fd, buf.join('\\n') + '\\n'); buf = []; } }
writeSync(fd, buf.join('\\n') + '\\n'); closeSync(fd);
const cpu = process.cpuUsage();
console.log(JSON.stringify({ seconds: (performance.now() - t0) / 1000, cpuSeconds: (cpu.user + cpu.system) / 1e6, rows: n, maxRssMb: process.resourceUsage().maxRSS / 1024 }));
`;

const PACK = `
import { openDatabase } from '${join(DIST, 'db', 'index.js')}';
import { writeSoc2Pack } from '${join(DIST, 'reports', 'index.js')}';
const [db, out] = process.argv.slice(2);
const handle = await openDatabase(db);
const t0 = performance.now();
const r = await writeSoc2Pack(handle, { from: '${FROM}', to: '${TO}', outDir: out, generatedAt: '2026-04-01T00:00:00Z', toolVersion: 'bench' });
const seconds = (performance.now() - t0) / 1000;
const cpu = process.cpuUsage();
await handle.close();
console.log(JSON.stringify({ seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6, rows: r.rowCounts['secret-accesses'], maxRssMb: process.resourceUsage().maxRSS / 1024, timings: r.timings }));
`;

function runChild(script: string, args: string[], dataDir: string, name: string): { seconds: number; cpuSeconds: number; rows: number; maxRssMb: number; timings?: Record<string, number> } {
  const file = join(dataDir, name);
  writeFileSync(file, script);
  const out = execFileSync(process.execPath, [file, ...args], { encoding: 'utf8', cwd: join(DIST, '..'), maxBuffer: 1 << 20 });
  return JSON.parse(out.trim().split('\n').pop()!);
}

export async function run(opts: BenchOptions): Promise<void> {
  const accesses = opts.scale;
  const db = join(opts.dataDir, `report-${accesses}.db`);
  // The database is reused when a previous run completed it (marker file), since building it takes minutes.
  const marker = `${db}.complete`;
  const tBuild = performance.now();
  const reused = existsSync(marker) && existsSync(db);
  if (!reused) {
    if (existsSync(marker)) rmSync(marker);
    await buildDatabase(db, accesses);
    writeFileSync(marker, new Date().toISOString());
  }
  const buildSeconds = (performance.now() - tBuild) / 1000;
  const out = join(opts.dataDir, 'report-pack');
  const baseline = runChild(BASELINE, [db, join(opts.dataDir, 'report-baseline.csv'), `${FROM}T00:00:00.000000000Z`, `${TO}T23:59:59.999999999Z`], opts.dataDir, 'report-baseline.mjs');
  const pack = runChild(PACK, [db, out], opts.dataDir, 'report-pack.mjs');
  const pdfBytes = statSync(join(out, 'report.pdf')).size;
  const zipBytes = statSync(`${out}.zip`).size;
  const csvBytes = statSync(join(out, 'populations', 'secret-accesses.csv')).size;
  const ratio = pack.seconds / baseline.seconds;
  const ok = (b: boolean) => (b ? 'met' : '**missed**');
  const md = [
    '## report (SOC 2 evidence pack)',
    '',
    `A quarter (${FROM} to ${TO}) with ${accesses.toLocaleString('en-US')} secret accesses, ${Math.ceil(accesses / ACCESSES_PER_JOB).toLocaleString('en-US')} jobs/tokens/leases, ${PROJECTS} projects, 300 findings; audit copies in ${Math.ceil(accesses / BATCH_LINES)} gzip batches on one hash chain (synthetic rows written straight into the tables; ${reused ? 'database reused from an earlier run' : `built in ${buildSeconds.toFixed(0)} s`}).`,
    '',
    '| figure | value | target |',
    '| --- | --- | --- |',
    `| pack written (all files, PDF, zip; chain re-hashed) | ${pack.seconds.toFixed(1)} s | ≤ 60 s: ${ok(pack.seconds <= 60)} |`,
    `| baseline: plain SELECT of the same population to CSV | ${baseline.seconds.toFixed(1)} s (${baseline.rows.toLocaleString('en-US')} rows) | |`,
    `| ratio pack / baseline (wall time) | ${ratio.toFixed(1)} × | |`,
    `| CPU time (user + system): pack / baseline | ${pack.cpuSeconds.toFixed(1)} s / ${baseline.cpuSeconds.toFixed(1)} s = ${(pack.cpuSeconds / baseline.cpuSeconds).toFixed(1)} × | |`,
    `| peak RSS of the pack process | ${pack.maxRssMb.toFixed(0)} MB (baseline process ${baseline.maxRssMb.toFixed(0)} MB) | ≤ 500 MB: ${ok(pack.maxRssMb <= 500)} |`,
    `| report.pdf | ${(pdfBytes / 2 ** 20).toFixed(2)} MB | ≤ 5 MB: ${ok(pdfBytes <= 5 * 2 ** 20)} |`,
    `| populations/secret-accesses.csv / DIR.zip | ${(csvBytes / 2 ** 20).toFixed(0)} MB / ${(zipBytes / 2 ** 20).toFixed(0)} MB | |`,
    '',
    `Rows in the pack: ${pack.rows.toLocaleString('en-US')} secret accesses. Machine: ${machineLine()}; load average ${loadavg().map((l) => l.toFixed(1)).join(' ')} when it finished (the machine is shared: the ratio is the figure to compare).`,
    '',
    'Stages of the pack (ms): ' + Object.entries(pack.timings ?? {}).map(([k, v]) => `${k} ${v}`).join(', ') + '.',
    '',
  ].join('\n');
  writeFileSync(join(opts.resultsDir, 'report.md'), md);
  process.stderr.write(md);
}
