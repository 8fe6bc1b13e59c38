// kv's help texts: the overview (`kv help`), a command's (`kv help set`, `kv set --help`) and a group's (`kv admin keys --help`).

import type { Command } from './command';
import { GLOBAL_OPTIONS, type OptionSpecs } from './command-line';

const FOOTER = [
  'Environment: KV_URL (default http://localhost:8080), KV_API_KEY, KV_ADMIN_TOKEN; the options override them.',
  'Exit codes: 0 ok, 1 not found or a condition that did not hold, 2 usage error, 3 server or network error.',
];

/** `kv help`: every command with its one-line summary. */
export function overviewHelp(commands: Command[]): string {
  const data = commands.filter((command) => !command.name.startsWith('admin '));
  const admin = commands.filter((command) => command.name.startsWith('admin '));
  return [
    'kv: JSON by key over HTTP, on the command line.',
    '',
    'Usage: kv <command> [arguments] [options]',
    '',
    'Data commands (an API key: KV_API_KEY or --api-key):',
    ...commandList(data),
    '',
    'Admin commands (the admin token: KV_ADMIN_TOKEN or --admin-token):',
    ...commandList(admin),
    '',
    'Options of every command:',
    ...optionList(GLOBAL_OPTIONS),
    '',
    ...FOOTER,
    'Run `kv help <command>` (or `kv <command> --help`) for its arguments, options and an example.',
  ].join('\n');
}

/** `kv help <command>`: its usage line, what it does, its options and examples. */
export function commandHelp(command: Command): string {
  const lines = [`Usage: kv ${command.name}${command.args ? ' ' + command.args : ''} [options]`, '', command.summary];
  if (command.details) lines.push('', ...command.details);
  if (Object.keys(command.options).length > 0) lines.push('', 'Options:', ...optionList(command.options));
  lines.push('', 'Options of every command:', ...optionList(GLOBAL_OPTIONS));
  lines.push('', command.examples.length > 1 ? 'Examples:' : 'Example:', ...command.examples.map((example) => `  ${example}`));
  return lines.join('\n');
}

/** `kv admin --help`, `kv admin keys --help`: the commands under those words. */
export function groupHelp(group: string, commands: Command[]): string {
  return [
    `Usage: kv ${group} <command> [arguments] [options]`,
    '',
    ...commandList(commands.filter((command) => command.name.startsWith(group + ' '))),
    '',
    'Run `kv help <command>` for its arguments, options and an example.',
  ].join('\n');
}

function commandList(commands: Command[]): string[] {
  const usages = commands.map((command) => `${command.name}${command.args ? ' ' + command.args : ''}`);
  const width = Math.max(...usages.map((usage) => usage.length));
  return commands.map((command, i) => `  ${usages[i].padEnd(width)}  ${command.summary}`);
}

function optionList(options: OptionSpecs): string[] {
  const names = Object.entries(options).map(
    ([name, spec]) => `${spec.short ? `-${spec.short}, ` : ''}--${name}${spec.type === 'string' ? ` <${spec.value ?? 'value'}>` : ''}`,
  );
  const width = Math.max(...names.map((name) => name.length));
  return Object.values(options).map((spec, i) => `  ${names[i].padEnd(width)}  ${spec.description}`);
}
