import * as stores from '../stores.ts';
import { decode } from '../../codec/index.ts';
import { AddressKind, addressFromPublicKey, addressKind, bytesEqual, encodeAddress, systemAddress, toHex } from '../../crypto/portable.ts';
import { SignedVoteSchema, verifyVote, type SignedVote } from '../commit.ts';
import { credit } from '../context.ts';
import { newCandidate, readCandidate } from '../election.ts';
import { fail } from '../errors.ts';
import { ADDRESS_RULE, optionalAddress } from '../fields.ts';
import { ZNC } from '../params.ts';
import { REWARDS_POOL_NAME } from '../systemAccounts.ts';
import { defineOp } from './operation.ts';

// The election's transactions (src/ledger/election.ts holds the election itself). Candidates,
// votes, stakes and the bookkeeper sets are on main: every kind here routes there.

export const registerCandidate = defineOp({
  kind: 11,
  name: 'RegisterCandidate',
  schema: { $id: 'RegisterCandidate', fields: { name: { id: 1, type: 'string', max: 32 } } },
  // Candidates and the stakes they need are on main.
  route: 'main',
  apply(ctx, tx, p) {
    if (!/^[\w.-]{1,32}$/.test(p.name)) fail('INVALID_ARGUMENT', 'candidate name: 1–32 letters, digits, _ . -');
    const existing = readCandidate(ctx, tx.fromHex);
    if (existing?.slashed) fail('NOT_AUTHORIZED', 'this account was slashed for equivocation and cannot stand again');
    const staked = stores.stakes.get(ctx.state, tx.fromHex)?.staked ?? 0n;
    if (!existing && staked < ctx.params.minCandidateStake) {
      fail('INSUFFICIENT_STAKE', `a candidate must have ${ctx.params.minCandidateStake} ZNC base units staked; ${encodeAddress(tx.from)} has ${staked}`);
    }
    stores.candidates.set(ctx.state, tx.fromHex, existing ? { ...existing, name: p.name } : newCandidate(tx.sender, p.name));
  },
});

export const voteBookkeepers = defineOp({
  kind: 12,
  name: 'VoteBookkeepers',
  schema: { $id: 'VoteBookkeepers', fields: { candidates: { id: 1, type: { array: 'bytes', max: 30 }, ...ADDRESS_RULE } } },
  // Votes are tallied on main, with the candidates and stakes they weigh.
  route: 'main',
  apply(ctx, tx, p) {
    const seen = new Set<string>();
    for (const c of p.candidates) {
      const hex = toHex(c);
      if (seen.has(hex)) fail('INVALID_ARGUMENT', `candidate ${encodeAddress(c)} is listed twice`);
      seen.add(hex);
      if (!stores.candidates.get(ctx.state, hex)) fail('UNKNOWN_ACCOUNT', `${encodeAddress(c)} is not a registered candidate`);
    }
    const prev = stores.votes.get(ctx.state, tx.fromHex);
    stores.votes.set(ctx.state, tx.fromHex, { candidates: p.candidates, proxy: prev?.proxy ?? new Uint8Array(0) });
  },
});

/** An empty proxy withdraws the delegation. */
export const delegate = defineOp({
  kind: 13,
  name: 'Delegate',
  schema: { $id: 'Delegate', fields: { proxy: { id: 1, ...optionalAddress } } },
  // A delegation is part of the voter's vote record, on main.
  route: 'main',
  admit(_ctx, tx, p) {
    if (p.proxy.length !== 0) {
      if (p.proxy.length !== 21 || addressKind(p.proxy) !== AddressKind.Key) fail('INVALID_ARGUMENT', 'a proxy must be a key address');
      if (bytesEqual(p.proxy, tx.from)) fail('INVALID_ARGUMENT', 'an account cannot be its own proxy');
    }
  },
  apply(ctx, tx, p) {
    const prev = stores.votes.get(ctx.state, tx.fromHex);
    stores.votes.set(ctx.state, tx.fromHex, { candidates: prev?.candidates ?? [], proxy: p.proxy });
  },
});

