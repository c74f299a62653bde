import { decode, encode, type Infer } from '../codec/index.ts';
import { bytesEqual, concatBytes, signBytes, utf8, verifySignature, type KeyPair } from '../crypto/portable.ts';

/** Tendermint-style vote kinds. */
export const VoteType = { Prevote: 1, Precommit: 2 } as const;
export type VoteType = (typeof VoteType)[keyof typeof VoteType];

/** What a bookkeeper signs when it votes; `blockHash` is empty for a nil vote. */
export const VoteSchema = {
  $id: 'Vote',
  fields: {
    chainId: { id: 1, type: 'string', max: 64 },
    type: { id: 2, type: 'uint32' },
    height: { id: 3, type: 'uint64' },
    round: { id: 4, type: 'uint32' },
    blockHash: { id: 5, type: 'bytes', max: 32 },
    validator: { id: 6, type: 'bytes', length: 32 },
  },
} as const;
export type VoteBody = Infer<typeof VoteSchema>;

export const SignedVoteSchema = {
  $id: 'SignedVote',
  fields: { vote: { id: 1, type: VoteSchema }, signature: { id: 2, type: 'bytes', length: 64 } },
} as const;
export type SignedVote = Infer<typeof SignedVoteSchema>;

/** More than two thirds of a height's bookkeepers precommitted `blockHash` in `round`. */
export const CertificateSchema = {
  $id: 'Certificate',
  fields: {
    height: { id: 1, type: 'uint64' },
    round: { id: 2, type: 'uint32' },
    blockHash: { id: 3, type: 'bytes', max: 32 },
    /** Index of each signer in the height's bookkeeper set, ascending, with its signature. */
    signers: { id: 4, type: { array: 'uint32' } },
    signatures: { id: 5, type: { array: 'bytes' }, length: 64 },
  },
} as const;
export type Certificate = Infer<typeof CertificateSchema>;

const VOTE_DOMAIN = utf8('ZEUSNET/vote/v1\0');

export const voteSigningBytes = (v: VoteBody): Uint8Array => concatBytes(VOTE_DOMAIN, encode(VoteSchema, v));

export function signVote(key: KeyPair, v: VoteBody): SignedVote {
  return { vote: v, signature: signBytes(key.secretKey, voteSigningBytes(v)) };
}

export function verifyVote(v: SignedVote): boolean {
  return verifySignature(v.vote.validator, voteSigningBytes(v.vote), v.signature);
}

export const encodeCertificate = (c: Certificate): Uint8Array => encode(CertificateSchema, c);
export const decodeCertificate = (b: Uint8Array): Certificate => decode(CertificateSchema, b);
export const encodeSignedVote = (v: SignedVote): Uint8Array => encode(SignedVoteSchema, v);
export const decodeSignedVote = (b: Uint8Array): SignedVote => decode(SignedVoteSchema, b);

/** Bookkeepers have equal voting power (one seat, one vote), as in DPoS. */
export function quorum(n: number): number {
  return Math.floor((2 * n) / 3) + 1;
}

/**
 * Checks a commit certificate against the bookkeeper set of its height: distinct known
 * signers in ascending order, each signature a valid precommit for the block, and more than
 * two thirds of the set. Returns a reason when it is not valid.
 */
export function certificateError(chainId: string, cert: Certificate, validators: Uint8Array[], blockHash: Uint8Array): string | undefined {
  if (!bytesEqual(cert.blockHash, blockHash)) return 'certificate is for another block';
  if (cert.signers.length !== cert.signatures.length) return 'certificate signers and signatures differ in number';
  if (cert.signers.length < quorum(validators.length)) {
    return `certificate has ${cert.signers.length} of the ${quorum(validators.length)} signatures a quorum needs`;
  }
  for (let i = 0; i < cert.signers.length; i++) {
    const idx = cert.signers[i];
    if (idx >= validators.length) return `certificate signer ${idx} is not in the bookkeeper set`;
    if (i > 0 && idx <= cert.signers[i - 1]) return 'certificate signers must be distinct and ascending';
    const vote: VoteBody = { chainId, type: VoteType.Precommit, height: cert.height, round: cert.round, blockHash: cert.blockHash, validator: validators[idx] };
    if (!verifySignature(validators[idx], voteSigningBytes(vote), cert.signatures[i])) return `certificate signature of signer ${idx} is invalid`;
  }
  return undefined;
}

/** A certificate signed by the given keys (each must be in `validators`), as a quorum would sign it. */
export function certify(chainId: string, height: bigint, round: number, blockHash: Uint8Array, validators: Uint8Array[], keys: KeyPair[]): Certificate {
  const signed = keys
    .map((k) => ({ idx: validators.findIndex((v) => bytesEqual(v, k.publicKey)), k }))
    .filter((x) => x.idx >= 0)
    .sort((a, b) => a.idx - b.idx);
  return {
    height,
    round,
    blockHash,
    signers: signed.map((x) => x.idx),
    signatures: signed.map((x) =>
      signBytes(x.k.secretKey, voteSigningBytes({ chainId, type: VoteType.Precommit, height, round, blockHash, validator: x.k.publicKey })),
    ),
  };
}
