import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import nx from '@nx/eslint-plugin';

export default tseslint.config(
  { ignores: ['**/dist', '**/node_modules', '**/tmp', '**/reports', '**/.nx', '**/*.js', '**/*.mjs', '**/*.cjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    plugins: { '@nx': nx },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      // Apps compose libs; libs never reach into apps or into each other's internals.
      '@nx/enforce-module-boundaries': [
        'error',
        {
          enforceBuildableLibDependency: true,
          allow: [],
          depConstraints: [
            { sourceTag: 'type:store', onlyDependOnLibsWithTags: [] },
            { sourceTag: 'type:quorum', onlyDependOnLibsWithTags: [] },
            { sourceTag: 'type:protocol', onlyDependOnLibsWithTags: ['type:store'] },
            { sourceTag: 'type:replication', onlyDependOnLibsWithTags: ['type:store', 'type:protocol', 'type:quorum'] },
            { sourceTag: 'type:platform', onlyDependOnLibsWithTags: ['type:store', 'type:protocol', 'type:quorum'] },
            { sourceTag: 'type:persistence', onlyDependOnLibsWithTags: ['type:store'] },
            // The typed client speaks the protocol's shapes over HTTP; only tools and tests use it.
            { sourceTag: 'type:client', onlyDependOnLibsWithTags: ['type:store', 'type:protocol'] },
            { sourceTag: 'type:app', onlyDependOnLibsWithTags: ['type:store', 'type:protocol', 'type:quorum', 'type:replication', 'type:platform', 'type:persistence'] },
            { sourceTag: 'type:tool', onlyDependOnLibsWithTags: ['type:store', 'type:protocol', 'type:quorum', 'type:platform', 'type:harness', 'type:client'] },
            { sourceTag: 'type:harness', onlyDependOnLibsWithTags: [] },
            { sourceTag: 'type:e2e', onlyDependOnLibsWithTags: ['type:store', 'type:protocol', 'type:quorum', 'type:harness', 'type:client'] },
            // Deployment manifests are checked against the apps' configuration parsers (node-kit).
            { sourceTag: 'type:deploy', onlyDependOnLibsWithTags: ['type:platform', 'type:harness'] },
          ],
        },
      ],
    },
  },
);
