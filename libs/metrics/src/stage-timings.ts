import { METRICS, QUEUES } from '@cola/config';

/** Cumulative seconds of the stages the communication-overhead ratio is made of, summed over services. */
export interface StageSeconds {
  /** gpu-host: encoding adaptation payloads. */
  encode: number;
  /** gpu-host: writing payloads to Redis and queueing their fit tasks. */
  write: number;
  /** Fit tasks waiting in the adapt queue before a trainer starts them. */
  queueWait: number;
  /** aux-trainers: fetching and decoding payloads. */
  decode: number;
  /** gpu-host: the host steps (compute), the ratio's denominator. */
  hostStep: number;
}

/** Sum of every `<name>_sum` sample (all label sets, or those containing `labelFilter`) in Prometheus text. */
function sumOf(text: string, name: string, labelFilter?: string): number {
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}_sum`)) continue;
    if (labelFilter && !line.includes(labelFilter)) continue;
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (Number.isFinite(value)) total += value;
  }
  return total;
}

/**
 * Scrapes the services' /metrics and sums the stage timings of docs/observability.md's
 * communication-overhead ratio. Undefined when no URL answers with the host step series.
 */
export async function scrapeStageSeconds(urls: readonly string[]): Promise<StageSeconds | undefined> {
  const texts = await Promise.all(
    urls.map((u) =>
      fetch(u, { signal: AbortSignal.timeout(3000) }).then(
        (r) => (r.ok ? r.text() : ''),
        () => '',
      ),
    ),
  );
  const all = texts.join('\n');
  if (!all.includes(`${METRICS.hostStepSeconds.name}_sum`)) return undefined;
  return {
    encode: sumOf(all, METRICS.hostEncodeSeconds.name),
    write: sumOf(all, METRICS.hostWriteSeconds.name),
    queueWait: sumOf(all, METRICS.queueWaitSeconds.name, `queue="${QUEUES.adapt}"`),
    decode: sumOf(all, METRICS.trainerDecodeSeconds.name),
    hostStep: sumOf(all, METRICS.hostStepSeconds.name),
  };
}

/** The ratio (encode + write + queue wait + decode) / host step between two scrapes, in %. */
export function overheadPercent(before: StageSeconds, after: StageSeconds): number {
  const d = (k: keyof StageSeconds): number => after[k] - before[k];
  const step = d('hostStep');
  return step > 0 ? (100 * (d('encode') + d('write') + d('queueWait') + d('decode'))) / step : 0;
}
