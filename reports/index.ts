/** Public API of reports/: the SOC 2 evidence pack, its verification and signing keys. */
export { writeSoc2Pack, DEFAULT_SAMPLE_SIZE } from './pack/write-pack.js';
export type { Soc2PackOptions, Soc2PackResult, PackConfig } from './pack/write-pack.js';
export { verifyPack } from './pack/verify-pack.js';
export type { PackVerification, SignatureState } from './pack/verify-pack.js';
export { writeKeyPair } from './pack/keys.js';
export type { KeyPairFiles } from './pack/keys.js';
export { keyFingerprint, serializeManifest, dataSha256 } from './pack/manifest.js';
export type { Manifest } from './pack/manifest.js';
export { POPULATION_NAMES } from './pack/queries.js';
export type { PopulationName } from './pack/queries.js';

// Detections and alerts (reports/detect, owned by the detections engineer), re-exported so callers import reports/ once.
export * from './detect/index.js';
