import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { watchLoopBlocks } from './loop-block-watch';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('watchLoopBlocks', () => {
  it('should report a synchronous block at least as long as the threshold, with its length, and nothing while the loop runs freely', async () => {
    const blocks: number[] = [];
    const watch = watchLoopBlocks({ thresholdMs: 250, tickMs: 50, onBlock: (ms) => blocks.push(ms) });
    await sleep(400);
    assert.deepEqual(blocks, [], 'no block while the loop only waits');
    const end = performance.now() + 600;
    while (performance.now() < end);
    await sleep(150);
    watch.stop();
    assert.equal(blocks.length, 1, `one block reported: ${blocks.join(', ')}`);
    assert.ok(blocks[0]! >= 500 && blocks[0]! < 2000, `its length is about the 600 ms block: ${blocks[0]}`);
  });
});
