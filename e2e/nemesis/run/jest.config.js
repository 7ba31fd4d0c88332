// The seeded nemesis against real processes (the `e2e` target): one file, run in band.
const path = require('node:path');
const unit = require('../jest.config.js');

module.exports = {
  ...unit,
  displayName: 'nemesis-run',
  rootDir: path.join(__dirname, '..'),
  testMatch: ['<rootDir>/src/**/*.e2e.ts'],
  testTimeout: 240_000,
};
