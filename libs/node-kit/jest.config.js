module.exports = { ...require('../../jest.preset.js'), displayName: 'node-kit', rootDir: __dirname };
