import { describe, expect, it } from 'vitest';
import { appOutcomeDigest, type AppOutcomeCanonical } from './appOutcome.ts';
import { TaskKind, type App } from './marketEntries.ts';
import { LeaseState, TaskState } from './market/lifecycle.ts';
import { MarketDriver } from './marketTesting.ts';
import { MAIN_CHAIN, ZNC_UNIT } from './params.ts';
import { TxKind } from './ops/index.ts';
import { appOutcomes, apps } from './stores.ts';

// Fairness: a workload's own failure is the lease's outcome, not the worker's fault, and a lease
// whose image cannot be fetched is given back without penalty (docs/MARKET.md, "Fairness: app
// failures and missing images"). Each scenario ends with an exact account of who paid whom, and
// of bonds, ratings and records.

const DIGEST_A = `sha256:${'aa'.repeat(32)}`;
const LOG = `sha256:${'10'.repeat(32)}`;
const APP_DIGEST = `sha256:${'cd'.repeat(32)}`;
/** 0.18 ZNC per hour: 5 base units per ms of block time. */
const PRICE = 18_000_000n;
/** 0.036 ZNC per hour license fee: 1 base unit per ms. */
const FEE = 3_600_000n;
const DIVIDEND = ZNC_UNIT;

const names = ['alice', 'bob', 'dev', 'w1', 'w2', 'w3', 'w4'];

function setup(workers = ['w1']): MarketDriver {
  const m = new MarketDriver(names);
  for (const w of workers) m.registerWorker(w);
  return m;
}

function publish(m: MarketDriver): void {
  m.next([
    m.tx('dev', TxKind.PublishApp, {
      name: 'render',
      version: '1.0',
      digest: APP_DIGEST,
      developer: new Uint8Array(),
      feeToken: 'ZNC',
      licenseFeePerHour: FEE,
      requiresLicense: false,
    }),
  ]);
}

const appEntry = (m: MarketDriver): App => apps.get(m.t.ledger.chains[MAIN_CHAIN], 'render', '1.0')!;

/** Bids, waits for the window to close, starts every matched lease. */
function matchAndStart(m: MarketDriver, id: Uint8Array, workers: string[]): void {
  m.next(workers.map((w) => m.tx(w, TxKind.Bid, { task: id, price: PRICE })));
  m.until(Number(m.task(id).closeHeight) + 1);
  const t = m.task(id);
  const starts = [];
  for (let i = 0; i < t.leaseCount; i++) {
    const l = m.lease(id, i);
    if (l.state === LeaseState.Matched) starts.push(m.tx(who(m, workers, l.worker), TxKind.StartLease, { task: id, lease: i, endpoint: '' }));
  }
  m.next(starts);
}

/** Plays every lease the chain draws to verify the task's lease 0: starts it, then submits `submit`'s answer. */
function playDrawn(m: MarketDriver, id: Uint8Array, submit: (worker: string, lease: number) => ReturnType<MarketDriver['tx']>): void {
  const all = names.filter((n) => n.startsWith('w'));
  for (let n = 0; n < 60 && m.lease(id, 0).state === LeaseState.Disputed; n++) {
    const txs = [];
    for (let i = 1; i < m.task(id).leaseCount; i++) {
      const l = m.lease(id, i);
      const w = who(m, all, l.worker);
      if (l.state === LeaseState.Matched) txs.push(m.tx(w, TxKind.StartLease, { task: id, lease: i, endpoint: '' }));
      if (l.state === LeaseState.Started) txs.push(submit(w, i));
    }
    m.next([...txs, ...m.reveals()]);
  }
  expect(m.lease(id, 0).state).not.toBe(LeaseState.Disputed);
}

const who = (m: MarketDriver, workers: string[], addr: Uint8Array): string => workers.find((w) => m.hex(w) === Buffer.from(addr).toString('hex'))!;

const usage = { cpuSeconds: 1n, memoryGiBSeconds: 1n, gpuSeconds: 0n, networkBytes: 0n, wallMs: 1_000_000n };
const EXIT3: AppOutcomeCanonical = { exitCode: 3, oomKilled: false, cause: '' };
const OOM: AppOutcomeCanonical = { exitCode: 0, oomKilled: true, cause: 'memory' };

/** SubmitAppOutcome, or (a compared lease) CommitResult over the outcome's digest, revealed by `m.reveals()`. */
const outcome = (m: MarketDriver, w: string, id: Uint8Array, lease: number, o: AppOutcomeCanonical = EXIT3, logDigest = LOG) =>
  m.end(w, id, lease, appOutcomeDigest(o), usage, { ...o, logDigest });
