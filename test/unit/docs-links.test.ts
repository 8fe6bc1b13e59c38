// The documentation's links: every relative link resolves to a file of the repository (and its
// anchor to a heading there), and nothing links or points outside the repository.

import fs from 'node:fs';
import path from 'node:path';

const root = path.join(__dirname, '..', '..');

/** The Markdown files a user reads: the README and everything under docs/. */
function documentationFiles(): string[] {
  const docs = fs
    .readdirSync(path.join(root, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .map((name) => path.join('docs', name));
  return ['README.md', ...docs];
}

/** Markdown without fenced code blocks and inline code, where brackets are not links. */
function prose(markdown: string): string {
  return markdown.replace(/^```[^\n]*\n[\s\S]*?^```[^\n]*$/gm, '').replace(/`[^`\n]*`/g, '');
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

/** The anchors of a Markdown text's headings, with GitHub's -1, -2 … for repeated ones. */
function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  const withoutFences = markdown.replace(/^```[^\n]*\n[\s\S]*?^```[^\n]*$/gm, '');
  for (const match of withoutFences.matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const base = slug(match[1]);
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    anchors.add(count === 0 ? base : `${base}-${count}`);
  }
  return anchors;
}

/** The targets of the inline links `[text](target)` of a Markdown text. */
function linkTargets(markdown: string): string[] {
  return [...prose(markdown).matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((match) => match[1]);
}

/**
 * What is wrong with the links of `file` (a path relative to `repoRoot`) whose text is `markdown`:
 * one line per broken link, empty when all resolve. `read` gives the text of a repository file.
 */
function brokenLinks(file: string, markdown: string, repoRoot: string, read: (relative: string) => string | undefined): string[] {
  const problems: string[] = [];
  for (const target of linkTargets(markdown)) {
    if (/^[a-z][a-z0-9+.-]*:/i.test(target)) {
      if (!/^(https?|mailto):/i.test(target)) problems.push(`${file}: ${target}: only http(s) and mailto links may leave the repository`);
      continue;
    }
    const [pathPart, anchor] = target.split('#', 2) as [string, string | undefined];
    const resolved = pathPart === '' ? path.join(repoRoot, file) : path.resolve(repoRoot, path.dirname(file), decodeURI(pathPart));
    const relative = path.relative(repoRoot, resolved);
    if (relative.startsWith('..') || path.isAbsolute(relative)) {
      problems.push(`${file}: ${target}: leads outside the repository`);
      continue;
    }
    const text = read(relative);
    if (text === undefined) {
      problems.push(`${file}: ${target}: no such file in the repository`);
      continue;
    }
    if (anchor !== undefined && !(relative.endsWith('.md') && anchorsOf(text).has(anchor))) {
      problems.push(`${file}: ${target}: no heading with the anchor #${anchor} in ${relative}`);
    }
  }
  return problems;
}

/** A repository file's text; '' for a directory, undefined when nothing is there. */
function readRepositoryFile(relative: string): string | undefined {
  const full = path.join(root, relative);
  if (!fs.existsSync(full)) return undefined;
  return fs.statSync(full).isDirectory() ? '' : fs.readFileSync(full, 'utf8');
}

/** Text files of the repository, without dependencies, build output, local data and git's own files. */
function repositoryTextFiles(dir = root): string[] {
  const skipped = new Set(['node_modules', '.git', 'dist', 'data', 'coverage']);
  const files: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (!skipped.has(entry.name)) files.push(...repositoryTextFiles(full));
    } else if (entry.isFile() && /\.(md|ts|js|json|ya?ml|conf|lua|sh|txt)$|^(Dockerfile|\.env\.example|run)$/.test(entry.name)) {
      if (entry.name !== 'package-lock.json') files.push(full);
    }
  }
  return files;
}

describe('the link checker', () => {
  const files: Record<string, string> = {
    'README.md': '# KV\n\n## Quick start\n\n## Quick start\n',
    'docs/api.md': '# API\n\n### `PUT /kv/items/{key}`\n\n## Behaviour (where the spec is silent)\n',
  };
  const read = (relative: string) => files[relative];

  it('reports no problem when files and anchors exist, repeated headings and code spans included', () => {
    const markdown = [
      '[a](../README.md#quick-start) [b](../README.md#quick-start-1) [c](api.md#put-kvitemskey)',
      '[d](#behaviour-where-the-spec-is-silent) [e](https://github.com/redis/ioredis/issues/2109)',
      '`[not a link](nowhere.md)`',
      '```sh\n[also not a link](nowhere.md)\n```',
    ].join('\n');
    expect(brokenLinks('docs/api.md', markdown, '/repo', read)).toEqual([]);
  });

  it('reports a missing file, a missing anchor, a link out of the repository and a file: link', () => {
    const markdown = '[a](missing.md) [b](../README.md#quickstart) [c](../../elsewhere/notes.md) [d](file:///etc/passwd)';
    expect(brokenLinks('docs/api.md', markdown, '/repo', read)).toEqual([
      'docs/api.md: missing.md: no such file in the repository',
      'docs/api.md: ../README.md#quickstart: no heading with the anchor #quickstart in README.md',
      'docs/api.md: ../../elsewhere/notes.md: leads outside the repository',
      'docs/api.md: file:///etc/passwd: only http(s) and mailto links may leave the repository',
    ]);
  });
});

describe('the documentation', () => {
  it('has the API reference and the operations guide under docs/', () => {
    expect(documentationFiles()).toEqual(expect.arrayContaining(['README.md', 'docs/api.md', 'docs/operations.md']));
  });

  it.each(documentationFiles())('has only links that resolve inside the repository in %s', (file) => {
    const markdown = fs.readFileSync(path.join(root, file), 'utf8');
    expect(linkTargets(markdown).length).toBeGreaterThan(0);
    expect(brokenLinks(file, markdown, root, readRepositoryFile)).toEqual([]);
  });

  it('links the README to docs/api.md and docs/operations.md', () => {
    const targets = linkTargets(fs.readFileSync(path.join(root, 'README.md'), 'utf8')).map((target) => target.split('#')[0]);
    expect(targets).toEqual(expect.arrayContaining(['docs/api.md', 'docs/operations.md']));
  });

  it('has no file that points to a spec kept outside the repository', () => {
    // Built from parts, so this file does not name it either.
    const outside = new RegExp(['\\.\\./shared', 'shared' + '/SPEC'].join('|'));
    const mentioning = repositoryTextFiles()
      .filter((file) => outside.test(fs.readFileSync(file, 'utf8')))
      .map((file) => path.relative(root, file));
    expect(mentioning).toEqual([]);
  });
});
