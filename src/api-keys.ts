// Until http/admin.ts and app.ts import from accounts.ts (they are being edited elsewhere); removed then.

export { generateApiKeySecret, hashApiKey, randomId, secretsEqual } from './accounts';
