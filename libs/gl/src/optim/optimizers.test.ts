import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createOptimizer, initBackend, tf, type Optimizer, type OptimizerConfigInput } from '../index';

/** A tiny problem: two parameters of different ranks and three steps of fixed gradients and rates. */
const P0 = { w: [0.5, -1.0, 2.0, 0.25], u: [0.1, -0.2, 0.3] };
const SHAPES = { w: [2, 2], u: [3] } as const;
const GRADS = [
  { w: [0.3, -0.1, 0.05, 0.0], u: [1.0, -2.0, 0.5] },
  { w: [-0.2, 0.4, 0.05, 0.1], u: [0.5, 0.25, -1.5] },
  { w: [0.1, 0.1, -0.3, -0.2], u: [-0.75, 1.0, 0.0] },
];
const LRS = [0.01, 0.05, 0.02];

type Name = keyof typeof P0;
const NAMES: Name[] = ['w', 'u'];

function makeParams(): Map<string, tf.Variable> {
  return new Map(NAMES.map((n) => [n, tf.variable(tf.tensor(P0[n], [...SHAPES[n]]))]));
}

/** Runs the optimizer on the tiny problem; returns the parameters after each step. */
function run(opt: Optimizer, steps: number, params = makeParams(), from = 0): Record<Name, Float32Array>[] {
  const out: Record<Name, Float32Array>[] = [];
  for (let s = from; s < steps; s++) {
    const grads = new Map(NAMES.map((n) => [n, tf.tensor(GRADS[s]![n], [...SHAPES[n]])]));
    opt.step(params, grads, LRS[s]!);
    grads.forEach((g) => g.dispose());
    out.push({ w: params.get('w')!.dataSync().slice() as Float32Array, u: params.get('u')!.dataSync().slice() as Float32Array });
  }
  params.forEach((p) => p.dispose());
  return out;
}

/** torch.optim.AdamW's update rule in double precision, element by element. */
function adamwReference(b1: number, b2: number, eps: number, wd: number): Record<Name, number[]>[] {
  const p = { w: [...P0.w], u: [...P0.u] };
  const m = { w: P0.w.map(() => 0), u: P0.u.map(() => 0) };
  const v = { w: P0.w.map(() => 0), u: P0.u.map(() => 0) };
  const out: Record<Name, number[]>[] = [];
  for (let s = 0; s < GRADS.length; s++) {
    const t = s + 1;
    const lr = LRS[s]!;
    for (const n of NAMES) {
      for (let i = 0; i < p[n].length; i++) {
        const g = GRADS[s]![n][i]!;
        p[n][i] = p[n][i]! * (1 - lr * wd);
        m[n][i] = b1 * m[n][i]! + (1 - b1) * g;
        v[n][i] = b2 * v[n][i]! + (1 - b2) * g * g;
        const denom = Math.sqrt(v[n][i]!) / Math.sqrt(1 - b2 ** t) + eps;
        p[n][i] = p[n][i]! - (lr / (1 - b1 ** t)) * (m[n][i]! / denom);
      }
    }
    out.push({ w: [...p.w], u: [...p.u] });
  }
  return out;
}

/** torch.optim.SGD's update rule in double precision. */
function sgdReference(momentum: number, dampening: number, nesterov: boolean, wd: number): Record<Name, number[]>[] {
  const p = { w: [...P0.w], u: [...P0.u] };
  const buf: Record<Name, number[] | undefined> = { w: undefined, u: undefined };
  const out: Record<Name, number[]>[] = [];
  for (let s = 0; s < GRADS.length; s++) {
    for (const n of NAMES) {
      let d = GRADS[s]![n].map((g, i) => g + wd * p[n][i]!);
      if (momentum !== 0) {
        const prev = buf[n];
        const b = prev ? prev.map((x, i) => momentum * x + (1 - dampening) * d[i]!) : [...d];
        buf[n] = b;
        d = nesterov ? d.map((x, i) => x + momentum * b[i]!) : b;
      }
      p[n] = p[n].map((x, i) => x - LRS[s]! * d[i]!);
    }
    out.push({ w: [...p.w], u: [...p.u] });
  }
  return out;
}

