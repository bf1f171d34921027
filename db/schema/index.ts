import type { CoreTables } from './core.js';
import type { IngestTables } from './ingest.js';
import type { GitlabTables } from './gitlab.js';
import type { CorrelateTables } from './correlate.js';
import type { FindingsTables } from './findings.js';

export type * from './core.js';
export type * from './ingest.js';
export type * from './gitlab.js';
export type * from './correlate.js';
export type * from './findings.js';

/** The whole typed schema: each module owns its part and its migration. */
export type Database = CoreTables & IngestTables & GitlabTables & CorrelateTables & FindingsTables;
