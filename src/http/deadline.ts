// The request deadline: a request waiting on the store fails with 503 in bounded time, whatever it does inside.

import type { RequestHandler, Response } from 'express';
import { StoreUnavailableError } from '../errors';

/** Started per request by `requestDeadline`; reading a request body pauses it. */
export interface Deadline {
  /** Stops the clock while the client is sending its body: that time is the client's, not the store's. */
  pause(): void;
  resume(): void;
}

const NO_DEADLINE: Deadline = { pause() {}, resume() {} };

export function deadline(res: Response): Deadline {
  return (res.locals.deadline as Deadline | undefined) ?? NO_DEADLINE;
}

/**
 * Answers 503 `unavailable` (through `answer`) when a request has no response `ms` after it
 * started, not counting the time its body took to arrive. Each Redis command has a timeout of its
 * own, but a request makes several (rate limit, authentication, the operation) and commands
 * queue behind a stuck batch, so per-command timeouts add up; this bounds the whole request.
 * What the request was doing may still complete in the store afterwards, as with any timeout:
 * a 503 write has an unknown outcome (a conditional write is safe to retry).
 */
export function requestDeadline(ms: number, answer: (res: Response, error: StoreUnavailableError) => void): RequestHandler {
  const message = `no answer within the request deadline of ${ms} ms`;
  const expire = (res: Response) => {
    if (!res.headersSent) answer(res, new StoreUnavailableError(new Error(message)));
  };
  return (_req, res, next) => {
    const clock = new RequestClock(ms, expire, res);
    res.once('close', clock.pause);
    res.locals.deadline = clock;
    next();
  };
}

/** One request's clock; a class, so a request costs one object and one timer, not a set of closures. */
class RequestClock implements Deadline {
  private timer: NodeJS.Timeout;

  constructor(
    private readonly ms: number,
    private readonly expire: (res: Response) => void,
    private readonly res: Response,
  ) {
    this.timer = setTimeout(expire, ms, res);
  }

  readonly pause = (): void => clearTimeout(this.timer);

  resume(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(this.expire, this.ms, this.res);
  }
}
