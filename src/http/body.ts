// Reads a JSON request body as text: content type, size, UTF-8, syntax and nesting, in that order.

import type { Request, RequestHandler } from 'express';
import express from 'express';
import { invalidJson, invalidRequest, unsupportedMediaType } from '../errors';
import { scanJson } from './json-text';

/** Request bodies are checked against this, and only then are objects built from them. */
export interface JsonBody {
  text: string;
  /** Offsets of the top-level members' values; null when the body is not an object. */
  members: Map<string, [number, number]> | null;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Buffers the raw body (up to `maxBytes`) for the JSON reader below. Bodies over the limit fail with
 * 413 before they are read whole; the content type is checked by `readJsonBody`.
 */
export function rawBody(maxBytes: number): RequestHandler {
  return express.raw({ type: () => true, limit: maxBytes });
}

/** True for application/json, with no charset or charset=utf-8. */
function isJsonContentType(header: string | undefined): boolean {
  if (!header) return false;
  const [type, ...params] = header.split(';').map((part) => part.trim().toLowerCase());
  if (type !== 'application/json') return false;
  return params.every((param) => !param.startsWith('charset=') || /^charset="?utf-8"?$/.test(param));
}

/**
 * The body as checked JSON text. `maxDepth` counts containers from the top (the body object is 1).
 * Throws 415 unsupported_media_type, 400 invalid_json, or 400 invalid_request for too deep a body.
 */
export function readJsonBody(req: Request, maxDepth: number): JsonBody {
  if (!isJsonContentType(req.headers['content-type'])) throw unsupportedMediaType();
  const raw: unknown = req.body;
  if (!Buffer.isBuffer(raw) || raw.length === 0) throw invalidJson('The request body is empty; send a JSON object.');
  let text: string;
  try {
    text = utf8.decode(raw);
  } catch {
    throw invalidJson('The request body is not valid UTF-8.');
  }
  const scan = scanJson(text, maxDepth);
  if (!scan.ok && scan.reason === 'depth') {
    throw invalidRequest([{ path: 'body', message: `nests deeper than the value limit of ${maxDepth - 1} levels` }]);
  }
  if (!scan.ok) throw invalidJson(`The request body is not valid JSON (at character ${scan.offset}).`);
  return { text, members: scan.members };
}

/**
 * The body's top-level fields as an object to validate. Fields named in `asText` are left as
 * `true` placeholders (present), so large or precise values are never parsed.
 */
export function bodyFields(body: JsonBody, asText: string[] = []): unknown {
  if (!body.members) return JSON.parse(body.text);
  const fields: Record<string, unknown> = {};
  for (const [name, [start, end]] of body.members) {
    const value = asText.includes(name) ? true : JSON.parse(body.text.slice(start, end));
    // defineProperty, so a field named "__proto__" is an own field (and refused as unknown).
    Object.defineProperty(fields, name, { value, enumerable: true, writable: true, configurable: true });
  }
  return fields;
}
