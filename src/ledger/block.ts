import { decode, encode, type Infer } from '../codec/index.ts';
import { bytesEqual, merkleRoot, sha256, toHex } from '../crypto/portable.ts';
import { CertificateSchema, encodeCertificate, type Certificate } from './commit.ts';

const hash32 = { type: 'bytes', length: 32 } as const;

/** One chain's part of a height: its transactions and the roots it leads to. */
export const SegmentHeaderSchema = {
  $id: 'SegmentHeader',
  fields: {
    chain: { id: 1, type: 'uint32' },
    txCount: { id: 2, type: 'uint32' },
    txRoot: { id: 3, ...hash32 },
    stateRoot: { id: 4, ...hash32 },
    receiptRoot: { id: 5, ...hash32 },
  },
} as const;

/** The main block header commits to the main segment and to all nine inner segments. */
export const BlockHeaderSchema = {
  $id: 'BlockHeader',
  fields: {
    chainId: { id: 1, type: 'string', max: 64 },
    height: { id: 2, type: 'uint64' },
    time: { id: 3, type: 'uint64' },
    prevHash: { id: 4, ...hash32 },
    proposer: { id: 5, type: 'bytes', length: 32 },
    segments: { id: 6, type: { array: SegmentHeaderSchema, length: 10 } },
    /** Hash of the previous height's commit certificate, carried in the block body. */
    lastCommitHash: { id: 7, ...hash32 },
  },
} as const;

export const SegmentTxsSchema = { $id: 'SegmentTxs', fields: { txs: { id: 1, type: { array: 'bytes' } } } } as const;

export const BlockSchema = {
  $id: 'Block',
  fields: {
    header: { id: 1, type: BlockHeaderSchema },
    segments: { id: 2, type: { array: SegmentTxsSchema, length: 10 } },
    /**
     * The certificate that committed the previous height: who signed it and in which round,
     * so that rewards and missed slots are decided from chain data alone.
     */
    lastCommit: { id: 3, type: CertificateSchema },
  },
} as const;

/** A block as stored and synced: the block and the certificate that committed it. */
export const CommittedBlockSchema = {
  $id: 'CommittedBlock',
  fields: { block: { id: 1, type: BlockSchema }, certificate: { id: 2, type: CertificateSchema } },
} as const;

export type SegmentHeader = Infer<typeof SegmentHeaderSchema>;
export type BlockHeader = Infer<typeof BlockHeaderSchema>;
export type Block = Infer<typeof BlockSchema>;

export const encodeBlock = (b: Block): Uint8Array => encode(BlockSchema, b);
export const decodeBlock = (bytes: Uint8Array): Block => decode(BlockSchema, bytes);
export const blockHash = (h: BlockHeader): Uint8Array => sha256(encode(BlockHeaderSchema, h));
export const segmentHash = (s: SegmentHeader): Uint8Array => sha256(encode(SegmentHeaderSchema, s));
export type CommittedBlock = Infer<typeof CommittedBlockSchema>;
export const encodeCommittedBlock = (c: CommittedBlock): Uint8Array => encode(CommittedBlockSchema, c);
export const decodeCommittedBlock = (b: Uint8Array): CommittedBlock => decode(CommittedBlockSchema, b);

/** The empty certificate a first block carries (there is no previous height). */
export const GENESIS_COMMIT: Certificate = { height: 0n, round: 0, blockHash: new Uint8Array(0), signers: [], signatures: [] };
export const certificateHash = (c: Certificate): Uint8Array => sha256(encodeCertificate(c));

/**
 * What is wrong with a committed block as read back from a store, or undefined: it must be the
 * block of `height`, hash to the hash its certificate signs, and its body must be what its header
 * commits to (each segment's transactions and the carried certificate). No signature is checked:
 * this finds bytes damaged at rest (a disk, a filesystem) cheaply, not a forgery.
 */
export function committedBlockError(c: CommittedBlock, height: number): string | undefined {
  const h = c.block.header;
  if (Number(h.height) !== height) return `block stored at height ${height} says it is height ${h.height}`;
  if (Number(c.certificate.height) !== height) return `the certificate stored with block ${height} is for height ${c.certificate.height}`;
  const hash = blockHash(h);
  if (!bytesEqual(hash, c.certificate.blockHash)) {
    return `block ${height} hashes to ${toHex(hash)}, its certificate signs ${toHex(c.certificate.blockHash)}`;
  }
  if (!bytesEqual(h.lastCommitHash, certificateHash(c.block.lastCommit))) return `block ${height}'s carried certificate does not match its header`;
  for (const [i, seg] of c.block.segments.entries()) {
    const s = h.segments[i];
    if (s.txCount !== seg.txs.length || !bytesEqual(s.txRoot, merkleRoot(seg.txs.map((tx) => sha256(tx))))) {
      return `block ${height}'s segment ${i} transactions do not match its header`;
    }
  }
  return undefined;
}
