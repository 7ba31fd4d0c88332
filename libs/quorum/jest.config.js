module.exports = { ...require('../../jest.preset.js'), displayName: 'quorum', rootDir: __dirname };
