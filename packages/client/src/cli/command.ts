// What a kv command is: its words, arguments, options and help, and the function that runs it.

import type { OptionSpecs, ParsedCommand } from './command-line';
import type { Connection } from './connection';
import type { Io, Output } from './output';

/** What a command's run() gets: its arguments and options, where to write, and the service. */
export interface CommandContext {
  /** The arguments after the command's words (already counted against `args`). */
  args: string[];
  values: ParsedCommand['values'];
  /** `--json`: the API's data objects for scripts instead of human output. */
  json: boolean;
  out: Output;
  io: Io;
  connection: Connection;
}

export interface Command {
  /** The command's words, e.g. `get` or `admin keys create`. */
  name: string;
  /** Its arguments as help shows them: `<key>` required, `[by]` optional. */
  args: string;
  summary: string;
  /** More lines of help under the usage line. */
  details?: string[];
  options: OptionSpecs;
  examples: string[];
  /** Runs the command; resolves with the exit code. Failures throw (UsageError, KvError, …). */
  run(context: CommandContext): Promise<number>;
}

/** How many arguments `command` takes: its `<required>` ones, and at most those plus its `[optional]` ones. */
export function arity(command: Pick<Command, 'args'>): { min: number; max: number } {
  const min = (command.args.match(/<[^>]+>/g) ?? []).length;
  return { min, max: min + (command.args.match(/\[[^\]]+\]/g) ?? []).length };
}
