// esbuild settings for kvctl: a `#!/usr/bin/env node` bundle, made executable after each build
// so that the root package.json's `bin` entry runs it (`npx kvctl`).
const { chmodSync, existsSync } = require('node:fs');

module.exports = {
  outExtension: { '.js': '.js' },
  banner: { js: '#!/usr/bin/env node' },
  plugins: [
    {
      name: 'executable',
      setup(build) {
        build.onEnd(() => {
          const file = build.initialOptions.outfile ?? `${build.initialOptions.outdir}/main.js`;
          if (existsSync(file)) chmodSync(file, 0o755);
        });
      },
    },
  ],
};
