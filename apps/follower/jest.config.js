module.exports = { ...require('../../jest.preset.js'), displayName: 'follower', rootDir: __dirname };
