// The configuration table of docs/operations.md: every variable KV reads, each with its default.

import fs from 'node:fs';
import path from 'node:path';
import { ENV_VARIABLES } from '../../src/config';

const operations = fs.readFileSync(path.join(__dirname, '..', '..', 'docs', 'operations.md'), 'utf8');

/** The rows of the table under "## Configuration": the variables each names, and its text. */
function configurationRows(): { names: string[]; text: string }[] {
  const section = /^## Configuration\n([\s\S]*?)(?=^## )/m.exec(operations)?.[1] ?? '';
  return section
    .split('\n')
    .filter((line) => line.startsWith('| `'))
    .map((line) => {
      const [, variables, ...rest] = line.split('|').map((cell) => cell.trim());
      return { names: [...variables.matchAll(/`([A-Z0-9_]+)`/g)].map((match) => match[1]), text: rest.join('|') };
    });
}

describe('the configuration table of docs/operations.md', () => {
  const rows = configurationRows();
  const documented = rows.flatMap((row) => row.names);

  it('documents every variable KV reads', () => {
    expect(ENV_VARIABLES.filter((name) => !documented.includes(name))).toEqual([]);
  });

  it('documents no variable KV does not read', () => {
    expect(documented.filter((name) => !(ENV_VARIABLES as readonly string[]).includes(name))).toEqual([]);
  });

  it('gives every variable its default', () => {
    expect(rows.filter((row) => !/Defaults? to /.test(row.text)).map((row) => row.names)).toEqual([]);
  });
});
