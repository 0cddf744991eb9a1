import { pino, type Logger } from 'pino';

export type { Logger };

/** JSON lines on stdout; one logger per process, children per component. */
export function createLogger(level = 'info', base: Record<string, unknown> = {}): Logger {
  return pino({
    level,
    base,
    // Never let a credential reach the log, wherever it hides in a logged object.
    redact: {
      paths: ['authorization', '*.authorization', 'headers.authorization', '*.headers.authorization', 'password', '*.password', 'token', '*.token'],
      censor: '[redacted]',
    },
  });
}