export const unjail = defineOp({
  kind: 14,
  name: 'Unjail',
  schema: { $id: 'Unjail', fields: {} },
  // The candidate record that holds the jail term is on main.
  route: 'main',
  apply(ctx, tx) {
    const c = readCandidate(ctx, tx.fromHex);
    if (!c) fail('UNKNOWN_ACCOUNT', `${encodeAddress(tx.from)} is not a candidate`);
    if (c.slashed) fail('NOT_AUTHORIZED', 'a slashed bookkeeper cannot unjail');
    if (c.jailedUntil === 0n) fail('INVALID_ARGUMENT', 'not jailed');
    if (c.jailedUntil > BigInt(ctx.time)) fail('NOT_AUTHORIZED', `jailed until ${new Date(Number(c.jailedUntil)).toISOString()} (block time)`);
    stores.candidates.set(ctx.state, tx.fromHex, { ...c, jailedUntil: 0n, missed: 0 });
  },
});

function decodeVote(bytes: Uint8Array, which: string): SignedVote {
  try {
    return decode(SignedVoteSchema, bytes);
  } catch (e) {
    fail('BAD_ENCODING', `${which} vote: ${(e as Error).message}`);
  }
}

/** Proof that a bookkeeper signed two different votes for one (height, round, step). */
export const submitEvidence = defineOp({
  kind: 15,
  name: 'SubmitEvidence',
  /** Two conflicting signed votes (encoded SignedVote) by one bookkeeper for one height, round and step. */
  schema: { $id: 'SubmitEvidence', fields: { first: { id: 1, type: 'bytes', max: 512 }, second: { id: 2, type: 'bytes', max: 512 } } },
  // The offender's candidate record and stake, which the slash takes from, are on main.
  route: 'main',
  apply(ctx, tx, p) {
    const a = decodeVote(p.first, 'first');
    const b = decodeVote(p.second, 'second');
    const va = a.vote;
    const vb = b.vote;
    if (va.chainId !== tx.chainId || vb.chainId !== tx.chainId) fail('INVALID_ARGUMENT', 'evidence votes are for another chain');
    if (!bytesEqual(va.validator, vb.validator) || va.height !== vb.height || va.round !== vb.round || va.type !== vb.type) {
      fail('INVALID_ARGUMENT', 'evidence votes must be by one bookkeeper for the same height, round and step');
    }
    if (bytesEqual(va.blockHash, vb.blockHash)) fail('INVALID_ARGUMENT', 'evidence votes do not conflict (same block)');
    if (!verifyVote(a) || !verifyVote(b)) fail('BAD_SIGNATURE', 'an evidence vote has an invalid signature');
    const offender = addressFromPublicKey(va.validator);
    const hex = toHex(offender);
    const c = readCandidate(ctx, hex);
    if (!c) fail('UNKNOWN_ACCOUNT', `${encodeAddress(offender)} is not a bookkeeper candidate`);
    if (stores.evidence.has(ctx.state, hex, va.height, va.round, va.type)) fail('DUPLICATE_TX', 'this equivocation was already punished');
    // One slash per bookkeeper: an equivocator signs twice at every height until it leaves the
    // set, and the reports of those heights all race into the same block.
    if (c.slashed) fail('DUPLICATE_TX', `${encodeAddress(offender)} was already slashed for equivocation`);
    stores.evidence.set(ctx.state, hex, va.height, va.round, va.type, { height: va.height });
    stores.candidates.set(ctx.state, hex, { ...c, slashed: true });
    // Slashed stake moves, never vanishes: a share to the reporter, the rest to the rewards pool.
    const s = stores.stakes.get(ctx.state, hex) ?? { staked: 0n, unbonding: 0n };
    const slashed = (s.staked * BigInt(ctx.params.slashBp)) / 10_000n;
    if (slashed > 0n) {
      stores.stakes.set(ctx.state, hex, { ...s, staked: s.staked - slashed });
      const toReporter = (slashed * BigInt(ctx.params.reporterBp)) / 10_000n;
      credit(ctx, tx.from, ZNC, toReporter);
      credit(ctx, systemAddress(REWARDS_POOL_NAME), ZNC, slashed - toReporter);
    }
  },
});
