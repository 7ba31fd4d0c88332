// kvctl as a child process against a real six-node cluster.
module.exports = { ...require('../../jest.preset.js'), displayName: 'kvctl-e2e', rootDir: __dirname, testTimeout: 60_000 };
