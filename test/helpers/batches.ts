import { BatchBuilder, type PreparedBatch } from '../../ingest/batch.js';
import { Redactor } from '../../ingest/redact.js';

/** One batch of these lines, as the reader builds it from a file that holds just them (offsets from 0). */
export function batchOfLines(lines: string[], opts: { logRaw?: boolean } = {}): PreparedBatch {
  const builder = new BatchBuilder({ prefix: null, logRaw: opts.logRaw ?? false, redactor: () => new Redactor(Buffer.alloc(32, 7)) }, 0);
  let offset = 0;
  for (const line of lines) {
    const bytes = Buffer.from(line);
    builder.addLine(bytes, offset);
    offset += bytes.length + 1;
  }
  return builder.finish();
}
