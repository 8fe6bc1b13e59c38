// The process logger: JSON lines on stdout. Never given an API key, the admin token or a value.

import pino, { type Logger } from 'pino';

export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { service: 'kv' },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: ['req.headers.authorization', 'authorization', '*.authorization'], censor: '[redacted]' },
  });
}
