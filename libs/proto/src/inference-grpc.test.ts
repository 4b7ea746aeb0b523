import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Server, ServerCredentials, credentials, status, type ServiceError } from '@grpc/grpc-js';
import {
  InferenceClient,
  InferenceService,
  type ClassifyRequest,
  type ClassifyResponse,
  type GenerateResponse,
  type GenerateStreamResponse,
  type InferenceServer,
  type StatusResponse,
} from './index';

/** A trivial Inference implementation: echoes how many texts it was sent, refuses unknown models. */
const echo: InferenceServer = {
  classify(call, callback) {
    const { model, texts } = call.request;
    if (model !== 'base' && !model.startsWith('ft:')) {
      callback({ code: status.NOT_FOUND, details: `model "${model}" is not served` });
      return;
    }
    const n = texts.length;
    callback(null, {
      model,
      version: 3,
      results: texts.map((text) => ({ label: `n=${n}`, scores: [{ label: `n=${n}`, score: text.length / 100 }] })),
    });
  },
  generate(call, callback) {
    const r = call.request;
    callback(null, { model: r.model, version: 0, text: r.prompt.toUpperCase(), completionTokens: r.maxNewTokens });
  },
  generateStream(call) {
    // One message per word of the prompt, upper-cased; a prompt "fail" ends with an error status.
    const r = call.request;
    if (r.prompt === 'fail') {
      call.emit('error', { code: status.INVALID_ARGUMENT, details: 'cannot continue "fail"' });
      return;
    }
    r.prompt.split(' ').forEach((w, i) => call.write({ model: r.model, version: 2, text: w.toUpperCase(), completionTokens: i + 1 }));
    call.end();
  },
  status(_call, callback) {
    callback(null, { models: [{ name: 'base', baseModel: 'cola-gpt-small', version: 0, merged: false, mergeGroup: '', updatedAtMs: 1 }] });
  },
};

/** Promisifies a unary call of the generated client. */
function unary<Req, Res>(fn: (req: Req, cb: (err: ServiceError | null, res: Res) => void) => unknown, req: Req): Promise<Res> {
  return new Promise((resolve, reject) => {
    fn(req, (err, res) => (err ? reject(err) : resolve(res)));
  });
}

describe('when the Inference service runs over a real gRPC connection', () => {
  const server = new Server();
  let client: InferenceClient;

  before(async () => {
    server.addService(InferenceService, echo);
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
    );
    client = new InferenceClient(`127.0.0.1:${port}`, credentials.createInsecure());
  });

  after(async () => {
    client.close();
    await new Promise<void>((resolve, reject) => server.tryShutdown((err) => (err ? reject(err) : resolve())));
  });

  it('should classify through the generated client and server definition', async () => {
    const req: ClassifyRequest = { model: 'ft:cola-gpt-small:tenant-a:ftjob-1', texts: ['a', 'bb', 'ccc'] };
    const res = await unary<ClassifyRequest, ClassifyResponse>(client.classify.bind(client), req);
    assert.equal(res.model, req.model);
    assert.equal(res.version, 3);
    assert.equal(res.results.length, 3);
    assert.deepStrictEqual(
      res.results.map((r) => r.label),
      ['n=3', 'n=3', 'n=3'],
    );
    assert.deepStrictEqual(
      res.results.map((r) => r.scores[0]!.score),
      [0.01, 0.02, 0.03],
    );
  });

  it('should generate and report status', async () => {
    const gen = await unary<Parameters<typeof client.generate>[0], GenerateResponse>(client.generate.bind(client), {
      model: 'base',
      prompt: 'call me ishmael',
      maxNewTokens: 5,
      temperature: 0,
      seed: 1,
    });
    assert.deepStrictEqual(gen, { model: 'base', version: 0, text: 'CALL ME ISHMAEL', completionTokens: 5 });
    const st = await unary<Parameters<typeof client.status>[0], StatusResponse>(client.status.bind(client), {});
    assert.deepStrictEqual(
      st.models.map((m) => [m.name, m.baseModel]),
      [['base', 'cola-gpt-small']],
    );
  });

  it("should stream GenerateStream messages in order, and end with the handler's error status", async () => {
    const req = { model: 'base', prompt: 'call me ishmael', maxNewTokens: 5, temperature: 0, seed: 1 };
    const got: GenerateStreamResponse[] = [];
    for await (const m of client.generateStream(req)) got.push(m as GenerateStreamResponse);
    assert.deepStrictEqual(
      got.map((m) => [m.text, m.completionTokens, m.version]),
      [
        ['CALL', 1, 2],
        ['ME', 2, 2],
        ['ISHMAEL', 3, 2],
      ],
    );
    await assert.rejects(
      (async () => {
        for await (const m of client.generateStream({ ...req, prompt: 'fail' })) got.push(m as GenerateStreamResponse);
      })(),
      (e: ServiceError) => e.code === status.INVALID_ARGUMENT && e.details === 'cannot continue "fail"',
    );
    assert.equal(InferenceService.generateStream.responseStream, true);
  });

  it('should carry a handler error to the client as a gRPC status', async () => {
    await assert.rejects(
      unary<ClassifyRequest, ClassifyResponse>(client.classify.bind(client), { model: 'nope', texts: [] }),
      (e: ServiceError) => {
        assert.equal(e.code, status.NOT_FOUND);
        assert.equal(e.details, 'model "nope" is not served');
        return true;
      },
    );
    assert.equal(InferenceService.classify.path, '/cola.v1.Inference/Classify');
  });
});
