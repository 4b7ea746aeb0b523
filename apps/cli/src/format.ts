import type { Job, JobEvent } from './api-client';
import { eventTimeMs } from './api-client';

const BARS = '▁▂▃▄▅▆▇█';

/** A unicode sparkline of the last `width` values (higher value, taller bar). */
export function sparkline(values: readonly number[], width = 30): string {
  const v = values.slice(-width).filter((x) => Number.isFinite(x));
  if (v.length === 0) return '';
  const lo = Math.min(...v);
  const hi = Math.max(...v);
  return v.map((x) => BARS[hi === lo ? 3 : Math.round(((x - lo) / (hi - lo)) * (BARS.length - 1))]).join('');
}

/** 1234567 → "1.2 MB". */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(1)} ${units[i]}`;
}

/** A plain-text table; columns whose cells all look numeric are right-aligned, header included. */
export function table(head: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const numeric = head.map((_, i) => rows.length > 0 && rows.every((r) => /^[-+\d.,%→ ]+[A-Za-z/%]*$/.test(r[i] ?? '')));
  const line = (cells: readonly string[]): string =>
    cells.map((c, i) => (numeric[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ');
  return [line(head), widths.map((w) => '─'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** Assumed link between the gpu-host and the aux-trainers, for the per-job link-time estimate (1 Gbit/s). */
export const REFERENCE_LINK_BYTES_PER_SECOND = 125_000_000;

/** What the API tells about a job's training throughput and traffic, from its metrics events. */
export interface JobTraffic {
  /** Training tokens the gpu-host processed. */
  tokens: number;
  /** Adaptation bytes the gpu-host shipped to the aux-trainers. */
  bytes: number;
  /** Wall time from the first to the last metrics event, in seconds. */
  seconds: number;
  /** Host tokens per second over that time (the host is shared with the other jobs). */
  tokensPerSecond: number;
  /** Bytes moved per training token. */
  bytesPerToken: number;
  /**
   * An ESTIMATE, not the communication overhead: the time the job's bytes would take on an assumed
   * 1 Gbit/s link, in % of its training wall time (the API exposes bytes and event times, not stage
   * timings). The measured overhead is (encode + write + queue wait + decode) / host step time,
   * read from the services' /metrics (overheadPercent in @cola/metrics).
   */
  linkTimeEstimatePercent: number;
}

/** {@link JobTraffic} of a job from its events (metrics events carry cumulative tokens and bytes). */
export function jobTraffic(events: readonly JobEvent[]): JobTraffic {
  const m = events.filter((e) => e.type === 'metrics' && e.data?.tokens !== undefined);
  const first = m[0];
  const last = m[m.length - 1];
  if (!first || !last) return { tokens: 0, bytes: 0, seconds: 0, tokensPerSecond: 0, bytesPerToken: 0, linkTimeEstimatePercent: 0 };
  const tokens = last.data!.tokens ?? 0;
  const bytes = last.data!.bytes ?? 0;
  const seconds = Math.max(1e-3, (eventTimeMs(last) - eventTimeMs(first)) / 1000);
  // The first event already counts its own steps' tokens: rate over the interval between events.
  const dTokens = tokens - (first.data!.tokens ?? 0);
  return {
    tokens,
    bytes,
    seconds,
    tokensPerSecond: m.length > 1 ? dTokens / seconds : 0,
    bytesPerToken: tokens ? bytes / tokens : 0,
    linkTimeEstimatePercent: m.length > 1 ? (100 * ((bytes - (first.data!.bytes ?? 0)) / REFERENCE_LINK_BYTES_PER_SECOND)) / seconds : 0,
  };
}

/** A job's validation result: "accuracy 0.5000 → 0.8125" (before training → final), the final value or "…" while it runs. */
export function resultText(r: NonNullable<Job['result']>): string {
  const fmt = (v: number | null | undefined): string => (typeof v === 'number' ? v.toFixed(4) : '…');
  return `${r.metric} ${typeof r.before === 'number' ? `${fmt(r.before)} → ` : ''}${fmt(r.value)}`;
}

/** One line per job for `cola jobs list`, with the reason when it failed. */
export function jobLine(j: Job): string {
  const p = j.progress;
  const step = p ? `${p.step}/${p.total_steps}` : '-';
  const res = j.result ? resultText(j.result) : '';
  return [
    j.id,
    j.status.padEnd(10),
    j.task.padEnd(14),
    `${j.method.aux.type}`.padEnd(8),
    step.padStart(9),
    p ? `loss ${p.loss.toFixed(4)}` : '',
    res,
    j.error ? `${j.error.code}: ${j.error.message}` : '',
  ]
    .join('  ')
    .trimEnd();
}
