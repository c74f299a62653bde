import { describe, expect, it } from 'vitest';
import { toHex } from '../crypto/index.ts';
import { payFor } from './market/escrow.ts';
import type { Lease } from './marketEntries.ts';
import { LeaseState, TaskState } from './market/lifecycle.ts';
import { MarketDriver, type Usage } from './marketTesting.ts';
import { ZNC_UNIT } from './params.ts';
import { resultCommitment } from './resultCommit.ts';
import { TxKind } from './ops/index.ts';

// Commit and reveal (docs/MARKET.md, "Fairness: commit and reveal"): a result compared with other
// workers' — a copy in a redundancy group, a drawn verifier's — is committed first (a salted hash
// bound to the task, the lease and the worker) and revealed only once every seat has committed.
// A lazy worker finds no digest on the chain to copy, a copied commitment matches no reveal the
// copier can make, and a commitment never revealed is a wrong result. Each test ends with who
// paid whom, to the base unit.

const GOOD = `sha256:${'aa'.repeat(32)}`;
const BAD = `sha256:${'bb'.repeat(32)}`;
/** 0.18 ZNC per hour: 5 base units per ms of block time. */
const PRICE = 18_000_000n;
const DIVIDEND = ZNC_UNIT;
const names = ['alice', 'w1', 'w2', 'w3', 'w4', 'w5'];
const usage: Usage = { cpuSeconds: 1n, memoryGiBSeconds: 1n, gpuSeconds: 0n, networkBytes: 0n, wallMs: 10_000_000n };
const slashOf = (bond: bigint): bigint => (bond * 2_000n) / 10_000n;

const nameOf = (m: MarketDriver, l: Lease): string => names.find((n) => m.hex(n) === toHex(l.worker))!;
const leases = (m: MarketDriver, id: Uint8Array): Lease[] => Array.from({ length: m.task(id).leaseCount }, (_, i) => m.lease(id, i));

function setup(workers: string[], params: ConstructorParameters<typeof MarketDriver>[1] = {}): MarketDriver {
  const m = new MarketDriver(names, params);
  for (const w of workers) m.registerWorker(w);
  return m;
}

/** A redundancy-3 task leased to w1, w2, w3 and started; returns the task and each worker's lease index. */
function group(m: MarketDriver, workers = ['w1', 'w2', 'w3']): [Uint8Array, Record<string, number>] {
  const id = m.postTask('alice', { redundancy: 3 });
  m.next(workers.map((w) => m.tx(w, TxKind.Bid, { task: id, price: PRICE })));
  m.until(Number(m.task(id).closeHeight) + 1);
  const at = Object.fromEntries(leases(m, id).map((l, i) => [nameOf(m, l), i]));
  m.next(workers.map((w) => m.tx(w, TxKind.StartLease, { task: id, lease: at[w], endpoint: '' })));
  return [id, at];
}

/** Heights until the task is done and the receipts (record, slash, dividend) have landed on main. */
function finish(m: MarketDriver, id: Uint8Array): void {
  for (let n = 0; n < 30 && m.task(id).state !== TaskState.Done; n++) m.next();
  expect(m.task(id).state).toBe(TaskState.Done);
  expect(m.task(id).escrow).toBe(0n);
  for (let n = 0; n < 3; n++) m.next();
}

/** Every lease entry of the task as stored: what anyone reading the chain sees. */
const chainText = (m: MarketDriver, id: Uint8Array): string =>
  JSON.stringify(leases(m, id), (_, v) => (typeof v === 'bigint' ? v.toString() : v instanceof Uint8Array ? toHex(v) : v));

