import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { toHex } from '../crypto/index.ts';
import { payFor } from './market/escrow.ts';
import { taskIdFor } from './market/tasks.ts';
import { MarketKeys, TaskKind, type Bid, type Lease, type Task } from './marketEntries.ts';
import { LeaseState, TaskState } from './market/lifecycle.ts';
import { MarketDriver } from './marketTesting.ts';
import { taskOrder, workerSpec } from './marketTesting.ts';
import { ZNC, ZNC_UNIT } from './params.ts';
import { TxKind, type Payload } from './ops/index.ts';
import type { Tx } from './tx.ts';

// Conservation of the market under random interleavings: users, workers and developers send
// every market transaction, valid or not, across the inner chains, while deadlines, windows,
// reviews and grace periods fire. After every height: the supply invariant holds (checked by
// the driver), each task's escrow equals its open obligations (held pay plus what is free, and
// zero once ended), and no lease is paid twice or beyond its price for the time it ran.

const RUNS = Number(process.env.ZEUS_MARKET_PROPERTY_RUNS ?? 80);
const USERS = ['u1', 'u2', 'u3', 'u4'];
const WORKERS = ['w1', 'w2', 'w3', 'w4', 'w5'];
const DEVS = ['d1', 'd2'];
const DIGESTS = [`sha256:${'11'.repeat(32)}`, `sha256:${'22'.repeat(32)}`];

// Starting, reporting and results come mostly from the lessee and often: leases only live a few blocks.
const action = fc.record({
  kind: fc.oneof({ weight: 3, arbitrary: fc.integer({ min: 0, max: 14 }) }, { weight: 5, arbitrary: fc.constantFrom(2, 2, 3, 4, 4, 5, 7, 7, 10, 10, 10, 13, 13) }),
  actor: fc.nat(),
  pick: fc.nat(),
  n: fc.nat({ max: 1_000_000 }),
  flag: fc.boolean(),
});
const steps = fc.array(fc.record({ actions: fc.array(action, { maxLength: 5 }), skipMs: fc.constantFrom(0, 0, 0, 0, 0, 30_000, 600_000) }), { minLength: 20, maxLength: 45 });

