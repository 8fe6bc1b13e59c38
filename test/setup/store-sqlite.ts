// The sqlite jest project: tests that take a store use the embedded one.
process.env.KV_TEST_STORE = 'sqlite';
