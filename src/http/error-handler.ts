// The last middleware: every error becomes the JSON envelope; internals go to the log, not the client.

import type { ErrorRequestHandler, RequestHandler, Response } from 'express';
import type { Logger } from 'pino';
import { AppError, internal, notFound, StoreUnavailableError } from '../errors';
import { requestId, routeTemplate } from './observability';

export const notFoundHandler: RequestHandler = () => {
  throw notFound('No such route.');
};

/** Sends `error` in the envelope; a 503 tells the client when to retry. */
export function sendError(res: Response, error: AppError): void {
  if (error.status === 503) res.setHeader('Retry-After', '1');
  res.status(error.status).json(error.toJSON());
}

export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (error: unknown, req, res, _next) => {
    const where = { reqId: requestId(res), method: req.method, route: routeTemplate(req.originalUrl.split('?')[0]) };
    if (res.writableEnded) {
      // Already answered (the request deadline passed): what the handler did later is moot.
      logger.debug({ ...where, err: error }, 'error after the response was sent');
      return;
    }
    const appError = error instanceof AppError ? error : internal();
    if (error instanceof StoreUnavailableError) {
      logger.warn({ ...where, err: error.cause }, 'store unavailable');
    } else if (appError.status >= 500) {
      logger.error({ ...where, err: error }, 'request failed');
    }
    if (res.headersSent) {
      res.destroy();
      return;
    }
    sendError(res, appError);
  };
}
