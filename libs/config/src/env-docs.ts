import type { EnvSpec } from './env';
import { SERVICE_CONFIGS, testHarnessConfig, toolEnvSpec } from './env-vars';

function table(spec: EnvSpec): string {
  const rows = Object.entries(spec).map(([name, v]) => {
    const dflt = v.default !== undefined ? `\`${String(v.default)}\`` : v.optional ? 'unset' : '**required**';
    return `| \`${name}\` | ${dflt} | ${v.expected} | ${v.doc.replace(/\|/g, '\\|')} |`;
  });
  return ['| Variable | Default | Accepts | What it does |', '| --- | --- | --- | --- |', ...rows].join('\n');
}

/**
 * docs/configuration.md, rendered from the env specs of env-vars.ts: the docs read the same
 * specs the processes load, and a test keeps the file equal to this text.
 */
export function renderEnvDocs(): string {
  const sections = [
    ...Object.entries(SERVICE_CONFIGS).map(([service, cfg]) => `## ${service}\n\n${table(cfg.spec)}`),
    `## Test harness (\`@cola/testing\`)\n\n${table(testHarnessConfig.spec)}`,
    `## Tools and libraries (\`cola\` CLI, \`npm start\`, \`@cola/gl\`)\n\n${table(toolEnvSpec)}`,
  ];
  return [
    '# Configuration',
    '',
    'Every process reads its environment through one validated spec per service in',
    '`libs/config/src/env-vars.ts`; it checks every variable at start and lists each bad one with',
    'its fix. Nothing needs to be set: each variable has a default or is optional. An empty value',
    '(`FOO=`) counts as unset. This page is generated from those specs',
    '(`npx tsx tools/gen-env-docs.ts`); a test keeps it in step.',
    '',
    sections.join('\n\n'),
    '',
  ].join('\n');
}
