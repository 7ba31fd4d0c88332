// Checks docker/kubernetes offline, then runs its pods as local processes.
// kubernetes-models, its @kubernetes-models/* packages and is-cidr (with cidr-regex) ship only ES modules, exported
// under the `import` condition alone: their entry points are mapped to files here and SWC
// turns them into CommonJS like our own sources.
const path = require('node:path');
const preset = require('../../jest.preset.js');

const modules = path.join(__dirname, '../../node_modules');

module.exports = {
  ...preset,
  displayName: 'kubernetes-e2e',
  rootDir: __dirname,
  testTimeout: 90_000,
  moduleNameMapper: {
    ...preset.moduleNameMapper,
    '^(kubernetes-models|@kubernetes-models/apimachinery)/_schemas/([^.]+)$': `${modules}/$1/_schemas/$2.js`,
    '^(kubernetes-models|@kubernetes-models/apimachinery)/([^_.][^.]*)$': `${modules}/$1/$2/index.js`,
    '^@kubernetes-models/(base|validate)$': `${modules}/@kubernetes-models/$1/dist/index.js`,
  },
  transform: {
    ...preset.transform,
    '/node_modules/(kubernetes-models|@kubernetes-models|is-cidr|cidr-regex)/.+\\.js$': [
      '@swc/jest',
      { jsc: { target: 'es2022' }, module: { type: 'commonjs' } },
    ],
  },
  transformIgnorePatterns: ['/node_modules/(?!(kubernetes-models|@kubernetes-models|is-cidr|cidr-regex)/)'],
};
