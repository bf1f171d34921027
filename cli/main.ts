#!/usr/bin/env node
import { main } from './program.js';

// A reader that stops early (`keytrail query … | head`) closes the pipe: stop quietly, like other Unix tools,
// instead of dying on an unhandled EPIPE with a stack trace. Output is written after the work is committed.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

main(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`keytrail: unexpected error: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exitCode = 1;
  },
);
