#!/usr/bin/env bash
# Scaffolds one nx project (lib or app) with build, test and lint targets.
# Usage: tools/new-project.sh libs/gl "scope:shared,type:compute" "Gradient Learning on TensorFlow.js"
set -euo pipefail
root="$1"; tags="$2"; desc="$3"
name="$(basename "$root")"
mkdir -p "$root/src"
tagjson=$(printf '"%s",' ${tags//,/ }); tagjson="[${tagjson%,}]"
cat > "$root/package.json" <<JSON
{
  "name": "@cola/$name",
  "version": "0.1.0",
  "private": true,
  "description": "$desc",
  "main": "./src/index.ts",
  "types": "./src/index.ts"
}
JSON
cat > "$root/project.json" <<JSON
{
  "name": "$name",
  "\$schema": "../../node_modules/nx/schemas/project-schema.json",
  "sourceRoot": "$root/src",
  "projectType": "$( [[ $root == apps/* ]] && echo application || echo library )",
  "tags": $tagjson,
  "targets": {
    "build": {
      "executor": "nx:run-commands",
      "outputs": ["{workspaceRoot}/dist/$root"],
      "options": { "command": "tsc -p $root/tsconfig.build.json" }
    },
    "test": {
      "executor": "nx:run-commands",
      "options": { "command": "node tools/run-tests.mjs $root" }
    },
    "lint": {
      "executor": "nx:run-commands",
      "options": { "command": "eslint $root" }
    }
  }
}
JSON
cat > "$root/tsconfig.build.json" <<JSON
{
  "extends": "../../tsconfig.base.json",
  "compilerOptions": { "outDir": "../../dist/$root", "rootDir": "../.." },
  "include": ["src/**/*.ts"],
  "exclude": ["src/**/*.test.ts"]
}
JSON
[ -f "$root/src/index.ts" ] || echo "export {};" > "$root/src/index.ts"