describe('market conservation under random traffic', () => {
  it('keeps supply, escrow and payments exact after every height', () => {
    const stats = new Map<string, number>();
    const seen = (what: string): void => void stats.set(what, (stats.get(what) ?? 0) + 1);
    fc.assert(
      fc.property(steps, (plan) => {
        const m = new MarketDriver([...USERS, ...WORKERS, ...DEVS], { reviewBlocks: 8, startDeadlineBlocks: 3, reportDeadlineBlocks: 4, graceBlocks: 2, lowEscrowMs: 60_000 });
        // Workers of different sizes; one with a GPU, one expensive.
        WORKERS.forEach((w, i) => m.next([m.tx(w, TxKind.Stake, { amount: 500n * ZNC_UNIT })]));
        m.next();
        m.next(
          WORKERS.map((w, i) =>
            m.tx(w, TxKind.RegisterWorker, workerSpec({
              cpuMillis: 1000 * (i + 1),
              gpus: i === 2 ? [{ model: 'A100', memoryMiB: 40_000, count: 2 }] : [],
              priceCpuCoreHour: i === 4 ? 900_000_000n : 9_000_000n,
              bond: 150n * ZNC_UNIT,
            })),
          ),
        );
        m.next(DEVS.map((d, i) => m.tx(d, TxKind.PublishApp, { name: `app${i}`, version: '1', digest: DIGESTS[i], developer: new Uint8Array(), feeToken: ZNC, licenseFeePerHour: 360_000n * BigInt(i), requiresLicense: i === 1 })));
        const tasks: Uint8Array[] = [];
        const paid = new Map<string, bigint>();
        for (const step of plan) {
          const txs: Tx[] = [];
          const posted: Tx[] = [];
          for (const a of step.actions) {
            const tx = actionTx(m, tasks, a);
            if (!tx) continue;
            txs.push(tx);
            if (tx.kind === TxKind.PostTask) posted.push(tx);
          }
          // Every other height the compared leases still running commit and the open reveals are made
          // (but w5's): groups and verifier seats are decided amid the random traffic.
          if (plan.indexOf(step) % 2 === 1) txs.push(...settleCompared(m, tasks));
          m.t.ledger.time += step.skipMs;
          const rejected = m.next(txs, true);
          for (const tx of txs) seen(`${tx.kind}:${rejected.has(tx.hashHex) ? rejected.get(tx.hashHex)!.code : 'ok'}`);
          for (const tx of posted) if (!rejected.has(tx.hashHex)) tasks.push(taskIdFor(tx.hash, tx.chain));
          for (const id of tasks) checkTask(m, id, paid, seen);
        }
        // Let every window, deadline and review run out: the market settles completely.
        // First, compared leases still running end with a commitment (w4 lies) and every open reveal is
        // made but w5's (its commitments become wrong results), so groups and verifier seats get decided.
        for (let i = 0; i < 40; i++) {
          const drain = i < 20 ? settleCompared(m, tasks) : [];
          const rejected = m.next(drain, true);
          for (const tx of drain) seen(`${tx.kind}:${rejected.has(tx.hashHex) ? rejected.get(tx.hashHex)!.code : 'ok'}`);
          for (const id of tasks) checkTask(m, id, paid, seen);
        }
        for (const id of tasks) {
          const t = m.task(id);
          expect([TaskState.Done, TaskState.Cancelled, TaskState.Expired]).toContain(t.state);
          expect(t.escrow).toBe(0n);
        }
      }),
      { numRuns: RUNS },
    );
    if (process.env.ZEUS_PROPERTY_STATS) console.log(Object.fromEntries([...stats].sort()));
    // Not vacuous: the paths that move money were taken.
    const ok = (kind: number): number => stats.get(`${kind}:ok`) ?? 0;
    for (const k of [TxKind.PostTask, TxKind.Bid, TxKind.StartLease, TxKind.ReportUsage, TxKind.SubmitResult, TxKind.CancelTask, TxKind.TopUpTask, TxKind.Dispute, TxKind.AcceptBid, TxKind.CommitResult]) {
      expect(ok(k), `kind ${k} accepted`).toBeGreaterThan(0);
    }
    // Commitments were decided: revealed, or counted wrong at their deadline.
    expect(ok(TxKind.RevealResult) + (stats.get('result not revealed') ?? 0)).toBeGreaterThan(0);
    for (const what of ['lease settled', 'lease failed', 'task expired', 'task done']) expect(stats.get(what) ?? 0, what).toBeGreaterThan(0);
    const disputesEnded = ['dispute decided for the worker', 'dispute decided for the user', 'dispute lapsed'].reduce((n, k) => n + (stats.get(k) ?? 0), 0);
    expect(disputesEnded, 'disputes decided or lapsed').toBeGreaterThan(0);
  }, 240_000);
});

function pickOf<T>(xs: T[], n: number): T | undefined {
  return xs.length === 0 ? undefined : xs[n % xs.length];
}

function leasesOf(m: MarketDriver, id: Uint8Array): [number, Lease][] {
  const t = m.task(id);
  return Array.from({ length: t.leaseCount }, (_, i) => [i, m.lease(id, i)] as [number, Lease]);
}

function workerOfLease(m: MarketDriver, l: Lease): string | undefined {
  return WORKERS.find((w) => m.hex(w) === toHex(l.worker));
}

