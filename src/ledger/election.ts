import * as stores from './stores.ts';
import { addressFromPublicKey, bytesEqual, fromHex, systemAddress, toHex } from '../crypto/portable.ts';
import type { Certificate } from './commit.ts';
import { credit, readAccount, writeAccount, type ExecContext } from './context.ts';
import type { Candidate } from './entries.ts';
import { MAIN_CHAIN, ZNC } from './params.ts';
import type { StateReader } from './state.ts';
import { REWARDS_POOL_NAME, WORKER_DIVIDEND } from './systemAccounts.ts';

// Delegated proof of stake on the main chain: candidates, stake-weighted approval votes and
// proxies, an election every epoch that takes effect one epoch later, rewards from the pool,
// jail for missed proposals and slashing on evidence of equivocation. Its transactions are in
// src/ledger/ops/election.ts; this is what the main chain does at the start of every height.

/**
 * What an election reads of the genesis: its bookkeepers' keys. Named here rather than taking the
 * whole Genesis (a zod schema's type) so that the transaction handlers, which a client's SDK
 * compiles against, do not pull genesis.ts and zod into its types.
 */
export interface GenesisBookkeepers {
  bookkeepers: readonly { publicKey: string }[];
}

/** Bookkeeper public keys deciding `height`: the scheduled set in force, else genesis's. */
export function bookkeeperSetAt(main: StateReader, genesis: GenesisBookkeepers, height: number): Uint8Array[] {
  const sets = stores.bookkeeperSets.get(main)?.sets ?? [];
  let keys: Uint8Array[] | undefined;
  for (const s of sets) if (s.fromHeight <= BigInt(height)) keys = s.keys;
  return keys ?? genesis.bookkeepers.map((b) => fromHex(b.publicKey));
}

export function readCandidate(ctx: ExecContext, addrHex: string): Candidate | undefined {
  const c = stores.candidates.get(ctx.state, addrHex);
  return c && { ...c };
}

export function newCandidate(publicKey: Uint8Array, name: string): Candidate {
  return { publicKey, name, jailedUntil: 0n, missed: 0, slashed: false, proposed: 0n, missedTotal: 0n, earned: 0n };
}

/** Moves up to `amount` ZNC from one main-chain system account to an address. */
function payFrom(ctx: ExecContext, fromName: string, to: Uint8Array, amount: bigint): void {
  const hex = toHex(systemAddress(fromName));
  const acc = readAccount(ctx.state, hex);
  const pay = (acc.balances[ZNC] ?? 0n) < amount ? (acc.balances[ZNC] ?? 0n) : amount;
  if (pay === 0n) return;
  acc.balances[ZNC] = (acc.balances[ZNC] ?? 0n) - pay;
  writeAccount(ctx.state, hex, acc);
  credit(ctx, to, ZNC, pay);
}

/**
 * Start of every main-chain height: account for the previous height's proposers (who
 * proposed in the deciding round, who missed before it) and hold an election at epoch
 * boundaries.
 */
export function electionWork(ctx: ExecContext, genesis: GenesisBookkeepers, lastCommit: Certificate): void {
  if (ctx.chain !== MAIN_CHAIN) return;
  const prev = Number(lastCommit.height);
  if (prev >= 1) {
    const set = bookkeeperSetAt(ctx.state, genesis, prev);
    const n = set.length;
    for (let r = 0; r <= lastCommit.round; r++) {
      const key = set[(prev + r) % n];
      const hex = toHex(addressFromPublicKey(key));
      const c = readCandidate(ctx, hex) ?? newCandidate(key, '');
      if (r < lastCommit.round) {
        c.missed += 1;
        c.missedTotal += 1n;
        if (c.missed >= ctx.params.missedToJail) {
          c.jailedUntil = BigInt(ctx.time + ctx.params.jailMs);
          c.missed = 0;
        }
      } else {
        c.missed = 0;
        c.proposed += 1n;
        c.earned += ctx.params.blockReward;
        payFrom(ctx, REWARDS_POOL_NAME, systemAddress(WORKER_DIVIDEND), ctx.params.workerDividendPerBlock);
      }
      stores.candidates.set(ctx.state, hex, c);
    }
  }
  dropIneligible(ctx, genesis);
  if (ctx.height % ctx.params.epochLength === 0) {
    payEarnedRewards(ctx);
    elect(ctx, genesis);
  }
}

/** Jailed until an unjail transaction, or slashed. */
function eligible(c: Candidate | undefined): boolean {
  return !c || (!c.slashed && c.jailedUntil === 0n);
}

/**
 * A jailed or slashed bookkeeper leaves the set from the next height, and any scheduled set,
 * rather than at the next election: its slots would otherwise keep costing every height a
 * round. A set is never emptied.
 */
