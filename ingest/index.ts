/**
 * ingest/: Vault audit devices (files and the socket device) and the Vault server log into the database.
 * The API the CLI, the nightly `run`, the demo and other modules' tests call.
 */
export { ingestVaultFiles, VaultFileIngester, IngestIncompleteError, type VaultIngestOptions, type VaultIngestSummary, type IngestLogger } from './vault-files.js';
export { startSocketListener, type SocketListener, type SocketListenerOptions } from './socket.js';
export { ingestServerLogs, type ServerLogIngestOptions, type ServerLogIngestSummary } from './server-log.js';
export { readCopyRawLine, readEntryRawLine, readBatchBytes } from './raw-line.js';
export { listQuarantine, type QuarantineRow } from './quarantine.js';
export { deviceNameFor, stripRotation } from './files.js';
export { keyPathFor, loadOrCreateKey, KEYTRAIL_HMAC_PREFIX } from './redact.js';
export { MAX_LINE_BYTES } from './lines.js';
