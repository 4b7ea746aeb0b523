/**
 * `npm start`: the whole platform on this machine, then the live demo.
 * - Redis: REDIS_URL, else our own redis-server on a free port in a temp dir.
 * - gpu-host, two aux-trainers, the merger and the gateway as child processes with prefixed logs.
 * - The URLs, the admin key and the pids; then `cola demo` as a child process (COLA_DEMO=0 skips it).
 * - Ctrl-C / SIGINT / SIGTERM / SIGHUP, or the death of the npm process that started us: the
 *   demo, then every service (SIGTERM, SIGKILL after 10 s), then Redis and its temp dir.
 *   `npm start` execs this process (package.json), so the signals npm forwards reach it directly;
 *   npm killed outright is noticed by our parent pid changing.
 * Arguments after `--` go to the demo, e.g. `npm start -- --spam-train 128`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { ENV } from '@cola/config';
import { LocalStack, RedisUnavailableError } from '@cola/devstack';

const tty = process.stdout.isTTY === true && !process.env.NO_COLOR;
const BOLD = tty ? '\x1b[1m' : '';
const RESET = tty ? '\x1b[0m' : '';
const say = (s = ''): void => void process.stdout.write(`${s}\n`);

async function main(): Promise<void> {
  const stack = new LocalStack();
  // Set once the demo runs; the signal handler ends it first.
  const running: { demo?: ChildProcess } = {};
  let shuttingDown = false;
  const shutdown = async (why: string, code: number): Promise<void> => {
    if (shuttingDown) return;
    shuttingDown = true;
    say(`\n${why}: stopping the stack...`);
    const demo = running.demo;
    if (demo && demo.exitCode === null && demo.signalCode === null) demo.kill('SIGTERM');
    await stack.stop();
    say('stopped: every service and the Redis we started have exited.');
    process.exit(code);
  };
  for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(s, () => void shutdown(s, 0));
  // An orphan is re-parented (to init or a subreaper): then whoever started us is gone.
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) void shutdown(`the parent process ${parent} exited`, 0);
  }, 500).unref();

  say(`${BOLD}ColA FTaaS: starting the local stack${RESET} (first start compiles the tfjs wasm module: ~10-30 s per service)`);
  try {
    await stack.start();
  } catch (e) {
    if (e instanceof RedisUnavailableError) say(`\n${e.message}`);
    else say(`\nthe stack did not start: ${(e as Error).message}`);
    await shutdown('start failed', 1);
    return;
  }
  const api = stack.apiUrl;
  // The workers' /metrics arrive with the observability work; until a service serves it, say so.
  const metrics = await Promise.all(
    stack.info.map(async (s) => {
      const ok = await fetch(s.metricsUrl, { signal: AbortSignal.timeout(2000) }).then(
        (r) => r.ok,
        () => false,
      );
      return ok ? s.metricsUrl : `${s.healthUrl}   (no /metrics yet)`;
    }),
  );
  say(`
${BOLD}The stack is up${RESET}
  API          ${api}/v1
  API docs     ${api}/docs   (OpenAPI document: ${api}/docs-json)
  status page  ${api}/status   (enter a tenant API key, or open ${api}/status?key=<key>)
  Redis        ${stack.redisUrl}${stack.redisPid ? ` (pid ${stack.redisPid}, removed on exit)` : ' (REDIS_URL, left running)'}
  admin key    ${stack.adminKey}
${stack.info.map((s, i) => `  ${s.name.padEnd(15)}pid ${String(s.pid).padEnd(8)} ${metrics[i]}`).join('\n')}

  CLI:  export ${ENV.COLA_API_URL}=${api} ${ENV.GATEWAY_ADMIN_KEY}=${stack.adminKey}
        npm run cola -- --help
  Ctrl-C stops everything.
`);
  if (process.env[ENV.COLA_DEMO] === '0') return;

  const demo = (running.demo = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'apps/cli/src/main.ts',
      'demo',
      '--model-dir',
      stack.modelDir,
      '--metrics-urls',
      stack.info
        .filter((s) => s.name !== 'gateway')
        .map((s) => s.metricsUrl)
        .join(','),
      ...process.argv.slice(2),
    ],
    {
      stdio: 'inherit',
      // Its own process group: a terminal's Ctrl-C reaches us, and we end the demo in order.
      detached: true,
      env: { ...process.env, [ENV.COLA_API_URL]: api, [ENV.GATEWAY_ADMIN_KEY]: stack.adminKey },
    },
  ));
  const code = await new Promise<number>((r) => demo.once('exit', (c) => r(c ?? 1)));
  if (shuttingDown) return;
  if (code !== 0) say(`\nthe demo failed (exit ${code}); the stack keeps running for a look around. Ctrl-C stops it.`);
  else say(`\n${BOLD}demo complete.${RESET} The stack keeps running: try the CLI or the status page. Ctrl-C stops it.`);
}

main().catch((e: unknown) => {
  process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
