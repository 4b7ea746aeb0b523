import { SingleBar, Presets } from 'cli-progress';

/** Options of {@link createProgressBar}. */
export interface ProgressBarOptions {
  /** Text before the bar, e.g. the run's name. */
  label: string;
  /** Total units (steps). */
  total: number;
  /** Silence the bar (tests, or `--quiet`). Default: off when stderr is not a TTY and CI is set. */
  quiet?: boolean;
}

/** The values a training bar shows next to the counter. */
export interface ProgressValues {
  loss?: number;
  tokensPerSecond?: number;
  extra?: string;
}

/** A minimal progress handle, so callers do not depend on cli-progress' types. */
export interface ProgressBar {
  update(step: number, values?: ProgressValues): void;
  stop(): void;
}

/**
 * A one-line progress bar on stderr showing step, loss and tokens per second. Without a TTY it
 * prints a line every few seconds instead of redrawing, so CI logs stay readable.
 */
export function createProgressBar(opts: ProgressBarOptions): ProgressBar {
  const quiet = opts.quiet ?? (!process.stderr.isTTY && process.env.CI === 'true');
  if (quiet) return { update: () => undefined, stop: () => undefined };
  const bar = new SingleBar(
    {
      format: `${opts.label.padEnd(22)} {bar} {value}/{total} | loss {loss} | {tps} tok/s {extra}`,
      hideCursor: true,
      noTTYOutput: true,
      notTTYSchedule: 5000,
      stream: process.stderr,
    },
    Presets.shades_classic,
  );
  bar.start(opts.total, 0, { loss: '-', tps: '-', extra: '' });
  return {
    update: (step, v = {}) =>
      bar.update(step, {
        loss: v.loss === undefined ? '-' : v.loss.toFixed(4),
        tps: v.tokensPerSecond === undefined ? '-' : Math.round(v.tokensPerSecond).toString(),
        extra: v.extra ?? '',
      }),
    stop: () => bar.stop(),
  };
}
