// Test helpers for a node in process: heights built and certified by its own bookkeeper keys.
import type { KeyPair } from '../crypto/index.ts';
import { blockHash, certify, type Block, type Certificate } from '../ledger/index.ts';
import type { BuiltBlock, ZeusNode } from './zeusNode.ts';

/** The next height `node` would propose at block time `time`, certified by `keys`; nothing is committed. */
export function buildCertified(node: ZeusNode, time: number, keys: KeyPair[]): { block: Block; certificate: Certificate; built: BuiltBlock } {
  const built = node.buildBlock(time);
  const certificate = certify(
    node.chainId,
    built.block.header.height,
    0,
    blockHash(built.block.header),
    node.ledger.bookkeepersAt(built.executed.height),
    keys,
  );
  return { block: built.block, certificate, built };
}

/** Builds, certifies and commits the next height at block time `time`; answers what was built. */
export async function commitNext(node: ZeusNode, time: number, keys: KeyPair[]): Promise<BuiltBlock> {
  const { block, certificate, built } = buildCertified(node, time, keys);
  await node.commitBlock(block, certificate, built.executed, built.rejected);
  return built;
}
