import { createPrivateKey } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type Database from 'better-sqlite3';
import { KeytrailError, UsageError, type KeytrailDb } from '../../db/index.js';
import { renderReportPdf } from '../pdf/render.js';
import { attachRawLines, collectCompleteness, collectLifetime, collectSources } from './collect.js';
import { evaluateControls } from './controls.js';
import { csvRow, HashingFileWriter } from './csv.js';
import {
  dataSha256,
  keyFingerprint,
  MANIFEST_FILE,
  PDF_FILE,
  serializeManifest,
  sha256Hex,
  signManifest,
  SIGNATURE_FILE,
  type Manifest,
} from './manifest.js';
import type { FindingRow, PackFileEntry, ReportModel, SampleRow } from './model.js';
import { defaultSeed, makePeriod } from './period.js';
import {
  bindingsFor,
  POPULATION_NAMES,
  POPULATION_QUERIES,
  queryParams,
  registerPackFunctions,
  renderQueriesSql,
  sampleByRequestIds,
  selectionHash,
  withLiterals,
  type PopulationName,
  type QueryParams,
} from './queries.js';
import { SecretAccessSummary } from './stream-summary.js';
import { writeDeterministicZip } from './zip.js';

/** The part of keytrail.yaml the pack reads (the CLI's whole Config fits). */
export interface PackConfig {
  source?: { path: string; sha256: string };
  gitlab?: { url?: string };
  detections?: { audit_gap_minutes?: number };
  report?: { sample_size?: number };
}

export interface Soc2PackOptions {
  /** First and last UTC day (YYYY-MM-DD), inclusive. */
  from: string;
  to: string;
  outDir: string;
  /** Default: config report.sample_size, else 25. */
  sampleSize?: number;
  /** Default: derived from the period ("FROM..TO"). */
  seed?: string;
  /** Fixed generation time (ISO): with it the same database and arguments give byte-identical files. Default: now. */
  generatedAt?: string | Date;
  config?: PackConfig;
  /** Ed25519 PKCS#8 PEM; when given, manifest.sig is written. */
  privateKeyPem?: string;
  /** Written into the manifest and on the cover. */
  toolVersion?: string;
}

export interface Soc2PackResult {
  outDir: string;
  zipPath: string;
  manifestSha256: string;
  dataSha256: string;
  previousManifestSha256: string | null;
  rowCounts: Record<PopulationName, number>;
  signed: boolean;
  /** Milliseconds spent in each stage (populations, summaries, chain, PDF, zip), for benchmarks and logs. */
  timings: Record<string, number>;
}

export const DEFAULT_SAMPLE_SIZE = 25;
const DEFAULT_GAP_MINUTES = 60;

/** Columns of the secret-access population (for the summary of an empty population). */
const SECRET_ACCESS_COLUMNS = ['time', 'path', 'outcome', 'attribution', 'verified', 'job_id', 'project_id', 'project_path'];

/** Data files in the fixed order they are listed (manifest, zip). */
const DATA_FILES = ['completeness.json', 'queries.sql', ...POPULATION_NAMES.map((p) => `populations/${p}.csv`)];

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

/** config_sha256: the SHA-256 of keytrail.yaml's bytes, or of the canonical JSON of the settings when no file was read. */
function configDigest(config: PackConfig | undefined): string {
  if (config?.source?.sha256) return config.source.sha256;
  return sha256Hex(canonicalJson(config ?? {}));
}

function normaliseGeneratedAt(value: string | Date | undefined): Date {
  const date = value === undefined ? new Date() : value instanceof Date ? value : new Date(value);
  if (Number.isNaN(date.getTime())) throw new UsageError(`--generated-at must be an ISO-8601 time, got ${String(value)}`);
  return date;
}

/** What a pack directory may hold; anything else means the directory is not (only) a pack. */
const PACK_ENTRIES = new Set([PDF_FILE, MANIFEST_FILE, SIGNATURE_FILE, 'queries.sql', 'completeness.json', 'populations']);

