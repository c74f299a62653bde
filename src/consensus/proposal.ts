import { decode, encode, type Infer } from '../codec/index.ts';
import { bytesEqual, concatBytes, signBytes, utf8, verifySignature, type KeyPair } from '../crypto/portable.ts';
import { blockHash, decodeBlock, type Block } from '../ledger/index.ts';
import type { ProposalInput } from './core.ts';

// A proposal: "in (height, round) I propose the block with this hash", signed by the round's
// proposer. The signed message travels with the encoded block; the block bytes are not signed
// (the hash is), so a receiver checks that they hash to the proposed value.

/** What a proposer signs. `validRoundPlusOne` is validRound + 1, so that "none" (−1) is 0. */
export const ProposalSchema = {
  $id: 'Proposal',
  fields: {
    chainId: { id: 1, type: 'string', max: 64 },
    height: { id: 2, type: 'uint64' },
    round: { id: 3, type: 'uint32' },
    blockHash: { id: 4, type: 'bytes', length: 32 },
    validRoundPlusOne: { id: 5, type: 'uint32' },
    proposer: { id: 6, type: 'bytes', length: 32 },
  },
} as const;
export type ProposalWire = Infer<typeof ProposalSchema>;

export const SignedProposalSchema = {
  $id: 'SignedProposal',
  fields: {
    proposal: { id: 1, type: ProposalSchema },
    signature: { id: 2, type: 'bytes', length: 64 },
    /** The encoded Block whose header hashes to `proposal.blockHash`. */
    block: { id: 3, type: 'bytes' },
  },
} as const;
export type SignedProposal = Infer<typeof SignedProposalSchema>;

/** A proposal with its valid round as a plain number (−1 = none). */
export interface Proposal {
  readonly chainId: string;
  readonly height: bigint;
  readonly round: number;
  readonly blockHash: Uint8Array;
  readonly validRound: number;
  readonly proposer: Uint8Array;
}

const PROPOSAL_DOMAIN = utf8('ZEUSNET/proposal/v1\0');

export function toWire(p: Proposal): ProposalWire {
  if (!Number.isInteger(p.validRound) || p.validRound < -1 || p.validRound >= p.round) {
    throw new Error(`valid round ${p.validRound} must be −1 or below the proposal's round ${p.round}`);
  }
  return { chainId: p.chainId, height: p.height, round: p.round, blockHash: p.blockHash, validRoundPlusOne: p.validRound + 1, proposer: p.proposer };
}

export function fromWire(w: ProposalWire): Proposal {
  return { chainId: w.chainId, height: w.height, round: w.round, blockHash: w.blockHash, validRound: w.validRoundPlusOne - 1, proposer: w.proposer };
}

/** The bytes a proposer signs: a domain tag (never a valid vote or transaction) and the canonical encoding. */
export const proposalSigningBytes = (p: Proposal): Uint8Array => concatBytes(PROPOSAL_DOMAIN, encode(ProposalSchema, toWire(p)));

export function signProposal(key: KeyPair, p: Proposal, block: Uint8Array): SignedProposal {
  if (!bytesEqual(key.publicKey, p.proposer)) throw new Error('a proposal is signed by its proposer');
  return { proposal: toWire(p), signature: signBytes(key.secretKey, proposalSigningBytes(p)), block };
}

/** Checks the proposer's signature (not the block). */
export function verifyProposal(sp: SignedProposal): boolean {
  const p = fromWire(sp.proposal);
  if (p.validRound >= p.round) return false;
  return verifySignature(p.proposer, proposalSigningBytes(p), sp.signature);
}

export const encodeSignedProposal = (sp: SignedProposal): Uint8Array => encode(SignedProposalSchema, sp);
export const decodeSignedProposal = (b: Uint8Array): SignedProposal => decode(SignedProposalSchema, b);

/**
 * Opens a received proposal: signature, chain, and a block that decodes, hashes to the proposed
 * value and is for the proposed height. Returns the reason when it cannot be used. Whether the
 * block is *valid* (executes on the ledger) is a separate question the host answers.
 */
export function openProposal(sp: SignedProposal, chainId: string): { proposal: Proposal; block: Block } | string {
  const proposal = fromWire(sp.proposal);
  if (proposal.chainId !== chainId) return `proposal is for chain ${proposal.chainId}`;
  if (!verifyProposal(sp)) return 'proposal signature is invalid';
  let block: Block;
  try {
    block = decodeBlock(sp.block);
  } catch (e) {
    return `proposal block does not decode: ${(e as Error).message}`;
  }
  if (!bytesEqual(blockHash(block.header), proposal.blockHash)) return 'proposal block does not hash to the proposed value';
  if (block.header.height !== proposal.height) return 'proposal block is for another height';
  return { proposal, block };
}

/** The core's view of an opened proposal, once the host has executed its block. */
export function proposalInput(p: Proposal, valid: boolean): ProposalInput {
  return { height: Number(p.height), round: p.round, blockHash: p.blockHash, validRound: p.validRound, proposer: p.proposer, valid };
}
