// docs/api.md against the route table: every route is documented, no other, and the error table
// has a row for every status and code a route can answer.

import fs from 'node:fs';
import path from 'node:path';
import { COMMON_ERRORS, ROUTES } from '../../src/http/routes';

const api = fs.readFileSync(path.join(__dirname, '..', '..', 'docs', 'api.md'), 'utf8');

/** The text of the `## title` section of docs/api.md. */
function section(title: string): string {
  const start = api.indexOf(`\n## ${title}\n`);
  if (start === -1) throw new Error(`docs/api.md has no section "## ${title}"`);
  const end = api.indexOf('\n## ', start + 1);
  return api.slice(start, end === -1 ? undefined : end);
}

describe('docs/api.md', () => {
  it('lists every route of the route table in its Routes section, and no other', () => {
    const documented = [...section('Routes').matchAll(/`(GET|HEAD|PUT|POST|PATCH|DELETE) (\/[^`\s]*)`/g)].map(
      (match) => `${match[1]} ${match[2].split('?')[0]}`,
    );
    const routes = ROUTES.map((route) => `${route.method.toUpperCase()} ${route.path}`);
    expect([...new Set(documented)].sort()).toEqual([...new Set(routes)].sort());
  });

  it('has a row in its error table for every status and code a route can answer', () => {
    const rows = new Set(
      [...section('Errors').matchAll(/^\| (\d{3}) \| `([a-z_]+)` \|/gm)].map((match) => `${match[1]} ${match[2]}`),
    );
    const answered = new Set<string>();
    for (const errors of [COMMON_ERRORS, ...ROUTES.map((route) => route.errors)]) {
      for (const [status, codes] of Object.entries(errors)) for (const code of codes ?? []) answered.add(`${status} ${code}`);
    }
    expect([...answered].filter((pair) => !rows.has(pair)).sort()).toEqual([]);
  });
});
