import { afterAll, describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, tempDir } from './helpers/cli.js';
import { query } from './fixtures/ingest/util.js';

const tmp = tempDir('keytrail-serverlog-');
afterAll(() => tmp.cleanup());

const SAMPLE = join(import.meta.dirname, 'fixtures/public/vault/hashicorp-vault__website_content_docs_audit_log.mdx__SERVER-LOG-lines.txt');

async function ingest(db: string, files: string[]): Promise<Record<string, number>> {
  const r = await runCli(['--db', db, 'ingest', 'vault-server-log', ...files, '--format', 'json']);
  expect(r.code).toBe(0);
  const s = JSON.parse(r.stdout) as Record<string, number>;
  expect(Object.keys(s)).toEqual(['files', 'lines', 'bytes', 'stored', 'ignored', 'quarantined', 'rate']);
  expect(s.lines).toBe(s.stored! + s.ignored! + s.quarantined!);
  return s;
}

describe('ingest vault-server-log', () => {
  it('turns lease revocations into lease-revoked events with their time; other lines are ignored', async () => {
    const db = join(tmp.dir, 'k.db');
    const sample = await ingest(db, [SAMPLE]);
    expect(sample).toMatchObject({ files: 1, lines: 7, stored: 3, ignored: 4, quarantined: 0 });
    expect(query(db, "SELECT kind, lease_id, time FROM server_events WHERE kind = 'lease-revoked'")).toEqual([
      {
        kind: 'lease-revoked',
        lease_id: 'auth/oidc/oidc/callback/h73157da4c9a4d588018f82bd9b6197316acf9bfe86bcf21664325ca42ef1ebfe',
        time: '2020-03-05T17:05:38.792Z',
      },
    ]);
    expect(query(db, "SELECT kind FROM server_events WHERE kind <> 'lease-revoked' ORDER BY id")).toEqual([{ kind: 'root-generation' }, { kind: 'root-generation' }]);

    const log = join(tmp.dir, 'server.log');
    writeFileSync(
      log,
      [
        '2026-03-02T08:00:01.123456Z [INFO]  expiration: revoked lease: lease_id=database/creds/service-101/AbCdEfGhIjKlMnOpQrStUvWx',
        'vault[77]: 2026-03-02T09:00:00.000+01:00 [INFO]  expiration: revoked lease: lease_id=aws/creds/deploy/ZyXwVuTsRqPoNmLkJiHgFeDc',
        '2026-03-02T08:00:02Z [INFO]  core: vault is sealed',
        '2026-03-02T08:00:03Z [INFO]  core: vault is unsealed',
        '2026-03-02T08:00:04Z [WARN]  core: stepping down from active operation to standby',
        '{"@level":"info","@message":"revoked lease","@module":"expiration","@timestamp":"2026-03-02T08:00:05.5Z","lease_id":"kv/x/1"}',
        '2026-03-02T08:00:06Z [INFO]  core: successful mount: namespace="" path=secret/ type=kv',
        'a line without a timestamp',
        '',
      ].join('\n'),
    );
    const s = await ingest(db, [log]);
    expect(s).toMatchObject({ lines: 8, stored: 6, ignored: 2, bytes: readFileSync(log).length });
    const leases = query<{ lease_id: string; time_key: string }>(db, "SELECT lease_id, time_key FROM server_events WHERE kind = 'lease-revoked' AND file_path = ? ORDER BY id", log);
    expect(leases).toEqual([
      { lease_id: 'database/creds/service-101/AbCdEfGhIjKlMnOpQrStUvWx', time_key: '2026-03-02T08:00:01.123456000Z' },
      { lease_id: 'aws/creds/deploy/ZyXwVuTsRqPoNmLkJiHgFeDc', time_key: '2026-03-02T08:00:00.000000000Z' },
      { lease_id: 'kv/x/1', time_key: '2026-03-02T08:00:05.500000000Z' },
    ]);
    expect(query(db, 'SELECT kind FROM server_events WHERE file_path = ? AND lease_id IS NULL ORDER BY id', log)).toEqual([
      { kind: 'seal' },
      { kind: 'unseal' },
      { kind: 'step-down' },
    ]);
    expect(await ingest(db, [log])).toMatchObject({ files: 0, lines: 0, stored: 0 });
  });

  it('says why lines were ignored: Vault\'s lines behind a syslog prefix, or a file with no server log line', async () => {
    const db = join(tmp.dir, 'syslog.db');
    const syslog = join(tmp.dir, 'syslog');
    writeFileSync(
      syslog,
      [
        'Mar  2 08:00:01 vault-1 vault[1234]: 2026-03-02T08:00:01.5Z [INFO]  expiration: revoked lease: lease_id=database/creds/app/Syslog1',
        'Mar  2 08:00:03 vault-1 vault[1234]: {"@level":"info","@message":"revoked lease","@module":"expiration","@timestamp":"2026-03-02T08:00:03Z","lease_id":"kv/journald/1"}',
        'Mar  2 08:00:04 vault-1 systemd[1]: Started HashiCorp Vault.',
        'vault[77]: 2026-03-02T08:00:05Z [INFO]  core: vault is sealed',
        '',
      ].join('\n'),
    );
    // CONTRACT.md: only a `name[pid]: ` prefix is read; the two lines behind syslog's date and host are ignored,
    // and the warning says so and what to do.
    const r = await runCli(['--db', db, 'ingest', 'vault-server-log', syslog, '--format', 'json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ lines: 4, stored: 1, ignored: 3 });
    expect(query(db, 'SELECT kind FROM server_events')).toEqual([{ kind: 'seal' }]);
    expect(r.stderr).toMatch(/behind a prefix keytrail does not read.*journalctl -u vault -o cat/);
    expect(r.stderr).toMatch(/"lines":2/);

    // An audit log given by mistake: every line is ignored, and the warning says why.
    const audit = join(import.meta.dirname, 'fixtures/public/vault/tallen-hashicorp__vault-tfc-jwt-dynamic-example__docs_audit.jsonl');
    const wrong = await runCli(['--db', db, 'ingest', 'vault-server-log', audit, '--format', 'json']);
    expect(wrong.code).toBe(0);
    expect(JSON.parse(wrong.stdout)).toMatchObject({ stored: 0, ignored: 12 });
    expect(wrong.stderr).toMatch(/no line of this file looks like a Vault server log line/);
    expect(wrong.stderr).not.toMatch(/behind a prefix/);
  });
});
