import { AddressKind, addressKind, decodeAddress, encodeAddress, fromHex as fromHexBytes, merkleProof, sha256Hex, toHex } from '../crypto/index.ts';
import {
  balanceOf,
  CHAIN_COUNT,
  decodeTx,
  homeChain,
  lockedAt,
  quotaLimit,
  segmentHash,
  TX_KIND_NAMES,
  type Block,
  type LedgerReader,
  type Multisig,
  type Token,
  type Tx,
} from '../ledger/index.ts';
import { ZNC } from '../ledger/index.ts';
import type { AccountAnswer, BlockHeaderAnswer, BookkeepersAnswer, InclusionAnswer, SegmentAnswer, TokenAnswer, TxAnswer, Wire } from '../sdk/index.ts';

// JSON views of ledger objects for the HTTP API, as the wire contract (src/sdk/wire.ts) types
// them: amounts as decimal strings (base units), bytes as hex, addresses as znc1….

export function jsonValue<T>(v: T): Wire<T> {
  return toJson(v) as Wire<T>;
}

type Json = string | number | boolean | null | Json[] | { [k: string]: Json };

function toJson(v: unknown): Json {
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof Uint8Array) return v.length === 21 ? encodeAddress(v) : toHex(v);
  if (Array.isArray(v)) return v.map(toJson);
  if (v && typeof v === 'object') {
    const out: Record<string, Json> = {};
    for (const [k, x] of Object.entries(v)) out[k] = toJson(x);
    return out;
  }
  return v as Json;
}

const ADDRESS_KINDS = ['key', 'multisig', 'system'] as const;

/** `time`: when to evaluate vesting locks (the API passes the later of now and the last block). */
export function accountView(reader: LedgerReader, address: string, time: number = reader.time): AccountAnswer {
  const addr = decodeAddress(address);
  const hex = toHex(addr);
  const home = homeChain(addr);
  const acc = reader.account(hex);
  const nonces: Record<string, string> = {};
  for (let c = 0; c < CHAIN_COUNT; c++) {
    const a = reader.accountOn(c, hex);
    if (a && a.nonce > 0n) nonces[c] = a.nonce.toString();
  }
  const stake = reader.stake(hex);
  const locked = lockedAt(acc, time);
  const znc = balanceOf(acc, ZNC);
  const unbonding = reader.unbonding().filter((e) => toHex(e.address) === hex);
  const homeAcc = reader.accountOn(home, hex);
  const window = BigInt(Math.floor(reader.time / reader.params.quotaWindowMs));
  const multisig = addressKind(addr) === AddressKind.Multisig ? reader.multisig(hex) : undefined;
  return jsonValue({
    address,
    kind: ADDRESS_KINDS[addressKind(addr)],
    homeChain: home,
    balances: acc.balances,
    znc: { balance: znc, vestingLocked: locked < znc ? locked : znc, spendable: znc > locked ? znc - locked : 0n },
    vesting: acc.vesting,
    nonces,
    staked: stake?.staked ?? 0n,
    unbonding: unbonding.map((u) => ({ amount: u.amount, releaseAt: Number(u.releaseAt) })),
    quota: {
      limit: quotaLimit(reader.params, reader.staked(hex)),
      usedThisWindow: homeAcc && homeAcc.quotaWindow === window ? homeAcc.quotaUsed : 0,
      windowMs: reader.params.quotaWindowMs,
    },
    ...(multisig ? { multisig: multisigView(reader, addr, multisig) } : {}),
  });
}

function multisigView(reader: LedgerReader, addr: Uint8Array, ms: Multisig): Wire<AccountAnswer['multisig']> {
  const proposals = reader.proposals(toHex(addr)).map(([id, p]) => ({ id: id.toString(), ...p }));
  return jsonValue({ label: ms.label, members: ms.members, threshold: ms.threshold, proposals });
}

export function tokenView(t: Token): TokenAnswer {
  return jsonValue(t);
}

export function tokensView(reader: LedgerReader): TokenAnswer[] {
  return reader.tokens().map(tokenView);
}

