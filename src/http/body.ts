// Reads a JSON request body as text: encoding, size, UTF-8, syntax and nesting, in that order.

import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import zlib from 'node:zlib';
import type { Request, RequestHandler, Response } from 'express';
import { AppError, invalidJson, invalidRequest, unsupportedMediaType, valueTooLarge } from '../errors';
import { deadline } from './deadline';
import { scanJson } from './json-text';

/** Request bodies are checked against this, and only then are objects built from them. */
export interface JsonBody {
  text: string;
  /** Offsets of the top-level members' values; null when the body is not an object. */
  members: Map<string, [number, number]> | null;
  /** Offsets of the top-level elements; null when the body is not an array. */
  elements: [number, number][] | null;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

const DECODERS: Record<string, () => zlib.Gunzip | zlib.Inflate | zlib.BrotliDecompress> = {
  gzip: () => zlib.createGunzip(),
  'x-gzip': () => zlib.createGunzip(),
  deflate: () => zlib.createInflate(),
  br: () => zlib.createBrotliDecompress(),
};

/** After a 413, how long and how much of the rest of the body is read and dropped before closing. */
const LINGER_MS = 2000;
const LINGER_BYTES = 16 * 1024 * 1024;

/**
 * A lingering close, as nginx and Apache do it: closing a socket that still has unread request
 * bytes makes the kernel send a reset, and a client that is still sending its body may then lose
 * the answer it was sent. So after the answer the sending side is closed, and what still arrives
 * is read and dropped (without parsing it) until the client closes too, or for at most
 * LINGER_MS / LINGER_BYTES.
 */
function lingerOnClose(socket: Socket): void {
  socket.destroySoon = function lingeringClose(this: Socket) {
    this.end();
    this.removeAllListeners('data');
    let dropped = 0;
    const timer = setTimeout(() => this.destroy(), LINGER_MS);
    this.on('data', (chunk: Buffer) => {
      dropped += chunk.length;
      if (dropped > LINGER_BYTES) this.destroy();
    });
    this.once('end', () => this.destroy());
    this.once('close', () => clearTimeout(timer));
    this.resume();
  };
}

/**
 * A body over the limit: the rest of it is never parsed. The connection is closed after the
 * answer, since what the client is still sending cannot be told apart from a next request.
 */
function bodyTooLarge(res: Response, maxBytes: number): AppError {
  res.setHeader('Connection', 'close');
  if (res.socket) lingerOnClose(res.socket as Socket);
  return valueTooLarge(`The request body is larger than ${maxBytes} bytes.`);
}

function hasBody(req: IncomingMessage): boolean {
  return req.headers['transfer-encoding'] !== undefined || (req.headers['content-length'] ?? '0') !== '0';
}

/**
 * Reads the body into a Buffer of at most `maxBytes` decoded bytes. A declared Content-Length over
 * the limit is refused before a byte is read; a chunked or compressed body is cut off at the
 * limit, so a slow, endless or highly compressed body costs at most `maxBytes` of memory.
 * gzip, deflate and br are decoded; any other Content-Encoding is 415, a corrupt one 400.
 */
export function readRawBody(req: IncomingMessage, res: Response, maxBytes: number): Promise<Buffer> {
  if (!hasBody(req)) return Promise.resolve(Buffer.alloc(0));
  const encoding = (req.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
  const decoder = encoding === 'identity' ? undefined : DECODERS[encoding];
  if (encoding !== 'identity' && !decoder) {
    return Promise.reject(
      unsupportedMediaType(`The Content-Encoding "${encoding.slice(0, 32)}" is not supported; send identity, gzip, deflate or br.`),
    );
  }
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) return Promise.reject(bodyTooLarge(res, maxBytes));

  return new Promise<Buffer>((resolve, reject) => {
    const decoding = decoder?.();
    const source: Readable = decoding ? req.pipe(decoding) : req;
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const settle = (error: AppError | null) => {
      if (settled) return;
      settled = true;
      source.removeListener('data', onData);
      if (decoding) {
        req.unpipe(decoding);
        decoding.destroy();
      }
      if (error) {
        req.pause();
        reject(error);
      } else {
        resolve(Buffer.concat(chunks, size));
      }
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) return settle(bodyTooLarge(res, maxBytes));
      chunks.push(chunk);
    };
    source.on('data', onData);
    source.once('end', () => settle(null));
    source.once('error', () =>
      settle(decoder ? invalidJson(`The request body is not valid ${encoding} data.`) : bodyNotReceived()),
    );
    req.once('aborted', () => settle(bodyNotReceived()));
    if (decoding) req.once('error', () => settle(bodyNotReceived()));
  });
}

const bodyNotReceived = () => invalidRequest([], 'The request body was not received whole.');

/**
 * Buffers the raw body (up to `maxBytes` decoded bytes) on req.body for the JSON reader below;
 * the content type is checked by `readJsonBody`.
 */
export function rawBody(maxBytes: number): RequestHandler {
  return (req, res, next) => {
    deadline(res).pause();
    readRawBody(req, res, maxBytes).then((body) => {
      deadline(res).resume();
      req.body = body;
      next();
    }, next);
  };
}
/** True for the media type (application/json by default), with no charset or charset=utf-8. */
export function isMediaType(header: string | undefined, mediaType = 'application/json'): boolean {
  if (!header) return false;
  const [type, ...params] = header.split(';').map((part) => part.trim().toLowerCase());
  if (type !== mediaType) return false;
  return params.every((param) => !param.startsWith('charset=') || /^charset="?utf-8"?$/.test(param));
}

/**
 * The body as checked JSON text. `maxDepth` counts containers from the top (the body object is 1).
 * Throws 415 unsupported_media_type, 400 invalid_json, or 400 invalid_request for too deep a body.
 */
export function readJsonBody(req: Request, maxDepth: number, mediaType = 'application/json'): JsonBody {
  if (!isMediaType(req.headers['content-type'], mediaType)) throw unsupportedMediaType(`The request body must be ${mediaType}.`);
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
  return { text, members: scan.members, elements: scan.elements };
}

/**
 * The body's top-level fields as an object to validate. Fields named in `asText` are left as
 * `true` placeholders (present), so large or precise values are never parsed. With `allowed`,
 * unknown fields are refused here, before any of them is parsed: a body of many unknown fields
 * costs one pass over its names, not a parse and a schema error each.
 */
export function bodyFields(body: JsonBody, options: { asText?: string[]; allowed?: readonly string[] } = {}): unknown {
  if (!body.members) return JSON.parse(body.text);
  const { asText = [], allowed } = options;
  if (allowed) {
    const unknown = [...body.members.keys()].filter((name) => !allowed.includes(name));
    if (unknown.length > 0) {
      throw invalidRequest(unknown.map((name) => ({ path: `body.${name.slice(0, 100)}`, message: 'is not an allowed field' })));
    }
  }
  const fields: Record<string, unknown> = {};
  for (const [name, [start, end]] of body.members) {
    const value = asText.includes(name) ? true : JSON.parse(body.text.slice(start, end));
    // defineProperty, so a field named "__proto__" is an own field (and refused as unknown).
    Object.defineProperty(fields, name, { value, enumerable: true, writable: true, configurable: true });
  }
  return fields;
}
