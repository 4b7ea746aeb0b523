import assert from 'node:assert/strict';
import { ServiceProcess } from './service-process';

/** Runs `app` until it exits by itself (it should refuse to start) and returns its exit code and its output. */
export async function runUntilExit(app: string, env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  const p = new ServiceProcess({ name: `${app}-refused`, app, env, log: () => undefined });
  await p.start();
  const code = await p.exited();
  return { code, output: p.logs.join('\n') };
}

/**
 * Starts `app` with a bad environment and checks what every service promises then: exit 1, with
 * every problem listed (their count, and each matching one of `problems`) instead of the first.
 */
export async function assertEnvRefused(app: string, env: Record<string, string>, problems: readonly RegExp[]): Promise<void> {
  const { code, output } = await runUntilExit(app, env);
  assert.equal(code, 1, output);
  assert.match(output, new RegExp(`${problems.length} problems?`));
  for (const p of problems) assert.match(output, p);
}
