import { describe, expect, it } from 'vitest';
import { toHex } from '../crypto/index.ts';
import { askPrice, drawSeed, drawVerifiers, verifierWeight } from '../market/index.ts';
import { payFor } from './market/escrow.ts';
import { taskNeeds, workerOffer } from './market/workers.ts';
import type { Lease } from './marketEntries.ts';
import { LeaseState, TaskState } from './market/lifecycle.ts';
import { MarketDriver, type TaskOrder } from './marketTesting.ts';
import { TxKind } from './ops/index.ts';

// Disputes and their verifiers on the ledger (docs/MARKET.md, "Fairness: disputes and verifiers").
// The verifiers are drawn by the chain — never bid for — weighted by bond and rating, from a seed
// fixed after the dispute; the verifiers' majority decides; an outvoted verifier is slashed; the
// disputer's deposit pays the verifiers and the worker's wait when the result stands. Each test
// ends with who paid whom, to the base unit.

const GOOD = `sha256:${'aa'.repeat(32)}`;
const BAD = `sha256:${'bb'.repeat(32)}`;
/** 0.18 ZNC per hour: 5 base units per ms of block time. */
const PRICE = 18_000_000n;
const DIVIDEND = 100_000_000n;
const names = ['alice', 'bob', 'w1', 'w2', 'w3', 'w4', 'w5'];

function setup(workers: string[], params: ConstructorParameters<typeof MarketDriver>[1] = {}): MarketDriver {
  const m = new MarketDriver(names, params);
  for (const w of workers) m.registerWorker(w);
  return m;
}

const nameOf = (m: MarketDriver, l: Lease): string => names.find((n) => m.hex(n) === toHex(l.worker))!;
const leases = (m: MarketDriver, id: Uint8Array): Lease[] => Array.from({ length: m.task(id).leaseCount }, (_, i) => m.lease(id, i));

/** The end of a lease: SubmitResult for the disputed one, CommitResult for a verifier (revealed by `m.reveals()`). */
const result = (m: MarketDriver, w: string, id: Uint8Array, lease: number, digest: string) =>
  m.end(w, id, lease, digest, { cpuSeconds: 1n, memoryGiBSeconds: 1n, gpuSeconds: 0n, networkBytes: 0n, wallMs: 10_000_000n });

/** w1 wins the task (the only bidder), starts it and submits `digest`; returns the ms it was paid for. */
function workedBy(m: MarketDriver, id: Uint8Array, worker = 'w1', digest = GOOD): bigint {
  m.next([m.tx(worker, TxKind.Bid, { task: id, price: PRICE })]);
  m.until(Number(m.task(id).closeHeight) + 1);
  expect(nameOf(m, m.lease(id, 0))).toBe(worker);
  m.next([m.tx(worker, TxKind.StartLease, { task: id, lease: 0, endpoint: '' })]);
  const started = m.lease(id, 0).startedAt;
  m.next([result(m, worker, id, 0, digest)]);
  return BigInt(m.time) - started;
}

/**
 * Plays every verifier lease of the task the way its worker would: `liars` submit BAD, the rest
 * GOOD, `absent` never start. Bidders in `bidders` bid (price 1) whenever the task takes bids —
 * what a colluder did to win the verifier's seat before the chain drew it.
 */
function playVerifiers(m: MarketDriver, id: Uint8Array, o: { liars?: string[]; absent?: string[]; bidders?: string[]; withhold?: string[] } = {}): void {
  for (let n = 0; n < 80 && m.lease(id, 0).state === LeaseState.Disputed; n++) {
    const txs = [];
    if (m.task(id).state === TaskState.Open) for (const b of o.bidders ?? []) txs.push(m.tx(b, TxKind.Bid, { task: id, price: 1n }));
    leases(m, id).forEach((l, i) => {
      if (i === 0) return;
      const w = nameOf(m, l);
      if (o.absent?.includes(w)) return;
      if (l.state === LeaseState.Matched) txs.push(m.tx(w, TxKind.StartLease, { task: id, lease: i, endpoint: '' }));
      if (l.state === LeaseState.Started) txs.push(result(m, w, id, i, o.liars?.includes(w) ? BAD : GOOD));
    });
    txs.push(...m.reveals(o.withhold));
    m.next(txs, true);
  }
  expect(m.lease(id, 0).state).not.toBe(LeaseState.Disputed);
}

