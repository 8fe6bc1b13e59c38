// Reading GET /kv/watch in tests: Server-Sent Events parsed one by one, from an app in this process or a URL.

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Express } from 'express';
import type { Target } from './client';

export interface SseEvent {
  id?: string;
  event: string;
  /** The parsed JSON of `data`. */
  data: { key?: string; version?: string | null; expiresAt?: string | null; value?: unknown };
  /** `data` as sent (big numbers intact). */
  rawData: string;
}

export interface WatchStream {
  status: number;
  headers: Headers;
  /** The body of a refused watch (JSON error), or '' for a stream. */
  errorBody: string;
  /** The next event (comments skipped); fails after `timeoutMs`. */
  next(timeoutMs?: number): Promise<SseEvent>;
  /** Events received so far and not yet taken by next(). */
  pending(): SseEvent[];
  /** Comment lines seen (heartbeats). */
  comments(): number;
  /** Resolves when the stream ends: 'end' when the server ended it, 'error' when the connection broke (or close()). */
  ended: Promise<'end' | 'error'>;
  close(): void;
}

const servers = new WeakMap<Express, Promise<string>>();

/** The base URL of `target`: a URL as is, an app on a loopback port of its own (one per app). */
export function baseUrl(target: Target): Promise<string> {
  if (typeof target === 'string') return Promise.resolve(target);
  let url = servers.get(target);
  if (!url) {
    url = new Promise((resolve) => {
      const server = http.createServer(target);
      server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`));
      server.unref();
    });
    servers.set(target, url);
  }
  return url;
}

/** Opens a watch as `auth` with `query` (e.g. "?prefix=a"); resolves once the response headers are in. */
export async function openWatch(target: Target, auth: string, query = '', headers: Record<string, string> = {}): Promise<WatchStream> {
  const controller = new AbortController();
  const res = await fetch(`${await baseUrl(target)}/kv/watch${query}`, {
    headers: { Authorization: auth, ...headers },
    signal: controller.signal,
  });
  if (res.status !== 200 || !res.body) {
    const errorBody = await res.text();
    return {
      status: res.status,
      headers: res.headers,
      errorBody,
      next: () => Promise.reject(new Error(`the watch was refused: ${res.status} ${errorBody}`)),
      pending: () => [],
      comments: () => 0,
      ended: Promise.resolve('end'),
      close: () => undefined,
    };
  }

  const events: SseEvent[] = [];
  const waiting: ((event: SseEvent) => void)[] = [];
  let comments = 0;
  let buffer = '';
  const decoder = new TextDecoder();
  const take = (block: string) => {
    let id: string | undefined;
    let event = 'message';
    const data: string[] = [];
    let comment = false;
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) comment = true;
      else if (line.startsWith('id: ')) id = line.slice(4);
      else if (line.startsWith('event: ')) event = line.slice(7);
      else if (line.startsWith('data: ')) data.push(line.slice(6));
    }
    if (data.length === 0) {
      if (comment) comments++;
      return;
    }
    const rawData = data.join('\n');
    const parsed: SseEvent = { id, event, rawData, data: JSON.parse(rawData) };
    const waiter = waiting.shift();
    if (waiter) waiter(parsed);
    else events.push(parsed);
  };
  const reader = res.body.getReader();
  const ended = (async (): Promise<'end' | 'error'> => {
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return 'end';
        buffer += decoder.decode(value, { stream: true });
        let end: number;
        while ((end = buffer.indexOf('\n\n')) !== -1) {
          take(buffer.slice(0, end));
          buffer = buffer.slice(end + 2);
        }
      }
    } catch {
      // A broken connection, or aborted by close().
      return 'error';
    }
  })();

  return {
    status: res.status,
    headers: res.headers,
    errorBody: '',
    next(timeoutMs = 5000) {
      const ready = events.shift();
      if (ready) return Promise.resolve(ready);
      return new Promise<SseEvent>((resolve, reject) => {
        const timer = setTimeout(() => {
          waiting.splice(waiting.indexOf(deliver), 1);
          reject(new Error(`no event within ${timeoutMs} ms`));
        }, timeoutMs);
        const deliver = (event: SseEvent) => {
          clearTimeout(timer);
          resolve(event);
        };
        waiting.push(deliver);
      });
    },
    pending: () => [...events],
    comments: () => comments,
    ended,
    close: () => controller.abort(),
  };
}
