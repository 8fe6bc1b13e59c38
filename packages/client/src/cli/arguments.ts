// Checking the values of kv's arguments and options: JSON texts, whole numbers, choices.

import { UsageError } from './usage-error';

/** `text` if it is one JSON value (kept as written: digits, escapes, key order); a UsageError otherwise. */
export function jsonArgument(text: string, what: string, command: string): string {
  try {
    JSON.parse(text);
  } catch {
    const shown = text.length > 40 ? `${text.slice(0, 40)}…` : text;
    throw new UsageError(`${what} is not JSON: '${shown.trim()}' (a string needs its quotes: '"hello"')`, command);
  }
  return text.trim();
}

/**
 * `text` as an integer from `min` to `max`; a UsageError naming `what` otherwise. Only digits (and
 * a leading `-`) count: `1.5`, `1e3` and `0x10` are refused.
 */
export function integerArgument(text: string, what: string, command: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const value = /^-?\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new UsageError(`${what} must be a whole number from ${min} to ${max}, not '${text}'`, command);
  }
  return value;
}

/** `text` if it is one of `choices`; a UsageError listing them otherwise. */
export function choiceArgument<T extends string>(text: string, what: string, command: string, choices: readonly T[]): T {
  if (!(choices as readonly string[]).includes(text)) {
    throw new UsageError(`${what} must be one of ${choices.join(', ')}, not '${text}'`, command);
  }
  return text as T;
}

/** Everything on `stdin` as UTF-8 text (for `kv set k -` and `kv import -`). */
export async function readAll(stdin: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stdin) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks).toString('utf8');
}
