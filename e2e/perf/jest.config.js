// Runs the built storm tool (dist/tools/perf) against real processes on loopback.
module.exports = { ...require('../../jest.preset.js'), displayName: 'perf-e2e', rootDir: __dirname, testTimeout: 60_000 };
