import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { encode, type ObjectSchema } from '../codec/index.ts';
import { encodeAddress, fromHex, toHex, verifySignature } from '../crypto/index.ts';
import { BlockHeaderSchema, blockHash, decodeBlock, decodeTx, LedgerError, PayloadSchemas, txSigningBytes } from './index.ts';
import { signingBytes } from './tx.ts';
import { testKey } from './testing.ts';

// Committed vectors: a change to the wire format, the signing domain, routing or hashing
// shows up here as a failure, not as a silent fork between versions.
const vectors = JSON.parse(readFileSync(new URL('../../test/vectors/tx.json', import.meta.url), 'utf8')) as {
  txs: { name: string; chainId: string; kind: number; nonce: string; sender: string; chain: number; signingBytes: string; tx: string; hash: string }[];
  blockHeader: { encoded: string; hash: string };
};

describe('transaction vectors', () => {
  const alice = testKey('alice');
  for (const v of vectors.txs) {
    it(v.name, () => {
      const tx = decodeTx(fromHex(v.tx));
      expect(tx.hashHex).toBe(v.hash);
      expect(tx.chainId).toBe(v.chainId);
      expect(tx.kind).toBe(v.kind);
      expect(tx.nonce).toBe(BigInt(v.nonce));
      expect(encodeAddress(tx.from)).toBe(v.sender);
      expect(tx.chain).toBe(v.chain);
      expect(toHex(txSigningBytes(tx))).toBe(v.signingBytes);
      // Taken from the transaction's bytes; the same as encoding its fields again.
      const payload = encode((PayloadSchemas as Record<number, ObjectSchema>)[tx.kind], tx.body.payload as never);
      expect(toHex(signingBytes({ chainId: tx.chainId, kind: tx.kind, sender: tx.sender, nonce: tx.nonce, payload }))).toBe(v.signingBytes);
      expect(toHex(tx.sender)).toBe(toHex(alice.publicKey));
      expect(verifySignature(tx.sender, fromHex(v.signingBytes), tx.signature)).toBe(true);
      // The signature covers the chain id: the same bytes under another chain id do not verify.
      const other = fromHex(v.signingBytes.replace(toHex(new TextEncoder().encode(v.chainId)), toHex(new TextEncoder().encode('zeus-dev-2'))));
      expect(verifySignature(tx.sender, other, tx.signature)).toBe(false);
    });
  }

  it('block header encoding and hash', () => {
    const seg = (i: number) => ({
      chain: i,
      txCount: i,
      txRoot: new Uint8Array(32).fill(i),
      stateRoot: new Uint8Array(32).fill(100 + i),
      receiptRoot: new Uint8Array(32).fill(200 + i),
    });
    const header = {
      chainId: 'zeus-dev-1',
      height: 7n,
      time: 1_700_000_000_000n,
      prevHash: new Uint8Array(32).fill(9),
      proposer: alice.publicKey,
      segments: Array.from({ length: 10 }, (_, i) => seg(i)),
      lastCommitHash: new Uint8Array(32).fill(7),
    };
    expect(toHex(encode(BlockHeaderSchema, header))).toBe(vectors.blockHeader.encoded);
    expect(toHex(blockHash(header))).toBe(vectors.blockHeader.hash);
  });

  it('rejects a transaction with a trailing byte, and a transaction passed off as a block', () => {
    const bytes = fromHex(vectors.txs[0].tx);
    const longer = new Uint8Array([...bytes, 0]);
    expect(() => decodeTx(longer)).toThrow(LedgerError);
    expect(() => decodeBlock(bytes)).toThrow();
  });
});
