// Splitting a kv command line into the command's words, its options and its arguments, with node:util parseArgs.

import { parseArgs } from 'node:util';
import { UsageError } from './usage-error';

/** One option of a command (or of every command), as parseArgs takes it, plus its help. */
export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  /** The placeholder shown in help for a string option's value, e.g. `seconds`. */
  value?: string;
  description: string;
}

export type OptionSpecs = Record<string, OptionSpec>;

/** The options every command takes. */
export const GLOBAL_OPTIONS = {
  url: { type: 'string', value: 'url', description: 'the KV service (KV_URL; default http://localhost:8080)' },
  'api-key': { type: 'string', value: 'key', description: 'the API key for data commands (KV_API_KEY)' },
  'admin-token': { type: 'string', value: 'token', description: 'the admin token for `kv admin` (KV_ADMIN_TOKEN)' },
  json: { type: 'boolean', description: "output for scripts: the API's data as one JSON document (NDJSON for watch and export)" },
  help: { type: 'boolean', short: 'h', description: 'this help' },
  version: { type: 'boolean', description: "kv's version" },
} satisfies OptionSpecs;

/** The values of the global options, as given on the command line. */
export interface GlobalValues {
  url?: string;
  'api-key'?: string;
  'admin-token'?: string;
  json?: boolean;
  help?: boolean;
  version?: boolean;
}

/** A command line read against one command's options. */
export interface ParsedCommand {
  values: GlobalValues & Record<string, string | boolean | undefined>;
  /** The arguments after the command's words, in order. */
  positionals: string[];
}

// A negative number as an argument (`kv incr hits -5`, `kv set t -1.5`) would read as an option;
// it is marked as an argument before parsing and unmarked after.
const NEGATIVE_NUMBER = /^-(\d|\.\d)/;
const ARGUMENT_MARK = '\u0000';

/**
 * The leading words of `args` that are not options or option values (`admin`, `keys`, `create`,
 * then the command's own arguments), with their indexes in `args`. `stringOptions` are the names
 * of every option that takes a value, so that `--prefix flags/` is not taken for words.
 */
export function findWords(args: string[], stringOptions: Set<string>): { value: string; index: number }[] {
  const options: Record<string, { type: 'string' | 'boolean' }> = {};
  for (const name of stringOptions) options[name] = { type: 'string' };
  const { tokens } = parseArgs({ args: markArguments(args, stringOptions), options, strict: false, allowPositionals: true, tokens: true });
  return tokens.flatMap((token) => (token.kind === 'positional' ? [{ value: unmark(token.value), index: token.index }] : []));
}

/**
 * `args` (without the command's words) read strictly against `options`: an unknown option, a
 * string option without its value or a boolean one with a value is a UsageError naming it.
 */
export function parseCommand(args: string[], options: OptionSpecs, command?: string): ParsedCommand {
  const stringOptions = new Set(Object.entries(options).flatMap(([name, spec]) => (spec.type === 'string' ? [name] : [])));
  const config: Record<string, { type: 'string' | 'boolean'; short?: string }> = {};
  for (const [name, spec] of Object.entries(options)) config[name] = spec.short ? { type: spec.type, short: spec.short } : { type: spec.type };
  try {
    const { values, positionals } = parseArgs({ args: markArguments(args, stringOptions), options: config, strict: true, allowPositionals: true });
    return { values: values as ParsedCommand['values'], positionals: positionals.map(unmark) };
  } catch (error) {
    throw new UsageError(describeParseError(error as Error & { code?: string }), command);
  }
}

/** parseArgs's message, shortened to its first sentence and in kv's words. */
function describeParseError(error: Error & { code?: string }): string {
  const unknown = /^Unknown option '([^']+)'/.exec(error.message);
  if (unknown) return `unknown option '${unknown[1]}'`;
  const missing = /^Option '([^' ]+)[^']*' argument missing/.exec(error.message);
  if (missing) return `option '${missing[1]}' needs a value`;
  const ambiguous = /^Option '([^']+)' argument is ambiguous/.exec(error.message);
  if (ambiguous) return `option '${ambiguous[1]}' needs a value (write ${ambiguous[1]}=-… for a value starting with '-')`;
  const noArgument = /^Option '([^']+)' does not take an argument/.exec(error.message);
  if (noArgument) return `option '${noArgument[1]}' does not take a value`;
  return error.message.split('\n')[0];
}

/** Marks negative numbers that stand as arguments (not as the value of a string option). */
function markArguments(args: string[], stringOptions: Set<string>): string[] {
  let afterTerminator = false;
  return args.map((arg, i) => {
    if (arg === '--') afterTerminator = true;
    if (afterTerminator || !NEGATIVE_NUMBER.test(arg)) return arg;
    const previous = args[i - 1];
    const takesValue = previous !== undefined && previous.startsWith('--') && !previous.includes('=') && stringOptions.has(previous.slice(2));
    return takesValue ? arg : ARGUMENT_MARK + arg;
  });
}

function unmark(value: string | undefined): string {
  return value === undefined ? '' : value.startsWith(ARGUMENT_MARK) ? value.slice(1) : value;
}
