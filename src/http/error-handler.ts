// The last middleware: every error becomes the JSON envelope; internals go to the log, not the client.

import type { ErrorRequestHandler, RequestHandler } from 'express';
import type { Logger } from 'pino';
import { AppError, internal, invalidJson, notFound, StoreUnavailableError, valueTooLarge } from '../errors';
import { requestId, routeTemplate } from './observability';

/** Errors raised by body-parser before our handlers run, by their `type`. */
function fromBodyParser(error: { type?: string; limit?: number }): AppError | undefined {
  switch (error.type) {
    case 'entity.too.large':
      return valueTooLarge(`The request body is larger than ${error.limit} bytes.`);
    case 'entity.parse.failed':
    case 'encoding.unsupported':
    case 'charset.unsupported':
    case 'request.size.invalid':
      return invalidJson();
    case 'request.aborted':
      return new AppError(400, 'invalid_request', 'The request body was not received whole.', { details: [] });
    default:
      return undefined;
  }
}

export const notFoundHandler: RequestHandler = () => {
  throw notFound('No such route.');
};

export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (error: unknown, req, res, _next) => {
    let appError: AppError;
    if (error instanceof AppError) {
      appError = error;
    } else {
      appError = fromBodyParser(error as { type?: string }) ?? internal();
    }
    const where = { reqId: requestId(res), method: req.method, route: routeTemplate(req.originalUrl.split('?')[0]) };
    if (error instanceof StoreUnavailableError) {
      logger.warn({ ...where, err: error.cause }, 'store unavailable');
    } else if (appError.status >= 500) {
      logger.error({ ...where, err: error }, 'request failed');
    }
    if (res.headersSent) {
      res.destroy();
      return;
    }
    if (appError.status === 503) res.setHeader('Retry-After', '1');
    res.status(appError.status).json(appError.toJSON());
  };
}
