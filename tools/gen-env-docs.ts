// Writes docs/configuration.md from the env specs of libs/config (the test in test/workspace
// fails when the file and the specs disagree).
import { writeFileSync } from 'node:fs';
import { renderEnvDocs } from '@cola/config';

writeFileSync(new URL('../docs/configuration.md', import.meta.url), renderEnvDocs());
