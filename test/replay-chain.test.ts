import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { sha256, toHex } from '../src/crypto/index.ts';
import { blockHash, checkSupply, decodeCommittedBlock, Ledger, validateGenesis, type CommittedBlock } from '../src/ledger/index.ts';
import { ParallelExecutor } from '../src/node/parallelExec.ts';

// A chain of 2,500 heights with accepted transactions of every kind (bank, sub-tokens, multisig,
// staking, elections with jailing and evidence, the whole market), recorded by
// scripts/record-replay-chain.ts before issue 14's refactor. Replaying it on today's ledger must
// give the same block hash and state roots at every height: the state machine did not change.

const DIR = new URL('./fixtures/replay-chain/', import.meta.url);

function recordedBlocks(): CommittedBlock[] {
  const bytes = gunzipSync(readFileSync(new URL('blocks.bin.gz', DIR)));
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: CommittedBlock[] = [];
  for (let at = 0; at < bytes.length; ) {
    const len = view.getUint32(at);
    out.push(decodeCommittedBlock(bytes.subarray(at + 4, at + 4 + len)));
    at += 4 + len;
  }
  return out;
}

describe('a recorded chain of every transaction kind', () => {
  it('replays with the same block hashes and state roots at every height', () => {
    const genesis = validateGenesis(JSON.parse(readFileSync(new URL('genesis.json', DIR), 'utf8')));
    const expected: { heights: number; blocks: { height: number; hash: string; roots: string }[] } = JSON.parse(
      readFileSync(new URL('expected.json', DIR), 'utf8'),
    );
    const blocks = recordedBlocks();
    expect(blocks.length).toBe(expected.heights);
    expect(blocks.length).toBeGreaterThanOrEqual(2000);

    const ledger = Ledger.fromGenesis(genesis);
    let txs = 0;
    for (const [i, { block, certificate }] of blocks.entries()) {
      const want = expected.blocks[i];
      // executeBlock re-runs every transaction and throws if a segment's roots differ from the header's.
      const executed = ledger.executeBlock(block);
      const header = ledger.headerFor(executed, block.header.proposer);
      expect({ height: want.height, hash: toHex(blockHash(header)) }).toEqual({ height: want.height, hash: want.hash });
      ledger.commit(executed, block.header, certificate);
      expect(toHex(sha256(...ledger.stateRoots())), `state roots at height ${want.height}`).toBe(want.roots);
      txs += block.segments.reduce((n, s) => n + s.txs.length, 0);
    }
    expect(ledger.height).toBe(expected.heights);
    expect(txs).toBeGreaterThan(3000);
    checkSupply(ledger);
  }, 120_000);

  // The same chain with the inner chains on worker threads (src/node/parallelExec.ts): every
  // kind's segment, receipts and market deadlines run on replicas, and the roots must not move.
  it.each([2, 4])(
    'replays alike with its inner chains on %i threads',
    async (threads) => {
      const genesis = validateGenesis(JSON.parse(readFileSync(new URL('genesis.json', DIR), 'utf8')));
      const expected: { heights: number; blocks: { height: number; hash: string; roots: string }[] } = JSON.parse(
        readFileSync(new URL('expected.json', DIR), 'utf8'),
      );
      const ledger = Ledger.fromGenesis(genesis);
      const executor = await ParallelExecutor.start(ledger, threads);
      try {
        for (const [i, { block, certificate }] of recordedBlocks().entries()) {
          const want = expected.blocks[i];
          const executed = await executor.executeBlock(block);
          expect({ height: want.height, hash: toHex(blockHash(ledger.headerFor(executed, block.header.proposer))) }).toEqual({
            height: want.height,
            hash: want.hash,
          });
          ledger.commit(executed, block.header, certificate);
          expect(toHex(sha256(...ledger.stateRoots())), `state roots at height ${want.height}`).toBe(want.roots);
        }
        expect(ledger.height).toBe(expected.heights);
        checkSupply(ledger);
      } finally {
        await executor.close();
      }
    },
    300_000,
  );
});
