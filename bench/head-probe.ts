/**
 * Head-only on frozen features, trained as bench:tasks trains a head (Adam, batch 8, 5% warmup then
 * linear decay, raw features), re-implemented on extracted features: steps x rate x pooling.
 * Args: <task>. e.g. `npx tsx bench/head-probe.ts authorship` (200 / 200 passages of 200-400 chars, first window).
 */
/* eslint-disable @typescript-eslint/no-explicit-any */
import { initBackend, tf } from '@cola/gl';
import { forward, initClassificationHead, loadCheckpoint, SCORE_TAP } from '@cola/model';
import { benchTasks, BENCH_TASK_SIZES, classificationTask } from '@cola/train';
async function feats(model: any, it: any, pool: 'last' | 'mean') {
  const x: number[][] = [],
    y: number[] = [];
  for (const b of it) {
    const cap = new Map<string, tf.Tensor2D>();
    tf.tidy(() => forward(model, b, { head: 'cls', frozen: true, capture: cap, captureTaps: [SCORE_TAP], clsPooling: pool }));
    x.push(...(cap.get(SCORE_TAP)!.arraySync() as number[][]));
    cap.get(SCORE_TAP)!.dispose();
    y.push(...b.labels);
  }
  return { x, y };
}
function train(tr: any, te: any, C: number, lr: number, steps: number, bs = 8) {
  const d = tr.x[0].length;
  const W = Array.from({ length: C }, (_, c) =>
    Array.from({ length: d + 1 }, (_, k) => (k < d ? 0.02 * Math.sin(1 + c * 97 + k * 13) : 0)),
  );
  const m = W.map((r) => r.map(() => 0)),
    v = W.map((r) => r.map(() => 0));
  const logits = (r: number[]) => W.map((w) => w[d] + r.reduce((a, val, k) => a + val * w[k], 0));
  const warm = Math.ceil(0.05 * steps);
  for (let s = 0; s < steps; s++) {
    const lrs = s < warm ? (lr * (s + 1)) / warm : (lr * (steps - s)) / (steps - warm);
    const G = W.map((r) => r.map(() => 0));
    for (let j = 0; j < bs; j++) {
      const i = (s * bs + j) % tr.x.length;
      const r = tr.x[i];
      const z = logits(r);
      const mx = Math.max(...z);
      const e = z.map((q) => Math.exp(q - mx));
      const S = e.reduce((a, b) => a + b);
      for (let c = 0; c < C; c++) {
        const g = (e[c] / S - (tr.y[i] === c ? 1 : 0)) / bs;
        r.forEach((val: number, k: number) => (G[c][k] += g * val));
        G[c][d] += g;
      }
    }
    for (let c = 0; c < C; c++)
      for (let k = 0; k <= d; k++) {
        m[c][k] = 0.9 * m[c][k] + 0.1 * G[c][k];
        v[c][k] = 0.999 * v[c][k] + 0.001 * G[c][k] ** 2;
        const mh = m[c][k] / (1 - 0.9 ** (s + 1)),
          vh = v[c][k] / (1 - 0.999 ** (s + 1));
        W[c][k] -= lrs * (mh / (Math.sqrt(vh) + 1e-8) + 5e-4 * W[c][k]);
      }
  }
  const acc = (D: any) =>
    D.x.filter((r: number[], i: number) => {
      const z = logits(r);
      return z.indexOf(Math.max(...z)) === D.y[i];
    }).length / D.x.length;
  return `train ${(100 * acc(tr)).toFixed(1)} test ${(100 * acc(te)).toFixed(1)}`;
}
async function main() {
  await initBackend({ log: null });
  const task = benchTasks({ ...BENCH_TASK_SIZES, train: 200, test: 200, minChars: 200, maxChars: 400 }).find(
    (t) => t.name === process.argv[2],
  )! as any;
  const model = await loadCheckpoint('models/cola-tiny');
  initClassificationHead(model, task.labels.length, { seed: 0 });
  const data = classificationTask(task.name, task.train, task.test, task.labels, { maxWindows: 1 });
  for (const pool of ['mean', 'last'] as const) {
    const tr = await feats(model, data.train({ batchSize: 16, maxLength: 128, seed: 0, epoch: 0 }), pool);
    const te = await feats(model, data.evaluation({ batchSize: 16, maxLength: 128 }), pool);
    const norm = Math.sqrt(tr.x.reduce((a: number, r: number[]) => a + r.reduce((b, q) => b + q * q, 0), 0) / tr.x.length);
    console.log(`${task.name} pool ${pool}: mean feature norm ${norm.toFixed(2)}`);
    for (const steps of [30, 150])
      for (const lr of [1e-2, 3e-2, 1e-1, 3e-1]) console.log(`  steps ${steps} lr ${lr}: ${train(tr, te, task.labels.length, lr, steps)}`);
  }
  model.dispose();
}
main();