/** Turns a random action into a transaction against the current state (or nothing). */
function actionTx(m: MarketDriver, tasks: Uint8Array[], a: { kind: number; actor: number; pick: number; n: number; flag: boolean }): Tx | undefined {
  const user = USERS[a.actor % USERS.length];
  const worker = WORKERS[a.actor % WORKERS.length];
  const id = pickOf(tasks, a.pick);
  const usage = { cpuSeconds: BigInt(a.n % 100), memoryGiBSeconds: 1n, gpuSeconds: 0n, networkBytes: BigInt(a.n), wallMs: BigInt(a.n * 10) };
  switch (a.kind) {
    case 0:
    case 1: {
      const app = a.pick % 3;
      return m.tx(user, TxKind.PostTask, taskOrder({
        kind: a.flag ? TaskKind.Service : TaskKind.Batch,
        replicas: 1 + (a.n % 2),
        redundancy: !a.flag && a.n % 3 === 0 ? 2 + (a.n % 2) : 1,
        cpuMillis: 500 + (a.n % 2000),
        gpuCount: a.n % 7 === 0 ? 1 : 0,
        maxPricePerHour: BigInt(10_000_000 + (a.n % 40_000_000)),
        maxHours: 1 + (a.n % 2),
        bidWindowBlocks: 2 + (a.pick % 3),
        retries: a.pick % 3,
        ports: a.flag ? [8080] : [],
        ...(app === 2 ? {} : { app: `app${app}`, version: '1', image: '' }),
      }));
    }
    case 2: {
      const open = a.flag ? tasks : tasks.filter((t) => m.task(t).state === TaskState.Open);
      const target = pickOf(open, a.pick);
      if (!target) return undefined;
      return m.tx(worker, TxKind.Bid, { task: target, price: BigInt(9_000_000 + (a.n % 30_000_000)) });
    }
    case 3: {
      // The poster accepts one of the bids by hand (or, with flag, someone who never bid).
      const open = tasks.filter((t) => m.task(t).state === TaskState.Open && m.task(t).bidCount > 0);
      const target = pickOf(open, a.pick);
      if (!target) return undefined;
      const t = m.task(target);
      const bid = m.t.ledger.chains[target[0]].get<Bid>(MarketKeys.bid(toHex(target), a.n % t.bidCount))!;
      return m.tx(ownerOf(m, t) ?? user, TxKind.AcceptBid, { task: target, worker: a.flag ? m.addr(worker) : bid.worker });
    }
    case 4:
    case 5:
    case 6:
    case 7: {
      // Mostly a lease in the state the transaction expects; sometimes any lease (refused).
      const want = a.kind === 4 ? [LeaseState.Matched] : [LeaseState.Started, LeaseState.Running];
      const all = tasks.flatMap((t) => leasesOf(m, t).map(([i, l]) => [t, i, l] as [Uint8Array, number, Lease]));
      // Results only make sense for batch tasks.
      const fits = ([t, , l]: [Uint8Array, number, Lease]): boolean => want.includes(l.state as never) && (a.kind !== 7 || m.task(t).kind === TaskKind.Batch);
      const pick = pickOf(a.flag ? all : all.filter(fits), a.pick);
      if (!pick) return undefined;
      const [lt, i, l] = pick;
      const id = lt;
      const w = (a.flag && a.n % 3 === 0 ? worker : workerOfLease(m, l)) ?? worker;
      if (a.kind === 4) return m.tx(w, TxKind.StartLease, { task: id, lease: i, endpoint: '127.0.0.1:9000' });
      if (a.kind === 5 || a.kind === 6) return m.tx(w, TxKind.ReportUsage, { task: id, lease: i, seq: l.reports + (a.n % 4 === 0 ? 0 : 1), ...usage });
      // A compared lease (redundancy group, verifier seat) commits; with flag it tries a plain result (refused).
      if (!a.flag && m.compared(id, i)) return m.end(w, id, i, DIGESTS[a.n % 2], usage);
      return m.tx(w, TxKind.SubmitResult, { task: id, lease: i, digest: DIGESTS[a.n % 2], ...usage });
    }
    case 8: {
      if (!id) return undefined;
      return m.tx(ownerOf(m, m.task(id)) ?? user, TxKind.CancelTask, { task: id });
    }
    case 9: {
      if (!id) return undefined;
      return m.tx(ownerOf(m, m.task(id)) ?? user, TxKind.TopUpTask, { task: id, amount: BigInt(a.n * 100), feeAmount: 0n });
    }
    case 10: {
      const all = tasks.flatMap((t) => leasesOf(m, t).map(([i, l]) => [t, i, l] as [Uint8Array, number, Lease]));
      const disputable = ([t, , l]: [Uint8Array, number, Lease]): boolean => l.state === LeaseState.Completed && l.verifies === 0 && m.task(t).redundancy === 1;
      const pick = pickOf(a.flag ? all : all.filter(disputable), a.pick);
      if (!pick) return undefined;
      return m.tx(ownerOf(m, m.task(pick[0])) ?? user, TxKind.Dispute, { task: pick[0], lease: pick[1] });
    }
    case 11:
      return m.tx(user, TxKind.AcquireLicense, { name: 'app1' });
    case 12:
      return a.n % 20 === 0 ? m.tx(worker, TxKind.LeaveWorker, {}) : undefined;
    case 13: {
      // A reveal whose phase is open (commitments not picked here are never revealed: wrong results);
      // with flag, a reveal that does not match (refused).
      const due = m.reveals();
      const tx = pickOf(due, a.pick);
      if (!tx || !a.flag) return tx;
      const p = tx.body.payload as Payload<typeof TxKind.RevealResult>;
      return m.tx(workerOfLease(m, m.lease(p.task, p.lease)) ?? worker, TxKind.RevealResult, { ...p, salt: new Uint8Array(32).fill(a.n % 256) });
    }
    default: {
      // A report for a period already settled, or from someone else: both refused.
      if (!id) return undefined;
      const pick = pickOf(leasesOf(m, id), a.n);
      if (!pick) return undefined;
      return m.tx(worker, TxKind.ReportUsage, { task: id, lease: pick[0], seq: Math.max(1, pick[1].reports), ...usage });
    }
  }
}

