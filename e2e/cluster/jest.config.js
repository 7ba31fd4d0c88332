// Real processes on loopback: slower than unit tests, run one file at a time.
module.exports = { ...require('../../jest.preset.js'), displayName: 'cluster-e2e', rootDir: __dirname, testTimeout: 90_000 };
