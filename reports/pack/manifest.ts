import { createHash, createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import type { PackFileEntry } from './model.js';

/** manifest.json, keys in the order of CONTRACT.md ("Evidence pack"). */
export interface Manifest {
  period: { from: string; to: string };
  generated_at: string;
  tool_version: string;
  config_sha256: string;
  files: PackFileEntry[];
  row_counts: Record<string, number>;
  data_sha256: string;
  previous_manifest_sha256: string | null;
  batch_chain_heads: Record<string, string>;
}

export const MANIFEST_FILE = 'manifest.json';
export const SIGNATURE_FILE = 'manifest.sig';
export const PDF_FILE = 'report.pdf';

/** Files data_sha256 leaves out: the PDF (which prints it) and the manifest itself. */
export function isDataFile(path: string): boolean {
  return path !== PDF_FILE && !path.startsWith('manifest.');
}

/**
 * data_sha256: SHA-256 of the `sha256sum`-style lines ("<sha256>  <path>\n", sorted by path) of every file
 * entry but report.pdf and manifest.*. So `sha256sum` output of those files, sorted, reproduces it.
 */
export function dataSha256(files: PackFileEntry[]): string {
  const lines = files
    .filter((f) => isDataFile(f.path))
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
    .map((f) => `${f.sha256}  ${f.path}\n`)
    .join('');
  return createHash('sha256').update(lines).digest('hex');
}

/** The exact bytes of manifest.json: two-space JSON, keys in contract order, one trailing newline. */
export function serializeManifest(m: Manifest): Buffer {
  const ordered: Manifest = {
    period: { from: m.period.from, to: m.period.to },
    generated_at: m.generated_at,
    tool_version: m.tool_version,
    config_sha256: m.config_sha256,
    files: m.files.map((f) => ({ path: f.path, sha256: f.sha256, bytes: f.bytes })),
    row_counts: m.row_counts,
    data_sha256: m.data_sha256,
    previous_manifest_sha256: m.previous_manifest_sha256,
    batch_chain_heads: m.batch_chain_heads,
  };
  return Buffer.from(`${JSON.stringify(ordered, null, 2)}\n`, 'utf8');
}

export function sha256Hex(bytes: Buffer | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** manifest.sig: base64 Ed25519 signature of the exact manifest.json bytes. */
export function signManifest(manifestBytes: Buffer, privateKeyPem: string): string {
  const key = createPrivateKey(privateKeyPem);
  if (key.asymmetricKeyType !== 'ed25519') throw new Error('the signing key is not an Ed25519 key');
  return sign(null, manifestBytes, key).toString('base64');
}

export function verifyManifestSignature(manifestBytes: Buffer, signatureBase64: string, publicKeyPem: string): boolean {
  const key = createPublicKey(publicKeyPem);
  if (key.asymmetricKeyType !== 'ed25519') throw new Error('the public key is not an Ed25519 key');
  const sig = Buffer.from(signatureBase64.trim(), 'base64');
  if (sig.length !== 64) return false;
  return verify(null, manifestBytes, key, sig);
}

/** `SHA256:<base64>` of the public key's SPKI DER (ssh-keygen style): what the cover prints to identify the key. */
export function keyFingerprint(key: string | KeyObject): string {
  const pub = typeof key === 'string' ? createPublicKey(key) : key.type === 'private' ? createPublicKey(key) : key;
  const der = pub.export({ type: 'spki', format: 'der' });
  return `SHA256:${createHash('sha256').update(der).digest('base64').replace(/=+$/, '')}`;
}
