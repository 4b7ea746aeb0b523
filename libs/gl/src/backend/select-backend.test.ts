import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { initBackend, tf } from '../index';

describe('when no native package is installed', () => {
  it('should pick wasm, log the choice once and compute a matMul on it', async () => {
    const lines: string[] = [];
    const first = await initBackend({ log: (l) => lines.push(l) });
    const again = await initBackend({ log: (l) => lines.push(l) });
    assert.equal(first, process.env.COLA_BACKEND ?? 'wasm');
    assert.equal(again, first);
    assert.equal(lines.length, 1);
    const out = tf.tidy(() => tf.matMul(tf.tensor2d([[1, 2]]), tf.tensor2d([[3], [4]])));
    assert.deepEqual(await out.data(), new Float32Array([11]));
    out.dispose();
  });
});
