import { describe, expect, it } from 'vitest';
import { testChain } from '../ledger/testing.ts';
import { MemoryKvStore, StoreCorruptError } from '../store/index.ts';
import { ZeusNode } from './zeusNode.ts';

// A node whose consensus or block production stops on a store it can no longer read tells whoever
// runs it (zeus node start exits with code 4 for its supervisor): restarting in place would meet
// the same damage, which the 60-minute fault run saw on bk1 after every restart. A failure of
// another kind, a write included, only halts the node in place, as before.

const t = testChain();
const config = { chainId: t.genesis.chainId, api: { host: '127.0.0.1', port: 0 }, blockIntervalMs: 100, bookkeeperKey: 'bookkeeper-0', mempoolMax: 1_000 };

async function nodeTold(): Promise<{ node: ZeusNode; told: StoreCorruptError[] }> {
  const told: StoreCorruptError[] = [];
  const node = await ZeusNode.withStore(new MemoryKvStore(), t.genesis, config, t.keys['bookkeeper-0'], {
    dataDir: '/srv/zeus/data',
    onStoreDamaged: (e) => told.push(e),
  });
  return { node, told };
}

describe('a node that stops on its store', () => {
  it('a read that found damage (StoreCorruptError, or LevelDB corruption under another error) is reported once, with the remedy', async () => {
    const { node, told } = await nodeTold();
    const level = Object.assign(new Error('Corruption: block checksum mismatch: /srv/zeus/data/000023.ldb'), { code: 'LEVEL_CORRUPTION' });
    node.halt('consensus', new Error('committing height 7 failed', { cause: level }));
    node.halt('consensus', new StoreCorruptError('again'));
    expect(told).toHaveLength(1);
    expect(told[0].message).toContain('the chain store in /srv/zeus/data is damaged (Corruption: block checksum mismatch');
    expect(told[0].message).toContain('Move /srv/zeus/data away and start the node again');
    expect(node.health().halted?.reason).toContain('consensus stopped');
    await node.close();
  });

  it('any other failure, a failed write included, halts in place and is not called damage', async () => {
    const { node, told } = await nodeTold();
    node.halt('consensus', Object.assign(new Error('IO error: /srv/zeus/data/000031.log: No space left on device'), { code: 'LEVEL_IO_ERROR' }));
    expect(told).toHaveLength(0);
    expect(node.health().halted?.reason).toContain('No space left on device');
    await node.close();
  });
});
