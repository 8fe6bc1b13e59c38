// The redis jest project: tests that take a store use Redis (REDIS_URL, or a container from global-setup).
process.env.KV_TEST_STORE = 'redis';