const result = (m: MarketDriver, w: string, id: Uint8Array, lease: number, digest = DIGEST_A) => m.end(w, id, lease, digest, usage);
const release = (m: MarketDriver, w: string, id: Uint8Array, lease: number, reason = 'MANIFEST_UNAVAILABLE') =>
  m.tx(w, TxKind.ReleaseLease, { task: id, lease, reason });

describe("an app that fails on its own is the lease's outcome, not the worker's fault", () => {
  it('exit 3: reported at once, paid for its time (and the license fee), bond and rating untouched, counted on worker and app', () => {
    const m = setup();
    publish(m);
    const before = m.balances();
    const w0 = m.worker('w1');
    const id = m.postTask('alice', { app: 'render', version: '1.0', image: '' });
    matchAndStart(m, id, ['w1']);
    const startedAt = m.lease(id, 0).startedAt;
    m.next();
    m.next([outcome(m, 'w1', id, 0)]);
    const ms = BigInt(m.time) - startedAt;
    const done = m.lease(id, 0);
    // The lease's run ends now, not at a deadline; its result digest is the outcome's.
    expect(done.state).toBe(LeaseState.Completed);
    expect(done.resultDigest).toBe(appOutcomeDigest(EXIT3));
    expect(done.held).toBe(ms * 5n);
    expect(appOutcomes.get(m.t.ledger.chains[id[0]], Buffer.from(id).toString('hex'), 0)).toEqual({ ...EXIT3, logDigest: LOG, digest: done.resultDigest });
    m.until(Number(done.reviewEnd) + 2);
    const paid = m.lease(id, 0);
    expect(paid.state).toBe(LeaseState.Settled);
    expect(paid.outcome).toBe('app outcome accepted: the app exited 3');
    expect(m.task(id).state).toBe(TaskState.Done);
    m.next();
    // alice paid the worker's time and the license fee for it, nothing else; no dividend (not a completion).
    expect(m.delta(before)).toEqual({ alice: -(ms * 6n), w1: ms * 5n, dev: ms });
    const w = m.worker('w1');
    expect(w.bond).toBe(w0.bond);
    expect(w.rating).toBe(w0.rating);
    expect([w.completed, w.failed, w.abandoned, w.disputesLost, w.appFailures]).toEqual([0n, 0n, 0n, 0n, 1n]);
    expect(appEntry(m).failures).toBe(1n);
    expect(appEntry(m).releases).toBe(0n);
  });

  it('redundancy 3, an OOM app: the two honest outcomes agree and are paid; a lazy worker claiming another outcome is the slashed minority', () => {
    const m = setup(['w1', 'w2', 'w3']);
    const before = m.balances();
    const bonds = { w1: m.worker('w1').bond, w2: m.worker('w2').bond, w3: m.worker('w3').bond };
    const id = m.postTask('alice', { redundancy: 3 });
    matchAndStart(m, id, ['w1', 'w2', 'w3']);
    const startedAt = m.lease(id, 0).startedAt;
    const leaseOf = (w: string) => [0, 1, 2].find((i) => who(m, ['w1', 'w2', 'w3'], m.lease(id, i).worker) === w)!;
    m.next([
      outcome(m, 'w1', id, leaseOf('w1'), OOM),
      outcome(m, 'w2', id, leaseOf('w2'), OOM),
      outcome(m, 'w3', id, leaseOf('w3'), { exitCode: 1, oomKilled: false, cause: '' }),
    ]);
    const ms = BigInt(m.time) - startedAt;
    m.next(m.reveals());
    expect(m.lease(id, leaseOf('w3')).outcome).toMatch(/differs from the majority/);
    m.until(Number(m.lease(id, leaseOf('w1')).reviewEnd) + 2);
    m.next();
    expect(m.task(id).state).toBe(TaskState.Done);
    expect(m.delta(before)).toEqual({ alice: -(2n * ms * 5n), w1: ms * 5n, w2: ms * 5n });
    expect(m.worker('w1').bond).toBe(bonds.w1);
    expect(m.worker('w2').bond).toBe(bonds.w2);
    expect(m.worker('w3').bond).toBe(bonds.w3 - (bonds.w3 * 2_000n) / 10_000n);
    expect(m.worker('w1').appFailures).toBe(1n);
    expect(m.worker('w3').disputesLost).toBe(1n);
  });

  it('redundancy 3: a worker that claims "the app failed" while the others produced a result is outvoted and slashed', () => {
    const m = setup(['w1', 'w2', 'w3']);
    const before = m.balances();
    const bond3 = m.worker('w3').bond;
    const id = m.postTask('alice', { redundancy: 3 });
    matchAndStart(m, id, ['w1', 'w2', 'w3']);
    const startedAt = m.lease(id, 0).startedAt;
    const leaseOf = (w: string) => [0, 1, 2].find((i) => who(m, ['w1', 'w2', 'w3'], m.lease(id, i).worker) === w)!;
    m.next([result(m, 'w1', id, leaseOf('w1')), result(m, 'w2', id, leaseOf('w2')), outcome(m, 'w3', id, leaseOf('w3'))]);
    const ms = BigInt(m.time) - startedAt;
    m.next(m.reveals());
    m.until(Number(m.lease(id, leaseOf('w1')).reviewEnd) + 2);
    m.next();
    expect(m.delta(before)).toEqual({ alice: -(2n * ms * 5n), w1: ms * 5n + DIVIDEND, w2: ms * 5n + DIVIDEND });
    expect(m.worker('w3').bond).toBe(bond3 - (bond3 * 2_000n) / 10_000n);
    expect(m.worker('w3').appFailures).toBe(0n);
  });

  it('a disputed outcome the drawn verifier reproduces stands: the worker is paid (and for its wait), the disputer pays the verification', () => {
    const m = setup(['w1', 'w2']);
    const before = m.balances();
    const bond1 = m.worker('w1').bond;
    const id = m.postTask('alice');
    matchAndStart(m, id, ['w1']);
    const s1 = m.lease(id, 0).startedAt;
    m.next([outcome(m, 'w1', id, 0)]);
    const pay1 = (BigInt(m.time) - s1) * 5n;
    m.next([m.tx('alice', TxKind.Dispute, { task: id, lease: 0 })]);
    // The chain draws w2 (the only other worker); the logs differ (not compared), the outcomes agree.
    playDrawn(m, id, (w, i) => outcome(m, w, id, i, EXIT3, `sha256:${'99'.repeat(32)}`));
    expect(m.lease(id, 0).outcome).toMatch(/for the worker/);
    for (let n = 0; n < 4; n++) m.next();
    expect(m.task(id).state).toBe(TaskState.Done);
    const v = m.lease(id, 1);
    expect(who(m, ['w2'], v.worker)).toBe('w2');
    // w1: its pay and as much again for the wait, from the deposit; w2: its pay for verifying.
    expect(m.delta(before)).toEqual({ alice: -(2n * pay1 + v.workerPaid), w1: 2n * pay1 + DIVIDEND, w2: v.workerPaid + DIVIDEND });
    expect(m.worker('w1').bond).toBe(bond1);
  });

  it('a disputed outcome the drawn verifiers do not reproduce (they got a result) loses: the worker is slashed to the user and not paid', () => {
    const m = setup(['w1', 'w2', 'w3', 'w4']);
    const before = m.balances();
    const bond1 = m.worker('w1').bond;
    const id = m.postTask('alice');
    matchAndStart(m, id, ['w1']);
    m.next([outcome(m, 'w1', id, 0)]);
    m.next([m.tx('alice', TxKind.Dispute, { task: id, lease: 0 })]);
    // One verifier cannot overturn alone: two more are drawn, and all three got a result.
    playDrawn(m, id, (w, i) => result(m, w, id, i));
    expect(m.lease(id, 0).outcome).toMatch(/for the user/);
    for (let n = 0; n < 4; n++) m.next();
    const vs = [1, 2, 3].map((i) => m.lease(id, i));
    const names3 = vs.map((v) => who(m, ['w2', 'w3', 'w4'], v.worker)).sort();
    expect(names3).toEqual(['w2', 'w3', 'w4']);
    const slash = (bond1 * 2_000n) / 10_000n;
    expect(m.worker('w1').bond).toBe(bond1 - slash);
    const paid = Object.fromEntries(vs.map((v) => [who(m, ['w2', 'w3', 'w4'], v.worker), v.workerPaid + DIVIDEND]));
    expect(m.delta(before)).toEqual({ alice: -vs.reduce((x, v) => x + v.workerPaid, 0n) + slash, ...paid });
  });

  it('refuses outcomes that are not canonical, from another worker, for a service, or twice', () => {
    const m = setup(['w1', 'w2']);
    const id = m.postTask('alice');
    matchAndStart(m, id, ['w1']);
    const bad = (o: AppOutcomeCanonical, logDigest = LOG) => m.reject(outcome(m, 'w1', id, 0, o, logDigest));
    // Accepted first (the report deadline is 5 heights here); the rules are checked before the lease's state.
    m.next([outcome(m, 'w1', id, 0)]);
    expect(bad({ exitCode: 0, oomKilled: false, cause: '' })).toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringMatching(/exited 0 ended well/),
    });
    expect(bad({ exitCode: 137, oomKilled: true, cause: 'memory' }).message).toMatch(/did not exit by itself/);
    expect(bad({ exitCode: 0, oomKilled: false, cause: 'memory' }).message).toMatch(/oomKilled/);
    expect(bad({ exitCode: 0, oomKilled: false, cause: 'cosmic-ray' }).message).toMatch(/cause must be one of/);
    expect(bad(EXIT3, 'nope').code).toBe('BAD_DIGEST');
    expect(m.reject(outcome(m, 'w2', id, 0)).code).toBe('NOT_LESSEE');
    expect(m.reject(outcome(m, 'w1', id, 0)).code).toBe('DUPLICATE_RESULT');
    const svc = m.postTask('bob', { kind: TaskKind.Service });
    matchAndStart(m, svc, ['w2']);
    expect(m.reject(outcome(m, 'w2', svc, 0)).code).toBe('NOT_BATCH');
  });
});

