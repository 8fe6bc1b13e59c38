// The process logger: JSON lines on stdout. Never given an API key, the admin token or a value.

import pino, { type Logger } from 'pino';

/**
 * Errors are logged by name, message, code and stack only. Their other fields are left out on
 * purpose: an ioredis error carries the failed command with its arguments, which can hold a value.
 */
function serializeError(error: unknown): Record<string, unknown> {
  if (!(error instanceof Error)) return { message: String(error) };
  const code = (error as { code?: unknown }).code;
  return {
    type: error.name,
    message: error.message,
    ...(typeof code === 'string' ? { code } : {}),
    stack: error.stack,
    ...(error.cause ? { cause: serializeError(error.cause) } : {}),
  };
}

/**
 * Lines go to stdout asynchronously: a request never waits on a write(2) of its log line, and lines
 * written while one write is in flight go out together in the next. Nothing is dropped: what is
 * buffered is flushed synchronously when the process exits (pino's exit handler).
 */
export function createLogger(level: string): Logger {
  return pino(
    {
      level,
      base: { service: 'kv' },
      timestamp: pino.stdTimeFunctions.isoTime,
      serializers: { err: serializeError },
    },
    pino.destination({ dest: 1, sync: false }),
  );
}
