/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // Type checking is done once by `tsc --noEmit` in the test command; transpiling each file
  // on its own keeps jest fast.
  transform: { '^.+\\.ts$': ['ts-jest', { diagnostics: false }] },
  // End-to-end suites start real etcd, kube-apiserver and Envoy processes; they share one
  // machine of 2 cores, so they run one file at a time.
  maxWorkers: 1,
  testTimeout: 60000,
};
