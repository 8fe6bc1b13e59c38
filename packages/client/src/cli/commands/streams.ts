// kv watch, export and import: streams of changes and of items, a line at a time.

import fs from 'node:fs';
import readline from 'node:readline';
import { rawJson, stringifyJson, type WatchEvent } from '../../index';
import { choiceArgument } from '../arguments';
import type { Command } from '../command';
import { ExitCode } from '../exit-codes';
import { formatJsonText } from '../json-text';
import { UsageError } from '../usage-error';

const watch: Command = {
  name: 'watch',
  args: '[prefix]',
  summary: 'print every change under a prefix as it happens, a line each, until Ctrl-C',
  details: [
    'Lines read "<event> <key> version=<v>" (set, delete, expire), with expiresAt= and value= when there are.',
    'A "reset" line means changes since --since are no longer kept: re-read what you need (kv ls, kv export).',
    'Reconnects on its own after a network failure or a server restart, with nothing missed or repeated.',
    'With --json: one JSON object per line, {"id", "event", "key", "version", "expiresAt"[, "value"]}.',
  ],
  options: {
    since: { type: 'string', value: 'id', description: 'resume after this event id (an id printed by --json)' },
    values: { type: 'boolean', description: 'each set carries the value written' },
  },
  examples: ['kv watch flags/', 'kv watch flags/ --values --json', 'kv watch --since 1733140800000-0 --json'],
  async run({ args: [prefix], values, json, out, connection }) {
    const client = connection.client();
    // The watch reconnects after network failures on its own; one read first makes a wrong URL or
    // key an error (exit 3) instead of a silent wait.
    await client.usage();
    const controller = new AbortController();
    const stop = () => controller.abort();
    // Ctrl-C ends the watch as its normal end (exit 0); a second one is node's default (exit at once).
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    try {
      const events = client.watch({ prefix, since: values.since as string | undefined, raw: values.values === true, signal: controller.signal });
      for await (const event of events) await out.line(json ? eventJson(event) : eventLine(event));
    } finally {
      process.removeListener('SIGINT', stop);
      process.removeListener('SIGTERM', stop);
    }
    return ExitCode.ok;
  },
};

/** An event as one compact JSON object, its value's digits intact. */
function eventJson(event: WatchEvent): string {
  if (event.type === 'reset') return JSON.stringify({ id: event.id, event: 'reset' });
  const { id, type, key, version, expiresAt, raw } = event;
  return stringifyJson({ id, event: type, key, version, expiresAt, ...(raw === undefined ? {} : { value: rawJson(raw) }) })!;
}

/** An event as a line for people. */
function eventLine(event: WatchEvent): string {
  if (event.type === 'reset') return 'reset (changes were lost: re-read what you need, then follow)';
  let line = `${event.type} ${event.key} version=${event.version ?? 'unknown'}`;
  if (event.expiresAt) line += ` expiresAt=${event.expiresAt}`;
  if (event.raw !== undefined) line += ` value=${formatJsonText(event.raw, 0)}`;
  return line;
}

const exportCommand: Command = {
  name: 'export',
  args: '[prefix]',
  summary: 'write every item (under a prefix) to stdout as NDJSON, for kv import',
  details: ['One {"key", "value", "expiresAt"} per line, in key order, as the API streams it (with or without --json).'],
  options: {},
  examples: ['kv export > backup.ndjson', 'kv export config/ | kv import --url https://kv.other.example'],
  async run({ args: [prefix], out, connection }) {
    for await (const line of connection.client().exportLines({ prefix })) await out.line(line);
    return ExitCode.ok;
  },
};

const importCommand: Command = {
  name: 'import',
  args: '[file|-]',
  summary: 'apply NDJSON lines as kv export writes them, from a file or stdin',
  details: [
    'Each line applies on its own; a bad line fails alone. Prints what was created, replaced, skipped and',
    'each failed line (on stderr), and exits 1 when a line failed.',
    'With --json: {"created", "replaced", "skipped", "failed": [{"line", "error"}]} as the API gives it.',
  ],
  options: {
    mode: { type: 'string', value: 'skip|overwrite', description: 'skip (default): leave keys that exist alone; overwrite: replace them' },
  },
  examples: ['kv import backup.ndjson', 'kv import --mode overwrite < backup.ndjson'],
  async run({ args: [file], values, json, out, io, connection }) {
    const mode = values.mode === undefined ? undefined : choiceArgument(String(values.mode), '--mode', 'import', ['skip', 'overwrite'] as const);
    if (file === undefined && io.stdin.isTTY) throw new UsageError('nothing to import: give a file, or pipe NDJSON to stdin', 'import');
    const input = file === undefined || file === '-' ? io.stdin : await openFile(file);
    const lines = readline.createInterface({ input, crlfDelay: Infinity });
    const report = await connection.client().import(lines, { mode });
    if (json) {
      await out.line(JSON.stringify(report));
    } else {
      const failed = report.failed.length + (report.omittedFailures ?? 0);
      await out.line(`created ${report.created}, replaced ${report.replaced}, skipped ${report.skipped}, failed ${failed}`);
      for (const failure of report.failed) out.note(`line ${failure.line}: ${failure.error.code}: ${failure.error.message}`);
      if (report.omittedFailures) out.note(`… and ${report.omittedFailures} more failed lines`);
    }
    return report.failed.length > 0 ? ExitCode.condition : ExitCode.ok;
  },
};

/** A readable stream of `file`, once it is open: a missing file is a usage error, not a crash. */
async function openFile(file: string): Promise<fs.ReadStream> {
  const stream = fs.createReadStream(file);
  await new Promise<void>((resolve, reject) => {
    stream.once('open', () => resolve());
    stream.once('error', (error: NodeJS.ErrnoException) =>
      reject(new UsageError(`cannot read '${file}': ${error.code === 'ENOENT' ? 'no such file' : error.message}`, 'import')),
    );
  });
  return stream;
}

/** The streaming commands, in help order. */
export const streamCommands: Command[] = [watch, exportCommand, importCommand];
