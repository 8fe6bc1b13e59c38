// kv's exit codes, the contract scripts branch on, and which failure gets which.

/** 0 ok; 1 not found or a condition that did not hold; 2 a usage error; 3 a server or network error. */
export const ExitCode = {
  ok: 0,
  /** Not found, precondition failed (`--if-version`, `--nx` on an existing key), not an integer (`incr`), import lines refused. */
  condition: 1,
  /** An unknown command or option, a missing or bad argument, or input the API refused as malformed (400, 413). */
  usage: 2,
  /** Authentication (401), permission or quota (403), rate limits (429), the server (5xx) or the network. */
  server: 3,
} as const;

export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** The API error codes that say "the data is not as you expected", not "something is broken". */
const CONDITION_CODES = new Set(['not_found', 'precondition_failed', 'type_mismatch']);

/** The exit code of an API error answer (`status`, `code`). */
export function exitCodeOfApiError(status: number, code: string): ExitCode {
  if (CONDITION_CODES.has(code)) return ExitCode.condition;
  if (status === 400 || status === 413) return ExitCode.usage;
  return ExitCode.server;
}