function dropIneligible(ctx: ExecContext, genesis: GenesisBookkeepers): void {
  const next = BigInt(ctx.height + 1);
  let changed = false;
  const filter = (keys: Uint8Array[]): Uint8Array[] => {
    const kept = keys.filter((k) => eligible(stores.candidates.get(ctx.state, toHex(addressFromPublicKey(k)))));
    if (kept.length === keys.length || kept.length === 0) return keys;
    changed = true;
    return kept;
  };
  const sets = stores.bookkeeperSets.get(ctx.state)?.sets ?? [];
  const nextKeys = filter(bookkeeperSetAt(ctx.state, genesis, ctx.height + 1));
  const later = sets.filter((s) => s.fromHeight > next).map((s) => ({ fromHeight: s.fromHeight, keys: filter(s.keys) }));
  if (!changed) return;
  // Keep the set that decided this height: the next height accounts for its proposers.
  const current = sets.filter((s) => s.fromHeight <= BigInt(ctx.height)).slice(-1);
  stores.bookkeeperSets.set(ctx.state, { sets: [...current, { fromHeight: next, keys: nextKeys }, ...later] });
}

/**
 * Rewards travel to the bookkeepers' home chains once per epoch rather than once per block:
 * a per-block credit would itself be work for the next block, and an idle chain would never
 * stop making blocks to deliver its own rewards.
 */
function payEarnedRewards(ctx: ExecContext): void {
  const hex = toHex(systemAddress(REWARDS_POOL_NAME));
  for (const [[candidateHex], c] of stores.candidates.scan(ctx.state)) {
    if (c.earned === 0n) continue;
    const pool = readAccount(ctx.state, hex).balances[ZNC] ?? 0n;
    const pay = pool < c.earned ? pool : c.earned;
    payFrom(ctx, REWARDS_POOL_NAME, addressFromPublicKey(c.publicKey), pay);
    stores.candidates.set(ctx.state, candidateHex, { ...c, earned: c.earned - pay });
  }
}

/**
 * Stake-weighted approval voting, proxies followed one step. Ranked by weight, then sitting
 * bookkeepers before newcomers (so a tie never unseats anyone), then address.
 */
export function tally(state: StateReader, incumbents: Uint8Array[] = []): { address: string; weight: bigint; publicKey: Uint8Array }[] {
  const weights = new Map<string, bigint>();
  // By stake, not by vote record: anyone can write a vote record for free (it weighs nothing
  // without a stake), while a stake is locked ZNC. So an election costs what was staked, not what
  // was spammed.
  for (const [[voterHex], s] of stores.stakes.scan(state)) {
    const weight = s.staked;
    if (weight === 0n) continue;
    const v = stores.votes.get(state, voterHex);
    if (!v) continue;
    let choice = v.candidates;
    if (v.proxy.length === 21) {
      const pv = stores.votes.get(state, toHex(v.proxy));
      choice = pv?.candidates ?? [];
    }
    for (const c of choice) weights.set(toHex(c), (weights.get(toHex(c)) ?? 0n) + weight);
  }
  const out: { address: string; weight: bigint; publicKey: Uint8Array }[] = [];
  for (const [[hex], c] of stores.candidates.scan(state)) {
    if (!eligible(c)) continue;
    out.push({ address: hex, weight: weights.get(hex) ?? 0n, publicKey: c.publicKey });
  }
  const sitting = new Set(incumbents.map((k) => toHex(addressFromPublicKey(k))));
  const rank = (x: { address: string }): number => (sitting.has(x.address) ? 0 : 1);
  out.sort((a, b) => (a.weight > b.weight ? -1 : a.weight < b.weight ? 1 : rank(a) !== rank(b) ? rank(a) - rank(b) : a.address < b.address ? -1 : 1));
  return out;
}

function elect(ctx: ExecContext, genesis: GenesisBookkeepers): void {
  const current = bookkeeperSetAt(ctx.state, genesis, ctx.height + ctx.params.epochLength);
  const ranked = tally(ctx.state, current).slice(0, ctx.params.bookkeeperSeats);
  if (ranked.length === 0) return; // never leave the chain without bookkeepers
  const next = ranked.map((r) => r.publicKey).sort((a, b) => (toHex(a) < toHex(b) ? -1 : 1));
  if (current.length === next.length && current.every((k, i) => bytesEqual(k, next[i]))) return;
  const sets = stores.bookkeeperSets.get(ctx.state)?.sets ?? [];
  const fromHeight = BigInt(ctx.height + ctx.params.epochLength);
  // Keep the sets that may still decide heights (the current one and the scheduled one).
  const kept = sets.filter((s, i) => i >= sets.length - 2 && s.fromHeight < fromHeight);
  stores.bookkeeperSets.set(ctx.state, { sets: [...kept, { fromHeight, keys: next }] });
}