describe('a lease whose image cannot be fetched is released without penalty', () => {
  it('a ghost image: each winner releases, keeps bond and rating, cannot bid again; the releases use no retry; the poster is refunded in full', () => {
    const m = setup(['w1', 'w2']);
    publish(m);
    const before = m.balances();
    const w1 = m.worker('w1');
    const w2 = m.worker('w2');
    const id = m.postTask('alice', { app: 'render', version: '1.0', image: '', retries: 0 });
    m.next([m.tx('w1', TxKind.Bid, { task: id, price: PRICE })]);
    m.until(Number(m.task(id).closeHeight) + 1);
    expect(m.lease(id, 0).state).toBe(LeaseState.Matched);
    m.next([release(m, 'w1', id, 0)]);
    expect(m.lease(id, 0).state).toBe(LeaseState.Cancelled);
    expect(m.lease(id, 0).outcome).toBe('released by its worker before starting: MANIFEST_UNAVAILABLE');
    // Offered again in a new window, the task's retries untouched.
    expect(m.task(id).state).toBe(TaskState.Open);
    expect(m.task(id).retriesLeft).toBe(0);
    expect(m.task(id).openSlots).toEqual([0]);
    const again = m.reject(m.tx('w1', TxKind.Bid, { task: id, price: PRICE }));
    expect(again.code).toBe('LEASE_RELEASED');
    expect(again.message).toMatch(/cannot bid on that task again/);
    m.next([m.tx('w2', TxKind.Bid, { task: id, price: PRICE })]);
    m.until(Number(m.task(id).closeHeight) + 1);
    m.next([release(m, 'w2', id, 1, 'BLOB_UNAVAILABLE')]);
    // Nobody is left to bid: the window closes empty and, with no retry left, the task ends.
    m.until(Number(m.task(id).closeHeight) + 2);
    m.next();
    expect(m.task(id).state).toBe(TaskState.Done);
    expect(m.task(id).escrow).toBe(0n);
    expect(m.delta(before)).toEqual({});
    for (const [name, was] of [
      ['w1', w1],
      ['w2', w2],
    ] as const) {
      const w = m.worker(name);
      expect([w.bond, w.rating, w.failed, w.abandoned, w.released]).toEqual([was.bond, was.rating, 0n, 0n, 1n]);
    }
    expect(appEntry(m).releases).toBe(2n);
  });

  it('a worker that releases a lease others can run costs the poster one window and gains nothing; the next worker completes', () => {
    const m = setup(['w1', 'w2']);
    const before = m.balances();
    const id = m.postTask('alice', { retries: 0 });
    m.next([m.tx('w1', TxKind.Bid, { task: id, price: PRICE })]);
    m.until(Number(m.task(id).closeHeight) + 1);
    m.next([release(m, 'w1', id, 0)]);
    matchAndStart(m, id, ['w2']);
    const s = m.lease(id, 1).startedAt;
    m.next([result(m, 'w2', id, 1)]);
    const ms = BigInt(m.time) - s;
    m.until(Number(m.lease(id, 1).reviewEnd) + 2);
    m.next();
    expect(m.task(id).state).toBe(TaskState.Done);
    expect(m.delta(before)).toEqual({ alice: -(ms * 5n), w2: ms * 5n + DIVIDEND });
    expect(m.worker('w1').released).toBe(1n);
  });

  it('only the lessee, only before it started, only with a code for a reason', () => {
    const m = setup(['w1', 'w2']);
    const id = m.postTask('alice');
    m.next([m.tx('w1', TxKind.Bid, { task: id, price: PRICE })]);
    m.until(Number(m.task(id).closeHeight) + 1);
    expect(m.reject(release(m, 'w2', id, 0)).code).toBe('NOT_LESSEE');
    expect(m.reject(release(m, 'w1', id, 0, 'the image is gone')).code).toBe('INVALID_ARGUMENT');
    m.next([m.tx('w1', TxKind.StartLease, { task: id, lease: 0, endpoint: '' })]);
    const started = m.reject(release(m, 'w1', id, 0));
    expect(started.code).toBe('LEASE_NOT_MATCHED');
    expect(started.message).toMatch(/only a lease that has not started can be released/);
  });
});
