// One Express handler out of a route's handler list: the list runs in order as Express would run it.

import type { NextFunction, Request, RequestHandler, Response } from 'express';

/**
 * Runs `handlers` in order, each passing on with `next()` or failing with `next(error)`, a throw or
 * a rejected promise, as Express's route dispatch does; the first failure goes to the router's
 * `next(error)` and the rest are skipped. A route bound this way is one layer of the router
 * instead of one per handler: each layer costs every request the router's matching, a promise
 * check and a closure, and the data routes pass five or six handlers on nearly every request.
 *
 * Not supported (nothing here uses them): `next('route')` and `next('router')`.
 */
export function chain(handlers: RequestHandler[]): RequestHandler {
  if (handlers.length === 1) return handlers[0];
  const last = handlers.length - 1;
  return (req: Request, res: Response, done: NextFunction) => {
    let index = 0;
    const next = (error?: unknown): void => {
      if (error !== undefined && error !== null) return done(error);
      if (index > last) return done();
      const handler = handlers[index++];
      try {
        const result: unknown = handler(req, res, next);
        if (result instanceof Promise) result.then(undefined, fail);
      } catch (thrown) {
        fail(thrown);
      }
    };
    const fail = (error: unknown): void => done(error ?? new Error('Rejected promise'));
    next();
  };
}