export function txView(tx: Tx): TxAnswer {
  return jsonValue({
    hash: tx.hashHex,
    kind: TX_KIND_NAMES[tx.kind],
    chain: tx.chain,
    from: tx.from,
    // The signer's Ed25519 public key: accounts store only addresses (hashes of keys), so this is
    // where a worker finds the key to seal a task poster's logs to.
    sender: tx.sender,
    nonce: tx.nonce,
    payload: tx.body.payload,
  });
}

export function blockHeaderView(block: Block, hash: Uint8Array): BlockHeaderAnswer {
  const h = block.header;
  return jsonValue({
    hash,
    chainId: h.chainId,
    height: Number(h.height),
    time: Number(h.time),
    prevHash: h.prevHash,
    proposer: h.proposer,
    txCount: h.segments.reduce((s, x) => s + x.txCount, 0),
    segments: h.segments.map((s) => ({ ...s, hash: segmentHash(s) })),
  });
}

/** A block without its certificate (the route adds the certificate it keeps beside the block). */
export function blockView(block: Block, hash: Uint8Array): BlockHeaderAnswer & { txs: string[][] } {
  return {
    ...blockHeaderView(block, hash),
    // A transaction's hash is the SHA-256 of its bytes: no need to decode a whole block to list them.
    txs: block.segments.map((s) => s.txs.map((b) => sha256Hex(b))),
  };
}

export function segmentView(block: Block, chain: number): SegmentAnswer {
  return {
    chain,
    height: Number(block.header.height),
    header: jsonValue({ ...block.header.segments[chain], hash: segmentHash(block.header.segments[chain]) }),
    txs: block.segments[chain].txs.map((b) => txView(decodeTx(b))),
  };
}

/** Where a transaction is and the Merkle path from it to its segment's transaction root. */
export function inclusionView(block: Block, hash: Uint8Array, chain: number, index: number): InclusionAnswer {
  const leaves = block.segments[chain].txs.map((b) => decodeTx(b).hash);
  const seg = block.header.segments[chain];
  return jsonValue({
    blockHash: hash,
    segment: { ...seg, hash: segmentHash(seg) },
    proof: { leaf: leaves[index], index, size: leaves.length, path: merkleProof(leaves, index), root: seg.txRoot },
  });
}

/** Candidates with their weight, jail and slots; the set deciding the next height and any scheduled one. */
export function bookkeepersView(reader: LedgerReader): BookkeepersAnswer {
  const next = reader.height + 1;
  const current = reader.bookkeepersAt(next).map(toHex);
  const sets = reader.bookkeeperSets();
  const ranked = reader.ranking(reader.bookkeepersAt(next));
  const weight = new Map(ranked.map((r) => [r.address, r.weight]));
  const candidates = reader.candidates().map(([hex, c]) => {
    return {
      address: encodeAddress(fromHexBytes(hex)),
      name: c.name,
      publicKey: toHex(c.publicKey),
      weight: (weight.get(hex) ?? 0n).toString(),
      staked: reader.staked(hex).toString(),
      inSet: current.includes(toHex(c.publicKey)),
      missedInARow: c.missed,
      missedTotal: c.missedTotal.toString(),
      proposed: c.proposed.toString(),
      earned: c.earned.toString(),
      jailedUntil: c.jailedUntil > 0n ? Number(c.jailedUntil) : null,
      slashed: c.slashed,
    };
  });
  candidates.sort((a, b) => (BigInt(b.weight) > BigInt(a.weight) ? 1 : BigInt(b.weight) < BigInt(a.weight) ? -1 : a.address < b.address ? -1 : 1));
  const votes = reader.votes().map(([hex, v]) => {
    return {
      voter: encodeAddress(fromHexBytes(hex)),
      candidates: v.candidates.map((c) => encodeAddress(c)),
      proxy: v.proxy.length ? encodeAddress(v.proxy) : null,
      staked: reader.staked(hex).toString(),
    };
  });
  return jsonValue({
    height: reader.height,
    seats: reader.params.bookkeeperSeats,
    epochLength: reader.params.epochLength,
    nextElection: (Math.floor(reader.height / reader.params.epochLength) + 1) * reader.params.epochLength,
    set: current,
    scheduled: sets.filter((s) => s.fromHeight > BigInt(next)).map((s) => ({ fromHeight: Number(s.fromHeight), keys: s.keys.map(toHex) })),
    candidates,
    votes,
  });
}
