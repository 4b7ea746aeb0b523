import { spawn, type ChildProcess } from 'node:child_process';

/** `npm start` (tools/start.ts) as a child process whose output a test can wait on. */
export class StackProcess {
  readonly child: ChildProcess;
  output = '';
  private readonly exit: Promise<number | null>;

  /**
   * @param opts.viaNpm run the real `npm start` (then `child` is the npm process, as a user's
   *   signals would reach it), instead of the start script itself.
   */
  constructor(args: readonly string[], env: Record<string, string | undefined>, opts: { viaNpm?: boolean } = {}) {
    const [cmd, argv] = opts.viaNpm
      ? ['npm', ['start', '--silent', ...(args.length ? ['--', ...args] : [])]]
      : [process.execPath, ['--import', 'tsx', 'tools/start.ts', ...args]];
    this.child = spawn(cmd, argv, {
      env: { ...process.env, ...env, FORCE_COLOR: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.exit = new Promise((r) => this.child.once('exit', (code) => r(code)));
    for (const s of [this.child.stdout!, this.child.stderr!]) {
      s.setEncoding('utf8');
      s.on('data', (c: string) => {
        this.output += c;
        if (process.env.COLA_TEST_VERBOSE) process.stderr.write(c);
      });
    }
  }

  /** Resolves when the output matches `re`; rejects on exit or timeout with the output's tail. */
  async waitFor(re: RegExp, timeoutMs: number): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const m = this.output.match(re);
      if (m) return m;
      if (this.child.exitCode !== null) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`no ${re} in the output of npm start (exit ${this.child.exitCode}); last output:\n${this.tail(60)}`);
  }

  tail(lines: number): string {
    return this.output
      .split('\n')
      .filter((l) => !l.startsWith('var Module'))
      .slice(-lines)
      .join('\n');
  }

  exited(): Promise<number | null> {
    return this.exit;
  }
}

/** Whether a process with this pid still exists. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
