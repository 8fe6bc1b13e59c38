/**
 * Five projects. The HTTP suites (test/http) and the client's suites (test/client) run against the
 * embedded SQLite store and against Redis; *.redis.test.ts files run only against Redis; everything
 * else (unit, deployment files, embedded-store, process, CLI and browser tests) runs once, in the
 * sqlite project. The topology project runs
 * the pure-HTTP suites again through nginx in front of three KV processes on one Redis. The
 * cluster and sentinel projects run the store conformance suite and the HTTP suites against a
 * Redis Cluster and a Sentinel group started on loopback, plus their own topology tests.
 * @type {import('jest').Config}
 */
const common = {
  preset: 'ts-jest',
  testEnvironment: 'node',
  rootDir: __dirname,
  roots: ['<rootDir>/test'],
  testTimeout: 20000,
  // Every response a suite receives through supertest is checked against the OpenAPI document.
  setupFilesAfterEnv: ['<rootDir>/test/setup/openapi-contract.ts'],
};

module.exports = {
  globalSetup: '<rootDir>/test/global-setup.ts',
  globalTeardown: '<rootDir>/test/global-teardown.ts',
  testTimeout: 20000,
  // Two cores: two workers keep Redis and the machine responsive while suites run.
  maxWorkers: 2,
  // A worker that held a few hundred MB of test data needs more than the default 500 ms to exit
  // (freeing its heap); with less, jest reports it as "failed to exit gracefully" and kills it.
  workerGracefulExitTimeout: 3000,
  projects: [
    {
      ...common,
      displayName: 'sqlite',
      testMatch: ['<rootDir>/test/**/*.test.ts'],
      testPathIgnorePatterns: ['\\.redis\\.test\\.ts$', '/test/redis-topologies/'],
      setupFiles: ['<rootDir>/test/setup/store-sqlite.ts'],
    },
    {
      ...common,
      displayName: 'redis',
      testMatch: ['<rootDir>/test/http/**/*.test.ts', '<rootDir>/test/client/**/*.test.ts', '<rootDir>/test/**/*.redis.test.ts'],
      testPathIgnorePatterns: ['/test/redis-topologies/'],
      setupFiles: ['<rootDir>/test/setup/store-redis.ts'],
    },
    {
      ...common,
      displayName: 'topology',
      // The HTTP suites that need nothing but HTTP, through nginx in front of three KV processes.
      testMatch: ['<rootDir>/test/http/{items,errors,races,properties,model,atomic,transfer,watch,admin-keys}.test.ts'],
      setupFiles: ['<rootDir>/test/setup/store-topology.ts'],
      globalSetup: '<rootDir>/test/topology/global-setup.ts',
      globalTeardown: '<rootDir>/test/topology/global-teardown.ts',
    },
    ...['cluster', 'sentinel'].map((topology) => ({
      ...common,
      displayName: topology,
      testMatch: [
        '<rootDir>/test/http/*.test.ts',
        '<rootDir>/test/store/redis-store.redis.test.ts',
        `<rootDir>/test/redis-topologies/{${topology},shared}/*.test.ts`,
      ],
      // Standalone-only: these start and stop a Redis of their own.
      testPathIgnorePatterns: ['/test/http/outage\\.redis\\.test\\.ts$'],
      setupFiles: [`<rootDir>/test/setup/store-${topology}.ts`],
      globalSetup: '<rootDir>/test/redis-topologies/global-setup.ts',
      globalTeardown: '<rootDir>/test/redis-topologies/global-teardown.ts',
    })),
  ],
};
