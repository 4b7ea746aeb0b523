// A gpu-host process whose compute backend aborts after its first published fit task, as the wasm
// backend does at its heap ceiling: every later matMul throws `Aborted()`. Started by
// wedged-host.test.ts with REDIS_URL set; prints its /healthz status once the abort is seen.
import { initBackend } from '@cola/gl';
import { initGptModel } from '@cola/model';
import { exitOnBackendAbort, HostService, jsonLogger, startHealthServer } from '@cola/pipeline';
import { WEDGE_MODEL_CONFIG, WEDGE_MODEL_SEED } from './wedge-model';
import { wedgeMatMul } from '../../support/wedge-backend';

async function main(): Promise<void> {
  await initBackend({ log: null });
  const model = initGptModel(WEDGE_MODEL_CONFIG, { seed: WEDGE_MODEL_SEED });
  const log = jsonLogger('warn', 'gpu-host');
  const host = new HostService({ redisUrl: process.env.REDIS_URL!, model, pollMs: 50, log });
  // Wedge: the model's matMul kernel now aborts on every call, like a wasm heap past 4 GiB.
  host.once('published', () => wedgeMatMul());
  await host.start();
  const health = await startHealthServer(
    0,
    () => ({ steps: host.steps }),
    '127.0.0.1',
    undefined,
    () => host.failure,
  );
  exitOnBackendAbort(host, log, async () => {
    const res = await fetch(`http://127.0.0.1:${health.port}/healthz`);
    process.stdout.write(`healthz ${res.status} ${await res.text()}\n`);
    await health.close();
  });
}

void main();
