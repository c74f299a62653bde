import { AddressKind, addressKind, decodeAddress, encodeAddress, fromHex as fromHexBytes, merkleProof, sha256, toHex } from '../crypto/index.ts';
import {
  balanceOf,
  CHAIN_COUNT,
  decodeTx,
  homeChain,
  Keys,
  lockedAt,
  MAIN_CHAIN,
  quotaLimit,
  readAccount,
  segmentHash,
  stakedOf,
  TX_KIND_NAMES,
  tally,
  type Account,
  type Block,
  type BookkeeperSets,
  type Candidate,
  type VoteRecord,
  type Ledger,
  type Multisig,
  type Proposal,
  type Stake,
  type Token,
  type Tx,
  type UnbondingQueue,
} from '../ledger/index.ts';
import { ZNC } from '../ledger/index.ts';

// JSON views of ledger objects for the HTTP API: amounts as decimal strings (base units),
// bytes as hex, addresses as znc1….

type Json = string | number | boolean | null | Json[] | { [k: string]: Json };

export function jsonValue(v: unknown): Json {
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof Uint8Array) return v.length === 21 ? encodeAddress(v) : toHex(v);
  if (Array.isArray(v)) return v.map(jsonValue);
  if (v && typeof v === 'object') {
    const out: Record<string, Json> = {};
    for (const [k, x] of Object.entries(v)) out[k] = jsonValue(x);
    return out;
  }
  return v as Json;
}

/** `time`: when to evaluate vesting locks (the API passes the later of now and the last block). */
export function accountView(ledger: Ledger, address: string, time: number = ledger.time): Json {
  const addr = decodeAddress(address);
  const hex = toHex(addr);
  const home = homeChain(addr);
  const acc = readAccount(ledger.chains[home], hex);
  const nonces: Record<string, string> = {};
  for (let c = 0; c < CHAIN_COUNT; c++) {
    const a = ledger.chains[c].get<Account>(Keys.account(hex));
    if (a && a.nonce > 0n) nonces[c] = a.nonce.toString();
  }
  const main = ledger.chains[MAIN_CHAIN];
  const stake = main.get<Stake>(Keys.stake(hex));
  const locked = lockedAt(acc, time);
  const znc = balanceOf(acc, ZNC);
  const unbonding = (main.get<UnbondingQueue>(Keys.unbonding)?.entries ?? []).filter((e) => toHex(e.address) === hex);
  const homeAcc = ledger.chains[home].get<Account>(Keys.account(hex));
  const window = BigInt(Math.floor(ledger.time / ledger.params.quotaWindowMs));
  const multisig = addressKind(addr) === AddressKind.Multisig ? main.get<Multisig>(Keys.multisig(hex)) : undefined;
  return jsonValue({
    address,
    kind: ['key', 'multisig', 'system'][addressKind(addr)],
    homeChain: home,
    balances: acc.balances,
    znc: { balance: znc, vestingLocked: locked < znc ? locked : znc, spendable: znc > locked ? znc - locked : 0n },
    vesting: acc.vesting,
    nonces,
    staked: stake?.staked ?? 0n,
    unbonding: unbonding.map((u) => ({ amount: u.amount, releaseAt: Number(u.releaseAt) })),
    quota: {
      limit: quotaLimit(ledger.params, stakedOf(main, hex)),
      usedThisWindow: homeAcc && homeAcc.quotaWindow === window ? homeAcc.quotaUsed : 0,
      windowMs: ledger.params.quotaWindowMs,
    },
    ...(multisig ? { multisig: multisigView(ledger, addr, multisig) } : {}),
  });
}

function multisigView(ledger: Ledger, addr: Uint8Array, ms: Multisig): Json {
  const main = ledger.chains[MAIN_CHAIN];
  const hex = toHex(addr);
  const proposals = main.keys(`mp/${hex}/`).map((k) => ({ id: k.slice(k.lastIndexOf('/') + 1).replace(/^0+/, ''), ...main.get<Proposal>(k)! }));
  return jsonValue({ label: ms.label, members: ms.members, threshold: ms.threshold, proposals });
}

export function tokenView(t: Token): Json {
  return jsonValue(t);
}

export function tokensView(ledger: Ledger): Json {
  const main = ledger.chains[MAIN_CHAIN];
  return main.keys('tk/').map((k) => tokenView(main.get<Token>(k)!));
}

export function txView(tx: Tx): Json {
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

export function blockHeaderView(block: Block, hash: Uint8Array): Json {
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

export function blockView(block: Block, hash: Uint8Array): Json {
  return {
    ...(blockHeaderView(block, hash) as Record<string, Json>),
    // A transaction's hash is the SHA-256 of its bytes: no need to decode a whole block to list them.
    txs: block.segments.map((s) => s.txs.map((b) => toHex(sha256(b)))),
  };
}

export function segmentView(block: Block, chain: number): Json {
  return {
    chain,
    height: Number(block.header.height),
    header: jsonValue({ ...block.header.segments[chain], hash: segmentHash(block.header.segments[chain]) }),
    txs: block.segments[chain].txs.map((b) => txView(decodeTx(b))),
  };
}

/** Where a transaction is and the Merkle path from it to its segment's transaction root. */
export function inclusionView(block: Block, hash: Uint8Array, chain: number, index: number): Json {
  const leaves = block.segments[chain].txs.map((b) => decodeTx(b).hash);
  const seg = block.header.segments[chain];
  return jsonValue({
    blockHash: hash,
    segment: { ...seg, hash: segmentHash(seg) },
    proof: { leaf: leaves[index], index, size: leaves.length, path: merkleProof(leaves, index), root: seg.txRoot },
  });
}

/** Candidates with their weight, jail and slots; the set deciding the next height and any scheduled one. */
export function bookkeepersView(ledger: Ledger): Json {
  const main = ledger.chains[MAIN_CHAIN];
  const next = ledger.height + 1;
  const current = ledger.bookkeepersAt(next).map(toHex);
  const sets = main.get<BookkeeperSets>(Keys.bookkeeperSets)?.sets ?? [];
  const ranked = tally(main, (p) => main.keys(p), ledger.bookkeepersAt(next));
  const weight = new Map(ranked.map((r) => [r.address, r.weight]));
  const candidates = main.keys('cand/').map((k) => {
    const c = main.get<Candidate>(k)!;
    const hex = k.slice(5);
    return {
      address: encodeAddress(fromHexBytes(hex)),
      name: c.name,
      publicKey: toHex(c.publicKey),
      weight: (weight.get(hex) ?? 0n).toString(),
      staked: stakedOf(main, hex).toString(),
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
  const votes = main.keys('vote/').map((k) => {
    const v = main.get<VoteRecord>(k)!;
    return {
      voter: encodeAddress(fromHexBytes(k.slice(5))),
      candidates: v.candidates.map((c) => encodeAddress(c)),
      proxy: v.proxy.length ? encodeAddress(v.proxy) : null,
      staked: stakedOf(main, k.slice(5)).toString(),
    };
  });
  return jsonValue({
    height: ledger.height,
    seats: ledger.params.bookkeeperSeats,
    epochLength: ledger.params.epochLength,
    nextElection: (Math.floor(ledger.height / ledger.params.epochLength) + 1) * ledger.params.epochLength,
    set: current,
    scheduled: sets.filter((s) => s.fromHeight > BigInt(next)).map((s) => ({ fromHeight: Number(s.fromHeight), keys: s.keys.map(toHex) })),
    candidates,
    votes,
  });
}
