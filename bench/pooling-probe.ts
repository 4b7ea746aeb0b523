/**
 * The frozen-feature linear probe behind docs/auto.md ("Why the transformer learned so little"):
 * logistic regression on cola-tiny's pooled final hidden states (last token vs mean over tokens),
 * standardised, 300 full-batch steps. Args: <task[,task]> <train rows> <test rows> <max windows>.
 * e.g. `npx tsx bench/pooling-probe.ts authorship 200 100 1`
 */
/* eslint-disable @typescript-eslint/no-explicit-any */
import { initBackend, tf } from '@cola/gl';
import { forward, initClassificationHead, loadCheckpoint, SCORE_TAP } from '@cola/model';
import { benchTasks, BENCH_TASK_SIZES, classificationTask, NaiveBayes, majorityAccuracy } from '@cola/train';

type Feat = { x: number[][]; y: number[] };
async function feats(model: any, data: any, which: 'train' | 'evaluation', pool: 'last' | 'mean', firstOnly: boolean): Promise<Feat> {
  const x: number[][] = [];
  const y: number[] = [];
  const it =
    which === 'train'
      ? data.train({ batchSize: 16, maxLength: 128, seed: 0, epoch: 0 })
      : data.evaluation({ batchSize: 16, maxLength: 128 });
  for (const b of it) {
    const cap = new Map<string, tf.Tensor2D>();
    tf.tidy(() => forward(model, b, { head: 'cls', frozen: true, capture: cap, captureTaps: [SCORE_TAP], clsPooling: pool }));
    const f = cap.get(SCORE_TAP)!.arraySync() as number[][];
    cap.get(SCORE_TAP)!.dispose();
    const n = b.labels.length;
    const sums: number[][] = Array.from({ length: n }, () => new Array(f[0]!.length).fill(0));
    const cnt = new Array(n).fill(0);
    const seen = new Array(n).fill(false);
    f.forEach((row, r) => {
      const e = b.windowOf ? b.windowOf[r] : r;
      if (firstOnly && seen[e]) return;
      seen[e] = true;
      cnt[e]++;
      row.forEach((v, k) => (sums[e]![k] += v));
    });
    for (let e = 0; e < n; e++) {
      x.push(sums[e]!.map((v) => v / cnt[e]));
      y.push(b.labels[e]);
    }
  }
  return { x, y };
}
function logreg(tr: Feat, te: Feat, C: number, l2: number): { train: number; test: number } {
  const d = tr.x[0]!.length;
  const mu = new Array(d).fill(0),
    sd = new Array(d).fill(0);
  for (const r of tr.x) r.forEach((v, k) => (mu[k] += v / tr.x.length));
  for (const r of tr.x) r.forEach((v, k) => (sd[k] += (v - mu[k]) ** 2 / tr.x.length));
  const norm = (r: number[]) => r.map((v, k) => (v - mu[k]) / Math.sqrt(sd[k] + 1e-8));
  const X = tr.x.map(norm),
    Xt = te.x.map(norm);
  const W = Array.from({ length: C }, () => new Array(d + 1).fill(0));
  const logits = (r: number[]) => W.map((w) => w[d]! + r.reduce((a, v, k) => a + v * w[k]!, 0));
  for (let it = 0; it < 300; it++) {
    const G = Array.from({ length: C }, () => new Array(d + 1).fill(0));
    X.forEach((r, i) => {
      const z = logits(r);
      const m = Math.max(...z);
      const e = z.map((v) => Math.exp(v - m));
      const s = e.reduce((a, b) => a + b);
      for (let c = 0; c < C; c++) {
        const g = e[c]! / s - (tr.y[i] === c ? 1 : 0);
        r.forEach((v, k) => (G[c]![k] += g * v));
        G[c]![d] += g;
      }
    });
    for (let c = 0; c < C; c++) for (let k = 0; k <= d; k++) W[c]![k] -= 0.5 * (G[c]![k] / X.length + (k < d ? l2 * W[c]![k] : 0));
  }
  const acc = (Xs: number[][], ys: number[]) =>
    Xs.filter((r, i) => {
      const z = logits(r);
      return z.indexOf(Math.max(...z)) === ys[i];
    }).length / Xs.length;
  return { train: acc(X, tr.y), test: acc(Xt, te.y) };
}
async function main() {
  await initBackend({ log: null });
  const names = (process.argv[2] ?? 'authorship').split(',');
  for (const task of benchTasks({ ...BENCH_TASK_SIZES, train: Number(process.argv[3] ?? 200), test: Number(process.argv[4] ?? 100) })) {
    if (task.kind !== 'classification' || !names.includes(task.name)) continue;
    const model = await loadCheckpoint('models/cola-tiny');
    initClassificationHead(model, task.labels.length, { seed: 0 });
    const data = classificationTask(task.name, task.train, task.test, task.labels, { maxWindows: Number(process.argv[5] ?? 1) });
    console.log(
      task.name,
      'majority',
      majorityAccuracy(task.train, task.test),
      'NB',
      new NaiveBayes(task.train, task.labels).accuracy(task.test, task.labels),
    );
    for (const pool of ['last', 'mean'] as const)
      for (const firstOnly of [false]) {
        const t0 = Date.now();
        const tr = await feats(model, data, 'train', pool, firstOnly);
        const te = await feats(model, data, 'evaluation', pool, firstOnly);
        for (const l2 of [1e-3, 1e-1]) {
          const r = logreg(tr, te, task.labels.length, l2);
          console.log(
            `  pool ${pool} ${firstOnly ? 'first window' : 'all windows'} l2 ${l2}: train ${(100 * r.train).toFixed(1)} test ${(100 * r.test).toFixed(1)} (${((Date.now() - t0) / 1000).toFixed(0)} s)`,
          );
        }
      }
    model.dispose();
  }
}
main();