/** Runs heights until the task has ended (the rest of the escrow returned) and receipts landed. */
function finish(m: MarketDriver, id: Uint8Array): void {
  for (let n = 0; n < 20 && m.task(id).state !== TaskState.Done; n++) m.next();
  expect(m.task(id).state).toBe(TaskState.Done);
  expect(m.task(id).escrow).toBe(0n);
  // Outcomes go to main by receipt (record, slash, dividend); a slash's credit comes back by another.
  for (let n = 0; n < 3; n++) m.next();
}

/** A verifier's pay: its price for the block time from its start to its result. */
function verifierPay(l: Lease): bigint {
  expect(l.wallMs).toBe(l.paidUntil - l.startedAt);
  return payFor(l.price, l.wallMs);
}

const slashOf = (bond: bigint): bigint => (bond * 2_000n) / 10_000n;

describe('disputes: verifiers drawn by the chain, decided by their majority', () => {
  it('the finding: a colluder that underbids for the verifier seat cannot convict an honest worker — price plays no part', () => {
    // alice (the user) and w2 (the colluder) act together; w1 is honest; w3 and w4 are honest bystanders.
    const m = setup(['w1', 'w2', 'w3', 'w4']);
    // Several disputes, so that the draw both passes the colluder over and picks it.
    const seen = new Set<string>();
    for (let round = 0; round < 6; round++) {
      const before = m.balances();
      const bonds = Object.fromEntries(['w1', 'w2', 'w3', 'w4'].map((w) => [w, m.worker(w).bond]));
      const lost = m.worker('w2').disputesLost;
      const id = m.postTask('alice');
      const ms1 = workedBy(m, id);
      m.next([m.tx('alice', TxKind.Dispute, { task: id, lease: 0 })]);
      // Today's market reopened the task for bids on the verifier's seat: the colluder bids 1, w3 and w4 their ask.
      if (m.task(id).state === TaskState.Open)
        m.next([m.tx('w3', TxKind.Bid, { task: id, price: PRICE }), m.tx('w4', TxKind.Bid, { task: id, price: PRICE })], true);
      playVerifiers(m, id, { liars: ['w2'], bidders: ['w2'] });
      finish(m, id);

      expect(m.lease(id, 0).outcome).toMatch(/decided for the worker/);
      expect(m.worker('w1').bond).toBe(bonds.w1);
      expect(m.worker('w1').disputesLost).toBe(0n);
      const vs = leases(m, id).slice(1);
      const drawn = vs.map((v) => nameOf(m, v));
      expect(vs.every((v) => v.verifies === 1)).toBe(true);
      const pay1 = payFor(PRICE, ms1);
      // The deposit pays the honest verifiers and compensates w1 for the wait (as much again as its pay).
      const honest = vs.filter((v) => nameOf(m, v) !== 'w2');
      const expected: Record<string, bigint> = { alice: -(2n * pay1) - honest.reduce((s, v) => s + verifierPay(v), 0n), w1: 2n * pay1 + DIVIDEND };
      for (const v of honest) expected[nameOf(m, v)] = verifierPay(v) + DIVIDEND;
      if (drawn.includes('w2')) {
        // Drawn (by weight): its lone "disagreement" called two more verifiers, who outvoted it.
        seen.add('colluder drawn and outvoted');
        expect(drawn).toHaveLength(3);
        expect(m.worker('w2').bond).toBe(bonds.w2 - slashOf(bonds.w2));
        expect(m.worker('w2').disputesLost).toBe(lost + 1n);
        expect(vs.find((v) => nameOf(m, v) === 'w2')!.workerPaid).toBe(0n);
      } else {
        seen.add('colluder not drawn');
        expect(drawn).toHaveLength(1);
        expect(m.worker('w2').bond).toBe(bonds.w2);
      }
      expect(m.delta(before)).toEqual(expected);
    }
    expect([...seen].sort()).toEqual(['colluder drawn and outvoted', 'colluder not drawn']);
  });

  it("the draw: seeded by the hash of the block after the dispute's, weighted by bond and rating, among the workers that qualify", () => {
    const m = setup(['w1', 'w2', 'w3', 'w4']);
    const id = m.postTask('alice');
    workedBy(m, id);
    m.next([m.tx('alice', TxKind.Dispute, { task: id, lease: 0 })]);
    const disputedAt = m.height;
    m.next();
    // The block after the dispute's carries the dispute's commit certificate: its hash is the seed.
    const seedBlock = m.t.ledger.lastBlockHash;
    const t = m.task(id);
    const pool = ['w2', 'w3', 'w4'].map((w) => ({ worker: m.hex(w), weight: verifierWeight(m.worker(w).bond, m.worker(w).rating) }));
    m.next();
    expect(m.height).toBe(disputedAt + 2);
    const [expected] = drawVerifiers(drawSeed(seedBlock, id, 0, 0), pool, 1);
    const v = m.lease(id, 1);
    expect(toHex(v.worker)).toBe(expected);
    expect(v.state).toBe(LeaseState.Matched);
    expect(v.verifies).toBe(1);
    // Paid its own ask for the task (never more than the task's cap), not what anyone bid.
    expect(v.price).toBe(askPrice(workerOffer(expected, m.worker(nameOf(m, v)), m.t.ledger.params.market), taskNeeds(t)));
  });

  it("a dispute against an honest result lost by the disputer: the deposit pays the verifier and the worker's wait", () => {
    const m = setup(['w1', 'w3']);
    const before = m.balances();
    const id = m.postTask('alice');
    const ms1 = workedBy(m, id);
    m.next([m.tx('alice', TxKind.Dispute, { task: id, lease: 0 })]);
    // Three verifiers' worst case is deposited (3 × max price × max hours).
    expect(m.lease(id, 0).disputeDeposit).toBe(3n * 36_000_000n);
    expect(m.znc('alice')).toBe(before.alice - 36_000_000n - 3n * 36_000_000n);
    playVerifiers(m, id);
    finish(m, id);
    const v = m.lease(id, 1);
    expect(nameOf(m, v)).toBe('w3');
    expect(m.lease(id, 0).outcome).toMatch(/decided for the worker: 1 of 1 verifiers/);
    const pay1 = payFor(PRICE, ms1);
    expect(m.delta(before)).toEqual({ alice: -(2n * pay1) - verifierPay(v), w1: 2n * pay1 + DIVIDEND, w3: verifierPay(v) + DIVIDEND });
  });

  it('a result overturned: one disagreeing verifier calls two more; their majority slashes the worker to the user and the deposit returns', () => {
    const m = setup(['w1', 'w2', 'w3', 'w4']);
    const before = m.balances();
    const bond1 = m.worker('w1').bond;
    const id = m.postTask('alice');
    workedBy(m, id, 'w1', BAD);
    m.next([m.tx('alice', TxKind.Dispute, { task: id, lease: 0 })]);
    // The verifiers all get the right result, which differs from w1's.
    playVerifiers(m, id);
    finish(m, id);
    const vs = leases(m, id).slice(1);
    expect(vs.map((v) => nameOf(m, v)).sort()).toEqual(['w2', 'w3', 'w4']);
    expect(m.lease(id, 0).outcome).toMatch(/decided for the user: 3 of 3 verifiers/);
    expect(m.lease(id, 0).workerPaid).toBe(0n);
    expect(m.worker('w1').bond).toBe(bond1 - slashOf(bond1));
    expect(m.worker('w1').disputesLost).toBe(1n);
    const expected: Record<string, bigint> = { alice: slashOf(bond1) - vs.reduce((s, v) => s + verifierPay(v), 0n) };
    for (const v of vs) expected[nameOf(m, v)] = verifierPay(v) + DIVIDEND;
    expect(m.delta(before)).toEqual(expected);
  });

  it('high stakes seat three verifiers at once; one outvoted by the other two is slashed and unpaid', () => {
    // Every pay is above 0 ZNC: three verifiers from the start.
    const m = setup(['w1', 'w2', 'w3', 'w4'], { singleVerifierMaxPayZnc: 0 });
    const before = m.balances();
    const bond2 = m.worker('w2').bond;
    const id = m.postTask('alice');
    const ms1 = workedBy(m, id);
    m.next([m.tx('alice', TxKind.Dispute, { task: id, lease: 0 })]);
    m.next();
    m.next();
    expect(m.task(id).leaseCount).toBe(4);
    playVerifiers(m, id, { liars: ['w2'] });
    finish(m, id);
    const vs = leases(m, id).slice(1);
    const liar = vs.find((v) => nameOf(m, v) === 'w2')!;
    expect(liar.outcome).toMatch(/outvoted/);
    expect(liar.workerPaid).toBe(0n);
    expect(m.worker('w2').bond).toBe(bond2 - slashOf(bond2));
    expect(m.worker('w2').disputesLost).toBe(1n);
    expect(m.lease(id, 0).outcome).toMatch(/decided for the worker: 2 of 3 verifiers/);
    const honest = vs.filter((v) => v !== liar);
    const pay1 = payFor(PRICE, ms1);
    const expected: Record<string, bigint> = { alice: -(2n * pay1) - honest.reduce((s, v) => s + verifierPay(v), 0n), w1: 2n * pay1 + DIVIDEND };
    for (const v of honest) expected[nameOf(m, v)] = verifierPay(v) + DIVIDEND;
    expect(m.delta(before)).toEqual(expected);
  });

  it('never draws the disputed worker, the poster, a former lessee, a worker that does not fit or one below the minimum bond', () => {
    // bob posts; bob is a worker too; w2 won the lease first and never started it; w3 runs only wasm;
    // w5 is leaving. Only w4 qualifies for the first task (w2 held a lease of it), w2 and w4 for the next ones.
    const m = setup(['bob', 'w1', 'w2', 'w4', 'w5'], { startDeadlineBlocks: 2 });
    m.registerWorker('w3', { runtimes: ['wasm'] });
    m.next([m.tx('w5', TxKind.LeaveWorker, {})]);
    for (let round = 0; round < 4; round++) {
      const id = m.postTask('bob', { retries: 2 } satisfies Partial<TaskOrder>);
      if (round === 0) {
        m.next([m.tx('w2', TxKind.Bid, { task: id, price: 1n })]);
        m.until(Number(m.task(id).closeHeight) + 1);
        m.until(Number(m.lease(id, 0).startBy) + 1);
        expect(m.lease(id, 0).state).toBe(LeaseState.Failed);
        m.next([m.tx('w1', TxKind.Bid, { task: id, price: PRICE })]);
        m.until(Number(m.task(id).closeHeight) + 1);
        m.next([m.tx('w1', TxKind.StartLease, { task: id, lease: 1, endpoint: '' })]);
        m.next([result(m, 'w1', id, 1, GOOD)]);
        m.next([m.tx('bob', TxKind.Dispute, { task: id, lease: 1 })]);
        // No-shows do not end it: the dispute waits for its draws.
        for (let n = 0; n < 30 && m.lease(id, 1).state === LeaseState.Disputed; n++) {
          const txs = leases(m, id).flatMap((l, i) =>
            l.verifies === 2 && l.state === LeaseState.Matched
              ? [m.tx(nameOf(m, l), TxKind.StartLease, { task: id, lease: i, endpoint: '' })]
              : l.verifies === 2 && l.state === LeaseState.Started
                ? [result(m, nameOf(m, l), id, i, GOOD)]
                : [],
          );
          m.next([...txs, ...m.reveals()]);
        }
        expect(
          leases(m, id)
            .filter((l) => l.verifies > 0)
            .map((l) => nameOf(m, l)),
        ).toEqual(['w4']);
        continue;
      }
      workedBy(m, id);
      m.next([m.tx('bob', TxKind.Dispute, { task: id, lease: 0 })]);
      playVerifiers(m, id);
      // w2 held a lease of round 0's task only: it may verify these (it was drawn here or not by the seed alone).
      const drawn = leases(m, id)
        .slice(1)
        .map((l) => nameOf(m, l));
      expect(drawn).toHaveLength(1);
      expect(['w2', 'w4']).toContain(drawn[0]);
    }
    // Nobody qualifies: the dispute is refused before any deposit is taken.
    const id = m.postTask('bob');
    workedBy(m, id, 'w4');
    m.next([m.tx('w1', TxKind.LeaveWorker, {}), m.tx('w2', TxKind.LeaveWorker, {})]);
    m.next();
    const e = m.reject(m.tx('bob', TxKind.Dispute, { task: id, lease: 0 }));
    expect(e.code).toBe('NOT_DISPUTABLE');
    expect(e.message).toMatch(/no other worker can verify/);
  });

  it('drawn verifiers that never start cost themselves nothing and are re-drawn; with none left the dispute lapses and the result stands', () => {
    const m = setup(['w1', 'w2', 'w3']);
    const before = m.balances();
    const bonds = { w2: m.worker('w2').bond, w3: m.worker('w3').bond };
    const ratings = { w2: m.worker('w2').rating, w3: m.worker('w3').rating };
    const id = m.postTask('alice');
    const ms1 = workedBy(m, id);
    m.next([m.tx('alice', TxKind.Dispute, { task: id, lease: 0 })]);
    playVerifiers(m, id, { absent: ['w2', 'w3'] });
    finish(m, id);
    const vs = leases(m, id).slice(1);
    expect(vs.map((v) => nameOf(m, v)).sort()).toEqual(['w2', 'w3']);
    for (const v of vs) expect(v.outcome).toMatch(/did not start .* no penalty/);
    expect(m.lease(id, 0).outcome).toMatch(/dispute lapsed/);
    expect({ w2: m.worker('w2').bond, w3: m.worker('w3').bond }).toEqual(bonds);
    expect({ w2: m.worker('w2').rating, w3: m.worker('w3').rating }).toEqual(ratings);
    // The deposit comes back whole (no verifier earned any of it); w1 is paid as if undisputed.
    const pay1 = payFor(PRICE, ms1);
    expect(m.delta(before)).toEqual({ alice: -pay1, w1: pay1 + DIVIDEND });
  });

  it('a drawn verifier that starts and then stops reporting abandoned a lease: slashed like any, paid what it reported, its seat drawn again', () => {
    const m = setup(['w1', 'w2', 'w3']);
    const before = m.balances();
    const id = m.postTask('alice');
    const ms1 = workedBy(m, id);
    m.next([m.tx('alice', TxKind.Dispute, { task: id, lease: 0 })]);
    m.next();
    m.next();
    const first = nameOf(m, m.lease(id, 1));
    const other = first === 'w2' ? 'w3' : 'w2';
    const bond = m.worker(first).bond;
    m.next([m.tx(first, TxKind.StartLease, { task: id, lease: 1, endpoint: '' })]);
    m.next([
      m.tx(first, TxKind.ReportUsage, {
        task: id,
        lease: 1,
        seq: 1,
        cpuSeconds: 1n,
        memoryGiBSeconds: 1n,
        gpuSeconds: 0n,
        networkBytes: 0n,
        wallMs: 10_000_000n,
      }),
    ]);
    // Then silence until its report deadline: the lease fails, and the other worker is drawn.
    m.until(Number(m.lease(id, 1).reportBy) + 1);
    const abandoned = m.lease(id, 1);
    expect(abandoned.state).toBe(LeaseState.Failed);
    expect(abandoned.outcome).toMatch(/verifier stopped reporting/);
    playVerifiers(m, id);
    finish(m, id);
    expect(nameOf(m, m.lease(id, 2))).toBe(other);
    expect(m.worker(first).bond).toBe(bond - (bond * 500n) / 10_000n);
    expect(m.worker(first).abandoned).toBe(1n);
    const pay1 = payFor(PRICE, ms1);
    const v = m.lease(id, 2);
    expect(m.lease(id, 0).outcome).toMatch(/decided for the worker: 1 of 1/);
    // What the abandoned verifier reported is paid from the deposit, like any lease's reported periods.
    expect(m.delta(before)).toEqual({
      alice: -(2n * pay1) - verifierPay(v) - abandoned.workerPaid,
      w1: 2n * pay1 + DIVIDEND,
      [other]: verifierPay(v) + DIVIDEND,
      [first]: abandoned.workerPaid,
    });
  });

  it('a drawn verifier that releases its lease (image not fetchable) is re-drawn, penalty-free; its seat is never offered to bids', () => {
    const m = setup(['w1', 'w2', 'w3', 'w4']);
    const before = m.balances();
    const id = m.postTask('alice');
    const ms1 = workedBy(m, id);
    m.next([m.tx('alice', TxKind.Dispute, { task: id, lease: 0 })]);
    m.next();
    m.next();
    const first = nameOf(m, m.lease(id, 1));
    const bond = m.worker(first).bond;
    const rating = m.worker(first).rating;
    m.next([m.tx(first, TxKind.ReleaseLease, { task: id, lease: 1, reason: 'MANIFEST_UNAVAILABLE' })]);
    expect(m.lease(id, 1).state).toBe(LeaseState.Cancelled);
    // No open slot a bidder could take: the next verifier comes from the draw.
    expect(m.task(id).openSlots).toEqual([]);
    const bidder = ['w2', 'w3', 'w4'].find((w) => w !== first)!;
    playVerifiers(m, id, { bidders: [bidder] });
    finish(m, id);
    const vs = leases(m, id).slice(1);
    expect(vs.length).toBe(2);
    expect(nameOf(m, vs[1])).not.toBe(first);
    expect(m.worker(first).bond).toBe(bond);
    expect(m.worker(first).rating).toBe(rating);
    expect(m.lease(id, 0).outcome).toMatch(/decided for the worker: 1 of 1/);
    const pay1 = payFor(PRICE, ms1);
    const second = nameOf(m, vs[1]);
    expect(m.delta(before)).toEqual({ alice: -(2n * pay1) - verifierPay(vs[1]), w1: 2n * pay1 + DIVIDEND, [second]: verifierPay(vs[1]) + DIVIDEND });
  });
});
