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

/**
 * The one version a request names, from any of its sources (a header, a body field, a query
 * parameter); sources that disagree are a 400.
 */
function oneVersion(sources: [path: string, version: string | undefined][]): string | undefined {
  const given = sources.filter((source): source is [string, string] => source[1] !== undefined);
  const [first, ...others] = given;
  const disagreeing = others.find(([, version]) => version !== first[1]);
  if (disagreeing) {
    throw invalidRequest([{ path: disagreeing[0], message: `disagrees with ${first[0]}; give the version once` }]);
  }
  return first?.[1];
}

/** The condition of a PUT, from the body fields, ?ifVersion and the headers; conflicting sources are a 400. */
export function putCondition(
  fields: { ifNotExists?: boolean; ifVersion?: string },
  queryVersion: string | undefined,
  headers: IncomingHttpHeaders,
): WriteCondition {
  const noneMatch = headers['if-none-match'];
  if (noneMatch !== undefined && noneMatch.trim() !== '*') {
    throw invalidRequest([{ path: 'header.If-None-Match', message: 'on a write must be "*" (create only if absent)' }]);
  }
  const version = oneVersion([
    ['body.ifVersion', fields.ifVersion],
    ['query.ifVersion', queryVersion],
    ['header.If-Match', singleEtag(headers['if-match'], 'If-Match')],
  ]);
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
  const version = oneVersion([
    ['query.ifVersion', queryVersion],
    ['header.If-Match', singleEtag(headers['if-match'], 'If-Match')],
  ]);
  return version === undefined ? { kind: 'none' } : { kind: 'version', version };
}
