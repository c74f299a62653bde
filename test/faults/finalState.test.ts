import { describe, expect, it } from 'vitest';
import { type NodeFinal, txSource } from './finalState.ts';

// Which node the final state reads the committed transactions from (txSource): a node restored by
// state sync holds no blocks below its snapshot, so being furthest ahead is not enough.

/** A node holding blocks first..last (no blocks when first > last). */
function held(node: string, first: number, last: number, error?: string): NodeFinal {
  const blocks = [];
  for (let h = first; h <= last; h++) blocks.push({ height: h, hash: h.toString(16).padStart(64, '0'), time: h * 300, txCount: 0 });
  return { node, heightAfter: last, blocks, ...(error ? { error } : {}) } as NodeFinal;
}

describe('txSource', () => {
  it('prefers the node that holds the most of the range over the one furthest ahead', () => {
    // bk2 was repaired by state sync from the snapshot at 1000 and is one block ahead of the others.
    expect(txSource([held('bk2', 1001, 1210), held('bk0', 1, 1209), held('bk1', 1, 1208)])).toBe('bk0');
  });

  it('among nodes holding blocks from the same height, the one furthest ahead', () => {
    expect(txSource([held('bk0', 1, 1208), held('bk1', 1, 1210), held('bk3', 1, 1209)])).toBe('bk1');
  });

  it('skips nodes that could not be read, and nodes holding no blocks come last', () => {
    expect(txSource([held('bk0', 1, 1300, 'unreachable'), held('bk1', 5, 4), held('bk2', 1001, 1200)])).toBe('bk2');
    expect(txSource([held('bk0', 1, 10, 'unreachable')])).toBeUndefined();
  });
});
