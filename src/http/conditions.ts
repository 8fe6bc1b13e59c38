// Conditional requests: ETags, If-Match / If-None-Match, and the body's ifVersion / ifNotExists.

import type { IncomingHttpHeaders } from 'node:http';
import { invalidRequest } from '../errors';
import type { WriteCondition } from '../store/types';

export const etag = (version: string) => `"${version}"`;

/** A single strong entity tag "<v>", as If-Match carries it; undefined when the header is absent. */
function singleEtag(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  const match = /^\s*"([^"]+)"\s*$/.exec(header);
  if (!match) throw invalidRequest([{ path: `header.${name}`, message: 'must be one quoted version, e.g. "42"' }]);
  return match[1];
}

/** GET revalidation: true when If-None-Match lists this version (weak comparison) or is "*". */
export function ifNoneMatchHits(header: string | undefined, version: string): boolean {
  if (header === undefined) return false;
  if (header.trim() === '*') return true;
  return header.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag(version));
}

/** The condition of a PUT, from the body fields and the headers; conflicting sources are a 400. */
export function putCondition(
  fields: { ifNotExists?: boolean; ifVersion?: string },
  headers: IncomingHttpHeaders,
): WriteCondition {
  const noneMatch = headers['if-none-match'];
  if (noneMatch !== undefined && noneMatch.trim() !== '*') {
    throw invalidRequest([{ path: 'header.If-None-Match', message: 'on a write must be "*" (create only if absent)' }]);
  }
  const headerVersion = singleEtag(headers['if-match'], 'If-Match');
  if (headerVersion !== undefined && fields.ifVersion !== undefined && headerVersion !== fields.ifVersion) {
    throw invalidRequest([{ path: 'header.If-Match', message: 'disagrees with body.ifVersion; give the version once' }]);
  }
  const version = fields.ifVersion ?? headerVersion;
  const absent = fields.ifNotExists === true || noneMatch !== undefined;
  if (absent && version !== undefined) {
    throw invalidRequest([
      { path: 'body.ifNotExists', message: 'cannot be combined with ifVersion / If-Match: a key cannot be both absent and at a version' },
    ]);
  }
  if (absent) return { kind: 'absent' };
  if (version !== undefined) return { kind: 'version', version };
  return { kind: 'none' };
}

/** The condition of a DELETE, from If-Match or ?ifVersion. */
export function deleteCondition(queryVersion: string | undefined, headers: IncomingHttpHeaders): WriteCondition {
  const headerVersion = singleEtag(headers['if-match'], 'If-Match');
  if (headerVersion !== undefined && queryVersion !== undefined && headerVersion !== queryVersion) {
    throw invalidRequest([{ path: 'header.If-Match', message: 'disagrees with query.ifVersion; give the version once' }]);
  }
  const version = queryVersion ?? headerVersion;
  return version === undefined ? { kind: 'none' } : { kind: 'version', version };
}
