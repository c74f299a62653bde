import { describe, expect, it } from 'vitest';
import { systemAddress, toHex } from '../crypto/index.ts';
import { TaskKind } from './marketEntries.ts';
import { LeaseState, TaskState } from './market/lifecycle.ts';
import { BLOCK_MS, MarketDriver } from './marketTesting.ts';
import { ZNC_UNIT } from './params.ts';
import { TxKind } from './ops/index.ts';
import { homeChain } from './routing.ts';
import { accounts } from './stores.ts';

// Scenario tests of the compute market on the ledger. Each ends with an exact account of who
// paid whom: the user's loss equals what the workers and the developer earned, the escrow is
// empty, and bonds moved only where the scenario slashes.

const DIGEST_A = `sha256:${'aa'.repeat(32)}`;
const DIGEST_B = `sha256:${'bb'.repeat(32)}`;
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

/** Publishes dev's app with a license fee, paid in ZNC. */
function publish(m: MarketDriver, requiresLicense = false): void {
  m.next([
    m.tx('dev', TxKind.PublishApp, {
      name: 'render',
      version: '1.0',
      digest: APP_DIGEST,
      developer: new Uint8Array(),
      feeToken: 'ZNC',
      licenseFeePerHour: FEE,
      requiresLicense,
    }),
  ]);
}

/** Bids, waits for the window to close, starts the lease. Returns the lease's start time. */
function matchAndStart(m: MarketDriver, id: Uint8Array, workers: string[], price = PRICE): void {
  m.next(workers.map((w) => m.tx(w, TxKind.Bid, { task: id, price })));
  m.until(Number(m.task(id).closeHeight) + 1);
  const t = m.task(id);
  const starts = [];
  for (let i = 0; i < t.leaseCount; i++) {
    const l = m.lease(id, i);
    if (l.state !== LeaseState.Matched) continue;
    const who = workers.find((w) => m.hex(w) === Buffer.from(l.worker).toString('hex'))!;
    starts.push(m.tx(who, TxKind.StartLease, { task: id, lease: i, endpoint: '127.0.0.1:8080' }));
  }
  m.next(starts);
}

const report = (m: MarketDriver, w: string, id: Uint8Array, lease: number, seq: number, wallMs = 1_000_000n) =>
  m.tx(w, TxKind.ReportUsage, { task: id, lease, seq, cpuSeconds: 5n, memoryGiBSeconds: 5n, gpuSeconds: 0n, networkBytes: 100n, wallMs });

const result = (m: MarketDriver, w: string, id: Uint8Array, lease: number, digest = DIGEST_A) =>
  m.tx(w, TxKind.SubmitResult, { task: id, lease, digest, cpuSeconds: 1n, memoryGiBSeconds: 1n, gpuSeconds: 0n, networkBytes: 0n, wallMs: 1_000_000n });

