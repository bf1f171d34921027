import { chmodSync, writeFileSync } from 'node:fs';
import { generateKeyPairSync } from 'node:crypto';
import { keyFingerprint } from './manifest.js';

export interface KeyPairFiles {
  privateKeyFile: string;
  publicKeyFile: string;
  fingerprint: string;
}

/**
 * Writes PREFIX.key (Ed25519, PKCS#8 PEM, mode 0600, created with that mode so it is never readable by others)
 * and PREFIX.pub (SPKI PEM). Existing files are not overwritten.
 */
export function writeKeyPair(prefix: string): KeyPairFiles {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const privateKeyFile = `${prefix}.key`;
  const publicKeyFile = `${prefix}.pub`;
  const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  writeFileSync(privateKeyFile, pem, { mode: 0o600, flag: 'wx' });
  chmodSync(privateKeyFile, 0o600); // the umask may have narrowed the mode, never widened it; make it exact
  writeFileSync(publicKeyFile, publicKey.export({ type: 'spki', format: 'pem' }) as string, { mode: 0o644, flag: 'wx' });
  return { privateKeyFile, publicKeyFile, fingerprint: keyFingerprint(publicKey) };
}
