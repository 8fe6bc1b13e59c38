// One kv run: finds the command in the arguments, reads its options, runs it, and turns any failure into an exit code.

import fs from 'node:fs';
import path from 'node:path';
import { arity, type Command } from './command';
import { findWords, GLOBAL_OPTIONS, parseCommand, type GlobalValues } from './command-line';
import { adminCommands } from './commands/admin';
import { itemCommands } from './commands/items';
import { streamCommands } from './commands/streams';
import { Connection, redactSecrets } from './connection';
import { describeFailure } from './failures';
import { ExitCode } from './exit-codes';
import { commandHelp, groupHelp, overviewHelp } from './help';
import { Output, type Io } from './output';
import { UsageError } from './usage-error';

/** Every command, in the order `kv help` lists them. */
export const COMMANDS: Command[] = [...itemCommands, ...streamCommands, ...adminCommands];

const GROUPS = ['admin', 'admin accounts', 'admin keys'];

/** Runs kv with `argv` (the arguments after `kv`); resolves with the exit code. Never rejects. */
export async function runCli(argv: string[], io: Io): Promise<number> {
  const out = new Output(io);
  let connection: Connection | undefined;
  try {
    const stringOptions = new Set(
      [GLOBAL_OPTIONS, ...COMMANDS.map((command) => command.options)].flatMap((options) =>
        Object.entries(options).flatMap(([name, spec]) => (spec.type === 'string' ? [name] : [])),
      ),
    );
    const words = findWords(argv, stringOptions);
    const names = words.map((word) => word.value);
    if (names[0] === 'help') return await help(names.slice(1), out);

    const command = findCommand(names);
    if (!command) return await withoutCommand(argv, words, out);

    const commandWords = command.name.split(' ').length;
    const taken = new Set(words.slice(0, commandWords).map((word) => word.index));
    const parsed = parseCommand(
      argv.filter((_, i) => !taken.has(i)),
      { ...GLOBAL_OPTIONS, ...command.options },
      command.name,
    );
    if (parsed.values.help) return await help(command.name.split(' '), out);
    if (parsed.values.version) return await version(out);
    const { min, max } = arity(command);
    if (parsed.positionals.length < min) {
      throw new UsageError(`missing argument: kv ${command.name} ${command.args}`, command.name);
    }
    if (parsed.positionals.length > max) {
      throw new UsageError(`unexpected argument '${parsed.positionals[max]}'`, command.name);
    }
    connection = new Connection(parsed.values, io.env);
    return await command.run({
      args: parsed.positionals,
      values: parsed.values,
      json: parsed.values.json === true,
      out,
      io,
      connection,
    });
  } catch (error) {
    const failure = describeFailure(error, connection?.url);
    // The one line may quote an argument, a URL or a server's message: never the credentials.
    out.note(`kv: ${redactSecrets(failure.line, argv, io.env)}`);
    return failure.exitCode;
  }
}

/** The command whose words start `names` (the longest such), if any. */
function findCommand(names: string[]): Command | undefined {
  for (let count = Math.min(3, names.length); count > 0; count--) {
    const words = names.slice(0, count).join(' ');
    const command = COMMANDS.find((candidate) => candidate.name === words);
    if (command) return command;
  }
  return undefined;
}

/** `kv`, `kv --help`, `kv --version`, `kv admin --help`, or words that are no command. */
async function withoutCommand(argv: string[], words: { value: string; index: number }[], out: Output): Promise<number> {
  const names = words.map((word) => word.value);
  const group = GROUPS.filter((candidate) => names.slice(0, candidate.split(' ').length).join(' ') === candidate).pop();
  const groupLength = group ? group.split(' ').length : 0;
  if (names.length > groupLength) throw new UsageError(`unknown command '${names.slice(0, groupLength + 1).join(' ')}'`);
  const taken = new Set(words.map((word) => word.index));
  const { values } = parseCommand(
    argv.filter((_, i) => !taken.has(i)),
    GLOBAL_OPTIONS,
  ) as { values: GlobalValues };
  if (values.version) return version(out);
  if (group) {
    if (!values.help) throw new UsageError(`kv ${group} needs a command: ${subcommands(group)}`, group);
    await out.line(groupHelp(group, COMMANDS));
    return ExitCode.ok;
  }
  if (values.help) {
    await out.line(overviewHelp(COMMANDS));
    return ExitCode.ok;
  }
  out.note(overviewHelp(COMMANDS));
  return ExitCode.usage;
}

/** `kv help [words]`: the overview, a group's or a command's help. */
async function help(names: string[], out: Output): Promise<number> {
  const words = names.join(' ');
  if (words === '') {
    await out.line(overviewHelp(COMMANDS));
    return ExitCode.ok;
  }
  const command = COMMANDS.find((candidate) => candidate.name === words);
  if (command) await out.line(commandHelp(command));
  else if (GROUPS.includes(words)) await out.line(groupHelp(words, COMMANDS));
  else throw new UsageError(`unknown command '${words}'`);
  return ExitCode.ok;
}

function subcommands(group: string): string {
  const next = new Set(
    COMMANDS.filter((command) => command.name.startsWith(group + ' ')).map((command) => command.name.slice(group.length + 1).split(' ')[0]),
  );
  return [...next].join(', ');
}

/** The package's version, from its package.json (three levels above dist/cjs/cli). */
async function version(out: Output): Promise<number> {
  const manifest = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', '..', 'package.json'), 'utf8')) as { version: string };
  await out.line(manifest.version);
  return ExitCode.ok;
}
