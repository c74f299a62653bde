import { describe, expect, it } from 'vitest';
import { addressFromPublicKey, bytesEqual, systemAddress, toHex } from '../crypto/index.ts';
import { balanceOf, checkSupply, encodeSignedVote, homeChain, MAIN_CHAIN, readAccount, signVote, tally, TxKind, VoteType, ZNC, ZNC_UNIT } from './index.ts';
import { WORKER_DIVIDEND } from './systemAccounts.ts';
import { makeTx, produce, testChain, type TestChain } from './testing.ts';
import { candidates, stakes, votes } from './stores.ts';
import type { Entry } from './entries.ts';

// DPoS on the ledger: candidates, stake-weighted votes and proxies, epochs, rewards, jail, evidence.

const EPOCH = 4;
const params = {
  epochLength: EPOCH,
  bookkeeperSeats: 2,
  minCandidateStake: (1_000n * ZNC_UNIT).toString(),
  missedToJail: 3,
  jailMs: 60_000,
  blockReward: (10n * ZNC_UNIT).toString(),
  workerDividendPerBlock: (5n * ZNC_UNIT).toString(),
};
const chain = (): TestChain => testChain({ devAccounts: ['alice', 'bob', 'carol', 'dave', 'erin'], params, bookkeepers: 2 });
const addr = (t: TestChain, n: string) => addressFromPublicKey(t.keys[n].publicKey);
const pk = (t: TestChain, n: string) => t.keys[n].publicKey;
const hexes = (keys: Uint8Array[]) => keys.map(toHex);
const candidate = (t: TestChain, n: string) => candidates.get(t.ledger.chains[MAIN_CHAIN], toHex(addr(t, n)));
const znc = (t: TestChain, a: Uint8Array) => balanceOf(readAccount(t.ledger.chains[homeChain(a)], toHex(a)), ZNC);

/** Produces empty heights until the ledger reaches `height`. */
function until(t: TestChain, height: number, round = 0): void {
  while (t.ledger.height < height) produce(t, [], undefined, round);
}

function stakeAndRegister(t: TestChain, names: string[], amount = 2_000n): void {
  produce(
    t,
    names.map((n) => makeTx(t, n, TxKind.Stake, { amount: amount * ZNC_UNIT })),
  );
  produce(t, []); // stake lands on main
  const rej = produce(
    t,
    names.map((n) => makeTx(t, n, TxKind.RegisterCandidate, { name: n })),
  );
  expect([...rej.values()].map((e) => e.message)).toEqual([]);
}

