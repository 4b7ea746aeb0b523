import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  DEFAULT_REDIS_URL,
  ENV,
  EnvConfigError,
  PORTS,
  SERVICE_CONFIGS,
  TTLS,
  auxTrainerConfig,
  baseModelDirOf,
  bool,
  defineConfig,
  gatewayConfig,
  gpuHostConfig,
  int,
  mergerConfig,
  oneOf,
  optional,
  port,
  str,
  testHarnessConfig,
  url,
} from './index';

const sample = defineConfig({
  REDIS_URL: url({ protocols: ['redis:', 'rediss:'], default: 'redis://127.0.0.1:6379' }),
  GATEWAY_PORT: port({ default: 3000 }),
  WORKERS: int({ default: 2, min: 1, max: 8 }),
  VERBOSE: bool({ default: false }),
  LEVEL: oneOf(['debug', 'info'] as const, { default: 'info' }),
  MODEL_DIR: str({ doc: 'base checkpoint directory' }),
  TRACE_URL: optional(url()),
});

describe('when every variable with a default is unset', () => {
  it('should load the defaults and undefined for optional ones', () => {
    const env = sample.load({ MODEL_DIR: '/models' });
    assert.deepEqual(env, {
      REDIS_URL: 'redis://127.0.0.1:6379',
      GATEWAY_PORT: 3000,
      WORKERS: 2,
      VERBOSE: false,
      LEVEL: 'info',
      MODEL_DIR: '/models',
      TRACE_URL: undefined,
    });
  });

  it('should treat an empty value as unset', () => {
    assert.equal(sample.load({ MODEL_DIR: 'm', GATEWAY_PORT: '' }).GATEWAY_PORT, 3000);
  });
});

describe('when variables are set', () => {
  it('should parse them to typed values', () => {
    const env = sample.load({
      REDIS_URL: 'rediss://cache:6380/2',
      GATEWAY_PORT: '8080',
      WORKERS: ' 8 ',
      VERBOSE: 'YES',
      LEVEL: 'debug',
      MODEL_DIR: 'm',
      TRACE_URL: 'http://otel:4318',
    });
    assert.equal(env.REDIS_URL, 'rediss://cache:6380/2');
    assert.equal(env.GATEWAY_PORT, 8080);
    assert.equal(env.WORKERS, 8);
    assert.equal(env.VERBOSE, true);
    assert.equal(env.LEVEL, 'debug');
    assert.equal(env.TRACE_URL, 'http://otel:4318');
  });
});

