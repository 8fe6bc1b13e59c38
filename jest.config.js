/**
 * Two projects, one per store. The HTTP suites (test/http) run in both, against the embedded SQLite
 * store and against Redis; *.redis.test.ts files run only against Redis; everything else (unit,
 * embedded-store and process tests) runs once, in the sqlite project.
 * @type {import('jest').Config}
 */
const common = {
  preset: 'ts-jest',
  testEnvironment: 'node',
  rootDir: __dirname,
  roots: ['<rootDir>/test'],
  testTimeout: 20000,
};

module.exports = {
  globalSetup: '<rootDir>/test/global-setup.ts',
  globalTeardown: '<rootDir>/test/global-teardown.ts',
  testTimeout: 20000,
  // Two cores: two workers keep Redis and the machine responsive while suites run.
  maxWorkers: 2,
  projects: [
    {
      ...common,
      displayName: 'sqlite',
      testMatch: ['<rootDir>/test/**/*.test.ts'],
      testPathIgnorePatterns: ['\\.redis\\.test\\.ts$'],
      setupFiles: ['<rootDir>/test/setup/store-sqlite.ts'],
    },
    {
      ...common,
      displayName: 'redis',
      testMatch: ['<rootDir>/test/http/**/*.test.ts', '<rootDir>/test/**/*.redis.test.ts'],
      setupFiles: ['<rootDir>/test/setup/store-redis.ts'],
    },
  ],
};
