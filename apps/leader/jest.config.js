module.exports = { ...require('../../jest.preset.js'), displayName: 'leader', rootDir: __dirname };
