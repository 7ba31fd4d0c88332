// The checker's unit tests: pure functions over hand-written histories, no processes.
const preset = require('../../jest.preset.js');

module.exports = {
  ...preset,
  displayName: 'nemesis',
  rootDir: __dirname,
  // commander ships only ES modules, which jest cannot require on Node 20: SWC turns it into CommonJS.
  transform: { ...preset.transform, '/node_modules/commander/.+\\.js$': ['@swc/jest', { module: { type: 'commonjs' } }] },
  transformIgnorePatterns: ['/node_modules/(?!commander/)'],
};
