// The gateway process: validated env → the NestJS app of @cola/gateway → listen. SIGTERM/SIGINT
// close it gracefully (enableShutdownHooks: stop accepting, end SSE streams, close Redis/gRPC).
import { EnvConfigError } from '@cola/config';
import { createGatewayApp, gatewayOptionsFromEnv, GatewayOptionsError } from '@cola/gateway';

async function main(): Promise<void> {
  const { port, options } = gatewayOptionsFromEnv();
  const app = await createGatewayApp(options);
  await app.listen(port, '0.0.0.0');
  const address = app.getHttpServer().address();
  const bound = typeof address === 'object' && address ? address.port : port;
  // Printed whatever LOG_LEVEL says (npm start runs at warn): the one line saying where the gateway listens.
  process.stdout.write(
    `${JSON.stringify({ level: 'info', service: 'gateway', message: 'gateway ready', port: bound, docs: `/docs`, adminRoutes: options.adminKey !== undefined })}\n`,
  );
}

main().catch((e: unknown) => {
  // A bad environment lists every problem with its fix; anything else is a crash at start.
  const known = e instanceof EnvConfigError || e instanceof GatewayOptionsError;
  process.stderr.write(`${known ? (e as Error).message : ((e as Error).stack ?? String(e))}\n`);
  process.exit(1);
});
