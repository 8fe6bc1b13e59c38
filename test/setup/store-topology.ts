// The topology jest project: HTTP suites talk to nginx in front of three KV processes on Redis.
process.env.KV_TEST_STORE = 'topology';
