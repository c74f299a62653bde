import { describe, expect, it } from 'vitest';
import { toHex } from '../crypto/index.ts';
import { LeaseState, TaskState } from './marketEntries.ts';
import { MarketDriver } from './marketTesting.ts';
import { ZNC_UNIT } from './params.ts';
import { TxKind } from './tx.ts';

// Fairness of who gets leased (issue 13, items 7–9): a worker slashed below the minimum bond is
// not leased by any path until it tops up; a rating is earned, not declared; a bid can be
// withdrawn so that it stops holding the worker. Each scenario ends with who paid whom.

const names = ['alice', 'bob', 'w1', 'w2', 'w3'];
const PRICE = 18_000_000n;
const DEARER = 20_000_000n;
const MIN_BOND = 100n * ZNC_UNIT;

function workerFields(m: MarketDriver, name: string) {
  const { bond: _b, benchmark: _bm, rating: _r, completed: _c, failed: _f, abandoned: _a, disputesLost: _d, leavingAt: _l, registeredAt: _ra, slashedTotal: _s, ...spec } = m.worker(name);
  return spec;
}

const leaseWorker = (m: MarketDriver, id: Uint8Array, n: number): string => toHex(m.lease(id, n).worker);

/** w1 registered at exactly the minimum bond misses a start deadline: slashed 5 % to 95 ZNC. */
function slashBelowMinimum(m: MarketDriver): void {
  const id = m.postTask('bob', { retries: 0 });
  m.next([m.tx('w1', TxKind.Bid, { task: id, price: PRICE })]);
  m.until(Number(m.task(id).closeHeight) + 1);
  m.until(Number(m.lease(id, 0).startBy) + 3);
  expect(m.lease(id, 0).state).toBe(LeaseState.Failed);
  expect(m.worker('w1').bond).toBe(95n * ZNC_UNIT);
}

describe('a worker whose bond fell below the minimum is not leased until it tops up', () => {
  it('refuses its Bid and AcceptBid, skips it at a window close and on a re-offered slot, counts it as BOND; a top-up lifts the block', () => {
    const m = new MarketDriver(names);
    m.registerWorker('w1', { bond: MIN_BOND });
    m.registerWorker('w2');
    const before = { alice: m.znc('alice'), w1: m.znc('w1'), w2: m.znc('w2') };

    // Bid on before the slash: a long window that closes after it, and one the poster decides.
    const early = m.postTask('alice', { bidWindowBlocks: 30 });
    const accepted = m.postTask('alice', { bidWindowBlocks: 30 });
    m.next([
      m.tx('w1', TxKind.Bid, { task: early, price: PRICE }),
      m.tx('w2', TxKind.Bid, { task: early, price: DEARER }),
      m.tx('w1', TxKind.Bid, { task: accepted, price: PRICE }),
    ]);
    // A re-offered slot: w2 takes it first and never starts, so the slot opens again after the slash.
    const reoffered = m.postTask('alice', { retries: 1, bidWindowBlocks: 6 });
    m.next([m.tx('w2', TxKind.Bid, { task: reoffered, price: PRICE })]);

    slashBelowMinimum(m);
    const w = m.worker('w1');
    expect(w.leavingAt).toBe(0n);

    // Bid: refused with its own code and what to add.
    const fresh = m.postTask('alice', { bidWindowBlocks: 3 });
    const refused = m.reject(m.tx('w1', TxKind.Bid, { task: fresh, price: PRICE }));
    expect(refused.code).toBe('BOND_BELOW_MINIMUM');
    expect(refused.message).toContain(`add at least ${5n * ZNC_UNIT}`);
    // AcceptBid of the bid it made while it still had its bond: refused too.
    expect(m.reject(m.tx('alice', TxKind.AcceptBid, { task: accepted, worker: m.addr('w1') })).code).toBe('BOND_BELOW_MINIMUM');
    // The re-offered slot (w2 failed to start, was slashed): w1 cannot take it.
    expect(m.task(reoffered).state).toBe(TaskState.Open);
    expect(m.reject(m.tx('w1', TxKind.Bid, { task: reoffered, price: PRICE })).code).toBe('BOND_BELOW_MINIMUM');
    // The window it bid on while bonded closes now: the cheaper w1 is skipped, w2 wins.
    m.until(Number(m.task(early).closeHeight) + 1);
    expect(m.task(early).leaseCount).toBe(1);
    expect(leaseWorker(m, early, 0)).toBe(m.hex('w2'));
    // A window nobody else bid on ends with w1 counted as BOND, not as fit-but-no-bid.
    m.until(Number(m.task(fresh).closeHeight) + 1);
    expect(m.task(fresh).state).toBe(TaskState.Expired);
    expect(JSON.parse(m.task(fresh).noBidReasons)).toMatchObject({ BOND: 1 });

    // Top up: stake 5 ZNC, add it to the bond; the next Bid is taken and wins.
    m.next([m.tx('w1', TxKind.Stake, { amount: 5n * ZNC_UNIT })]);
    m.next();
    m.next([m.tx('w1', TxKind.UpdateWorker, { ...workerFields(m, 'w1'), addBond: 5n * ZNC_UNIT })]);
    expect(m.worker('w1').bond).toBe(MIN_BOND);
    const after = m.postTask('alice', { bidWindowBlocks: 2 });
    m.next([m.tx('w1', TxKind.Bid, { task: after, price: PRICE }), m.tx('w2', TxKind.Bid, { task: after, price: DEARER })]);
    m.until(Number(m.task(after).closeHeight) + 1);
    expect(leaseWorker(m, after, 0)).toBe(m.hex('w1'));

    // w1 paid only the top-up (from its balance into the bond); nobody was paid for leases never started.
    expect(m.znc('w1')).toBe(before.w1 - 5n * ZNC_UNIT);
    expect(m.znc('w2')).toBe(before.w2);
  });
});
