// JSON answers written straight to node's response: what res.json adds (JSONP, settings lookups,
// content negotiation of res.send) is work the data routes' answers never need.

import type { Response } from 'express';

/** `body` as JSON with its exact Content-Length. */
export function sendJson(res: Response, status: number, body: unknown): void {
  sendText(res, status, JSON.stringify(body));
}

/** JSON text already made (values placed into it as stored). */
export function sendText(res: Response, status: number, text: string): void {
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(text));
  res.end(text);
}

/**
 * JSON in pieces (text around stored values, which are written as they are, never copied into one
 * buffer); corked, so the headers and every piece leave in one writev.
 */
export function sendChunks(res: Response, status: number, chunks: (Buffer | string)[]): void {
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', chunks.reduce((bytes, chunk) => bytes + (typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length), 0));
  if (chunks.length === 1) {
    res.end(chunks[0]);
    return;
  }
  res.cork();
  for (const chunk of chunks.slice(0, -1)) res.write(chunk);
  res.end(chunks[chunks.length - 1]);
}
