// Flat ESLint config. The module-boundary rule is the architecture: apps wire, libs compute,
// libs/gl never sees Nest, Redis or gRPC, and libs/proto imports nothing of ours.
import nx from '@nx/eslint-plugin';
import tseslint from 'typescript-eslint';
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';

const SERVICE_PACKAGES = ['@nestjs/*', 'ioredis', 'bullmq', '@grpc/*', 'prom-client', 'express'];

const DEP_CONSTRAINTS = [
  // Generated gRPC stubs need @grpc/grpc-js and the wire runtime; nothing else.
  {
    sourceTag: 'type:proto',
    onlyDependOnLibsWithTags: [],
    bannedExternalImports: ['@tensorflow/*', '@nestjs/*', 'ioredis', 'bullmq', 'prom-client'],
  },
  { sourceTag: 'type:config', onlyDependOnLibsWithTags: [], bannedExternalImports: ['@tensorflow/*', ...SERVICE_PACKAGES] },
  { sourceTag: 'type:data', onlyDependOnLibsWithTags: ['type:config', 'type:data'], bannedExternalImports: SERVICE_PACKAGES },
  {
    sourceTag: 'type:compute',
    onlyDependOnLibsWithTags: ['type:config', 'type:compute', 'type:data'],
    bannedExternalImports: SERVICE_PACKAGES,
  },
  {
    sourceTag: 'type:feature',
    onlyDependOnLibsWithTags: ['type:config', 'type:compute', 'type:data', 'type:feature'],
    bannedExternalImports: SERVICE_PACKAGES,
  },
  {
    sourceTag: 'type:service',
    onlyDependOnLibsWithTags: ['type:config', 'type:compute', 'type:data', 'type:feature', 'type:proto', 'type:service'],
  },
  {
    sourceTag: 'type:testing',
    onlyDependOnLibsWithTags: ['type:config', 'type:compute', 'type:data', 'type:feature', 'type:proto', 'type:service', 'type:testing'],
  },
  // The local stack (tests, benches, npm start) drives the services, so it sees every lib.
  {
    sourceTag: 'type:tooling',
    onlyDependOnLibsWithTags: ['type:config', 'type:compute', 'type:data', 'type:feature', 'type:proto', 'type:service', 'type:testing'],
  },
  // The integration tests (test/) start the local stack and drive every service.
  {
    sourceTag: 'type:e2e',
    onlyDependOnLibsWithTags: [
      'type:config',
      'type:compute',
      'type:data',
      'type:feature',
      'type:proto',
      'type:service',
      'type:testing',
      'type:tooling',
    ],
  },
  {
    sourceTag: 'type:app',
    onlyDependOnLibsWithTags: ['type:config', 'type:compute', 'type:data', 'type:feature', 'type:proto', 'type:service'],
  },
];

// Scopes: which deployable owns the code. Shared libs see only shared libs; each service's own
// projects see shared libs and themselves, never another service's. The integration tests
// (test/) drive every service, so they see every scope. A project gets checked against both
// its type row above and its scope row here.
const SERVICE_SCOPES = ['scope:gateway', 'scope:gpu-host', 'scope:aux-trainer', 'scope:merger', 'scope:cli'];
const SCOPE_CONSTRAINTS = [
  { sourceTag: 'scope:shared', onlyDependOnLibsWithTags: ['scope:shared'] },
  ...SERVICE_SCOPES.map((scope) => ({ sourceTag: scope, onlyDependOnLibsWithTags: ['scope:shared', scope] })),
  { sourceTag: 'scope:integration', onlyDependOnLibsWithTags: ['scope:shared', 'scope:integration', ...SERVICE_SCOPES] },
];
DEP_CONSTRAINTS.push(...SCOPE_CONSTRAINTS);

// Tests may also use the test harness (a real Redis) and the local stack whatever the project's
// type; production code may not.
const TEST_DEP_CONSTRAINTS = DEP_CONSTRAINTS.map((c) => ({
  ...c,
  onlyDependOnLibsWithTags:
    c.onlyDependOnLibsWithTags.length && c.sourceTag.startsWith('type:')
      ? [...c.onlyDependOnLibsWithTags, 'type:testing', 'type:tooling']
      : c.onlyDependOnLibsWithTags,
}));

export default tseslint.config(
  { ignores: ['**/node_modules/**', '**/dist/**', '**/.nx/**', 'tmp/**', 'libs/proto/src/gen/**', 'models/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  // Formatting belongs to Prettier (checked in the lint stage); turn off the rules that would fight it.
  prettier,
  {
    files: ['**/*.ts'],
    plugins: { '@nx': nx },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@nx/enforce-module-boundaries': [
        'error',
        {
          enforceBuildableLibDependency: false,
          allow: [],
          depConstraints: DEP_CONSTRAINTS,
        },
      ],
    },
  },
  {
    files: ['**/*.test.ts', 'test/**/*.ts', 'libs/*/test/**/*.ts'],
    rules: {
      // The container tests drive the image builder in tools/ (no project: scripts) and reuse the
      // gateway's HTTP test client.
      '@nx/enforce-module-boundaries': [
        'error',
        {
          enforceBuildableLibDependency: false,
          allow: ['../../tools/**', '../../../tools/**', '../../libs/gateway/test/support/**'],
          depConstraints: TEST_DEP_CONSTRAINTS,
        },
      ],
    },
  },
  {
    files: ['**/*.mjs', '**/*.js'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
  },
  // The status page's browser script: a classic script (no modules) with the browser's globals;
  // its types are checked by its own tsconfig (DOM lib, checkJs) in npm test's type-check stage.
  {
    files: ['libs/gateway/src/status/public/**/*.js'],
    languageOptions: {
      sourceType: 'script',
      globals: {
        window: 'readonly',
        document: 'readonly',
        location: 'readonly',
        sessionStorage: 'readonly',
        fetch: 'readonly',
        URLSearchParams: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        console: 'readonly',
      },
    },
    rules: { 'no-undef': 'error', strict: ['error', 'global'] },
  },
);