describe('market scenarios on the ledger', () => {
  it('batch happy path: bid, match, start, report, result, review, automatic payment with the license fee', () => {
    const m = setup();
    publish(m);
    const before = m.balances();
    const bondBefore = m.worker('w1').bond;
    const id = m.postTask('alice', { app: 'render', version: '1.0', image: '' });
    const t0 = m.task(id);
    expect(t0.escrow).toBe(36_000_000n + FEE);
    matchAndStart(m, id, ['w1']);
    const started = m.lease(id, 0);
    expect(started.state).toBe(LeaseState.Started);
    m.next();
    m.next([report(m, 'w1', id, 0, 1)]);
    m.next();
    m.next([result(m, 'w1', id, 0)]);
    const done = m.lease(id, 0);
    expect(done.state).toBe(LeaseState.Completed);
    const ms = BigInt(m.time) - started.startedAt;
    expect(done.wallMs).toBe(ms);
    expect(done.held).toBe(ms * 5n);
    expect(done.feeHeld).toBe(ms);
    expect(m.task(id).held).toBe(ms * 6n);
    // Nothing is paid during review.
    expect(m.znc('w1')).toBe(before.w1);
    m.until(Number(done.reviewEnd) + 2);
    const paid = m.lease(id, 0);
    expect(paid.state).toBe(LeaseState.Settled);
    expect(paid.workerPaid).toBe(ms * 5n);
    expect(paid.feePaid).toBe(ms);
    expect(m.task(id).state).toBe(TaskState.Done);
    expect(m.task(id).escrow).toBe(0n);
    m.next();
    expect(m.delta(before)).toEqual({ alice: -(ms * 6n), w1: ms * 5n + DIVIDEND, dev: ms });
    expect(m.worker('w1').bond).toBe(bondBefore);
    expect(m.worker('w1').completed).toBe(1n);
    const idHex = Buffer.from(id).toString('hex');
    expect(m.events.filter((e) => e.task === idHex).map((e) => e.kind)).toEqual([
      'task-posted',
      'lease-matched',
      'window-closed',
      'lease-started',
      'lease-ended',
      'task-ended',
    ]);
  });

  it('service with periodic settlement and a top-up: each report pays at once; the top-up extends it', () => {
    const m = setup();
    const before = m.balances();
    // Escrow for 1 hour at 10 units/ms; low-escrow threshold 10 s = 50,000 units at the bid price.
    const id = m.postTask('alice', { kind: TaskKind.Service, ports: [8080] });
    matchAndStart(m, id, ['w1']);
    const startedAt = m.lease(id, 0).startedAt;
    m.next();
    m.next([report(m, 'w1', id, 0, 1)]);
    const afterFirst = m.lease(id, 0);
    expect(afterFirst.workerPaid).toBe((BigInt(m.time) - startedAt) * 5n);
    m.next([m.tx('alice', TxKind.TopUpTask, { task: id, amount: 1_000_000n, feeAmount: 0n })]);
    expect(m.task(id).escrow).toBe(36_000_000n - afterFirst.workerPaid + 1_000_000n);
    m.next([report(m, 'w1', id, 0, 2)]);
    const second = m.lease(id, 0);
    expect(second.workerPaid).toBe((BigInt(m.time) - startedAt) * 5n);
    m.next([m.tx('alice', TxKind.CancelTask, { task: id })]);
    const end = m.lease(id, 0);
    expect(end.state).toBe(LeaseState.Cancelled);
    expect(end.workerPaid).toBe((BigInt(m.time) - startedAt) * 5n);
    m.next();
    expect(m.delta(before)).toEqual({ alice: -end.workerPaid, w1: end.workerPaid });
  });

  it('cancel before match: the whole escrow returns', () => {
    const m = setup();
    const before = m.balances();
    const id = m.postTask('alice', { bidWindowBlocks: 5 });
    expect(m.znc('alice')).toBe(before.alice - 36_000_000n);
    m.next([m.tx('alice', TxKind.CancelTask, { task: id })]);
    expect(m.task(id).state).toBe(TaskState.Cancelled);
    expect(m.delta(before)).toEqual({});
  });

  it('cancel after match, before the start: the worker is paid its wait since the match at its price, no license fee; the poster the rest', () => {
    const m = setup();
    publish(m);
    const before = m.balances();
    const id = m.postTask('alice', { app: 'render', version: '1.0', image: '' });
    m.next([m.tx('w1', TxKind.Bid, { task: id, price: PRICE })]);
    m.until(Number(m.task(id).closeHeight) + 1);
    const matched = m.lease(id, 0);
    expect(matched.state).toBe(LeaseState.Matched);
    // The worker fetches the image for a while; the poster changes its mind.
    m.next();
    m.next();
    m.next([m.tx('alice', TxKind.CancelTask, { task: id })]);
    const end = m.lease(id, 0);
    expect(end.state).toBe(LeaseState.Cancelled);
    const waited = BigInt(m.time) - matched.paidUntil;
    expect(waited).toBe(3_000n);
    expect(end.workerPaid).toBe(waited * 5n);
    expect(end.feePaid).toBe(0n);
    expect(m.task(id).escrow).toBe(0n);
    m.next();
    expect(m.delta(before)).toEqual({ alice: -(waited * 5n), w1: waited * 5n });
  });

  it('no bids: the window closes with the reasons of every worker recorded and a full refund', () => {
    const m = setup(['w1', 'w2']);
    m.next([m.tx('w2', TxKind.UpdateWorker, { ...workerFields(m, 'w2'), gpus: [{ model: 'A100', memoryMiB: 40_000, count: 1 }], addBond: 0n })]);
    const before = m.balances();
    const id = m.postTask('alice', { gpuCount: 1, gpuModel: 'H100', gpuMemoryMiB: 80_000, retries: 0 });
    // An idle chain must still reach the window's end: the ledger says a height is due.
    expect(m.t.ledger.hasDueWork(m.time)).toBe(true);
    m.until(Number(m.task(id).closeHeight) + 1);
    expect(m.t.ledger.hasDueWork(m.time)).toBe(false);
    const t = m.task(id);
    expect(t.state).toBe(TaskState.Expired);
    expect(JSON.parse(t.noBidReasons)).toEqual({ workers: 2, GPU_MODEL: 2 });
    expect(t.escrow).toBe(0n);
    expect(m.delta(before)).toEqual({});
  });

  it('worker never starts: lease fails, bond slashed, rating drops, slot re-offered to another worker who completes', () => {
    const m = setup(['w1', 'w2']);
    const before = m.balances();
    const bond1 = m.worker('w1').bond;
    const rating1 = m.worker('w1').rating;
    const id = m.postTask('alice', { retries: 1 });
    m.next([m.tx('w1', TxKind.Bid, { task: id, price: PRICE })]);
    m.until(Number(m.task(id).closeHeight) + 1);
    const l0 = m.lease(id, 0);
    expect(l0.state).toBe(LeaseState.Matched);
    m.until(Number(l0.startBy) + 2);
    expect(m.lease(id, 0).state).toBe(LeaseState.Failed);
    expect(m.task(id).state).toBe(TaskState.Open);
    const slashed = (bond1 * 500n) / 10_000n;
    expect(m.worker('w1').bond).toBe(bond1 - slashed);
    expect(m.worker('w1').failed).toBe(1n);
    expect(m.worker('w1').rating).toBeLessThan(rating1);
    const pool = m.system('rewards-pool');
    void pool;
    matchAndStart(m, id, ['w2']);
    const startedAt = m.lease(id, 1).startedAt;
    m.next([result(m, 'w2', id, 1)]);
    const ms = BigInt(m.time) - startedAt;
    m.until(Number(m.lease(id, 1).reviewEnd) + 2);
    m.next();
    expect(m.task(id).state).toBe(TaskState.Done);
    expect(m.delta(before)).toEqual({ alice: -(ms * 5n), w2: ms * 5n + DIVIDEND });
  });

  it('worker stops reporting mid-lease: pro-rata pay for what it reported, refund, slash, re-offer', () => {
    const m = setup(['w1']);
    const before = m.balances();
    const bond1 = m.worker('w1').bond;
    const id = m.postTask('alice', { retries: 1, bidWindowBlocks: 2 });
    matchAndStart(m, id, ['w1']);
    const startedAt = m.lease(id, 0).startedAt;
    m.next();
    m.next([report(m, 'w1', id, 0, 1)]);
    const reported = m.lease(id, 0);
    const ms = BigInt(m.time) - startedAt;
    expect(reported.held).toBe(ms * 5n);
    m.until(Number(reported.reportBy) + 2);
    const failed = m.lease(id, 0);
    expect(failed.state).toBe(LeaseState.Failed);
    expect(failed.workerPaid).toBe(ms * 5n);
    expect(m.worker('w1').abandoned).toBe(1n);
    expect(m.worker('w1').bond).toBe(bond1 - (bond1 * 500n) / 10_000n);
    // Re-offered: nobody else bids, the window closes, the rest returns.
    expect(m.task(id).state).toBe(TaskState.Open);
    m.until(Number(m.task(id).closeHeight) + 2);
    expect(m.task(id).state).toBe(TaskState.Done);
    m.next();
    expect(m.delta(before)).toEqual({ alice: -(ms * 5n), w1: ms * 5n });
  });

  // Disputes and their verifiers: src/ledger/market.disputes.test.ts.

  it('redundancy 3 with one dishonest worker: the majority is paid, the odd one out slashed and rated down', () => {
    const m = setup(['w1', 'w2', 'w3']);
    const before = m.balances();
    const bond3 = m.worker('w3').bond;
    const id = m.postTask('alice', { redundancy: 3 });
    expect(m.task(id).escrow).toBe(3n * 36_000_000n);
    matchAndStart(m, id, ['w1', 'w2', 'w3']);
    const leases = [0, 1, 2].map((i) => m.lease(id, i));
    const who = (i: number) => ['w1', 'w2', 'w3'].find((w) => m.hex(w) === Buffer.from(leases[i].worker).toString('hex'))!;
    const dishonest = [0, 1, 2].find((i) => who(i) === 'w3')!;
    // Each commits to its digest (commit and reveal: nothing to copy), then reveals once all committed.
    m.next(
      [0, 1, 2].map((i) =>
        m.end(who(i), id, i, i === dishonest ? DIGEST_B : DIGEST_A, {
          cpuSeconds: 1n,
          memoryGiBSeconds: 1n,
          gpuSeconds: 0n,
          networkBytes: 0n,
          wallMs: 1_000_000n,
        }),
      ),
    );
    const ms = BigInt(m.time) - leases[0].startedAt;
    m.next(m.reveals());
    expect(m.lease(id, dishonest).outcome).toMatch(/majority/);
    m.next();
    expect(m.worker('w3').bond).toBe(bond3 - (bond3 * 2_000n) / 10_000n);
    m.until(Number(m.lease(id, (dishonest + 1) % 3).reviewEnd) + 2);
    m.next();
    expect(m.task(id).state).toBe(TaskState.Done);
    expect(m.delta(before)).toEqual({ alice: -(2n * ms * 5n), w1: ms * 5n + DIVIDEND, w2: ms * 5n + DIVIDEND });
    expect(m.worker('w3').disputesLost).toBe(1n);
  });

  it('escrow running low announces a grace period; a top-up continues the service', () => {
    const m = setup();
    // 0.2 hour of escrow at 10 units/ms max price; at 5 units/ms the 10 s threshold is 50,000 units.
    const id = m.postTask('alice', { kind: TaskKind.Service, maxPricePerHour: 36_000_000n, maxHours: 1 });
    matchAndStart(m, id, ['w1']);
    // A long period drains most of the escrow (claims are capped by elapsed block time, so let time pass).
    m.t.ledger.time += 7_190_000;
    m.next([report(m, 'w1', id, 0, 1, 10_000_000n)]);
    const t = m.task(id);
    expect(t.escrow).toBeLessThan(50_000n);
    expect(t.escrow).toBeGreaterThan(0n);
    expect(t.graceUntil).toBeGreaterThan(0n);
    expect(m.events.at(-1)).toMatchObject({ kind: 'escrow-low', detail: expect.stringMatching(/top up by height/) });
    m.next([m.tx('alice', TxKind.TopUpTask, { task: id, amount: 10_000_000n, feeAmount: 0n })]);
    expect(m.task(id).graceUntil).toBe(0n);
    m.until(Number(t.graceUntil) + 2);
    expect(m.lease(id, 0).state).toBe(LeaseState.Running);
  });

  it('escrow running out: a period worth more than is left pays the rest and stops the service', () => {
    const m = setup();
    const before = m.balances();
    const id = m.postTask('alice', { kind: TaskKind.Service, maxHours: 1 });
    matchAndStart(m, id, ['w1']);
    m.t.ledger.time += 8_000_000;
    m.next([report(m, 'w1', id, 0, 1, 10_000_000n)]);
    const end = m.lease(id, 0);
    expect(end.state).toBe(LeaseState.Settled);
    expect(end.outcome).toBe('escrow ran out');
    expect(end.workerPaid).toBe(36_000_000n);
    expect(m.task(id).state).toBe(TaskState.Done);
    m.next();
    expect(m.delta(before)).toEqual({ alice: -36_000_000n, w1: 36_000_000n });
  });

  it('escrow running low and not topped up: the grace period passes and the service stops, paid to the last block', () => {
    const m = setup();
    const before = m.balances();
    const id = m.postTask('alice', { kind: TaskKind.Service, maxHours: 1 });
    matchAndStart(m, id, ['w1']);
    m.t.ledger.time += 7_190_000;
    m.next([report(m, 'w1', id, 0, 1, 10_000_000n)]);
    const t = m.task(id);
    expect(t.graceUntil).toBeGreaterThan(0n);
    m.until(Number(t.graceUntil) + 1);
    const end = m.lease(id, 0);
    expect(end.state).toBe(LeaseState.Settled);
    expect(end.outcome).toMatch(/not topped up/);
    expect(m.task(id).state).toBe(TaskState.Done);
    m.next();
    const paid = end.workerPaid;
    expect(m.delta(before)).toEqual({ alice: -paid, w1: paid });
    expect(m.task(id).escrow).toBe(0n);
  });

  it('a license fee in a sub-token: escrowed in that token, paid to the developer in it, the rest refunded', () => {
    const m = setup();
    // alice issues GPU credits and gives some to bob, who runs dev's app licensed in GPU.
    m.next([m.tx('alice', TxKind.TokenCreate, { symbol: 'GPU', name: 'GPU credit', decimals: 8, anchorRate: 10n, deposit: 1_000n * ZNC_UNIT })]);
    m.next();
    m.next();
    m.next([m.tx('alice', TxKind.Transfer, { to: m.addr('bob'), token: 'GPU', amount: 1_000n * ZNC_UNIT, memo: '' })]);
    m.next([
      m.tx('dev', TxKind.PublishApp, {
        name: 'gpuapp',
        version: '1',
        digest: APP_DIGEST,
        developer: new Uint8Array(),
        feeToken: 'GPU',
        licenseFeePerHour: FEE,
        requiresLicense: false,
      }),
    ]);
    m.next();
    const gpu = (n: string): bigint => {
      const a = m.addr(n);
      return accounts.get(m.t.ledger.chains[homeChain(a)], toHex(a))?.balances.GPU ?? 0n;
    };
    const before = m.balances();
    const gpuBefore = { bob: gpu('bob'), dev: gpu('dev') };
    const id = m.postTask('bob', { app: 'gpuapp', version: '1', image: '' });
    expect(m.task(id).escrow).toBe(36_000_000n);
    expect(m.task(id).feeEscrow).toBe(FEE);
    expect(gpu('bob')).toBe(gpuBefore.bob - FEE);
    matchAndStart(m, id, ['w1']);
    const s = m.lease(id, 0).startedAt;
    m.next([result(m, 'w1', id, 0)]);
    const ms = BigInt(m.time) - s;
    m.until(Number(m.lease(id, 0).reviewEnd) + 2);
    m.next();
    m.next();
    expect(m.lease(id, 0).feePaid).toBe(ms);
    expect(m.delta(before)).toEqual({ bob: -(ms * 5n), w1: ms * 5n + DIVIDEND });
    expect(gpu('bob')).toBe(gpuBefore.bob - ms);
    expect(gpu('dev')).toBe(gpuBefore.dev + ms);
    expect(m.task(id).feeEscrow).toBe(0n);
  });

  it('a leaving worker gets its bond back after the unbonding blocks', () => {
    const m = setup();
    const bond = m.worker('w1').bond;
    const before = m.znc('w1');
    m.next([m.tx('w1', TxKind.LeaveWorker, {})]);
    const at = Number(m.worker('w1').leavingAt);
    m.until(at + 1);
    expect(m.worker('w1').bond).toBe(0n);
    expect(m.znc('w1')).toBe(before + bond);
    void systemAddress;
    void BLOCK_MS;
  });
});

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
