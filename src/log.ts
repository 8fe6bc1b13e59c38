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

export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { service: 'kv' },
    timestamp: pino.stdTimeFunctions.isoTime,
    serializers: { err: serializeError },
  });
}