function assertClose(got: Record<Name, Float32Array>[], want: Record<Name, number[]>[], label: string): void {
  assert.equal(got.length, want.length);
  got.forEach((step, s) => {
    for (const n of NAMES) {
      step[n].forEach((x, i) => {
        const ref = want[s]![n][i]!;
        assert.ok(Math.abs(x - ref) <= 1e-6 * Math.max(1, Math.abs(ref)), `${label} step ${s + 1} ${n}[${i}]: ${x} vs ${ref}`);
      });
    }
  });
}

describe('when AdamW steps a tiny problem', () => {
  before(async () => {
    await initBackend({ log: null });
  });

  it('should match torch AdamW computed by hand over three steps', () => {
    const opt = createOptimizer({ type: 'adamw', betas: [0.9, 0.99], eps: 1e-8, weightDecay: 0.1 });
    assertClose(run(opt, 3), adamwReference(0.9, 0.99, 1e-8, 0.1), 'adamw');
    assert.equal(opt.stepCount, 3);
    opt.dispose();
  });

  it('should use the paper defaults when only the type is given', () => {
    const opt = createOptimizer({ type: 'adamw' });
    assert.deepEqual(opt.config, { type: 'adamw', lr: 3e-4, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 5e-4 });
    assertClose(run(opt, 3), adamwReference(0.9, 0.999, 1e-8, 5e-4), 'adamw defaults');
    opt.dispose();
  });

  it('should move each weight by about lr on its first step, as bias correction promises', () => {
    const opt = createOptimizer({ type: 'adamw', weightDecay: 0 });
    const [first] = run(opt, 1);
    first!.u.forEach((x, i) => assert.ok(Math.abs(Math.abs(x - P0.u[i]!) - LRS[0]!) < 1e-6, `u[${i}] moved ${x - P0.u[i]!}`));
    opt.dispose();
  });

  it('should continue bit-identically after its slots are exported and imported', () => {
    const a = createOptimizer({ type: 'adamw', weightDecay: 0.01 });
    const params = makeParams();
    const paramsB = makeParams();
    // Two steps on a, then b takes over a's state and both take the third step.
    for (let s = 0; s < 2; s++) {
      const grads = new Map(NAMES.map((n) => [n, tf.tensor(GRADS[s]![n], [...SHAPES[n]])]));
      a.step(params, grads, LRS[s]!);
      grads.forEach((g) => g.dispose());
    }
    paramsB.forEach((p, n) => p.assign(params.get(n)!));
    const slots = a.exportSlots();
    assert.deepEqual(Object.keys(slots).sort(), ['u.exp_avg', 'u.exp_avg_sq', 'w.exp_avg', 'w.exp_avg_sq']);
    const b = createOptimizer(a.config);
    b.importSlots(slots, a.stepCount);
    const third = (opt: Optimizer, ps: Map<string, tf.Variable>) => run(opt, 3, ps, 2)[0]!;
    assert.deepEqual(third(b, paramsB), third(a, params));
    a.dispose();
    b.dispose();
  });
});

describe('when SGD steps a tiny problem', () => {
  before(async () => {
    await initBackend({ log: null });
  });

  const CASES: [string, OptimizerConfigInput, [number, number, boolean, number]][] = [
    ['plain', { type: 'sgd' }, [0, 0, false, 0]],
    ['momentum, nesterov and weight decay', { type: 'sgd', momentum: 0.9, nesterov: true, weightDecay: 0.01 }, [0.9, 0, true, 0.01]],
    ['damped momentum and weight decay', { type: 'sgd', momentum: 0.5, dampening: 0.1, weightDecay: 0.1 }, [0.5, 0.1, false, 0.1]],
  ];
  for (const [label, config, ref] of CASES) {
    it(`should match torch SGD (${label}) computed by hand over three steps`, () => {
      const opt = createOptimizer(config);
      assertClose(run(opt, 3), sgdReference(...ref), `sgd ${label}`);
      assert.equal(opt.stepCount, 3);
      const slots = Object.keys(opt.exportSlots()).sort();
      assert.deepEqual(slots, ref[0] === 0 ? [] : ['u.momentum_buffer', 'w.momentum_buffer']);
      opt.dispose();
    });
  }
});

