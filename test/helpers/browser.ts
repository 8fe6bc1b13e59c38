// Debian's chromium for browser tests, launched by playwright-core; never a downloaded browser.

import fs from 'node:fs';

export const CHROMIUM = '/usr/bin/chromium';

/**
 * `describe` when chromium is installed, or in CI (where a missing browser must fail the run, and
 * .ci/run installs it); elsewhere the browser tests are reported as skipped, as the Redis tests are
 * without a Redis, so `npm test` passes on a machine without a browser.
 */
export const describeBrowser: jest.Describe = fs.existsSync(CHROMIUM) || process.env.CI === 'true' ? describe : describe.skip;

/** The launch arguments: headless, and no network of chromium's own. */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-quic',
  '--no-first-run',
  '--disable-component-update',
  '--disable-sync',
];
