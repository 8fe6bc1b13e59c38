// The cluster jest project: tests that take a store use the Redis Cluster its global setup started.
process.env.KV_TEST_STORE = 'redis';
process.env.KV_TEST_REDIS_TOPOLOGY = 'cluster';
