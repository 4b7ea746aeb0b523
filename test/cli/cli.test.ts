/**
 * A job's whole lifecycle through the `cola` CLI (a child process per command, as a user runs it)
 * against the running stack: tenant, upload, create, list, watch, get, predict, cancel, and the
 * gateway's errors as readable messages.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ENV } from '@cola/config';
import { toJsonl } from '@cola/data';
import { LocalStack, removeDir, writeTinyCheckpoint } from '@cola/devstack';
import { initBackend } from '@cola/gl';
import { useRedis } from '@cola/testing';
import { questionRows } from '../support/question-rows';

const ADMIN_KEY = 'cli-test-admin-key-0123456789abc';

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

describe('when a user drives a job through the cola CLI', () => {
  const redis = useRedis();
  let stack: LocalStack;
  let modelDir: string;
  let dir: string;
  let key = '';

  /** Runs `cola <args>` with the stack's URL (and the tenant key once there is one). */
  function cola(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
    return new Promise((resolve) => {
      const child = spawn(process.execPath, ['--import', 'tsx', 'apps/cli/src/main.ts', ...args], {
        env: { ...process.env, [ENV.COLA_API_URL]: stack.apiUrl, [ENV.COLA_API_KEY]: key, [ENV.GATEWAY_ADMIN_KEY]: ADMIN_KEY, ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      child.once('exit', (code) =>
        resolve({
          code,
          stdout,
          stderr: stderr
            .split('\n')
            .filter((l) => !l.startsWith('var Module'))
            .join('\n'),
        }),
      );
    });
  }

  before(async () => {
    await redis.whenReady();
    await initBackend({ log: null });
    modelDir = await writeTinyCheckpoint(4);
    dir = mkdtempSync(join(tmpdir(), 'cola-cli-'));
    stack = new LocalStack({
      defaultPorts: false,
      redisUrl: redis.url,
      modelDir,
      adminKey: ADMIN_KEY,
      trainers: 1,
      log: process.env.COLA_TEST_VERBOSE ? undefined : () => undefined,
    });
    await stack.start();
  });

  after(async () => {
    await stack?.stop();
    if (modelDir) removeDir(modelDir);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('should explain every command in --help', async () => {
    const help = await cola(['--help']);
    assert.equal(help.code, 0);
    for (const cmd of ['up', 'demo', 'tenants', 'files', 'jobs', 'predict', ENV.COLA_API_URL, ENV.COLA_API_KEY])
      assert.match(help.stdout, new RegExp(cmd));
    const jobs = await cola(['jobs', '--help']);
    for (const cmd of ['create', 'list', 'get', 'cancel', 'watch']) assert.match(jobs.stdout, new RegExp(`\\b${cmd}\\b`));
  });

  it('should create a tenant, upload, train, watch, list, get and predict', { timeout: 180_000 }, async () => {
    const tenant = await cola(['tenants', 'create', 'cli-user']);
    assert.equal(tenant.code, 0, tenant.stderr);
    key = /API key \(shown once\): (sk-cola-\S+)/.exec(tenant.stdout)?.[1] ?? '';
    assert.ok(key, tenant.stdout);

    const path = join(dir, 'questions.jsonl');
    writeFileSync(path, toJsonl(questionRows(64)));
    const upload = await cola(['files', 'upload', path]);
    assert.equal(upload.code, 0, upload.stderr);
    const fileId = /^(file-\S+)\s+questions\.jsonl\s+64 rows/.exec(upload.stdout)?.[1];
    assert.ok(fileId, upload.stdout);

    const created = await cola([
      'jobs',
      'create',
      '--training-file',
      fileId,
      '--validation-file',
      fileId,
      '--aux',
      'lowrank',
      '--rank',
      '4',
      '--epochs',
      '2',
      '--batch-size',
      '8',
      '--max-length',
      '32',
      '--seed',
      '3',
    ]);
    assert.equal(created.code, 0, created.stderr);
    // Create answers the job as it is then: a gpu-host with room may already have opened it.
    const jobId = /^(ftjob-\S+) (?:queued|running) \(classification, lowrank aux\)/.exec(created.stdout)?.[1];
    assert.ok(jobId, created.stdout);

    const watch = await cola(['jobs', 'watch', jobId]);
    assert.equal(watch.code, 0, watch.stderr);
    // The starting model's score, then the final one, in the same metric.
    assert.match(
      watch.stdout,
      new RegExp(`${jobId} succeeded: validation accuracy [\\d.]+ → [\\d.]+; model ft:cola-tiny:cli-user:${jobId}`),
    );
    assert.match(watch.stdout, /step 16\/16/, 'the progress reached the last step (64 rows / 8 × 2 epochs)');

    const list = await cola(['jobs', 'list']);
    assert.match(list.stdout, new RegExp(`^${jobId}\\s+succeeded\\s+classification\\s+lowrank\\s+16/16`, 'm'));
    const got = JSON.parse((await cola(['jobs', 'get', jobId])).stdout) as {
      status: string;
      hyperparameters: { n_epochs: number };
      result: { metric: string };
    };
    assert.deepEqual([got.status, got.hyperparameters.n_epochs, got.result.metric], ['succeeded', 2, 'accuracy']);

    const predict = await cola(['predict', `ft:cola-tiny:cli-user:${jobId}`, 'Is it a whale?', 'It is a whale.']);
    assert.equal(predict.code, 0, predict.stderr);
    const labels = predict.stdout
      .trim()
      .split('\n')
      .map((l) => l.split('\t'));
    assert.equal(labels.length, 2);
    for (const [label, score] of labels) {
      assert.ok(label === 'question' || label === 'statement', label);
      assert.ok(Number(score) >= 0.5 && Number(score) <= 1, score);
    }
  });

  it('should cancel a running job', { timeout: 120_000 }, async () => {
    const path = join(dir, 'long.jsonl');
    writeFileSync(path, toJsonl(questionRows(64)));
    const fileId = /^(file-\S+)/.exec((await cola(['files', 'upload', path])).stdout)![1]!;
    const jobId = /^(ftjob-\S+)/.exec(
      (await cola(['jobs', 'create', '--training-file', fileId, '--epochs', '200', '--batch-size', '8', '--max-length', '32'])).stdout,
    )![1]!;
    const cancel = await cola(['jobs', 'cancel', jobId]);
    assert.equal(cancel.code, 0, cancel.stderr);
    assert.match(cancel.stdout, new RegExp(`^${jobId} (cancelling|cancelled)$`, 'm'));
    const watch = await cola(['jobs', 'watch', jobId]);
    assert.match(watch.stdout, new RegExp(`${jobId} cancelled`));
    assert.equal(watch.code, 1, 'watching a job that did not succeed exits 1');
  });

  it('should print the gateway error code and message and exit 1', async () => {
    const bad = await cola(['jobs', 'list'], { [ENV.COLA_API_KEY]: 'sk-cola-not-a-key' });
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /^error 401 invalid_api_key: Incorrect or revoked API key/m);
    const missing = await cola(['jobs', 'get', 'ftjob-missing']);
    assert.match(missing.stderr, /^error 404 not_found: /m);
    const badParam = await cola(['jobs', 'create', '--training-file', 'file-nope']);
    assert.match(badParam.stderr, /^error 400 file_not_found: .*\(param: training_file\)/m);
    const noKey = await cola(['jobs', 'list'], { [ENV.COLA_API_KEY]: '' });
    assert.match(noKey.stderr, /missing_api_key: no API key: set COLA_API_KEY/);
    const down = await cola(['jobs', 'list'], { [ENV.COLA_API_URL]: 'http://127.0.0.1:9' });
    assert.match(down.stderr, /gateway_unreachable: cannot reach the gateway at http:\/\/127\.0\.0\.1:9/);
  });
});
