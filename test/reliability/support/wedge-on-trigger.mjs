// Preloaded into the reliability suite's gpu-host (NODE_OPTIONS=--import): once the file named by
// COLA_TEST_WEDGE_TRIGGER appears, the process' compute backend wedges (every matMul aborts, as a
// wasm heap past 4 GiB does). One-shot: the trigger is removed as the backend wedges, so the host
// the supervisor restarts is sound. Plain JavaScript: NODE_OPTIONS preloads run before the
// command line's `--import tsx`, so the TypeScript part is imported only once the trigger fires.
import { existsSync, rmSync } from 'node:fs';
import { clearInterval, setInterval } from 'node:timers';

const trigger = process.env.COLA_TEST_WEDGE_TRIGGER;
if (trigger) {
  const timer = setInterval(() => {
    if (!existsSync(trigger)) return;
    rmSync(trigger, { force: true });
    clearInterval(timer);
    import('../../support/wedge-backend.ts')
      // tsx loads the TypeScript file as CommonJS: its exports may sit under `default`.
      .then((m) => (m.wedgeMatMul ?? m.default.wedgeMatMul)())
      .catch((e) => process.stderr.write(`wedge-on-trigger: ${e.message}\n`));
  }, 50);
  timer.unref();
}
