import type { Migration } from 'kysely';
import * as m0001 from './0001_core_ingest.js';
import * as m0002 from './0002_gitlab.js';
import * as m0003 from './0003_correlate.js';
import * as m0004 from './0004_findings.js';
import * as m0005 from './0005_batch_codec.js';
import * as m0006 from './0006_one_row_per_line.js';
import * as m0007 from './0007_request_key.js';

/**
 * Every migration, by name. Names sort in the order they apply. Listed statically (not read from disk) so
 * the compiled package needs no file lookup at run time.
 */
export const migrations: Record<string, Migration> = {
  '0001_core_ingest': m0001,
  '0002_gitlab': m0002,
  '0003_correlate': m0003,
  '0004_findings': m0004,
  '0005_batch_codec': m0005,
  '0006_one_row_per_line': m0006,
  '0007_request_key': m0007,
};
