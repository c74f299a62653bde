import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { toHex } from '../crypto/index.ts';
import { payFor } from './market/escrow.ts';
import { taskIdFor } from './market/tasks.ts';
import { LeaseState, TaskState } from './market/lifecycle.ts';
import { MarketDriver } from './marketTesting.ts';
import { TaskKind } from './marketEntries.ts';
import {
  actionTx,
  DEVS,
  DIGESTS,
  leasesOf,
  ownerOf,
  publishAppTxs,
  registerWorkerTxs,
  settleCompared,
  USERS,
  WORKERS,
  workerOfLease,
} from './marketTraffic.ts';
import { ZNC, ZNC_UNIT } from './params.ts';
import { TxKind } from './ops/index.ts';
import type { Tx } from './tx.ts';

// Conservation of the market under random interleavings: users, workers and developers send
// every market transaction, valid or not, across the inner chains, while deadlines, windows,
// reviews and grace periods fire. After every height: the supply invariant holds (checked by
// the driver), each task's escrow equals its open obligations (held pay plus what is free, and
// zero once ended), and no lease is paid twice or beyond its price for the time it ran.

const RUNS = Number(process.env.ZEUS_MARKET_PROPERTY_RUNS ?? 80);
// Starting, reporting and results come mostly from the lessee and often: leases only live a few blocks.
const action = fc.record({
  kind: fc.oneof(
    { weight: 3, arbitrary: fc.integer({ min: 0, max: 14 }) },
    { weight: 5, arbitrary: fc.constantFrom(2, 2, 3, 4, 4, 5, 7, 7, 10, 10, 10, 13, 13) },
  ),
  actor: fc.nat(),
  pick: fc.nat(),
  n: fc.nat({ max: 1_000_000 }),
  flag: fc.boolean(),
});
const steps = fc.array(fc.record({ actions: fc.array(action, { maxLength: 5 }), skipMs: fc.constantFrom(0, 0, 0, 0, 0, 30_000, 600_000) }), {
  minLength: 20,
  maxLength: 45,
});

