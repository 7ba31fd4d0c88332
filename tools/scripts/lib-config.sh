#!/usr/bin/env bash
# Writes the boilerplate of one library project: name, tags (comma-separated).
# Used once per project when the workspace was laid out; kept for adding libraries.
set -euo pipefail
name=$1; tags=$2
dir=libs/$name
mkdir -p "$dir/src"
tag_json=$(printf '%s' "$tags" | awk -F, '{for(i=1;i<=NF;i++) printf "%s\"%s\"", (i>1?", ":""), $i}')
cat > "$dir/project.json" <<JSON
{
  "name": "$name",
  "\$schema": "../../node_modules/nx/schemas/project-schema.json",
  "sourceRoot": "$dir/src",
  "projectType": "library",
  "tags": [$tag_json],
  "targets": {
    "typecheck": { "command": "tsc -p {projectRoot}/tsconfig.json --noEmit" },
    "lint": { "command": "eslint {projectRoot}" },
    "test": { "command": "node tools/scripts/jest.mjs {projectRoot} {projectName}" }
  }
}
JSON
cat > "$dir/tsconfig.json" <<JSON
{
  "extends": "../../tsconfig.base.json",
  "compilerOptions": { "types": ["node", "jest"] },
  "include": ["src/**/*.ts"]
}
JSON
cat > "$dir/jest.config.js" <<JSON
module.exports = { ...require('../../jest.preset.js'), displayName: '$name', rootDir: __dirname };
JSON
