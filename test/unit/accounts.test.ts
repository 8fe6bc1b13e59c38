// Account and API key rules: id formats, key secrets and their hashes, scopes, and the admin-token check.

import { createHash } from 'node:crypto';
import {
  ACCOUNT_ID,
  API_KEY_PREFIX,
  DEFAULT_ACCOUNT_ID,
  KEY_ID,
  generateApiKeySecret,
  hashApiKey,
  isAdminToken,
  newApiKey,
  randomId,
} from '../../src/accounts';

describe('ids', () => {
  it('makes account ids that ACCOUNT_ID accepts and KEY_ID refuses', () => {
    const id = randomId('acc');
    expect(id).toMatch(/^acc_[0-9a-f]{20}$/);
    expect(ACCOUNT_ID.test(id)).toBe(true);
    expect(KEY_ID.test(id)).toBe(false);
  });

  it('makes key ids that KEY_ID accepts and ACCOUNT_ID refuses', () => {
    const id = randomId('key');
    expect(id).toMatch(/^key_[0-9a-f]{20}$/);
    expect(KEY_ID.test(id)).toBe(true);
    expect(ACCOUNT_ID.test(id)).toBe(false);
  });

  it('accepts the default account id as an account id', () => {
    expect(ACCOUNT_ID.test(DEFAULT_ACCOUNT_ID)).toBe(true);
  });

  it.each(['', 'acc_', 'acc_0123456789abcdef012', 'acc_0123456789ABCDEF0123', 'xacc_0123456789abcdef0123', 'default2', 'key_0123456789abcdef012z'])(
    'refuses %j as an account or key id',
    (id) => {
      expect(ACCOUNT_ID.test(id)).toBe(false);
      expect(KEY_ID.test(id)).toBe(false);
    },
  );

  it('makes a different id each time', () => {
    const ids = new Set(Array.from({ length: 1000 }, () => randomId('key')));
    expect(ids.size).toBe(1000);
  });
});

describe('API keys', () => {
  it('generates secrets with the kv_ prefix and 192 random bits', () => {
    const secret = generateApiKeySecret();
    expect(secret.startsWith(API_KEY_PREFIX)).toBe(true);
    expect(Buffer.from(secret.slice(API_KEY_PREFIX.length), 'base64url')).toHaveLength(24);
    expect(generateApiKeySecret()).not.toBe(secret);
  });

  it('stores the hex SHA-256 of the secret, never the secret', () => {
    const { record, secret } = newApiKey('acc_0123456789abcdef0123', ['read'], null);
    expect(record.hash).toBe(createHash('sha256').update(secret).digest('hex'));
    expect(hashApiKey(secret)).toBe(record.hash);
    expect(JSON.stringify(record)).not.toContain(secret);
  });

  it('uses the secret it is given, as the bootstrap key is', () => {
    const { record, secret } = newApiKey(DEFAULT_ACCOUNT_ID, ['read', 'write'], 'bootstrap', 'kv_operator_chosen_secret');
    expect(secret).toBe('kv_operator_chosen_secret');
    expect(record).toEqual({
      id: expect.stringMatching(KEY_ID),
      accountId: DEFAULT_ACCOUNT_ID,
      name: 'bootstrap',
      scopes: ['read', 'write'],
      createdAt: expect.any(Number),
      hash: hashApiKey('kv_operator_chosen_secret'),
    });
  });

  it.each([
    [['read'], ['read']],
    [['write'], ['read', 'write']],
    [['write', 'read'], ['read', 'write']],
  ] as const)('gives a key asked for %j the scopes %j: write implies read', (asked, scopes) => {
    expect(newApiKey('acc_0123456789abcdef0123', asked, null).record.scopes).toEqual(scopes);
  });
});

describe('isAdminToken', () => {
  const configured = 'an-admin-token-of-some-length';

  it('accepts the configured token', () => {
    expect(isAdminToken(configured, configured)).toBe(true);
  });

  it.each([
    ['another token', 'not-the-admin-token-at-all'],
    ['a prefix of it', configured.slice(0, -1)],
    ['it with more after it', `${configured}x`],
    ['an empty token', ''],
    ['no token', undefined],
  ])('refuses %s', (_what, presented) => {
    expect(isAdminToken(presented, configured)).toBe(false);
  });

  it('refuses every token when no admin token is configured', () => {
    expect(isAdminToken(configured, undefined)).toBe(false);
    expect(isAdminToken(undefined, undefined)).toBe(false);
    expect(isAdminToken('', undefined)).toBe(false);
  });
});