describe('bookkeeper election', () => {
  it('requires stake to stand, elects the top seats by staked votes one epoch ahead', () => {
    const t = chain();
    const early = makeTx(t, 'carol', TxKind.RegisterCandidate, { name: 'carol' });
    expect(produce(t, [early]).get(early.hashHex)?.code).toBe('INSUFFICIENT_STAKE');
    t.nonces.set(`carol/0`, 0n);
    stakeAndRegister(t, ['alice', 'bob', 'carol']);
    // dave (50k staked) and erin (10k) vote; weights: alice 60k, bob 50k, carol 10k.
    produce(
      t,
      ['dave', 'erin'].map((n) => makeTx(t, n, TxKind.Stake, { amount: (n === 'dave' ? 50_000n : 10_000n) * ZNC_UNIT })),
    );
    produce(t, []);
    produce(t, [
      makeTx(t, 'dave', TxKind.VoteBookkeepers, { candidates: [addr(t, 'alice'), addr(t, 'bob')] }),
      makeTx(t, 'erin', TxKind.VoteBookkeepers, { candidates: [addr(t, 'alice'), addr(t, 'carol')] }),
    ]);
    const boundary = Math.ceil((t.ledger.height + 1) / EPOCH) * EPOCH;
    // Candidates without votes never unseat the sitting (genesis) bookkeepers on a tie.
    expect(hexes(t.ledger.bookkeepersAt(boundary))).toEqual(hexes([pk(t, 'bookkeeper-0'), pk(t, 'bookkeeper-1')]).sort());
    until(t, boundary);
    // Elected at the boundary, in force one epoch later; the old set decides until then.
    expect(hexes(t.ledger.bookkeepersAt(boundary + EPOCH - 1))).toEqual(hexes(t.ledger.bookkeepersAt(boundary)));
    const elected = hexes(t.ledger.bookkeepersAt(boundary + EPOCH));
    expect(new Set(elected)).toEqual(new Set(hexes([pk(t, 'alice'), pk(t, 'bob')])));
    checkSupply(t.ledger);
  });

  it("counts a delegator's stake for its proxy's choice", () => {
    const t = chain();
    stakeAndRegister(t, ['alice', 'bob', 'carol']);
    produce(
      t,
      ['dave', 'erin'].map((n) => makeTx(t, n, TxKind.Stake, { amount: (n === 'dave' ? 10_000n : 50_000n) * ZNC_UNIT })),
    );
    produce(t, []);
    produce(t, [
      makeTx(t, 'dave', TxKind.VoteBookkeepers, { candidates: [addr(t, 'carol'), addr(t, 'bob')] }),
      makeTx(t, 'erin', TxKind.Delegate, { proxy: addr(t, 'dave') }),
    ]);
    const boundary = Math.ceil((t.ledger.height + 1) / EPOCH) * EPOCH;
    until(t, boundary);
    expect(new Set(hexes(t.ledger.bookkeepersAt(boundary + EPOCH)))).toEqual(new Set(hexes([pk(t, 'carol'), pk(t, 'bob')])));
  });

  it('reads stakes, not vote records: votes from keys without stake cost an election nothing', () => {
    const t = chain();
    stakeAndRegister(t, ['alice', 'bob', 'carol']);
    produce(t, [makeTx(t, 'dave', TxKind.Stake, { amount: 10_000n * ZNC_UNIT })]);
    produce(t, []);
    produce(t, [makeTx(t, 'dave', TxKind.VoteBookkeepers, { candidates: [addr(t, 'carol')] })]);
    const committed = t.ledger.chains[MAIN_CHAIN];
    const before = tally(committed);
    const extra = new Map<string, Entry>();
    const main = {
      get: <T extends Entry>(k: string) => (extra.get(k) ?? committed.get<T>(k)) as T | undefined,
      keys: (prefix = '') => [...new Set([...committed.keys(prefix), ...[...extra.keys()].filter((k) => k.startsWith(prefix))])].sort(),
      set: (k: string, v: Entry | null) => void (v && extra.set(k, v)),
    };
    // 2,000 vote records of fresh keys, each free to send (any key may vote; it weighs nothing).
    for (let i = 0; i < 2_000; i++) {
      const key = new Uint8Array(21);
      key[0] = 1;
      new DataView(key.buffer).setUint32(17, i + 1);
      votes.set(main, toHex(key), { candidates: [addr(t, 'bob')], proxy: new Uint8Array(0) });
    }
    let reads = 0;
    const counting = {
      get: <T extends Entry>(k: string) => {
        reads++;
        return main.get<T>(k);
      },
      keys: (prefix?: string) => {
        const ks = main.keys(prefix);
        reads += ks.length;
        return ks;
      },
    };
    const after = tally(counting);
    expect(after).toEqual(before);
    expect(after[0].address).toBe(toHex(addr(t, 'carol')));
    // The stakers (4) and their votes, not the 2,000 records.
    expect(reads).toBeLessThan(100);
  });

  it("pays each block's proposer from the pool at the end of its epoch and sets aside the worker dividend, minting nothing", () => {
    const t = chain();
    const set = t.ledger.bookkeepersAt(1);
    const pool0 = znc(t, systemAddress('rewards-pool'));
    const earned = (): bigint => set.reduce((a, k) => a + (candidates.get(t.ledger.chains[MAIN_CHAIN], toHex(addressFromPublicKey(k)))?.earned ?? 0n), 0n);
    until(t, 7);
    // Height h accounts for the proposer of h − 1; the epoch's last height (4) pays what heights
    // 2–4 earned, and the credit reaches the home chains at height 5. Heights 5–7 are still owed.
    const paid = set.map((k) => znc(t, addressFromPublicKey(k)));
    expect(paid.reduce((a, b) => a + b, 0n)).toBe(3n * 10n * ZNC_UNIT);
    expect(paid.every((p) => p > 0n)).toBe(true); // both took turns
    expect(earned()).toBe(3n * 10n * ZNC_UNIT);
    expect(t.ledger.inFlight.length).toBe(0); // an idle chain has nothing left to deliver
    expect(znc(t, systemAddress(WORKER_DIVIDEND))).toBe(6n * 5n * ZNC_UNIT);
    expect(pool0 - znc(t, systemAddress('rewards-pool'))).toBe(3n * 10n * ZNC_UNIT + 6n * 5n * ZNC_UNIT);
    until(t, 8);
    expect(earned()).toBe(0n);
    expect(t.ledger.inFlight.reduce((a, r) => a + r.amount, 0n)).toBe(4n * 10n * ZNC_UNIT);
    checkSupply(t.ledger);
  });

  it('jails a bookkeeper that misses its proposals in a row; it leaves the set and can unjail after the jail time', () => {
    const t = chain();
    stakeAndRegister(t, ['alice', 'bob', 'carol']);
    produce(t, [makeTx(t, 'dave', TxKind.Stake, { amount: 10_000n * ZNC_UNIT })]);
    produce(t, []);
    produce(t, [makeTx(t, 'dave', TxKind.VoteBookkeepers, { candidates: [addr(t, 'alice'), addr(t, 'bob'), addr(t, 'carol')] })]);
    // Let the elected set (two of alice, bob, carol by address order) take over.
    const boundary = Math.ceil((t.ledger.height + 1) / EPOCH) * EPOCH;
    until(t, boundary + EPOCH + 1);
    const set = t.ledger.bookkeepersAt(t.ledger.height + 1);
    expect(set.length).toBe(2);
    // set[0] goes offline: each height it should propose in round 0 commits in round 1 instead.
    const jailedKey = set[0];
    const jailedName = ['alice', 'bob', 'carol'].find((n) => bytesEqual(pk(t, n), jailedKey))!;
    for (let i = 0; i < 8; i++) {
      const h = t.ledger.height + 1;
      produce(t, [], undefined, bytesEqual(set[h % 2], jailedKey) ? 1 : 0);
    }
    // The block after the round-1 commit accounts for the miss; two misses are not yet three.
    expect(candidate(t, jailedName)!.jailedUntil > 0n || candidate(t, jailedName)!.missed > 0).toBe(true);
    for (let i = 0; i < 4; i++) {
      const h = t.ledger.height + 1;
      produce(t, [], undefined, bytesEqual(set[h % 2], jailedKey) ? 1 : 0);
    }
    expect(candidate(t, jailedName)!.jailedUntil).toBeGreaterThan(0n);
    // It leaves the set from the next height on, not only at the next election.
    expect(hexes(t.ledger.bookkeepersAt(t.ledger.height + 1))).not.toContain(toHex(jailedKey));
    const other = set[1];
    expect(candidates.get(t.ledger.chains[MAIN_CHAIN], toHex(addressFromPublicKey(other)))!.jailedUntil).toBe(0n);
    // It is excluded from the next election.
    const nextBoundary = Math.ceil((t.ledger.height + 1) / EPOCH) * EPOCH;
    until(t, nextBoundary);
    expect(hexes(t.ledger.bookkeepersAt(nextBoundary + EPOCH))).not.toContain(toHex(jailedKey));
    // Unjail: refused during the jail time, accepted after it.
    const tooEarly = makeTx(t, jailedName, TxKind.Unjail, {});
    expect(produce(t, [tooEarly]).get(tooEarly.hashHex)?.code).toBe('NOT_AUTHORIZED');
    t.nonces.set(`${jailedName}/0`, t.nonces.get(`${jailedName}/0`)! - 1n);
    const ok = makeTx(t, jailedName, TxKind.Unjail, {});
    expect(produce(t, [ok], t.ledger.time + 61_000).size).toBe(0);
    expect(candidate(t, jailedName)!.jailedUntil).toBe(0n);
    checkSupply(t.ledger);
  });

  it('slashes an equivocating bookkeeper on evidence, pays the reporter, and refuses the same evidence twice', () => {
    const t = chain();
    stakeAndRegister(t, ['alice'], 10_000n);
    const key = t.keys.alice;
    const base = { chainId: t.ledger.chainId, type: VoteType.Precommit, height: 3n, round: 0, validator: key.publicKey };
    const a = encodeSignedVote(signVote(key, { ...base, blockHash: new Uint8Array(32).fill(1) }));
    const b = encodeSignedVote(signVote(key, { ...base, blockHash: new Uint8Array(32).fill(2) }));
    const bob0 = znc(t, addr(t, 'bob'));
    const ev = makeTx(t, 'bob', TxKind.SubmitEvidence, { first: a, second: b });
    expect(produce(t, [ev]).size).toBe(0);
    produce(t, []);
    const slashed = 1_000n * ZNC_UNIT; // 10 % of 10,000 ZNC
    expect(stakes.get(t.ledger.chains[MAIN_CHAIN], toHex(addr(t, 'alice')))!.staked).toBe(9_000n * ZNC_UNIT);
    expect(znc(t, addr(t, 'bob')) - bob0).toBe(slashed / 10n);
    expect(candidate(t, 'alice')!.slashed).toBe(true);
    const again = makeTx(t, 'carol', TxKind.SubmitEvidence, { first: b, second: a }, 0n);
    expect(produce(t, [again]).get(again.hashHex)?.code).toBe('DUPLICATE_TX');
    const same = makeTx(t, 'carol', TxKind.SubmitEvidence, { first: a, second: a }, 0n);
    expect(produce(t, [same]).get(same.hashHex)?.code).toBe('INVALID_ARGUMENT');
    // Another height's equivocation by the same bookkeeper: it was slashed once, not again.
    const later = { ...base, height: 4n };
    const c1 = encodeSignedVote(signVote(key, { ...later, blockHash: new Uint8Array(32).fill(1) }));
    const c2 = encodeSignedVote(signVote(key, { ...later, blockHash: new Uint8Array(32).fill(2) }));
    const next = makeTx(t, 'carol', TxKind.SubmitEvidence, { first: c1, second: c2 }, 0n);
    expect(produce(t, [next]).get(next.hashHex)?.code).toBe('DUPLICATE_TX');
    expect(stakes.get(t.ledger.chains[MAIN_CHAIN], toHex(addr(t, 'alice')))!.staked).toBe(9_000n * ZNC_UNIT);
    checkSupply(t.ledger);
  });
});
