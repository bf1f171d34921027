import { afterAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { copyFileSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync, appendFileSync, truncateSync, readdirSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { runCli, tempDir } from './helpers/cli.js';
import { appendLines, count, ingestVault, lines, query, writeLines } from './fixtures/ingest/util.js';
import { decompressBatchBytes, openDatabase } from '../db/index.js';
import { ingestVaultFiles, readCopyRawLine } from '../ingest/index.js';

const tmp = tempDir('keytrail-ingest-');
afterAll(() => tmp.cleanup());
let n = 0;
/** A fresh directory and database per scenario. */
function scenario(): { dir: string; db: string } {
  const dir = join(tmp.dir, `s${++n}`);
  mkdirSync(dir);
  return { dir, db: join(dir, 'k.db') };
}

const PUBLIC = join(import.meta.dirname, 'fixtures/public/vault');

describe('ingest vault: public samples', () => {
  it('ingests every public sample with nothing quarantined and no log_raw verdict', async () => {
    const { db } = scenario();
    const s = await ingestVault(db, [PUBLIC, join(PUBLIC, 'synthetic')]);
    const expected = readdirSync(PUBLIC)
      .filter((f) => f.endsWith('.jsonl'))
      .concat(readdirSync(join(PUBLIC, 'synthetic')).map((f) => `synthetic/${f}`))
      .reduce((acc, f) => acc + readFileSync(join(PUBLIC, f), 'utf8').split('\n').filter((l) => l !== '').length, 0);
    expect(s.lines).toBe(expected);
    expect(s.quarantined).toBe(0);
    expect(s.files).toBe(6);
    expect(query(db, 'SELECT * FROM devices WHERE log_raw <> 0')).toEqual([]);
    expect(count(db, 'audit_copies')).toBe(expected);

    // Normalised columns the later stages rely on.
    const badPassword = query<{ response_error: number; error: string | null }>(
      db,
      "SELECT response_error, error FROM audit_entries WHERE path = 'auth/userpass/login/mitchellh' AND type = 'response' AND response_error = 1",
    );
    expect(badPassword.length).toBeGreaterThan(0);
    expect(badPassword.some((r) => r.error === null)).toBe(true); // failure only in response.data.error
    // The synthetic sample's `2020-05-28T13:40:18-05:00` issue time, normalised to UTC.
    const issued = query<{ issue: string }>(db, "SELECT DISTINCT token_issue_time AS issue FROM audit_entries WHERE time LIKE '2021-07-21%'");
    expect(issued).toEqual([{ issue: '2020-05-28T18:40:18Z' }]);
    const help = query(db, "SELECT id FROM audit_entries WHERE request_id IS NULL AND operation = 'help'");
    expect(help).toHaveLength(1);
    const precise = query<{ time: string; time_key: string }>(db, "SELECT time, time_key FROM audit_entries WHERE time = '2024-08-15T13:15:03.448238519Z'");
    expect(precise[0]!.time_key).toBe('2024-08-15T13:15:03.448238519Z');

    // A second run reads nothing new.
    const again = await ingestVault(db, [PUBLIC, join(PUBLIC, 'synthetic')]);
    expect(again).toMatchObject({ files: 0, lines: 0, bytes: 0, stored: 0 });
  });

  it('keeps each raw line recoverable, and each batch hash recomputable and chained per device', async () => {
    const { db } = scenario();
    const file = join(PUBLIC, 'tallen-hashicorp__vault-tfc-jwt-dynamic-example__docs_audit.jsonl');
    await ingestVault(db, [file]);
    const original = readFileSync(file, 'utf8').split('\n').filter((l) => l);
    const handle = await openDatabase(db);
    try {
      const copies = await handle.db.selectFrom('audit_copies').select('id').orderBy('id').execute();
      const raw = await Promise.all(copies.map((c) => readCopyRawLine(handle, c.id)));
      expect(raw).toEqual(original);
    } finally {
      await handle.close();
    }
    const batches = query<{ sha256: string; stored_sha256: string; prev_chain_sha256: string | null; chain_sha256: string; raw_bytes: Buffer; raw_codec: string; start_offset: number; end_offset: number }>(
      db,
      'SELECT * FROM ingest_batches ORDER BY id',
    );
    expect(batches).toHaveLength(1);
    const b = batches[0]!;
    const bytes = readFileSync(file);
    expect(b.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
    expect(b.raw_codec).toBe('br');
    expect(b.stored_sha256).toBe(createHash('sha256').update(decompressBatchBytes(b.raw_bytes, b.raw_codec)).digest('hex'));
    expect(b.chain_sha256).toBe(createHash('sha256').update('').update(b.stored_sha256).digest('hex'));
    expect([b.start_offset, b.end_offset]).toEqual([0, bytes.length]);
  });
});

describe('ingest vault: files, rotation and restarts', () => {
  const gen = (count: number, seed: number) => lines({ lines: count, seed });

  it('follows a rename-and-recreate rotation without losing or duplicating lines', async () => {
    const { dir, db } = scenario();
    const ls = gen(30, 1);
    const log = join(dir, 'audit.log');
    writeLines(log, ls.slice(0, 10));
    expect((await ingestVault(db, [dir])).stored).toBe(10);
    appendLines(log, ls.slice(10, 15)); // written before the rotation
    renameSync(log, join(dir, 'audit.log.1'));
    writeLines(log, ls.slice(15, 22));
    const s = await ingestVault(db, [dir]);
    expect(s).toMatchObject({ files: 2, lines: 12, stored: 12, duplicates: 0, quarantined: 0 });
    expect(count(db, 'audit_entries')).toBe(22);
    expect(query(db, 'SELECT DISTINCT device FROM audit_copies')).toEqual([{ device: 'audit.log' }]);
  });

  it('does not ingest a rotated file twice once it is gzipped, and reads its unread tail', async () => {
    const { dir, db } = scenario();
    const ls = gen(20, 2);
    const log = join(dir, 'audit.log');
    writeLines(log, ls.slice(0, 10));
    await ingestVault(db, [dir]);
    appendLines(log, ls.slice(10, 14));
    renameSync(log, join(dir, 'audit.log.1'));
    writeFileSync(join(dir, 'audit.log.1.gz'), gzipSync(readFileSync(join(dir, 'audit.log.1'))));
    unlinkSync(join(dir, 'audit.log.1'));
    writeLines(log, ls.slice(14, 17));
    const s = await ingestVault(db, [dir]);
    expect(s).toMatchObject({ files: 2, lines: 7, stored: 7, duplicates: 0 });
    expect(count(db, 'audit_entries')).toBe(17);
    expect(query(db, "SELECT complete FROM audit_files WHERE path LIKE '%.gz'")).toEqual([{ complete: 1 }]);
    const again = await ingestVault(db, [dir]);
    expect(again).toMatchObject({ files: 0, lines: 0, duplicates: 0 });
  });

  it('reads a copytruncate-rotated file again from byte 0', async () => {
    const { dir, db } = scenario();
    const ls = gen(20, 3);
    const log = join(dir, 'audit.log');
    writeLines(log, ls.slice(0, 10));
    await ingestVault(db, [dir]);
    appendLines(log, ls.slice(10, 13));
    copyFileSync(log, join(dir, 'audit.log.1'));
    truncateSync(log, 0);
    appendLines(log, ls.slice(13, 17));
    const s = await ingestVault(db, [dir]);
    expect(s).toMatchObject({ lines: 7, stored: 7, duplicates: 0 });
    expect(count(db, 'audit_entries')).toBe(17);
  });

  it('restarts mid-file and after a rotation of a file named on the command line', async () => {
    const { dir, db } = scenario();
    const ls = gen(30, 4);
    const log = join(dir, 'audit.log');
    writeLines(log, ls.slice(0, 10));
    expect((await ingestVault(db, [log])).lines).toBe(10);
    appendLines(log, ls.slice(10, 14));
    expect((await ingestVault(db, [log])).lines).toBe(4); // restart mid-file: only the new lines
    appendLines(log, ls.slice(14, 19));
    renameSync(log, join(dir, 'audit.log.1'));
    writeLines(log, ls.slice(19, 21));
    const s = await ingestVault(db, [log]);
    expect(s).toMatchObject({ files: 2, lines: 7, stored: 7, duplicates: 0 });
    expect(count(db, 'audit_entries')).toBe(21);
  });

  it('rolls back the whole group of a batch that fails half-way, and the rerun stores every line exactly once', async () => {
    const { dir, db } = scenario();
    const ls = gen(60, 9);
    const log = join(dir, 'audit.log');
    writeLines(log, ls);
    // A write that fails in the middle of the fourth batch of the group (a full disk, say), until repaired.
    const failing = 'CREATE TRIGGER fail_line BEFORE INSERT ON audit_entries WHEN (SELECT count(*) FROM audit_entries) = 35 BEGIN SELECT RAISE(ABORT, \'disk full\'); END';
    const before = await openDatabase(db);
    before.sqlite.exec(failing);
    await expect(ingestVaultFiles(before, [log], { batchLines: 10 })).rejects.toThrow(/could not read/);
    // Nothing of the group stayed: no batch, entry or copy without its checkpoint.
    for (const table of ['ingest_batches', 'audit_entries', 'audit_extra_copies', 'audit_files']) {
      expect((before.sqlite.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n, table).toBe(0);
    }
    before.sqlite.exec('DROP TRIGGER fail_line');
    const s = await ingestVaultFiles(before, [log], { batchLines: 10 });
    await before.close();
    expect(s).toMatchObject({ lines: 60, stored: 60, duplicates: 0, quarantined: 0 });
    expect(count(db, 'audit_entries')).toBe(60);
    expect(count(db, 'audit_copies')).toBe(60);
    expect(query<{ n: number }>(db, 'SELECT sum(line_count) AS n FROM ingest_batches')[0]!.n).toBe(60);
  });

  it('lets an unfinished last line wait until it is complete', async () => {
    const { dir, db } = scenario();
    const ls = gen(4, 5);
    const log = join(dir, 'audit.log');
    const half = Math.floor(ls[3]!.length / 2);
    writeFileSync(log, ls.slice(0, 3).map((l) => l + '\n').join('') + ls[3]!.slice(0, half));
    expect(await ingestVault(db, [log])).toMatchObject({ lines: 3, stored: 3, quarantined: 0 });
    appendFileSync(log, ls[3]!.slice(half) + '\n');
    expect(await ingestVault(db, [log])).toMatchObject({ lines: 1, stored: 1, quarantined: 0 });
    expect(count(db, 'quarantine')).toBe(0);
  });

  it('quarantines a torn line, a blank line and an oversized line with reason, device, file and offset', async () => {
    const { dir, db } = scenario();
    const ls = gen(3, 6);
    const log = join(dir, 'audit.log');
    const torn = ls[2]!.slice(0, 120);
    const big = '{"x":"' + 'a'.repeat(16 * 1024 * 1024) + '"}';
    const content = [ls[0]!, torn, '', big, ls[1]!, ls[2]!].map((l) => l + '\n').join('');
    writeFileSync(log, content);
    const s = await ingestVault(db, [log]);
    expect(s).toMatchObject({ lines: 6, stored: 3, quarantined: 3, bytes: Buffer.byteLength(content) });
    const r = await runCli(['--db', db, 'query', 'quarantine', '--format', 'json']);
    expect(r.code).toBe(0);
    const rows = JSON.parse(r.stdout) as { reason: string; device: string; file: string; offset: number; length: number; excerpt: string | null }[];
    const o1 = ls[0]!.length + 1;
    expect(rows.map((q) => [q.reason, q.device, q.file, q.offset])).toEqual([
      ['torn', 'audit.log', log, o1],
      ['empty', 'audit.log', log, o1 + torn.length + 1],
      ['oversized', 'audit.log', log, o1 + torn.length + 2],
    ]);
    expect(rows[2]!.length).toBe(Buffer.byteLength(big));
    // The over-long line's bytes are not kept: its record names their SHA-256.
    expect((rows[2] as { detail?: string }).detail).toBe(`line of ${Buffer.byteLength(big)} bytes exceeds the 16 MiB limit; SHA-256 of its bytes: ${createHash('sha256').update(big).digest('hex')}`);
    const filtered = await runCli(['--db', db, 'query', 'quarantine', '--device', 'other', '--format', 'json']);
    expect(JSON.parse(filtered.stdout)).toEqual([]);
  });

  it('stores lines just under the 16 MiB limit, many of them, with the parse worker\'s heap to spare', async () => {
    const { dir, db } = scenario();
    const log = join(dir, 'big.log');
    // 20 lines of 15 MiB (a large KV write): the parser once kept its last 64 entries alive and ran out of heap.
    const blob = 'a'.repeat(15 * 1024 * 1024);
    writeFileSync(log, '');
    for (let i = 0; i < 20; i++) {
      appendFileSync(log, JSON.stringify({ time: `2026-03-02T08:00:${String(i).padStart(2, '0')}Z`, type: 'request', request: { id: `big-${i}`, path: 'secret/data/x', data: { blob } } }) + '\n');
    }
    const s = await ingestVault(db, [log]);
    expect(s).toMatchObject({ lines: 20, stored: 20, quarantined: 0 });
    expect(count(db, 'audit_entries')).toBe(20);
    unlinkSync(log);
  });

  it('strips a configured device prefix and noise before the first {', async () => {
    const { dir, db } = scenario();
    const ls = gen(4, 7);
    writeFileSync(
      join(dir, 'keytrail.yaml'),
      'vault:\n  devices:\n    - name: prefixed\n      paths: ["audit.log"]\n      prefix: "AUDIT{1} "\n    - name: node2\n      paths: ["node2-*.log"]\n      prefix: "n2{x} "\n',
    );
    const log = join(dir, 'audit.log');
    writeFileSync(log, ls.slice(0, 2).map((l) => `AUDIT{1} ${l}\n`).join(''));
    const s = await ingestVault(db, [log, '--device', 'prefixed'], ['--config', join(dir, 'keytrail.yaml')]);
    expect(s).toMatchObject({ stored: 2, quarantined: 0 });
    // Without --device, a file matching a configured device's paths gets that device's prefix.
    const n2 = join(dir, 'node2-audit.log');
    writeFileSync(n2, lines({ lines: 2, seed: 70 }).map((l) => `n2{x} ${l}\n`).join(''));
    expect(await ingestVault(db, [n2], ['--config', join(dir, 'keytrail.yaml')])).toMatchObject({ stored: 2, quarantined: 0 });
    const noisy = join(dir, 'stdout.log');
    writeFileSync(noisy, ls.slice(2).map((l) => `2026-03-02T08:00:00.000Z vault[42]: ${l}\n`).join('') + '2026-03-02T08:00:01.000Z [INFO]  core: post-unseal setup complete\n');
    const s2 = await ingestVault(db, [noisy]);
    expect(s2).toMatchObject({ lines: 3, stored: 2, quarantined: 1 });
    expect(query(db, 'SELECT reason FROM quarantine')).toEqual([{ reason: 'invalid-json' }]);
  });

  it('stores a request logged by two devices once, keeping each device copy with its own time and HMACs', async () => {
    const { dir, db } = scenario();
    mkdirSync(join(dir, 'a'));
    mkdirSync(join(dir, 'b'));
    writeLines(join(dir, 'a', 'file-a.log'), lines({ lines: 40, seed: 8, salt: 'salt-a' }));
    writeLines(join(dir, 'b', 'file-b.log'), lines({ lines: 40, seed: 8, salt: 'salt-b', timeShiftNs: 1234 }));
    const a = await ingestVault(db, [join(dir, 'a')]);
    const b = await ingestVault(db, [join(dir, 'b')]);
    expect(a).toMatchObject({ stored: 40, duplicates: 0 });
    expect(b).toMatchObject({ stored: 0, duplicates: 40 });
    expect(count(db, 'audit_entries')).toBe(40);
    const copies = query<{ device: string; duplicate: number; accessor: string | null; time: string; entry_time: string }>(
      db,
      'SELECT c.device, c.duplicate, c.accessor, c.time, e.time AS entry_time FROM audit_copies c JOIN audit_entries e ON e.id = c.entry_id WHERE e.request_id = (SELECT request_id FROM audit_entries WHERE accessor_check IS NULL LIMIT 1)'.replace(
        'WHERE accessor_check IS NULL',
        "WHERE operation = 'read'",
      ) + ' ORDER BY c.device',
    );
    expect(copies.map((c) => [c.device, c.duplicate])).toEqual([
      ['file-a.log', 0],
      ['file-a.log', 0],
      ['file-b.log', 1],
      ['file-b.log', 1],
    ]);
    expect(copies[0]!.accessor).not.toBe(copies[2]!.accessor); // HMACs compare only within a device
    expect(copies[2]!.time).not.toBe(copies[2]!.entry_time); // the copy keeps its own time
    expect(query(db, 'SELECT name FROM devices ORDER BY name')).toEqual([{ name: 'file-a.log' }, { name: 'file-b.log' }]);
  });
});

describe('ingest vault: log_raw devices', () => {
  it('detects clear tokens, redacts before storage and leaves no clear token in the database', async () => {
    const { dir, db } = scenario();
    const ls = lines({ lines: 24, seed: 9, logRaw: true });
    const tokens = new Set<string>();
    for (const l of ls) for (const m of l.matchAll(/hvs\.[A-Za-z0-9]+/g)) tokens.add(m[0]);
    expect(tokens.size).toBeGreaterThan(0);
    const log = join(dir, 'raw.log');
    writeLines(log, ls);
    const s = await ingestVault(db, [log]);
    expect(s).toMatchObject({ stored: 24, quarantined: 0 });
    expect(s.stderr).toContain('log_raw');
    expect(query(db, 'SELECT name, log_raw FROM devices')).toEqual([{ name: 'raw.log', log_raw: 1 }]);
    const key = statSync(`${db}.key`);
    expect(key.mode & 0o777).toBe(0o600);

    // Nothing in clear: not in the database file, not in the stored (compressed) batch bytes.
    const files = readdirSync(dir).filter((f) => f.startsWith('k.db') && !f.endsWith('.key'));
    for (const f of files) {
      const bytes = readFileSync(join(dir, f)).toString('latin1');
      for (const t of tokens) expect(bytes.includes(t)).toBe(false);
    }
    const batches = query<{ raw_bytes: Buffer; raw_codec: string; sha256: string; stored_sha256: string }>(db, 'SELECT raw_bytes, raw_codec, sha256, stored_sha256 FROM ingest_batches');
    const stored = decompressBatchBytes(batches[0]!.raw_bytes, batches[0]!.raw_codec).toString('utf8');
    for (const t of tokens) expect(stored.includes(t)).toBe(false);
    expect(stored).toContain('keytrail-hmac-sha256:');
    expect(batches[0]!.sha256).toBe(createHash('sha256').update(readFileSync(log)).digest('hex'));
    expect(batches[0]!.stored_sha256).not.toBe(batches[0]!.sha256);
    const jwtData = query<{ request_data: string }>(db, "SELECT request_data FROM audit_entries WHERE path = 'auth/jwt/login' LIMIT 1");
    expect(jwtData[0]!.request_data).not.toContain('eyJ');

    // Equality joins still work: the login's issued accessor is the accessor of the token's later requests.
    const join1 = query<{ n: number }>(
      db,
      `SELECT count(*) AS n FROM audit_copies login JOIN audit_copies later ON later.accessor = login.issued_accessor
       WHERE login.issued_accessor IS NOT NULL AND later.id <> login.id`,
    );
    expect(join1[0]!.n).toBeGreaterThan(0);
  });
});
