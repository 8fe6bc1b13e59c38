// The query string parser: strict percent-decoding, so a parameter is exactly what the client sent.

import { invalidRequest } from '../errors';

/**
 * Parses `a=1&b=x%20y` into own fields; a name given twice becomes an array (and then fails its
 * schema). Unlike querystring, invalid percent-encoded UTF-8 (`%FF`) is refused with 400
 * invalid_request instead of being read as U+FFFD, by the same rule as keys. Installed as
 * Express's 'query parser' (null when the URL has no query), it runs when a handler first reads req.query.
 */
export function parseQuery(text: string | null | undefined): Record<string, string | string[]> {
  const query: Record<string, string | string[]> = {};
  if (!text) return query;
  const invalid: string[] = [];
  for (const part of text.split('&')) {
    if (part === '') continue;
    const equals = part.indexOf('=');
    const rawName = equals === -1 ? part : part.slice(0, equals);
    const rawValue = equals === -1 ? '' : part.slice(equals + 1);
    const name = decode(rawName);
    const value = decode(rawValue);
    if (name === undefined || value === undefined) {
      invalid.push(name ?? rawName);
      continue;
    }
    const previous = Object.prototype.hasOwnProperty.call(query, name) ? query[name] : undefined;
    const merged = previous === undefined ? value : [...(Array.isArray(previous) ? previous : [previous]), value];
    // defineProperty, so a parameter named "__proto__" is an own field like any other.
    Object.defineProperty(query, name, { value: merged, enumerable: true, writable: true, configurable: true });
  }
  if (invalid.length > 0) {
    throw invalidRequest(
      invalid.map((name) => ({ path: `query.${name.slice(0, 100)}`, message: 'is not valid percent-encoded UTF-8' })),
    );
  }
  return query;
}

function decode(text: string): string | undefined {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    return undefined;
  }
}
