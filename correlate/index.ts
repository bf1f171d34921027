/**
 * correlate/: pairs Vault requests and responses, builds token and lease lineage, attributes each request to
 * the GitLab job behind it and verifies that against GitLab. The API the CLI, `run` and reports/ call.
 */
export { correlate, type CorrelateSummary, type CorrelateOptions } from './engine.js';
export { DEFAULT_SETTINGS, leaseTtlFor, type CorrelateSettings } from './settings.js';
export {
  queryAccesses,
  queryTokens,
  queryLeases,
  ACCESS_FIELDS,
  TOKEN_FIELDS,
  LEASE_FIELDS,
  type AccessFilters,
  type TokenFilters,
  type LeaseFilters,
  type AccessRecord,
  type TokenRecord,
  type LeaseRecord,
} from './query.js';
export { explainRequest, renderExplanation, type Explanation } from './explain.js';
export { compileGlob } from './glob.js';
