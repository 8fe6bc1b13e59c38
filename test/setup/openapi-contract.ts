// Every response a test receives through supertest is checked against the OpenAPI document: a
// status the route declares, its body schema, its declared headers. A departure fails the test.

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

afterEach(() => {
  const found = problems;
  problems = [];
  if (found.length > 0) throw new Error(`responses that depart from docs/openapi.json:\n${[...new Set(found)].join('\n')}`);
});

afterAll(() => {
  // KV_CONTRACT_COUNT_FILE: where to add a line per test file with the number of responses checked.
  const file = process.env.KV_CONTRACT_COUNT_FILE;
  if (file) appendFileSync(file, `${expect.getState().testPath} ${checked}\n`);
});
