// A failure as kv reports it: one line for stderr (the API's code and message) and the exit code.

import { KvError, KvNetworkError, KvPreconditionFailedError } from '../index';
import { ExitCode, exitCodeOfApiError } from './exit-codes';
import { UsageError } from './usage-error';

/** What kv says about a failure, and how it exits. */
export interface Failure {
  /** One line, without the `kv: ` it is printed after. */
  line: string;
  exitCode: ExitCode;
}

/** The line and exit code of anything a command threw. */
export function describeFailure(error: unknown, url?: string): Failure {
  if (error instanceof UsageError) {
    const help = error.command ? `kv help ${error.command}` : 'kv help';
    return { line: `usage: ${error.message} (see \`${help}\`)`, exitCode: ExitCode.usage };
  }
  if (error instanceof KvNetworkError) {
    // fetch's own error says only "fetch failed"; what failed (ECONNREFUSED, ENOTFOUND, …) is its cause.
    const cause = (error as { cause?: { cause?: { code?: string; message?: string } } }).cause?.cause;
    const reason = cause?.code ?? cause?.message;
    const where = url ? `cannot reach ${url}: ` : '';
    return { line: `network_error: ${where}${error.message}${reason ? ` (${reason})` : ''}`, exitCode: ExitCode.server };
  }
  if (error instanceof KvError) {
    return { line: `${error.code}: ${oneLine(error.message)}${extra(error)}`, exitCode: exitCodeOfApiError(error.status, error.code) };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { line: `internal: ${oneLine(message)}`, exitCode: ExitCode.server };
}

/** What an error adds to its message that a person acts on: the current version, the details, when to retry. */
function extra(error: KvError): string {
  if (error instanceof KvPreconditionFailedError && error.failedChecks.length === 0) {
    return ` (current version: ${error.currentVersion ?? 'none, the key does not exist'})`;
  }
  if (error.details.length > 0) return ` (${error.details.map((detail) => `${detail.path}: ${detail.message}`).join('; ')})`;
  if (typeof error.body.retryAfter === 'number') return ` (retry after ${error.body.retryAfter} s)`;
  return '';
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ');
}