describe('when an optimizer is misused', () => {
  before(async () => {
    await initBackend({ log: null });
  });

  it('should refuse a missing, extra or misshapen gradient and a bad lr, without changing anything', () => {
    const opt = createOptimizer({ type: 'adamw' });
    const params = makeParams();
    const g = (n: Name) => tf.tensor(GRADS[0]![n], [...SHAPES[n]]);
    const gw = g('w');
    const gu = g('u');
    const wrong = tf.zeros([4]);
    assert.throws(() => opt.step(params, new Map([['w', gw]]), 0.1), /no gradient for parameter "u"/);
    assert.throws(
      () =>
        opt.step(
          params,
          new Map([
            ['w', gw],
            ['u', gu],
            ['z', gu],
          ]),
          0.1,
        ),
      /gradient "z" has no parameter/,
    );
    assert.throws(
      () =>
        opt.step(
          params,
          new Map([
            ['w', gw],
            ['u', wrong],
          ]),
          0.1,
        ),
      /gradient of "u" has shape \[4\], parameter has \[3\]/,
    );
    assert.throws(
      () =>
        opt.step(
          params,
          new Map([
            ['w', gw],
            ['u', gu],
          ]),
          -1,
        ),
      /lr must be a finite number >= 0/,
    );
    assert.throws(
      () =>
        opt.step(
          params,
          new Map([
            ['w', gw],
            ['u', gu],
          ]),
          Number.NaN,
        ),
      /lr must be a finite number >= 0/,
    );
    assert.equal(opt.stepCount, 0);
    assert.deepEqual(Array.from(params.get('u')!.dataSync()), Array.from(Float32Array.from(P0.u)));
    [gw, gu, wrong].forEach((t) => t.dispose());
    params.forEach((p) => p.dispose());
    opt.dispose();
  });

  it('should refuse slots of another optimizer type or of another adapter', () => {
    const sgd = createOptimizer({ type: 'sgd', momentum: 0.9 });
    assert.throws(
      () => sgd.importSlots({ 'w.exp_avg': { shape: [1], values: new Float32Array(1) } }, 1),
      /slot "w\.exp_avg" is not "<param>\.<slot>" with slot one of momentum_buffer/,
    );
    assert.throws(() => sgd.importSlots({ 'w.momentum_buffer': { shape: [2], values: new Float32Array(3) } }, 1), /needs 2 values, got 3/);
    sgd.importSlots({ 'w.momentum_buffer': { shape: [5], values: new Float32Array(5) } }, 1);
    const params = makeParams();
    const grads = new Map(NAMES.map((n) => [n, tf.tensor(GRADS[0]![n], [...SHAPES[n]])]));
    assert.throws(() => sgd.step(params, grads, 0.1), /slot "w\.momentum_buffer" has shape \[5\] but parameter "w" has \[2, 2\]/);
    grads.forEach((t) => t.dispose());
    params.forEach((p) => p.dispose());
    assert.equal(sgd.dispose(), 1);
  });

  it('should hold no more tensors after a step than its slots', () => {
    const opt = createOptimizer({ type: 'adamw' });
    const params = makeParams();
    const start = tf.memory().numTensors;
    const grads = new Map(NAMES.map((n) => [n, tf.tensor(GRADS[0]![n], [...SHAPES[n]])]));
    opt.step(params, grads, 0.1);
    opt.step(params, grads, 0.1);
    grads.forEach((t) => t.dispose());
    assert.equal(tf.memory().numTensors, start + 4, 'two moments for each of two parameters');
    assert.equal(opt.dispose(), 4);
    params.forEach((p) => p.dispose());
  });
});
