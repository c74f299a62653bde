import type { Gpu } from '../ledger/index.ts';
import type { LeaseAnswer, LeaseStateName, TaskNeedsAnswer, ZeusClient } from '../sdk/index.ts';
import type { BenchmarkResult } from './benchmark.ts';
import type { DetectedResources } from './resources.ts';
import type { Workload } from './workload.ts';

// What `zeus worker status` shows: the agent's own view (the leases it runs now, from its
// memory) joined with the chain's (their states, what it paid, the registration). The chain is
// the authority on money: earnings are what its leases record as paid to this worker, not
// anything the agent counted itself.

/** What the agent knows that the chain does not: the leases it is running now. */
export interface AgentSnapshot {
  address: string;
  leases: { task: string; lease: number; container: string | null }[];
  /** Tasks bid on whose bid is not decided yet (won, lost, cancelled or withdrawn). */
  bids: string[];
  /** Why the chain does not lease this worker now and how to lift it (bond below the minimum), or null. */
  notLeased: string | null;
}

export interface LeaseNow {
  task: string;
  lease: number;
  /** The chain's state of the lease (matched before the container started, then running…). */
  state: LeaseStateName | 'unknown';
  container: string | null;
  cpuMillis: number;
  memoryMiB: number;
  gpus: number;
  /** Memory the container uses now, from the engine's statistics. */
  memoryBytesNow: number | null;
  reports: number;
  paid: string;
}

export interface WorkerStatus {
  worker: string;
  node: string;
  pid: number;
  startedAt: string;
  active: boolean;
  /** The chain would lease it (canBeLeased: active, bond at least the minimum). */
  leasable: boolean;
  /** ZNC base units to add to the bond before it is leased again ("0": none). */
  bondShortfall: string;
  /** What the agent says about it: why it does not bid, and the command that lifts it; null when it bids. */
  notLeased: string | null;
  rating: number;
  benchmark: { registered: number; measured: BenchmarkResult | null };
  resources: {
    detected: DetectedResources & { gpus: Gpu[] };
    offered: { cpuMillis: number; memoryMiB: number; diskMiB: number; gpus: Gpu[] };
    /** Reserved by the leases running now (what their tasks asked for). */
    inUse: { cpuMillis: number; memoryMiB: number; gpus: number; leases: number; bids: number };
  };
  earnings: {
    /** ZNC base units the chain paid this worker over its leases. */
    paid: string;
    /** Batch pay the chain holds until the result's review ends. */
    held: string;
    leases: number;
    byState: Partial<Record<LeaseStateName, number>>;
    /** The worker account's ZNC balance and its bond. */
    balance: string;
    bond: string;
  };
  record: { completed: string; failed: string; abandoned: string; disputesLost: string; slashedTotal: string };
  leases: LeaseNow[];
}

export interface StatusSources {
  client: ZeusClient;
  snapshot: () => AgentSnapshot;
  /** The workload the agent runs for a lease (to sample it), whatever its runtime. */
  workload: (task: string, lease: number) => Workload | undefined;
  node: string;
  startedAt: Date;
  detected: DetectedResources & { gpus: Gpu[] };
  benchmark: BenchmarkResult | null;
}

/** The API answers at most this many leases per query: earnings count the newest ones. */
const LEASE_PAGE = 1000;

export async function workerStatus(s: StatusSources): Promise<WorkerStatus> {
  const snap = s.snapshot();
  const c = s.client;
  const [w, account, { leases }] = await Promise.all([c.worker(snap.address), c.account(snap.address), c.leases({ worker: snap.address, limit: LEASE_PAGE })]);
  const byKey = new Map<string, LeaseAnswer>(leases.map((l) => [`${l.task}/${l.index}`, l]));
  const byState: Partial<Record<LeaseStateName, number>> = {};
  let paid = 0n;
  let held = 0n;
  for (const l of leases) {
    paid += BigInt(l.workerPaid);
    held += BigInt(l.held);
    byState[l.state] = (byState[l.state] ?? 0) + 1;
  }
  const needs = new Map<string, TaskNeedsAnswer>();
  const now: LeaseNow[] = [];
  for (const r of snap.leases) {
    if (!needs.has(r.task)) needs.set(r.task, (await c.task(r.task)).needs);
    const n = needs.get(r.task)!;
    const l = byKey.get(`${r.task}/${r.lease}`);
    const sample = await s
      .workload(r.task, r.lease)
      ?.sample()
      .catch(() => undefined);
    now.push({
      task: r.task,
      lease: r.lease,
      state: l?.state ?? 'unknown',
      container: r.container,
      cpuMillis: n.cpuMillis,
      memoryMiB: n.memoryMiB,
      gpus: n.gpuCount,
      memoryBytesNow: sample?.memoryBytes ?? null,
      reports: l?.reports ?? 0,
      paid: l?.workerPaid ?? '0',
    });
  }
  return {
    worker: snap.address,
    node: s.node,
    pid: process.pid,
    startedAt: s.startedAt.toISOString(),
    active: w.active,
    leasable: w.leasable,
    bondShortfall: w.bondShortfall,
    notLeased: snap.notLeased,
    rating: w.rating,
    benchmark: { registered: w.benchmark, measured: s.benchmark },
    resources: {
      detected: s.detected,
      offered: { cpuMillis: w.cpuMillis, memoryMiB: w.memoryMiB, diskMiB: w.diskMiB, gpus: w.gpus },
      inUse: {
        cpuMillis: now.reduce((a, l) => a + l.cpuMillis, 0),
        memoryMiB: now.reduce((a, l) => a + l.memoryMiB, 0),
        gpus: now.reduce((a, l) => a + l.gpus, 0),
        leases: now.length,
        bids: snap.bids.length,
      },
    },
    earnings: { paid: paid.toString(), held: held.toString(), leases: leases.length, byState, balance: account.znc.balance, bond: w.bond },
    record: w.record,
    leases: now,
  };
}
