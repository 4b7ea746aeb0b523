/**
 * GPT-2-small width with seeded random weights (not trained; it only shows how the figures
 * scale): d = 768, 12 layers, 12 heads, context 128, byte-level vocabulary (258; the blocks, not
 * the embedding, set the host step's cost). lowrank r = 8 on c_attn + a linear head, as the demo.
 */
import { AdapterSet, backendMemory, tf, type AdaptationData } from '@cola/gl';
import { hostStep, initClassificationHead, resolveTaps, seededGpt2Small, tapShape } from '@cola/model';
import { chooseTransfer, encodeAdaptation, type TransferLayer } from '@cola/pipeline';
import { spamTask, validateFinetuneOptions } from '@cola/train';
import { hostStepGflop } from '../physical-limit';

/** What the GPT-2-width host step measured. */
export interface WidthFigures {
  batch: number;
  seqLen: number;
  tokens: number;
  hostStepMs: number;
  activationsBytesPerToken: number;
  gramBytesPerToken: number;
  autoChoice: string;
  peakBytesPerToken: number;
  rssMb: number;
  gflops: number;
}

export async function measureGpt2Width(batch: number, seqLen: number, reps: number): Promise<WidthFigures> {
  const model = seededGpt2Small(0, Math.max(128, seqLen));
  initClassificationHead(model, 2, { seed: 0 });
  const o = validateFinetuneOptions({ method: 'cola', task: 'classification', aux: { type: 'lowrank', rank: 8, scale: 1 } });
  const taps = resolveTaps(model.config, o.targetModules);
  const set = AdapterSet.create({
    layers: taps.map((tap) => ({ tap, ...tapShape(model.config, tap), aux: tap === 'score' ? o.headAux : o.aux })),
    optimizer: o.optimizer,
    seed: 0,
  });
  try {
    const data = spamTask({ trainSize: batch * (reps + 1) });
    const batches = [...data.train({ batchSize: batch, maxLength: seqLen, seed: 0, epoch: 0 })];
    const run = (i: number) => {
      const b = batches[i % batches.length]!;
      return { b, res: hostStep(model, b, { head: 'cls', labels: b.labels, taps: set.taps, inject: set.inject }) };
    };
    // Peak backend memory of one step: the wasm allocator's own count where there is one (tfjs'
    // profiler counts a buffer shared by several tensors once per tensor).
    const mem = backendMemory();
    mem?.resetPeak();
    const live = mem?.liveBytes ?? tf.memory().numBytes;
    const profiled = await tf.profile(() => {
      const { res } = run(0);
      for (const { x, g } of res.taps.values()) tf.dispose([x, g]);
    });
    const peak = (mem ? mem.peakBytes : profiled.peakBytes) - live;
    let ms = 0;
    let tokens = 0;
    let act = 0;
    let gram = 0;
    let rows = 0;
    let seq = 0;
    for (let i = 1; i <= reps; i++) {
      const t0 = performance.now();
      const { b, res } = run(i);
      ms += performance.now() - t0;
      const real = b.mask.reduce((a, x) => a + x, 0);
      tokens += real;
      rows = b.batch;
      seq = b.seqLen;
      const layers = new Map<string, AdaptationData>([...res.taps].map(([tap, { x, g }]) => [tap, { kind: 'raw', x, g }]));
      const header = { jobId: 'w', tenantId: 'w', seq: i, auxVersion: 0, numBatches: 1, tokens: real, loss: res.loss };
      act += encodeAdaptation(header, layers, { mode: 'activations', dtype: 'fp32' }).byteLength;
      gram += encodeAdaptation(header, layers, { mode: 'gram', dtype: 'fp32' }).byteLength;
      for (const { x, g } of res.taps.values()) tf.dispose([x, g]);
    }
    const layers: TransferLayer[] = taps.map((tap) => ({
      tap,
      ...tapShape(model.config, tap),
      rowsPerBatch: tap === 'score' ? batch : batch * seqLen,
      aux: tap === 'score' ? o.headAux : o.aux,
    }));
    const choice = chooseTransfer({ mode: 'auto', dtype: 'fp32' }, { layers, interval: 1 });
    return {
      batch: rows,
      seqLen: seq,
      tokens: tokens / reps,
      hostStepMs: ms / reps,
      activationsBytesPerToken: act / tokens,
      gramBytesPerToken: gram / tokens,
      autoChoice: `${choice.spec.mode} (${choice.reason})`,
      peakBytesPerToken: peak / (rows * seq),
      rssMb: process.memoryUsage().rss / 1e6,
      gflops: hostStepGflop(model.config, rows, seq) / (ms / reps / 1000),
    };
  } finally {
    set.dispose();
    model.dispose();
  }
}