/** Refuses to write into a directory holding anything but an earlier pack's files; clears those. */
function prepareOutDir(outDir: string): void {
  if (existsSync(outDir)) {
    const foreign = readdirSync(outDir).filter((e) => !PACK_ENTRIES.has(e));
    if (foreign.length > 0) {
      throw new KeytrailError(`${outDir} holds files that are not part of an evidence pack (${foreign.slice(0, 3).join(', ')}); choose an empty or new directory`);
    }
    for (const e of PACK_ENTRIES) rmSync(join(outDir, e), { recursive: true, force: true });
  }
  mkdirSync(join(outDir, 'populations'), { recursive: true });
}

/** Streams one statement's rows into a CSV file (header row first); memory stays flat whatever the row count. */
function streamCsv(
  sqlite: Database.Database,
  sql: string,
  params: QueryParams,
  path: string,
  onRow?: (row: unknown[], columns: string[]) => void,
): { rows: number; sha256: string; bytes: number } {
  const stmt = sqlite.prepare(sql).raw(true);
  const columns = stmt.columns().map((c) => c.name);
  const out = new HashingFileWriter(path);
  out.write(csvRow(columns));
  let rows = 0;
  for (const row of stmt.iterate(bindingsFor(sql, params)) as IterableIterator<unknown[]>) {
    out.write(csvRow(row));
    onRow?.(row, columns);
    rows++;
  }
  return { rows, ...out.close() };
}

function rowObject<T>(row: unknown[], columns: string[]): T {
  return Object.fromEntries(columns.map((c, i) => [c, row[i]])) as T;
}

async function previousManifest(handle: KeytrailDb, from: string): Promise<string | null> {
  const prev = await handle.db
    .selectFrom('packs')
    .select('manifest_sha256')
    .where('period_to', '<', from)
    .orderBy('period_to', 'desc')
    .orderBy('generated_at', 'desc')
    .orderBy('id', 'desc')
    .executeTakeFirst();
  return prev?.manifest_sha256 ?? null;
}

/**
 * Writes the SOC 2 evidence pack of CONTRACT.md ("Evidence pack") for [from, to] into outDir, DIR.zip beside
 * it, and records it in `packs`. Every read runs in one transaction, so all files describe one snapshot.
 */
