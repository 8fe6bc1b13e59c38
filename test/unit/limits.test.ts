// The per-account limits: every configured limit is named once, and overrides win over defaults.

import { loadConfig } from '../../src/config';
import { LIMIT_NAMES, effectiveLimits } from '../../src/limits';

describe('limits', () => {
  it('names every limit the configuration sets a default for, and only those', () => {
    const { limits } = loadConfig({});
    expect([...LIMIT_NAMES].sort()).toEqual(Object.keys(limits).sort());
  });

  it('takes each override over its default and the default where there is none', () => {
    const defaults = { maxKeys: 100, readsPerSecond: 10, writesPerSecond: 5 };
    expect(effectiveLimits(defaults, { readsPerSecond: 1 })).toEqual({ maxKeys: 100, readsPerSecond: 1, writesPerSecond: 5 });
    expect(effectiveLimits(defaults, {})).toEqual(defaults);
  });

  it('does not change the defaults it is given', () => {
    const defaults = { maxKeys: 100, readsPerSecond: 10, writesPerSecond: 5 };
    effectiveLimits(defaults, { maxKeys: 1 });
    expect(defaults).toEqual({ maxKeys: 100, readsPerSecond: 10, writesPerSecond: 5 });
  });
});