describe('market conservation under random traffic', () => {
  it('keeps supply, escrow and payments exact after every height', () => {
    const stats = new Map<string, number>();
    const seen = (what: string): void => void stats.set(what, (stats.get(what) ?? 0) + 1);
    const run = (): void =>
      fc.assert(
        fc.property(steps, (plan) => {
          const m = new MarketDriver([...USERS, ...WORKERS, ...DEVS], {
            reviewBlocks: 8,
            startDeadlineBlocks: 3,
            reportDeadlineBlocks: 4,
            graceBlocks: 2,
            lowEscrowMs: 60_000,
          });
          // Workers of different sizes; one with a GPU, one expensive.
          WORKERS.forEach((w) => m.next([m.tx(w, TxKind.Stake, { amount: 500n * ZNC_UNIT })]));
          m.next();
          m.next(registerWorkerTxs(m));
          m.next(publishAppTxs(m));
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
            const drain = i < 20 ? [...settleCompared(m, tasks), ...(i === 0 ? finishRunning(m, tasks) : []), ...(i === 1 ? disputeHalf(m, tasks) : [])] : [];
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
    // Not vacuous: the paths that move money were taken. Random plans take the rarest of them (a
    // compared lease's commitment) in most batches of runs, not all: batches are added until every path
    // was taken, and a path that no batch reaches fails the test.
    const ok = (kind: number): number => stats.get(`${kind}:ok`) ?? 0;
    const missing = (): string[] => {
      const kinds = [
        TxKind.PostTask,
        TxKind.Bid,
        TxKind.StartLease,
        TxKind.ReportUsage,
        TxKind.SubmitResult,
        TxKind.CancelTask,
        TxKind.TopUpTask,
        TxKind.Dispute,
        TxKind.AcceptBid,
        TxKind.CommitResult,
      ].filter((k) => ok(k) === 0);
      const out = kinds.map((k) => `kind ${k} accepted`);
      // Commitments were decided: revealed, or counted wrong at their deadline.
      if (ok(TxKind.RevealResult) + (stats.get('result not revealed') ?? 0) === 0) out.push('commitments decided');
      for (const what of ['lease settled', 'lease failed', 'task expired', 'task done']) if (!stats.get(what)) out.push(what);
      const disputesEnded = ['dispute decided for the worker', 'dispute decided for the user', 'dispute lapsed'].reduce((n, k) => n + (stats.get(k) ?? 0), 0);
      if (disputesEnded === 0) out.push('disputes decided or lapsed');
      return out;
    };
    run();
    for (let batch = 1; batch < 4 && missing().length > 0; batch++) run();
    if (process.env.ZEUS_PROPERTY_STATS) console.log(Object.fromEntries([...stats].sort()));
    expect(missing()).toEqual([]);
  }, 240_000);
});

/** The escrow equals the task's open obligations; leases are paid once, within their price. */
function checkTask(m: MarketDriver, id: Uint8Array, paid: Map<string, bigint>, seen: (what: string) => void): void {
  const t = m.task(id);
  let held = 0n;
  for (const [i, l] of leasesOf(m, id)) {
    held += t.feeToken === ZNC ? l.held + l.feeHeld : l.held;
    const key = `${toHex(id)}/${i}`;
    const before = paid.get(key) ?? 0n;
    // Paid amounts only grow, never past the price of the time it ran, and never after the end. A
    // lease that never started is paid at most its wait from the match (when its poster cancels):
    // its match time is its paidUntil as first seen.
    expect(l.workerPaid).toBeGreaterThanOrEqual(before);
    const matchKey = `${key}/matched`;
    if (l.startedAt === 0n && !paid.has(matchKey)) paid.set(matchKey, l.state === LeaseState.Matched ? l.paidUntil : BigInt(m.time));
    const paidFor = l.startedAt === 0n ? l.paidUntil - paid.get(matchKey)! : l.wallMs;
    expect(l.workerPaid + l.held).toBeLessThanOrEqual(payFor(l.price, paidFor > 0n ? paidFor : 0n));
    if (before === l.workerPaid && (l.state === LeaseState.Settled || l.state === LeaseState.Failed || l.state === LeaseState.Cancelled)) {
      expect(l.held).toBe(0n);
    }
    if (!paid.has(`${key}/end`) && (l.state === LeaseState.Settled || l.state === LeaseState.Failed || l.state === LeaseState.Cancelled)) {
      paid.set(`${key}/end`, l.workerPaid);
      seen(l.state === LeaseState.Failed ? 'lease failed' : 'lease settled');
      // How disputes ended (drawn verifiers, their majority, lapses): every path moves money.
      const d =
        /^(dispute decided for the worker|dispute decided for the user|dispute lapsed|verifier outvoted|drawn verifier did not start|result not revealed)/.exec(
          l.outcome,
        );
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

/** The batch leases still running that nothing compares end with a result (so there are results under review to dispute). */
function finishRunning(m: MarketDriver, tasks: Uint8Array[]): Tx[] {
  const usage = { cpuSeconds: 1n, memoryGiBSeconds: 1n, gpuSeconds: 0n, networkBytes: 0n, wallMs: 1_000n };
  const txs: Tx[] = [];
  for (const id of tasks) {
    if (m.task(id).kind !== TaskKind.Batch) continue;
    for (const [i, l] of leasesOf(m, id)) {
      const w = workerOfLease(m, l);
      if (w && (l.state === LeaseState.Started || l.state === LeaseState.Running) && !m.compared(id, i)) txs.push(m.end(w, id, i, DIGESTS[0], usage));
    }
  }
  return txs;
}

/**
 * The owners dispute the results still under review of every other task (by the id's last byte), so
 * each run, not only a lucky one, may take the dispute paths: random traffic alone disputes in about
 * 3 of 80 runs, and the check below that disputes happened failed about once in 20 suites.
 */
function disputeHalf(m: MarketDriver, tasks: Uint8Array[]): Tx[] {
  const txs: Tx[] = [];
  for (const id of tasks) {
    const t = m.task(id);
    const owner = ownerOf(m, t);
    if (id[31] % 2 !== 0 || t.redundancy !== 1 || !owner) continue;
    for (const [i, l] of leasesOf(m, id))
      if (l.state === LeaseState.Completed && l.verifies === 0) txs.push(m.tx(owner, TxKind.Dispute, { task: id, lease: i }));
  }
  return txs;
}