/** Commitments for the compared leases that still run (w4 commits a wrong digest), and every open reveal but w5's. */
function settleCompared(m: MarketDriver, tasks: Uint8Array[]): Tx[] {
  const usage = { cpuSeconds: 1n, memoryGiBSeconds: 1n, gpuSeconds: 0n, networkBytes: 0n, wallMs: 1_000n };
  const txs: Tx[] = [];
  for (const id of tasks) {
    for (const [i, l] of leasesOf(m, id)) {
      const w = workerOfLease(m, l);
      if (!w || (l.state !== LeaseState.Started && l.state !== LeaseState.Running) || !m.compared(id, i)) continue;
      txs.push(m.end(w, id, i, DIGESTS[w === 'w4' ? 1 : 0], usage));
    }
  }
  return [...txs, ...m.reveals(['w5'])];
}

function ownerOf(m: MarketDriver, t: Task): string | undefined {
  return USERS.find((u) => m.hex(u) === toHex(t.owner));
}

/** The escrow equals the task's open obligations; leases are paid once, within their price. */
function checkTask(m: MarketDriver, id: Uint8Array, paid: Map<string, bigint>, seen: (what: string) => void): void {
  const t = m.task(id);
  let held = 0n;
  for (const [i, l] of leasesOf(m, id)) {
    held += t.feeToken === ZNC ? l.held + l.feeHeld : l.held;
    const key = `${toHex(id)}/${i}`;
    const before = paid.get(key) ?? 0n;
    // Paid amounts only grow, never past the price of the time it ran, and never after the end.
    expect(l.workerPaid).toBeGreaterThanOrEqual(before);
    expect(l.workerPaid + l.held).toBeLessThanOrEqual(payFor(l.price, l.wallMs));
    if (before === l.workerPaid && (l.state === LeaseState.Settled || l.state === LeaseState.Failed || l.state === LeaseState.Cancelled)) {
      expect(l.held).toBe(0n);
    }
    if (!paid.has(`${key}/end`) && (l.state === LeaseState.Settled || l.state === LeaseState.Failed || l.state === LeaseState.Cancelled)) {
      paid.set(`${key}/end`, l.workerPaid);
      seen(l.state === LeaseState.Failed ? 'lease failed' : 'lease settled');
      // How disputes ended (drawn verifiers, their majority, lapses): every path moves money.
      const d = /^(dispute decided for the worker|dispute decided for the user|dispute lapsed|verifier outvoted|drawn verifier did not start|result not revealed)/.exec(l.outcome);
      if (d) seen(d[1]);
    } else if (paid.has(`${key}/end`)) {
      expect(l.workerPaid, 'a lease that ended is never paid again').toBe(paid.get(`${key}/end`));
    }
    paid.set(key, l.workerPaid);
  }
  expect(t.held).toBe(held);
  expect(t.escrow).toBeGreaterThanOrEqual(t.held);
  const ended = t.state === TaskState.Done || t.state === TaskState.Cancelled || t.state === TaskState.Expired;
  if (ended) {
    expect(t.escrow).toBe(0n);
    expect(t.activeLeases).toBe(0);
    if (!paid.has(`${toHex(id)}/ended`)) {
      paid.set(`${toHex(id)}/ended`, 0n);
      seen(t.state === TaskState.Expired ? 'task expired' : t.state === TaskState.Done ? 'task done' : 'task cancelled');
    }
  }
}
