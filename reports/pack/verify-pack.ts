import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { dataSha256, MANIFEST_FILE, SIGNATURE_FILE, verifyManifestSignature, type Manifest } from './manifest.js';

export type SignatureState = 'valid' | 'invalid' | 'missing' | 'not-checked';

export interface PackVerification {
  ok: boolean;
  /** Files the manifest lists that are present and match. */
  checked: number;
  missing: string[];
  extra: string[];
  altered: string[];
  signature: SignatureState;
  /** Each problem as a sentence (one per missing, extra or altered file, bad manifest or signature). */
  problems: string[];
  /** One short statement of the outcome. */
  statement: string;
}

function listFiles(dir: string, prefix = ''): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(join(dir, prefix), { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) out.push(...listFiles(dir, rel));
    else out.push(rel);
  }
  return out.sort();
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

function parseManifest(bytes: Buffer): Manifest | string {
  let m: unknown;
  try {
    m = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    return `manifest.json is not valid JSON (${(err as Error).message})`;
  }
  const man = m as Partial<Manifest>;
  if (!man || !Array.isArray(man.files) || typeof man.data_sha256 !== 'string') return 'manifest.json lacks its files or data_sha256';
  for (const f of man.files) {
    if (!f || typeof f.path !== 'string' || typeof f.sha256 !== 'string' || typeof f.bytes !== 'number' || f.path.includes('..') || f.path.startsWith('/')) {
      return 'manifest.json has a malformed file entry';
    }
  }
  return man as Manifest;
}

/**
 * Checks a pack directory against its manifest: every listed file present with its size and SHA-256, no file
 * that is not listed (manifest.json and manifest.sig aside), data_sha256 consistent with the entries, and,
 * with a public key, the Ed25519 signature of the exact manifest bytes.
 */
export async function verifyPack(dir: string, publicKeyPem?: string): Promise<PackVerification> {
  const result: PackVerification = { ok: false, checked: 0, missing: [], extra: [], altered: [], signature: 'not-checked', problems: [], statement: '' };
  const manifestPath = join(dir, MANIFEST_FILE);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    result.problems.push(`${dir} is not a directory`);
    result.statement = `FAILED: ${result.problems[0]}`;
    return result;
  }
  if (!existsSync(manifestPath)) {
    result.missing.push(MANIFEST_FILE);
    result.problems.push('missing: manifest.json');
    result.statement = 'FAILED: missing: manifest.json';
    return result;
  }
  const manifestBytes = readFileSync(manifestPath);
  const parsed = parseManifest(manifestBytes);
  if (typeof parsed === 'string') {
    result.altered.push(MANIFEST_FILE);
    result.problems.push(`altered: ${parsed}`);
  } else {
    const listed = new Set(parsed.files.map((f) => f.path));
    for (const f of parsed.files) {
      const full = join(dir, f.path);
      if (!existsSync(full)) {
        result.missing.push(f.path);
        result.problems.push(`missing: ${f.path}`);
        continue;
      }
      const size = statSync(full).size;
      const sha = await sha256File(full);
      if (size !== f.bytes || sha !== f.sha256) {
        result.altered.push(f.path);
        result.problems.push(`altered: ${f.path} (sha256 ${sha}, manifest says ${f.sha256})`);
      } else {
        result.checked++;
      }
    }
    for (const path of listFiles(dir)) {
      if (path === MANIFEST_FILE || path === SIGNATURE_FILE || listed.has(path)) continue;
      result.extra.push(path);
      result.problems.push(`extra: ${path} (not in the manifest)`);
    }
    if (dataSha256(parsed.files) !== parsed.data_sha256) {
      result.altered.push(MANIFEST_FILE);
      result.problems.push('altered: manifest.json (data_sha256 does not match its file entries)');
    }
  }
  if (publicKeyPem) {
    const sigPath = join(dir, SIGNATURE_FILE);
    if (!existsSync(sigPath)) {
      result.signature = 'missing';
      result.missing.push(SIGNATURE_FILE);
      result.problems.push('missing: manifest.sig (a public key was given, the pack is not signed)');
    } else {
      let valid = false;
      try {
        valid = verifyManifestSignature(manifestBytes, readFileSync(sigPath, 'utf8'), publicKeyPem);
      } catch (err) {
        result.problems.push(`cannot check the signature: ${(err as Error).message}`);
      }
      result.signature = valid ? 'valid' : 'invalid';
      if (!valid) result.problems.push('bad signature: manifest.sig does not verify manifest.json with this public key');
    }
  }
  result.ok = result.problems.length === 0;
  result.statement = result.ok
    ? `OK: ${result.checked} files match the manifest; ${result.signature === 'valid' ? 'signature valid (Ed25519)' : 'signature not checked (no --public-key given)'}.`
    : `FAILED: ${result.problems.length} problem${result.problems.length === 1 ? '' : 's'}`;
  return result;
}
