// The admin token every test app and test process is configured with.
export const ADMIN_TOKEN = 'test-admin-token-0123456789';
