// Per request: an id (X-Request-Id, accepted or generated, echoed), one log line, and the HTTP metrics.

import { randomUUID } from 'node:crypto';
import type { Request, RequestHandler, Response } from 'express';
import type { Logger } from 'pino';
import type { Metrics } from '../metrics';
import { matchTemplate } from './routes';

/** An id a client may choose: short, and safe to put in a log line or a header. */
const CLIENT_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * The route template of a path, for metric labels and logs: a template of the route table or
 * 'other', so a label never carries a key, an account id or anything else a client chose.
 */
export function routeTemplate(path: string): string {
  return matchTemplate(path) ?? 'other';
}

export function requestId(res: Response): string | undefined {
  return res.locals.requestId as string | undefined;
}

/**
 * First middleware. Logs one line per request when its response is finished (or the client went
 * away): request id, method, route template, status, duration and account. Never headers, keys,
 * tokens or bodies.
 */
export function observeRequests(logger: Logger, metrics: Metrics): RequestHandler {
  return (req: Request, res: Response, next) => {
    const started = process.hrtime.bigint();
    // Taken now: routers rewrite req.url (and so req.path) while they handle the request.
    const route = routeTemplate(req.path);
    const header = req.headers['x-request-id'];
    const id = typeof header === 'string' && CLIENT_REQUEST_ID.test(header) ? header : randomUUID();
    res.locals.requestId = id;
    res.setHeader('X-Request-Id', id);

    const finish = () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const status = res.writableFinished ? res.statusCode : 499;
      metrics.observeRequest(req.method, route, String(status), seconds);
      logger.info(
        {
          reqId: id,
          method: req.method,
          route,
          status,
          durationMs: Math.round(seconds * 1e6) / 1e3,
          account: (res.locals.auth as { accountId?: string } | undefined)?.accountId,
        },
        'request',
      );
    };
    // 'close' comes after 'finish' when the response was sent, and alone when the client went away.
    res.once('close', finish);
    next();
  };
}
