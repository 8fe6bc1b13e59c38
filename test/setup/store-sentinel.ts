// The sentinel jest project: tests that take a store use the Sentinel group its global setup started.
process.env.KV_TEST_STORE = 'redis';
process.env.KV_TEST_REDIS_TOPOLOGY = 'sentinel';
