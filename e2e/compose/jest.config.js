// Checks docker/ against the workspace, then runs the compose services as local processes.
module.exports = { ...require('../../jest.preset.js'), displayName: 'compose-e2e', rootDir: __dirname, testTimeout: 90_000 };