describe('commit and reveal: a compared result cannot be copied', () => {
  it("the hole: a worker that waits for the first copy's digest on the chain and submits it is not paid (it was, like the honest ones)", () => {
    const m = setup(['w1', 'w2', 'w3']);
    const before = m.balances();
    const [id, at] = group(m);
    // w1 and w2 ran the workload and end their leases the way the chain accepts.
    for (const w of ['w1', 'w2']) {
      const plain = m.tx(w, TxKind.SubmitResult, { task: id, lease: at[w], digest: GOOD, ...usage });
      if (m.next([plain], true).size > 0) m.next([m.end(w, id, at[w], GOOD, usage)]);
    }
    // w3 ran nothing: it copies whatever lease w1 shows on the chain.
    const seen = m.lease(id, at.w1);
    if (seen.resultDigest !== '') m.next([m.tx('w3', TxKind.SubmitResult, { task: id, lease: at.w3, digest: seen.resultDigest, ...usage })]);
    else m.next([m.tx('w3', TxKind.CommitResult, { task: id, lease: at.w3, ...usage, commitment: seen.commitment })]);
    for (let n = 0; n < 30 && m.task(id).state !== TaskState.Done; n++) m.next(m.reveals(), true);
    finish(m, id);
    expect(m.lease(id, at.w3).workerPaid).toBe(0n);
    expect(m.delta(before).w3 ?? 0n).toBe(0n);
    expect(m.lease(id, at.w1).workerPaid).toBeGreaterThan(0n);
  });

  it('a copier in a redundancy-3 group sees no digest before it must commit, and a copied commitment earns it a slash, not pay', () => {
    const m = setup(['w1', 'w2', 'w3']);
    const before = m.balances();
    const bond3 = m.worker('w3').bond;
    const [id, at] = group(m);
    const startedAt = m.lease(id, at.w1).startedAt;
    // w1 and w2 ran the workload and end their leases. Before, SubmitResult put GOOD on the chain here.
    m.next([m.end('w1', id, at.w1, GOOD, usage), m.end('w2', id, at.w2, GOOD, usage)]);
    const ms = BigInt(m.time) - startedAt;
    expect(m.lease(id, at.w1).state).toBe(LeaseState.Completed);
    expect(m.lease(id, at.w1).resultDigest).toBe('');
    expect(chainText(m, id)).not.toContain('aa'.repeat(32));
    // w3 ran nothing. A plain result is refused for a compared lease, and there is no digest to copy:
    // all it can take from the chain is w1's commitment, which it commits as its own.
    expect(m.reject(m.tx('w3', TxKind.SubmitResult, { task: id, lease: at.w3, digest: GOOD, ...usage })).code).toBe('COMMIT_REQUIRED');
    const copied = m.lease(id, at.w1).commitment;
    m.next([m.tx('w3', TxKind.CommitResult, { task: id, lease: at.w3, ...usage, commitment: copied })]);
    // Every seat committed: the reveal phase opens; w1 and w2 reveal, which puts GOOD and w1's salt on the chain.
    const revealBy = m.lease(id, at.w1).revealBy;
    expect(revealBy).toBeGreaterThan(0n);
    expect(m.lease(id, at.w3).revealBy).toBe(revealBy);
    const w1Reveal = m.reveal(id, at.w1);
    m.next([w1Reveal, m.reveal(id, at.w2)]);
    expect(m.lease(id, at.w1).resultDigest).toBe(GOOD);
    // Now w3 knows the digest and w1's salt, and still cannot open the commitment it copied: it is bound to lease w1 and worker w1.
    const w1Salt = (w1Reveal.body.payload as { salt: Uint8Array }).salt;
    expect(toHex(resultCommitment(id, at.w1, m.addr('w1'), GOOD, w1Salt))).toBe(toHex(copied));
    const open = (digest: string, salt: Uint8Array) =>
      m.tx('w3', TxKind.RevealResult, { task: id, lease: at.w3, digest, salt, appOutcome: false, exitCode: 0, oomKilled: false, cause: '', logDigest: '' });
    expect(m.reject(open(GOOD, w1Salt)).code).toBe('REVEAL_MISMATCH');
    expect(m.reject(open(GOOD, new Uint8Array(32).fill(9))).code).toBe('REVEAL_MISMATCH');
    // The majority cannot be decided before w3's deadline (it might still reveal); then it is a wrong result.
    expect(m.lease(id, at.w1).reviewEnd).toBe(0n);
    m.until(Number(revealBy) + 1);
    expect(m.lease(id, at.w3).outcome).toMatch(/not revealed by height/);
    expect(m.reject(open(GOOD, w1Salt)).code).toBe('REVEAL_CLOSED');
    finish(m, id);
    expect(m.delta(before)).toEqual({ alice: -(2n * payFor(PRICE, ms)), w1: payFor(PRICE, ms) + DIVIDEND, w2: payFor(PRICE, ms) + DIVIDEND });
    expect(m.lease(id, at.w3).workerPaid).toBe(0n);
    expect(m.worker('w3').bond).toBe(bond3 - slashOf(bond3));
    expect(m.worker('w3').disputesLost).toBe(1n);
  });

  it('a worker that commits and never reveals is a wrong result — never better than revealing, even to spoil a majority', () => {
    const m = setup(['w1', 'w2', 'w3']);
    const before = m.balances();
    const bonds = Object.fromEntries(['w1', 'w2', 'w3'].map((w) => [w, m.worker(w).bond]));
    const [id, at] = group(m);
    const startedAt = m.lease(id, at.w1).startedAt;
    // w1 honest, w2 lies, w3 ran the task honestly but withholds its reveal (hoping for "no majority").
    m.next([m.end('w1', id, at.w1, GOOD, usage), m.end('w2', id, at.w2, BAD, usage), m.end('w3', id, at.w3, GOOD, usage)]);
    const ms = BigInt(m.time) - startedAt;
    const revealBy = Number(m.lease(id, at.w1).revealBy);
    while (m.height < revealBy) m.next(m.reveals(['w3']));
    m.next();
    // No majority among what was revealed: the user is refunded w1's and w2's time (the rule before),
    // and the withholder alone is slashed: had it revealed, GOOD would have won 2 of 3 and it would be paid.
    expect(m.lease(id, at.w1).outcome).toMatch(/no majority/);
    expect(m.lease(id, at.w3).outcome).toMatch(/not revealed/);
    finish(m, id);
    expect(m.delta(before)).toEqual({});
    expect(payFor(PRICE, ms)).toBeGreaterThan(0n);
    expect(m.worker('w1').bond).toBe(bonds.w1);
    expect(m.worker('w2').bond).toBe(bonds.w2);
    expect(m.worker('w3').bond).toBe(bonds.w3 - slashOf(bonds.w3));
  });

  it('refusals: a reveal before every seat committed, by another worker, that does not match, twice; commit where nothing is compared', () => {
    const m = setup(['w1', 'w2', 'w3']);
    const [id, at] = group(m);
    m.next([m.end('w1', id, at.w1, GOOD, usage)]);
    // w2 and w3 still run: no reveal yet (w1's digest would be there to copy).
    expect(m.reject(m.reveal(id, at.w1)).code).toBe('REVEAL_NOT_OPEN');
    expect(m.reject(m.tx('w1', TxKind.CommitResult, { task: id, lease: at.w1, ...usage, commitment: new Uint8Array(32) })).code).toBe('DUPLICATE_RESULT');
    expect(
      m.reject(m.tx('w2', TxKind.SubmitAppOutcome, { task: id, lease: at.w2, ...usage, exitCode: 3, oomKilled: false, cause: '', logDigest: GOOD })).code,
    ).toBe('COMMIT_REQUIRED');
    // w2 commits a wrong digest; w3 commits GOOD.
    m.next([m.end('w2', id, at.w2, BAD, usage), m.end('w3', id, at.w3, GOOD, usage)]);
    const wrongSalt = (digest: string, from = 'w2', lease = at.w2) =>
      m.tx(from, TxKind.RevealResult, {
        task: id,
        lease,
        digest,
        salt: new Uint8Array(32),
        appOutcome: false,
        exitCode: 0,
        oomKilled: false,
        cause: '',
        logDigest: '',
      });
    expect(m.reject(wrongSalt(GOOD)).code).toBe('REVEAL_MISMATCH');
    expect(m.reject(wrongSalt(GOOD, 'w1', at.w2)).code).toBe('NOT_LESSEE');
    m.next([m.reveal(id, at.w1)]);
    expect(m.reject(m.reveal(id, at.w1)).code).toBe('ALREADY_REVEALED');
    // redundancy 1: nothing to compare, nothing to commit; a lease with no commitment has nothing to reveal.
    const solo = m.postTask('alice');
    m.next([m.tx('w1', TxKind.Bid, { task: solo, price: PRICE })]);
    m.until(Number(m.task(solo).closeHeight) + 1);
    m.next([m.tx('w1', TxKind.StartLease, { task: solo, lease: 0, endpoint: '' })]);
    expect(m.reject(m.tx('w1', TxKind.CommitResult, { task: solo, lease: 0, ...usage, commitment: new Uint8Array(32) })).code).toBe('COMMIT_NOT_NEEDED');
    m.next([m.end('w1', solo, 0, GOOD, usage)]);
    expect(m.lease(solo, 0).resultDigest).toBe(GOOD);
    expect(
      m.reject(
        m.tx('w1', TxKind.RevealResult, {
          task: solo,
          lease: 0,
          digest: GOOD,
          salt: new Uint8Array(32),
          appOutcome: false,
          exitCode: 0,
          oomKilled: false,
          cause: '',
          logDigest: '',
        }),
      ).code,
    ).toBe('NOT_COMMITTED');
  });

  it("verifier seats: a drawn verifier that copies another's commitment is slashed and unpaid; the two honest ones decide", () => {
    // Every pay is above 0 ZNC: three verifiers from the start.
    const m = setup(['w1', 'w2', 'w3', 'w4', 'w5'], { singleVerifierMaxPayZnc: 0 });
    const before = m.balances();
    const bonds = Object.fromEntries(['w2', 'w3', 'w4', 'w5'].map((w) => [w, m.worker(w).bond]));
    const id = m.postTask('alice');
    m.next([m.tx('w1', TxKind.Bid, { task: id, price: PRICE })]);
    m.until(Number(m.task(id).closeHeight) + 1);
    m.next([m.tx('w1', TxKind.StartLease, { task: id, lease: 0, endpoint: '' })]);
    const s1 = m.lease(id, 0).startedAt;
    m.next([m.end('w1', id, 0, GOOD, usage)]);
    const pay1 = payFor(PRICE, BigInt(m.time) - s1);
    m.next([m.tx('alice', TxKind.Dispute, { task: id, lease: 0 })]);
    m.next();
    m.next();
    const vs = [1, 2, 3];
    expect(m.task(id).leaseCount).toBe(4);
    const who = vs.map((i) => nameOf(m, m.lease(id, i)));
    m.next(vs.map((i, k) => m.tx(who[k], TxKind.StartLease, { task: id, lease: i, endpoint: '' })));
    // The first two verifiers run the task and commit; the third waits, and a plain result is refused.
    m.next([m.end(who[0], id, 1, GOOD, usage), m.end(who[1], id, 2, GOOD, usage)]);
    expect(m.lease(id, 1).resultDigest).toBe('');
    expect(m.reject(m.tx(who[2], TxKind.SubmitResult, { task: id, lease: 3, digest: GOOD, ...usage })).code).toBe('COMMIT_REQUIRED');
    m.next([m.tx(who[2], TxKind.CommitResult, { task: id, lease: 3, ...usage, commitment: m.lease(id, 1).commitment })]);
    const revealBy = Number(m.lease(id, 3).revealBy);
    expect(revealBy).toBeGreaterThan(0);
    while (m.height < revealBy) m.next(m.reveals());
    expect(m.lease(id, 0).state).toBe(LeaseState.Disputed);
    finish(m, id);
    const copier = m.lease(id, 3);
    expect(copier.outcome).toMatch(/not revealed/);
    expect(copier.workerPaid).toBe(0n);
    expect(m.worker(who[2]).bond).toBe(bonds[who[2]] - slashOf(bonds[who[2]]));
    expect(m.lease(id, 0).outcome).toMatch(/decided for the worker: 2 of 3 verifiers/);
    const vpay = (i: number) => payFor(m.lease(id, i).price, m.lease(id, i).wallMs);
    const expected: Record<string, bigint> = { alice: -(2n * pay1) - vpay(1) - vpay(2), w1: 2n * pay1 + DIVIDEND };
    expected[who[0]] = vpay(1) + DIVIDEND;
    expected[who[1]] = vpay(2) + DIVIDEND;
    expect(m.delta(before)).toEqual(expected);
  });
});