export async function writeSoc2Pack(handle: KeytrailDb, options: Soc2PackOptions): Promise<Soc2PackResult> {
  if (options.from > options.to) throw new UsageError('--from must not be after --to');
  const period = makePeriod(options.from, options.to);
  const generatedAt = normaliseGeneratedAt(options.generatedAt);
  const generatedAtIso = generatedAt.toISOString();
  const sampleSize = options.sampleSize ?? options.config?.report?.sample_size ?? DEFAULT_SAMPLE_SIZE;
  const seed = options.seed ?? defaultSeed(period);
  const gapMinutes = options.config?.detections?.audit_gap_minutes ?? DEFAULT_GAP_MINUTES;
  const toolVersion = options.toolVersion ?? '0.0.0';
  const configSha256 = configDigest(options.config);
  const privateKey = options.privateKeyPem ? createPrivateKey(options.privateKeyPem) : null;
  if (privateKey && privateKey.asymmetricKeyType !== 'ed25519') throw new KeytrailError('signing.private_key_file is not an Ed25519 private key');

  const outDir = resolve(options.outDir.replace(/[/\\]+$/, '') || '.');
  const zipPath = `${outDir}.zip`;
  prepareOutDir(outDir);
  const { sqlite } = handle;
  registerPackFunctions(sqlite);
  const params = queryParams(period, seed, sampleSize, gapMinutes);
  const previousManifestSha256 = await previousManifest(handle, period.from);

  const timings: Record<string, number> = {};
  let mark = performance.now();
  const lap = (stage: string) => {
    const t = performance.now();
    timings[stage] = Math.round(t - mark);
    mark = t;
  };
  const files = new Map<string, PackFileEntry>();
  const rowCounts = {} as Record<PopulationName, number>;
  const findings: FindingRow[] = [];
  const configChanges = { total: 0, byVerifiedPipeline: 0 };
  let sample: SampleRow[] = [];
  // The sample: the sampleSize smallest selection hashes, kept sorted while the population streams.
  const picked: { hash: string; requestId: string }[] = [];
  let requestIdColumn: number | undefined;
  let secretSummary: SecretAccessSummary | undefined;
  const pick = (requestId: string) => {
    if (sampleSize <= 0) return;
    const hash = selectionHash(seed, requestId);
    if (picked.length >= sampleSize && hash >= picked[picked.length - 1]!.hash) return;
    let lo = 0;
    let hi = picked.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (picked[mid]!.hash < hash) lo = mid + 1;
      else hi = mid;
    }
    picked.splice(lo, 0, { hash, requestId });
    if (picked.length > sampleSize) picked.pop();
  };
  let model: Omit<ReportModel, 'dataSha256' | 'files' | 'keyFingerprint'>;

  sqlite.exec('BEGIN');
  try {
    for (const name of POPULATION_NAMES) {
      const path = `populations/${name}.csv`;
      const target = join(outDir, path);
      if (name === 'sample') {
        // Drawn while secret-accesses streamed (same selection hash as the SQL of queries.sql); fetched by id.
        const columnsStmt = sqlite.prepare(POPULATION_QUERIES.sample.sql);
        const stmt = sqlite.prepare(sampleByRequestIds(picked.length));
        const rows = (picked.length ? stmt.all(picked.flatMap((p) => [p.requestId, p.hash])) : []) as Omit<SampleRow, 'raw'>[];
        sample = attachRawLines(sqlite, rows);
        const columns = [...columnsStmt.columns().map((c) => c.name), 'raw_line_sha256'];
        const out = new HashingFileWriter(target);
        out.write(csvRow(columns));
        for (const s of sample) out.write(csvRow([...columns.slice(0, -1).map((c) => (s as unknown as Record<string, unknown>)[c]), s.raw?.sha256 ?? null]));
        files.set(path, { path, ...out.close() });
        rowCounts.sample = sample.length;
        lap(`population:${name}`);
        continue;
      }
      const onRow =
        name === 'secret-accesses'
          ? (row: unknown[], cols: string[]) => {
              requestIdColumn ??= cols.indexOf('request_id');
              pick(String(row[requestIdColumn]));
              (secretSummary ??= new SecretAccessSummary(cols)).add(row);
            }
          : name === 'findings'
          ? (row: unknown[], cols: string[]) => findings.push(rowObject<FindingRow>(row, cols))
          : name === 'config-changes'
            ? (row: unknown[], cols: string[]) => {
                const r = rowObject<{ job_id: number | null; verified: string | null }>(row, cols);
                configChanges.total++;
                if (r.job_id !== null && r.verified === 'yes') configChanges.byVerifiedPipeline++;
              }
            : undefined;
      const written = streamCsv(sqlite, POPULATION_QUERIES[name].sql, params, target, onRow);
      files.set(path, { path, sha256: written.sha256, bytes: written.bytes });
      rowCounts[name] = written.rows;
      lap(`population:${name}`);
    }
    const completeness = collectCompleteness(sqlite, period, params, timings);
    const summaries = { ...(secretSummary ?? new SecretAccessSummary(SECRET_ACCESS_COLUMNS)).result(), lifetime: collectLifetime(sqlite, params, timings) };
    mark = performance.now();
    const sources = collectSources(sqlite, period, options.config?.gitlab?.url ?? null, options.config?.source?.path ?? null);
    const controls = evaluateControls({ rowCounts, completeness, summaries, findings, configChanges });
    model = {
      period,
      generatedAt: generatedAtIso,
      toolVersion,
      configSha256,
      seed,
      sampleSize,
      previousManifestSha256,
      batchChainHeads: Object.fromEntries(
        completeness.hash_chains.filter((h) => h.head !== null).map((h) => [h.device, h.head!] as const),
      ),
      rowCounts,
      sources,
      completeness,
      controls,
      summaries,
      findings,
      sample,
      queries: POPULATION_NAMES.map((name) => ({ name, description: withLiterals(POPULATION_QUERIES[name].description, params), file: `populations/${name}.csv` })),
    };
  } finally {
    sqlite.exec('COMMIT');
  }

  const writeText = (path: string, text: string) => {
    const bytes = Buffer.from(text, 'utf8');
    writeFileSync(join(outDir, path), bytes);
    files.set(path, { path, sha256: sha256Hex(bytes), bytes: bytes.length });
  };
  writeText('completeness.json', `${JSON.stringify(model.completeness, null, 2)}\n`);
  writeText(
    'queries.sql',
    renderQueriesSql(params, [
      `keytrail ${toolVersion}: the SQL behind the SOC 2 evidence pack for ${period.from} to ${period.to} (UTC).`,
      `Generated at ${generatedAtIso}.`,
    ]),
  );
  const dataFiles = DATA_FILES.map((p) => files.get(p)!);
  const data = dataSha256(dataFiles);

  const pdf = await renderReportPdf({
    ...model,
    dataSha256: data,
    keyFingerprint: privateKey ? keyFingerprint(privateKey) : null,
    files: [...dataFiles].sort((a, b) => (a.path < b.path ? -1 : 1)),
  });
  writeFileSync(join(outDir, PDF_FILE), pdf);
  lap('pdf');
  const pdfEntry = { path: PDF_FILE, sha256: sha256Hex(pdf), bytes: pdf.length };

  const manifest: Manifest = {
    period: { from: period.from, to: period.to },
    generated_at: generatedAtIso,
    tool_version: toolVersion,
    config_sha256: configSha256,
    files: [...dataFiles, pdfEntry].sort((a, b) => (a.path < b.path ? -1 : 1)),
    row_counts: Object.fromEntries(POPULATION_NAMES.map((p) => [p, rowCounts[p]])),
    data_sha256: data,
    previous_manifest_sha256: previousManifestSha256,
    batch_chain_heads: Object.fromEntries(Object.entries(model.batchChainHeads).sort(([a], [b]) => (a < b ? -1 : 1))),
  };
  const manifestBytes = serializeManifest(manifest);
  writeFileSync(join(outDir, MANIFEST_FILE), manifestBytes);
  const zipEntries = [PDF_FILE, MANIFEST_FILE];
  if (options.privateKeyPem) {
    writeFileSync(join(outDir, SIGNATURE_FILE), `${signManifest(manifestBytes, options.privateKeyPem)}\n`);
    zipEntries.push(SIGNATURE_FILE);
  }
  zipEntries.push(...DATA_FILES);

  const tmpZip = join(dirname(zipPath), `.${basename(zipPath)}.tmp`);
  await writeDeterministicZip(tmpZip, basename(outDir), outDir, zipEntries, generatedAt);
  renameSync(tmpZip, zipPath);
  lap('zip');

  const manifestSha256 = sha256Hex(manifestBytes);
  await handle.db
    .insertInto('packs')
    .values({
      period_from: period.from,
      period_to: period.to,
      out_dir: outDir,
      manifest_sha256: manifestSha256,
      data_sha256: data,
      generated_at: generatedAtIso,
      created_at: new Date().toISOString(),
    })
    .execute();

  return { outDir, zipPath, manifestSha256, dataSha256: data, previousManifestSha256, rowCounts, signed: Boolean(options.privateKeyPem), timings };
}