describe('when several variables are wrong', () => {
  it('should report every one of them at once, each with how to fix it', () => {
    const bad = {
      REDIS_URL: 'http://127.0.0.1:6379',
      GATEWAY_PORT: '70000',
      WORKERS: '2.5',
      VERBOSE: 'maybe',
      LEVEL: 'trace',
      TRACE_URL: 'not a url',
    };
    assert.throws(
      () => sample.load(bad),
      (err: unknown) => {
        assert.ok(err instanceof EnvConfigError);
        assert.deepEqual(err.problems.map((p) => p.name).sort(), [
          'GATEWAY_PORT',
          'LEVEL',
          'MODEL_DIR',
          'REDIS_URL',
          'TRACE_URL',
          'VERBOSE',
          'WORKERS',
        ]);
        assert.match(err.message, /7 problems/);
        assert.match(err.message, /REDIS_URL="http:\/\/127\.0\.0\.1:6379" is invalid: use a URL starting with redis:\/\/ or rediss:\/\//);
        assert.match(
          err.message,
          /GATEWAY_PORT="70000" is invalid: use a TCP port \(integer 1-65535\), e\.g\. GATEWAY_PORT=3000, or unset it/,
        );
        assert.match(err.message, /WORKERS="2\.5" is invalid: use an integer between 1 and 8/);
        assert.match(err.message, /VERBOSE="maybe" is invalid: use a boolean/);
        assert.match(err.message, /LEVEL="trace" is invalid: use one of debug, info/);
        assert.match(err.message, /MODEL_DIR is required \(base checkpoint directory\): set it to a non-empty string/);
        for (const p of err.problems) assert.match(p.message, new RegExp(`e\\.g\\. ${p.name}=`));
        return true;
      },
    );
  });
});

describe('when a config is defined wrongly', () => {
  it('should refuse a default that its own rule rejects', () => {
    assert.throws(() => port({ default: 0 }), /default 0 is not a TCP port/);
    assert.throws(() => int({ default: 9, max: 8 }), /default 9 is not an integer <= 8/);
    assert.throws(() => url({ protocols: ['redis:'], default: 'http://x' }), /not a URL starting with redis:\/\//);
  });

  it('should refuse a variable name that is not UPPER_SNAKE_CASE', () => {
    assert.throws(() => defineConfig({ redisUrl: str() }), /"redisUrl" is not an UPPER_SNAKE_CASE/);
  });
});

describe('when a service starts with no configuration at all', () => {
  it('should load every service config from an empty environment with the shared defaults', () => {
    const gateway = gatewayConfig.load({});
    assert.equal(gateway.REDIS_URL, DEFAULT_REDIS_URL);
    assert.equal(gateway.GATEWAY_PORT, PORTS.gatewayHttp);
    assert.equal(gateway.MERGER_ADDRESS, `127.0.0.1:${PORTS.mergerGrpc}`);
    assert.equal(gpuHostConfig.load({}).METRICS_PORT, PORTS.metrics.gpuHost);
    assert.equal(auxTrainerConfig.load({}).METRICS_PORT, PORTS.metrics.auxTrainer);
    assert.equal(mergerConfig.load({}).MERGER_GRPC_PORT, PORTS.mergerGrpc);
    assert.equal(testHarnessConfig.load({}).REDIS_URL, undefined);
  });

  it('should only read variables whose names are declared in ENV', () => {
    const declared = new Set<string>(Object.values(ENV));
    for (const cfg of [gatewayConfig, gpuHostConfig, auxTrainerConfig, mergerConfig, testHarnessConfig]) {
      for (const name of Object.keys(cfg.spec)) assert.ok(declared.has(name), `${name} is missing from ENV`);
    }
  });

  it('should describe each variable with its default', () => {
    assert.match(gatewayConfig.describe(), new RegExp(`^GATEWAY_PORT=${PORTS.gatewayHttp} `, 'm'));
    assert.match(testHarnessConfig.describe(), /^REDIS_URL=\(optional\)/m);
  });
});

describe('when the gpu-host reads its environment', () => {
  it('should need no variable at all (embedded defaults)', () => {
    const env = gpuHostConfig.load({});
    assert.equal(env.REDIS_URL, DEFAULT_REDIS_URL);
    assert.equal(env.METRICS_PORT, PORTS.metrics.gpuHost);
    assert.equal(env.PAYLOAD_TTL_SECONDS, TTLS.payloadSeconds);
    assert.equal(env.COLA_MAX_ACTIVE_JOBS, 4);
    assert.equal(env.COLA_MAX_TENANTS_PER_BATCH, 4);
    assert.equal(baseModelDirOf(env), 'models/cola-tiny');
  });

  it('should take COLA_BASE_MODEL_DIR over MODEL_DIR, and MODEL_DIR alone', () => {
    assert.equal(baseModelDirOf(gpuHostConfig.load({ MODEL_DIR: '/m', COLA_BASE_MODEL_DIR: '/base' })), '/base');
    assert.equal(baseModelDirOf(gpuHostConfig.load({ MODEL_DIR: '/m' })), '/m');
  });

  it('should list every bad variable with how to fix it', () => {
    assert.throws(
      () => gpuHostConfig.load({ COLA_MAX_ACTIVE_JOBS: '0', COLA_MAX_TENANTS_PER_BATCH: 'many', REDIS_URL: 'http://x' }),
      (e: unknown) =>
        e instanceof EnvConfigError &&
        e.problems.length === 3 &&
        /COLA_MAX_ACTIVE_JOBS="0" is invalid: use an integer between 1 and 1024/.test(e.message),
    );
  });
});

describe('when a worker service reads the variables only it needs', () => {
  it('should give the aux-trainer its cache and lock defaults, and the merger its model limit', () => {
    const trainer = auxTrainerConfig.load({});
    assert.equal(trainer.COLA_AUX_CACHE_JOBS, 16);
    assert.equal(trainer.COLA_AUX_LOCK_MS, 30_000);
    const merger = mergerConfig.load({ COLA_BASE_MODEL_DIR: '/base' });
    assert.equal(merger.COLA_MERGER_MAX_MODELS, 16);
    assert.equal(baseModelDirOf(merger), '/base');
  });

  it('should let every service start with nothing set: each variable has a default or is optional', () => {
    for (const [service, cfg] of Object.entries(SERVICE_CONFIGS)) {
      for (const [name, v] of Object.entries(cfg.spec)) {
        assert.ok(v.default !== undefined || v.optional === true, `${service}: ${name} has neither a default nor optional()`);
      }
    }
  });
});
