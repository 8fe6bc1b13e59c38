// The error envelope as every error test asserts it: whole, and with nothing that must not leak.

import type { Response } from 'supertest';
import { ADMIN_TOKEN } from './admin-token';

/** Every secret a test file handed out: none may ever appear in an error body. */
export const secrets: string[] = [ADMIN_TOKEN];

/** A stack frame as V8 prints it: "at fn (/path/file.ts:12:34)" or "at /path/file.js:1:2". */
const STACK_FRAME = /\bat\s+(\S+\s+\()?\/?[^\s()]*:\d+:\d+\)?|\n\s+at\s/;

/**
 * The whole error envelope: a JSON body with only `error`, holding a code, a message and the given
 * extra fields; no stack, no stack frames, no secret.
 */
export function expectError(res: Response, status: number, code: string, extra: Record<string, unknown> = {}) {
  expect({ status: res.status, code: res.body?.error?.code }).toEqual({ status, code });
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  expect(Object.keys(res.body)).toEqual(['error']);
  expect(res.body.error).toMatchObject({ code, message: expect.any(String), ...extra });
  expect(res.body.error.message.length).toBeGreaterThan(0);
  expect(res.body.error).not.toHaveProperty('stack');
  const known = ['code', 'message', 'details', 'omittedDetails', 'currentVersion', 'failedChecks', 'retryAfter', 'limit'];
  for (const field of Object.keys(res.body.error)) expect(known).toContain(field);
  expect(res.text).not.toMatch(STACK_FRAME);
  for (const secret of secrets) expect(res.text).not.toContain(secret);
}

