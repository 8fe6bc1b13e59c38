// chain(): a route's handlers as one Express handler, run as Express runs them, through a real app
// on a loopback port (fetch: the contract check reads only KV's own answers, and this app is not KV).

import type { AddressInfo } from 'node:net';
import express from 'express';
import { chain } from '../../src/http/chain';

async function get(app: express.Express): Promise<{ status: number; body: unknown }> {
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  try {
    const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    return { status: res.status, body: await res.json() };
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}

function appWith(handlers: express.RequestHandler[]) {
  const seen: string[] = [];
  const app = express();
  app.get('/', chain(handlers.map((handler, i) => (req, res, next) => {
    seen.push(`h${i}`);
    return handler(req, res, next);
  })));
  app.use((error: Error, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    res.status(500).json({ error: error.message });
  });
  return { app, seen };
}

const pass: express.RequestHandler = (_req, _res, next) => next();
const answer: express.RequestHandler = (_req, res) => {
  res.json({ ok: true });
};

describe('chain', () => {
  it('runs the handlers in order, sync and async, until one answers', async () => {
    const later: express.RequestHandler = async (_req, _res, next) => {
      await new Promise((resolve) => setImmediate(resolve));
      next();
    };
    const { app, seen } = appWith([pass, later, pass, answer, answer]);
    const res = await get(app);
    expect(res.body).toEqual({ ok: true });
    expect(seen).toEqual(['h0', 'h1', 'h2', 'h3']);
  });

  it.each([
    ['next(error)', ((_req, _res, next) => next(new Error('by next'))) as express.RequestHandler, 'by next'],
    ['a throw', (() => {
      throw new Error('thrown');
    }) as express.RequestHandler, 'thrown'],
    ['a rejected promise', (async () => {
      throw new Error('rejected');
    }) as express.RequestHandler, 'rejected'],
  ])('stops at %s and hands the error to the error handler', async (_name, failing, message) => {
    const { app, seen } = appWith([pass, failing, answer]);
    const res = await get(app);
    expect(res.status).toBe(500);
    expect(res.body).toEqual({ error: message });
    expect(seen).toEqual(['h0', 'h1']);
  });

  it('passes on to the next route when every handler calls next()', async () => {
    const { app, seen } = appWith([pass, pass]);
    app.get('/', answer);
    const res = await get(app);
    expect(res.body).toEqual({ ok: true });
    expect(seen).toEqual(['h0', 'h1']);
  });
});
