import { toHex } from '../crypto/portable.ts';
import { TaskKind, type Lease, type Task } from './marketEntries.ts';
import { LeaseState, TaskState } from './market/lifecycle.ts';
import { taskOrder, workerSpec, type MarketDriver } from './marketTesting.ts';
import { TxKind, type Payload } from './ops/index.ts';
import type { Tx } from './tx.ts';
import { ZNC, ZNC_UNIT } from './params.ts';
import { bids } from './stores.ts';

// Random market traffic against a MarketDriver: users, workers and developers send every market
// transaction, valid or not, across the inner chains. Used by the market conservation property
// and by the replay-chain recorder (scripts/record-replay-chain.ts).

export const USERS = ['u1', 'u2', 'u3', 'u4'];
export const WORKERS = ['w1', 'w2', 'w3', 'w4', 'w5'];
export const DEVS = ['d1', 'd2'];
export const DIGESTS = [`sha256:${'11'.repeat(32)}`, `sha256:${'22'.repeat(32)}`];

export function pickOf<T>(xs: T[], n: number): T | undefined {
  return xs.length === 0 ? undefined : xs[n % xs.length];
}

export function leasesOf(m: MarketDriver, id: Uint8Array): [number, Lease][] {
  const t = m.task(id);
  return Array.from({ length: t.leaseCount }, (_, i) => [i, m.lease(id, i)] as [number, Lease]);
}

export function workerOfLease(m: MarketDriver, l: Lease): string | undefined {
  return WORKERS.find((w) => m.hex(w) === toHex(l.worker));
}

/** The traffic's workers register: different sizes, one with a GPU, one expensive (each must have staked 150 ZNC). */
export function registerWorkerTxs(m: MarketDriver): Tx[] {
  return WORKERS.map((w, i) =>
    m.tx(
      w,
      TxKind.RegisterWorker,
      workerSpec({
        cpuMillis: 1000 * (i + 1),
        gpus: i === 2 ? [{ model: 'A100', memoryMiB: 40_000, count: 2 }] : [],
        priceCpuCoreHour: i === 4 ? 900_000_000n : 9_000_000n,
        bond: 150n * ZNC_UNIT,
      }),
    ),
  );
}

/** The traffic's developers publish app0 (no fee) and app1 (a fee, license required). */
export function publishAppTxs(m: MarketDriver): Tx[] {
  return DEVS.map((d, i) =>
    m.tx(d, TxKind.PublishApp, {
      name: `app${i}`,
      version: '1',
      digest: DIGESTS[i],
      developer: new Uint8Array(),
      feeToken: ZNC,
      licenseFeePerHour: 360_000n * BigInt(i),
      requiresLicense: i === 1,
    }),
  );
}

/** A random market action: what `actionTx` turns into a transaction. */
export interface MarketAction {
  kind: number;
  actor: number;
  pick: number;
  n: number;
  flag: boolean;
}

/** Turns a random action into a transaction against the current state (or nothing). */
export function actionTx(m: MarketDriver, tasks: Uint8Array[], a: MarketAction): Tx | undefined {
  const user = USERS[a.actor % USERS.length];
  const worker = WORKERS[a.actor % WORKERS.length];
  const id = pickOf(tasks, a.pick);
  const usage = { cpuSeconds: BigInt(a.n % 100), memoryGiBSeconds: 1n, gpuSeconds: 0n, networkBytes: BigInt(a.n), wallMs: BigInt(a.n * 10) };
  switch (a.kind) {
    case 0:
    case 1: {
      const app = a.pick % 3;
      return m.tx(
        user,
        TxKind.PostTask,
        taskOrder({
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
        }),
      );
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
      const bid = bids.get(m.t.ledger.chains[target[0]], toHex(target), a.n % t.bidCount)!;
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
export function settleCompared(m: MarketDriver, tasks: Uint8Array[]): Tx[] {
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

export function ownerOf(m: MarketDriver, t: Task): string | undefined {
  return USERS.find((u) => m.hex(u) === toHex(t.owner));
}
