#!/usr/bin/env node
// `cola` as an installed command (the root package.json's `bin`: `npm link` in the repository, or
// `npm install -g <repository>`). It runs the CLI's TypeScript through tsx with the workspace's
// tsconfig (its @cola/* paths), from whatever directory it is called in.
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { register as registerCjs } from 'tsx/cjs/api';
import { register } from 'tsx/esm/api';

const tsconfig = resolve(dirname(fileURLToPath(import.meta.url)), '../../../tsconfig.json');
registerCjs({ tsconfig });
register({ tsconfig });
await import('../src/main.ts');
