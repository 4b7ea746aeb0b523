import { status as GrpcStatus, type sendUnaryData, type ServerUnaryCall, type ServiceError } from '@grpc/grpc-js';
import type { InferenceServer, ServedModel } from '@cola/proto';
import type { ColaMetrics } from '@cola/metrics';
import type { HostLogger } from '../service/logger';
import { classifyTexts, completePrompt, type InferenceLimits } from './inference';
import { InferenceError } from './inference-error';
import { generateStreamHandler } from './generate-stream-handler';
import { BASE_MODEL_NAME } from './model-name';
import type { ServedModels } from './served-models';
import type { ServedStore } from './served-store';

/** What the handlers need. */
export interface InferenceHandlerDeps {
  models: ServedModels;
  served: ServedStore;
  /** Name of the base model (`ServedModel.base_model` of `base` and of jobs whose spec names none). */
  baseModelName: string;
  limits: InferenceLimits;
  log: HostLogger;
  /** Records each call's latency as `cola_inference_seconds{method,outcome}`; optional. */
  metrics?: ColaMetrics;
}

/**
 * Runs one unary call: a caller's mistake becomes its gRPC status with the message; anything
 * else is logged and answered INTERNAL without internals (the service keeps running).
 */
function unary<Req, Res>(deps: InferenceHandlerDeps, method: string, run: (req: Req) => Promise<Res>) {
  return (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>): void => {
    const t0 = performance.now();
    const observe = (outcome: string): void => deps.metrics?.observeMs('inferenceSeconds', performance.now() - t0, { method, outcome });
    run(call.request).then(
      (res) => {
        observe('ok');
        callback(null, res);
      },
      (e: unknown) => {
        observe(e instanceof InferenceError ? 'rejected' : 'error');
        if (e instanceof InferenceError) {
          callback({ code: e.grpcCode, details: e.message } as ServiceError);
          return;
        }
        deps.log('error', `${method} failed`, { error: (e as Error).stack ?? String(e) });
        callback({ code: GrpcStatus.INTERNAL, details: `${method} failed on the merger; see its logs` } as ServiceError);
      },
    );
  };
}

/** The cola.v1 Inference service implementation (for `server.addService(InferenceService, ...)`). */
export function inferenceHandlers(deps: InferenceHandlerDeps): InferenceServer {
  const { models, limits } = deps;
  return {
    classify: unary(deps, 'Classify', async (req) => {
      const lease = await models.acquire(req.model);
      try {
        return { model: req.model, version: lease.loaded.version, results: classifyTexts(lease.loaded, req.texts, limits) };
      } finally {
        lease.release();
      }
    }),
    generate: unary(deps, 'Generate', async (req) => {
      const lease = await models.acquire(req.model);
      try {
        const c = completePrompt(
          lease.loaded,
          req.prompt,
          { maxNewTokens: req.maxNewTokens, temperature: req.temperature, seed: req.seed },
          limits,
        );
        return { model: req.model, version: lease.loaded.version, text: c.text, completionTokens: c.tokens };
      } finally {
        lease.release();
      }
    }),
    generateStream: generateStreamHandler(deps),
    status: unary(deps, 'Status', async () => {
      const out: ServedModel[] = [
        { name: BASE_MODEL_NAME, baseModel: deps.baseModelName, version: 0, merged: false, mergeGroup: '', updatedAtMs: 0 },
      ];
      for (const jobId of await deps.served.jobIds()) {
        const meta = await deps.served.meta(jobId);
        if (!meta) continue;
        const base = meta.baseModel || deps.baseModelName;
        out.push({
          name: `ft:${base}:${meta.tenantId}:${jobId}`,
          baseModel: base,
          version: meta.version,
          merged: meta.mergeable,
          mergeGroup: meta.mergeGroup,
          updatedAtMs: meta.updatedAtMs,
        });
      }
      return { models: out };
    }),
  };
}
