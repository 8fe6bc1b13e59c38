// Where kv writes and how its human output looks: lines, aligned tables, JSON documents.

/** The streams a kv run reads and writes, and its environment: the process's, or a test's. */
export interface Io {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  env: Record<string, string | undefined>;
}

/** Writes output lines; waits when stdout is full (a slow pipe), so a long export stays in bounded memory. */
export class Output {
  constructor(private readonly io: Pick<Io, 'stdout' | 'stderr'>) {}

  /** One line (or several, joined by newlines) on stdout. */
  async line(text: string): Promise<void> {
    if (!this.io.stdout.write(text + '\n')) {
      await new Promise<void>((resolve) => this.io.stdout.once('drain', () => resolve()));
    }
  }

  /** One line on stderr: errors and notes that must not mix with the data on stdout. */
  note(text: string): void {
    this.io.stderr.write(text + '\n');
  }

  /** An aligned table with a header row; an empty one prints `empty` instead (if given). */
  async table(header: string[], rows: string[][], empty?: string): Promise<void> {
    if (rows.length === 0) {
      if (empty) await this.line(empty);
      return;
    }
    await this.line(formatTable(header, rows));
  }
}

/** Rows under a header, each column padded to its widest cell, two spaces apart; the last column is not padded. */
export function formatTable(header: string[], rows: string[][]): string {
  const all = [header, ...rows];
  const widths = header.map((_, column) => Math.max(...all.map((row) => (row[column] ?? '').length)));
  return all
    .map((row) =>
      row
        .map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column])))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** A time from the API for a table cell: `never` for null. */
export function formatExpiry(expiresAt: string | null | undefined): string {
  return expiresAt ?? 'never';
}
