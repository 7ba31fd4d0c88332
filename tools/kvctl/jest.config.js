const preset = require('../../jest.preset.js');

module.exports = {
  ...preset,
  displayName: 'kvctl',
  rootDir: __dirname,
  // As in tools/perf: a commander that ships only ES modules is turned into CommonJS by SWC.
  transform: { ...preset.transform, '/node_modules/commander/.+\\.js$': ['@swc/jest', { module: { type: 'commonjs' } }] },
  transformIgnorePatterns: ['/node_modules/(?!commander/)'],
};
