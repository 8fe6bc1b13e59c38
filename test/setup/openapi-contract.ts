// Every response a test receives from the service, through supertest or through fetch to a process
// on loopback, is checked against the OpenAPI document: a status the route declares, its body
// schema, its declared headers. A departure fails the test.

import { appendFileSync } from 'node:fs';
import { Test } from 'supertest';
import { contractChecker } from '../helpers/openapi-contract';

interface SuperagentResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text?: string;
  body?: unknown;
}

const check = contractChecker();
let problems: string[] = [];
let checked = 0;

type Assert = (this: Test & { method: string; url: string }, error: unknown, res: SuperagentResponse | undefined, fn: unknown) => unknown;
const proto = Test.prototype as unknown as { assert: Assert };
const assert = proto.assert;
proto.assert = function (error, res, fn) {
  if (res) {
    checked += 1;
    // The path as sent (still percent-encoded), without the origin and the query.
    const path = this.url.replace(/^[a-z]+:\/\/[^/]+/i, '').split('?')[0];
    const text = res.text ?? (Buffer.isBuffer(res.body) && res.body.length > 0 ? '(binary)' : '');
    problems.push(...check({ method: this.method, path, status: res.status, headers: res.headers, text }));
  }
  return assert.call(this, error, res, fn);
};

/**
 * fetch to loopback: the service processes the process, deployment and browser suites start. Only
 * KV's own answers are checked, known by the X-Request-Id it puts on every response: the stand-in
 * upstreams and pages some suites serve, and nginx's own 502 pages, are not the API. The body is read from a clone, so the test reads its own copy; a body still streaming when the test
 * ends (a response the test abandoned) is not checked.
 */
const pending = new Set<Promise<void>>();
const originalFetch = globalThis.fetch;
globalThis.fetch = async function checkedFetch(input, init) {
  const res = await originalFetch(input, init);
  const url = new URL(input instanceof Request ? input.url : String(input));
  const method = (init?.method ?? (input instanceof Request ? input.method : 'GET')).toUpperCase();
  if (!/^(127\.0\.0\.1|localhost|\[::1\])$/.test(url.hostname) || !res.headers.has('x-request-id')) return res;
  const headers = Object.fromEntries(res.headers.entries());
  const read = res
    .clone()
    .text()
    .then(
      (text) => {
        checked += 1;
        problems.push(...check({ method, path: url.pathname, status: res.status, headers, text }));
      },
      () => undefined,
    )
    .finally(() => pending.delete(read));
  pending.add(read);
  return res;
};

afterEach(async () => {
  if (pending.size > 0) await Promise.race([Promise.allSettled([...pending]), new Promise((resolve) => setTimeout(resolve, 1000).unref())]);
  const found = problems;
  problems = [];
  if (found.length > 0) throw new Error(`responses that depart from docs/openapi.json:\n${[...new Set(found)].join('\n')}`);
});

afterAll(() => {
  // KV_CONTRACT_COUNT_FILE: where to add a line per test file with the number of responses checked.
  const file = process.env.KV_CONTRACT_COUNT_FILE;
  if (file) appendFileSync(file, `${expect.getState().testPath} ${checked}\n`);
});
