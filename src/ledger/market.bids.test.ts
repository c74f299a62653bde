import { describe, expect, it } from 'vitest';
import { toHex } from '../crypto/index.ts';
import { LeaseState, TaskState } from './market/lifecycle.ts';
import { MarketDriver } from './marketTesting.ts';
import { NEW_WORKER_RATING } from '../market/index.ts';
import { ZNC_UNIT } from './params.ts';
import { TxKind } from './ops/index.ts';

// Fairness of who gets leased (issue 13, items 7–9): a worker slashed below the minimum bond is
// not leased by any path until it tops up; a rating is earned, not declared; a bid can be
// withdrawn so that it stops holding the worker. Each scenario ends with who paid whom.

const names = ['alice', 'bob', 'w1', 'w2', 'w3', 'liar'];
const PRICE = 18_000_000n;
const DEARER = 20_000_000n;
const MIN_BOND = 100n * ZNC_UNIT;

function workerFields(m: MarketDriver, name: string) {
  const {
    bond: _b,
    benchmark: _bm,
    rating: _r,
    completed: _c,
    failed: _f,
    abandoned: _a,
    disputesLost: _d,
    leavingAt: _l,
    registeredAt: _ra,
    slashedTotal: _s,
    ...spec
  } = m.worker(name);
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

/** `name` wins one lease and completes it: a record of one completed lease. */
function completeOne(m: MarketDriver, name: string): void {
  const id = m.postTask('bob', { bidWindowBlocks: 1 });
  m.next([m.tx(name, TxKind.Bid, { task: id, price: PRICE })]);
  m.until(Number(m.task(id).closeHeight) + 1);
  m.next([m.tx(name, TxKind.StartLease, { task: id, lease: 0, endpoint: '' })]);
  m.next([
    m.tx(name, TxKind.SubmitResult, {
      task: id,
      lease: 0,
      digest: `sha256:${'aa'.repeat(32)}`,
      cpuSeconds: 1n,
      memoryGiBSeconds: 1n,
      gpuSeconds: 0n,
      networkBytes: 0n,
      wallMs: 1000n,
    }),
  ]);
  m.until(Number(m.lease(id, 0).reviewEnd) + 3);
  expect(m.worker(name).completed).toBe(1n);
}

/** A task both bid on at the same price: whose bid wins. */
function tie(m: MarketDriver, a: string, b: string): string {
  const id = m.postTask('alice', { bidWindowBlocks: 1 });
  m.next([m.tx(a, TxKind.Bid, { task: id, price: PRICE }), m.tx(b, TxKind.Bid, { task: id, price: PRICE })]);
  m.until(Number(m.task(id).closeHeight) + 1);
  const winner = leaseWorker(m, id, 0);
  // The poster cancels before the start: nobody's record or bond moves.
  m.next([m.tx('alice', TxKind.CancelTask, { task: id })]);
  return winner === m.hex(a) ? a : b;
}

describe('a rating is earned, not declared', () => {
  it('a newcomer claiming a benchmark of 1000 starts where any newcomer does, below a worker with a good record, and cannot pass a minimum rating it has not earned', () => {
    const m = new MarketDriver(names);
    m.registerWorker('w1', { benchmark: 600 });
    completeOne(m, 'w1');
    m.registerWorker('liar', { benchmark: 1000 });
    m.registerWorker('w3', { benchmark: 0 });
    // The claim moves nothing: every newcomer starts at the same rating.
    expect(m.worker('liar').rating).toBe(NEW_WORKER_RATING);
    expect(m.worker('w3').rating).toBe(NEW_WORKER_RATING);
    expect(m.worker('liar').benchmark).toBe(1000); // kept as what it claimed, shown, not used
    expect(m.worker('w1').rating).toBeGreaterThan(NEW_WORKER_RATING);
    // At equal price the record wins, whatever the hash of (task, worker) says, task after task.
    for (let i = 0; i < 4; i++) expect(tie(m, 'liar', 'w1')).toBe('w1');
    // A minimum rating above the start is for workers with a record.
    const picky = m.postTask('alice', { minRating: NEW_WORKER_RATING + 1, bidWindowBlocks: 2 });
    const refused = m.reject(m.tx('liar', TxKind.Bid, { task: picky, price: PRICE }));
    expect(refused.code).toBe('WORKER_UNFIT');
    expect(refused.message).toContain(`rating: ${NEW_WORKER_RATING}, task needs at least ${NEW_WORKER_RATING + 1}`);
    m.next([m.tx('w1', TxKind.Bid, { task: picky, price: PRICE })]);
    m.until(Number(m.task(picky).closeHeight) + 1);
    expect(leaseWorker(m, picky, 0)).toBe(m.hex('w1'));
    // A newcomer still wins by price against the record.
    const cheaper = m.postTask('alice', { bidWindowBlocks: 1 });
    m.next([m.tx('w3', TxKind.Bid, { task: cheaper, price: PRICE - 1n }), m.tx('w1', TxKind.Bid, { task: cheaper, price: PRICE })]);
    m.until(Number(m.task(cheaper).closeHeight) + 1);
    expect(leaseWorker(m, cheaper, 0)).toBe(m.hex('w3'));
  });

  it('a worker with a bad record is not protected against a newcomer: a failure puts it below the start', () => {
    const m = new MarketDriver(names);
    // It claimed 900 and then failed a lease; the newcomer claims less.
    m.registerWorker('w1', { benchmark: 900 });
    const id = m.postTask('bob', { bidWindowBlocks: 1 });
    m.next([m.tx('w1', TxKind.Bid, { task: id, price: PRICE })]);
    m.until(Number(m.task(id).closeHeight) + 1);
    m.until(Number(m.lease(id, 0).startBy) + 3);
    expect(m.worker('w1').failed).toBe(1n);
    m.registerWorker('w2', { benchmark: 600 });
    expect(m.worker('w1').rating).toBeLessThan(m.worker('w2').rating);
    for (let i = 0; i < 4; i++) expect(tie(m, 'w1', 'w2')).toBe('w2');
  });
});

describe('a bid can be taken back while its window is open', () => {
  it('a withdrawn bid wins nothing, neither at the close nor by AcceptBid, and cannot be made again in that window', () => {
    const m = new MarketDriver(names);
    for (const w of ['w1', 'w2', 'w3']) m.registerWorker(w);
    const before = m.znc('alice');
    const id = m.postTask('alice', { bidWindowBlocks: 8 });
    // w2 and w3 bid cheaper than w1, then take their bids back.
    m.next([
      m.tx('w1', TxKind.Bid, { task: id, price: DEARER }),
      m.tx('w2', TxKind.Bid, { task: id, price: PRICE }),
      m.tx('w3', TxKind.Bid, { task: id, price: PRICE }),
    ]);
    m.next([m.tx('w2', TxKind.WithdrawBid, { task: id }), m.tx('w3', TxKind.WithdrawBid, { task: id })]);
    expect(m.reject(m.tx('w2', TxKind.WithdrawBid, { task: id })).code).toBe('BID_NOT_FOUND');
    expect(m.reject(m.tx('w2', TxKind.Bid, { task: id, price: PRICE - 1n })).code).toBe('DUPLICATE_BID');
    expect(m.reject(m.tx('alice', TxKind.AcceptBid, { task: id, worker: m.addr('w3') })).code).toBe('BID_NOT_FOUND');
    m.until(Number(m.task(id).closeHeight) + 1);
    expect(m.task(id).leaseCount).toBe(1);
    expect(leaseWorker(m, id, 0)).toBe(m.hex('w1'));
    expect(m.lease(id, 0).price).toBe(DEARER);
    // Decided: a bid that won has nothing to take back, nor has a worker that never bid.
    expect(m.reject(m.tx('w1', TxKind.WithdrawBid, { task: id })).code).toBe('BID_NOT_FOUND');
    expect(m.reject(m.tx('w2', TxKind.WithdrawBid, { task: id })).code).toBe('BID_NOT_FOUND');
    m.next([m.tx('alice', TxKind.CancelTask, { task: id })]);
    expect(m.task(id).state).toBe(TaskState.Cancelled);
    // The matched lease was never started: the poster has everything back but w1's wait since the
    // match (it was preparing the lease); no worker's bond moved.
    const waited = m.lease(id, 0).workerPaid;
    expect(waited).toBeGreaterThan(0n);
    expect(m.znc('alice')).toBe(before - waited);
    for (const w of ['w1', 'w2', 'w3']) expect(m.worker(w).bond).toBe(200n * ZNC_UNIT);
  });
});
