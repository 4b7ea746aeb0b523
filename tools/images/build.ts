// `npm run images`: builds every image without any registry (see tools/images/build-all.ts) and
// prints each image's size and build time. DOCKER_HOST selects the engine.
import { buildAllImages, formatReport } from '@cola/deploy';

const started = performance.now();
buildAllImages({ root: process.cwd(), echo: process.argv.includes('--verbose'), log: (l) => console.log(l) }).then(
  (rows) => {
    console.log(`\n${formatReport(rows)}\n\nall images ready in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  },
  (e: unknown) => {
    console.error(`images: ${(e as Error).message}`);
    process.exit(1);
  },
);
