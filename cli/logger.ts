import pino, { type Logger } from 'pino';

export type { Logger };

/**
 * Logs go to stderr (stdout carries only the command's output). Secrets never reach a log line: callers
 * log ids and counts, and the redact list catches the usual header and token fields if one slips through.
 */
export function createLogger(opts: { quiet?: boolean; verbose?: boolean } = {}): Logger {
  const level = opts.quiet ? 'error' : opts.verbose ? 'debug' : 'info';
  return pino(
    {
      level,
      base: undefined,
      redact: {
        paths: ['token', '*.token', 'headers.authorization', 'headers["private-token"]', '*.headers.authorization', '*.headers["private-token"]'],
        censor: '[redacted]',
      },
    },
    pino.destination({ fd: 2, sync: true }),
  );
}
