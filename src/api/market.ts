import { decodeAddress, encodeAddress, fromHex, toHex } from '../crypto/index.ts';
import {
  LEASE_STATE_NAMES,
  MAIN_CHAIN,
  TASK_STATE_NAMES,
  TaskKind,
  taskChain,
  taskNeeds,
  VERIFY_SLOT,
  workerOffer,
  type App,
  type AppName,
  type AppOutcome,
  type Bid,
  type Lease,
  type LedgerReader,
  type MarketParams,
  type Task,
  type Worker,
} from '../ledger/index.ts';
import { bondShortfall, canBeLeased, isActive, type BondRule, type WorkerOffer } from '../market/index.ts';
import type {
  AppAnswer,
  AppVersionAnswer,
  BidAnswer,
  LeaseAnswer,
  LeaseFilter,
  LeaseStateName,
  MarketParamsAnswer,
  QuoteAnswer,
  QuoteRequest,
  TaskAnswer,
  TaskDetailAnswer,
  TaskFilter,
  TaskNeedsAnswer,
  TaskStateName,
  WorkerAnswer,
} from '../sdk/index.ts';
import { quoteAnswer } from '../sdk/index.ts';
import { ApiError } from './errors.ts';

// Read-only views of the compute market for the HTTP API, from the committed state of the
// chains: workers, apps and licenses on main; tasks, bids and leases on their inner chains.

/** Heights and block times the ledger leaves at 0 until they happen. */
const orNull = (h: bigint): number | null => (h === 0n ? null : Number(h));
const addressOf = (hex: string): string => encodeAddress(fromHex(hex));

function workerView(hex: string, w: Worker, rule: BondRule): WorkerAnswer {
  return {
    address: addressOf(hex),
    active: isActive(w),
    leasable: canBeLeased(w, rule),
    bondShortfall: bondShortfall(w, rule).toString(),
    cpuMillis: w.cpuMillis,
    memoryMiB: w.memoryMiB,
    diskMiB: w.diskMiB,
    bandwidthMbps: w.bandwidthMbps,
    gpus: w.gpus.map((g) => ({ ...g })),
    runtimes: [...w.runtimes],
    region: w.region,
    endpoint: w.endpoint,
    sealKey: toHex(w.sealKey),
    prices: { cpuCoreHour: w.priceCpuCoreHour.toString(), memoryGiBHour: w.priceMemoryGiBHour.toString(), gpuHour: w.priceGpuHour.toString() },
    bond: w.bond.toString(),
    benchmark: w.benchmark,
    rating: w.rating,
    record: {
      completed: w.completed.toString(),
      failed: w.failed.toString(),
      abandoned: w.abandoned.toString(),
      disputesLost: w.disputesLost.toString(),
      slashedTotal: w.slashedTotal.toString(),
      appFailures: w.appFailures.toString(),
      released: w.released.toString(),
    },
    registeredAt: Number(w.registeredAt),
    leavingAt: orNull(w.leavingAt),
  };
}

/** Every worker ever registered, in registration order (the order the ledger scans them in). */
export function workersView(reader: LedgerReader): WorkerAnswer[] {
  return reader.workers().map(([hex, w]) => workerView(hex, w, reader.params.market));
}

export function oneWorkerView(reader: LedgerReader, address: string): WorkerAnswer {
  const hex = toHex(decodeAddress(address));
  const w = reader.worker(hex);
  if (!w) throw new ApiError(404, 'UNKNOWN_WORKER', `${address} has never registered as a worker`);
  return workerView(hex, w, reader.params.market);
}

function appVersionView(a: App): AppVersionAnswer {
  return {
    name: a.name,
    version: a.version,
    digest: a.digest,
    developer: encodeAddress(a.developer),
    feeToken: a.feeToken,
    licenseFeePerHour: a.licenseFeePerHour.toString(),
    requiresLicense: a.requiresLicense,
    deprecated: a.deprecated,
    publishedAt: Number(a.publishedAt),
    failures: a.failures.toString(),
    releases: a.releases.toString(),
  };
}

function appView(reader: LedgerReader, name: string, owner: AppName): AppAnswer {
  const versions = reader.appVersions(name).map(appVersionView);
  versions.sort((x, y) => x.publishedAt - y.publishedAt);
  const licensees = reader.licensees(name).map(addressOf);
  return { name, owner: encodeAddress(owner.owner), versions, licensees };
}

export function appsView(reader: LedgerReader): AppAnswer[] {
  return reader.appNames().map(([name, owner]) => appView(reader, name, owner));
}

export function oneAppView(reader: LedgerReader, name: string): AppAnswer {
  const owner = reader.appName(name);
  if (!owner) throw new ApiError(404, 'UNKNOWN_APP', `no app "${name}" is published`);
  return appView(reader, name, owner);
}

/** The recorded reasons are JSON the ledger wrote; anything else is shown as unknown, not a 500. */
function parseReasons(s: string): Record<string, number> | null {
  if (s === '') return null;
  try {
    return JSON.parse(s) as Record<string, number>;
  } catch {
    return { UNPARSEABLE: 1 };
  }
}

function needsOf(t: Task): TaskNeedsAnswer {
  const { maxPricePerHour: _price, ...needs } = taskNeeds(t);
  return needs;
}

function taskView(idHex: string, t: Task): TaskAnswer {
  return {
    id: idHex,
    chain: taskChain(fromHex(idHex)),
    state: TASK_STATE_NAMES[t.state] as TaskStateName,
    kind: t.kind === TaskKind.Service ? 'service' : 'batch',
    owner: encodeAddress(t.owner),
    app: t.app,
    version: t.version,
    image: t.image,
    digest: t.digest,
    developer: t.developer.length > 0 ? encodeAddress(t.developer) : null,
    needs: needsOf(t),
    replicas: t.replicas,
    redundancy: t.redundancy,
    maxPricePerHour: t.maxPricePerHour.toString(),
    maxHours: t.maxHours,
    ports: [...t.ports],
    sealedBytes: t.sealed.length,
    sealed: toHex(t.sealed),
    bidWindowBlocks: t.bidWindowBlocks,
    retries: t.retries,
    retriesLeft: t.retriesLeft,
    postedAt: Number(t.postedAt),
    closeHeight: Number(t.closeHeight),
    endedAt: orNull(t.endedAt),
    graceUntil: orNull(t.graceUntil),
    escrow: t.escrow.toString(),
    feeEscrow: t.feeEscrow.toString(),
    held: t.held.toString(),
    feeHeld: t.feeHeld.toString(),
    feeToken: t.feeToken,
    licenseFeePerHour: t.licenseFeePerHour.toString(),
    bidCount: t.bidCount,
    leaseCount: t.leaseCount,
    activeLeases: t.activeLeases,
    openSlots: [...t.openSlots],
    noBidReasons: parseReasons(t.noBidReasons),
  };
}

function leaseView(idHex: string, index: number, t: Pick<Task, 'redundancy' | 'feeToken'>, l: Lease, o?: AppOutcome): LeaseAnswer {
  const { redundancy } = t;
  const verifier = l.slot >= VERIFY_SLOT;
  return {
    task: idHex,
    index,
    worker: encodeAddress(l.worker),
    state: LEASE_STATE_NAMES[l.state] as LeaseStateName,
    replica: verifier ? null : Math.floor(l.slot / redundancy),
    copy: verifier ? null : l.slot % redundancy,
    verifies: l.verifies > 0 ? l.verifies - 1 : null,
    price: l.price.toString(),
    matchedAt: Number(l.matchedAt),
    startBy: Number(l.startBy),
    reportBy: orNull(l.reportBy),
    endpoint: l.endpoint,
    startedAt: orNull(l.startedAt),
    paidUntil: orNull(l.paidUntil),
    reports: l.reports,
    workerPaid: l.workerPaid.toString(),
    feePaid: l.feePaid.toString(),
    feeToken: t.feeToken,
    held: l.held.toString(),
    feeHeld: l.feeHeld.toString(),
    resultDigest: l.resultDigest,
    commitment: toHex(l.commitment),
    revealBy: orNull(l.revealBy),
    usage: {
      cpuSeconds: l.cpuSeconds.toString(),
      memoryGiBSeconds: l.memoryGiBSeconds.toString(),
      gpuSeconds: l.gpuSeconds.toString(),
      networkBytes: l.networkBytes.toString(),
      wallMs: l.wallMs.toString(),
    },
    reviewEnd: orNull(l.reviewEnd),
    disputeDeposit: l.disputeDeposit.toString(),
    endedAt: orNull(l.endedAt),
    outcome: l.outcome,
    appOutcome: o ? { exitCode: o.exitCode, oomKilled: o.oomKilled, cause: o.cause, logDigest: o.logDigest } : null,
  };
}

function bidView(index: number, b: Bid): BidAnswer {
  return {
    index,
    worker: encodeAddress(b.worker),
    price: b.price.toString(),
    rating: b.rating,
    height: Number(b.height),
    used: b.used,
    withdrawn: b.withdrawn,
  };
}

/** A task id from a URL: 64 hex digits whose first byte names an inner chain. */
function findTask(reader: LedgerReader, id: string): [string, Task] {
  const idHex = id.toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(idHex)) throw new ApiError(400, 'INVALID_TASK_ID', `"${id}" is not a task id (64 hex digits)`);
  const chain = taskChain(fromHex(idHex));
  if (chain === MAIN_CHAIN) throw new ApiError(400, 'INVALID_TASK_ID', "a task id's first byte names its inner chain (1..9)");
  const t = reader.task(idHex);
  if (!t) throw new ApiError(404, 'UNKNOWN_TASK', `no task ${idHex} on chain ${chain} (a task appears once its PostTask is committed)`);
  return [idHex, t];
}

export function tasksView(reader: LedgerReader, f: TaskFilter): TaskAnswer[] {
  const owner = f.owner === undefined ? undefined : toHex(decodeAddress(f.owner));
  const [appName, appVersion] = f.app === undefined ? [] : f.app.split('@');
  const out: TaskAnswer[] = [];
  for (const [idHex, t] of reader.tasks()) {
    if (f.state !== undefined && TASK_STATE_NAMES[t.state] !== f.state) continue;
    if (owner !== undefined && toHex(t.owner) !== owner) continue;
    if (appName !== undefined && (t.app !== appName || (appVersion !== undefined && t.version !== appVersion))) continue;
    out.push(taskView(idHex, t));
  }
  // Newest first: what a user just posted is what they look for.
  out.sort((a, b) => b.postedAt - a.postedAt || (a.id < b.id ? -1 : 1));
  return out.slice(0, f.limit ?? 100);
}

export function taskDetailView(reader: LedgerReader, id: string): TaskDetailAnswer {
  const [idHex, t] = findTask(reader, id);
  const bids = Array.from({ length: t.bidCount }, (_, i) => bidView(i, reader.bid(idHex, i)!));
  const leases = Array.from({ length: t.leaseCount }, (_, i) => leaseView(idHex, i, t, reader.lease(idHex, i)!, reader.appOutcome(idHex, i)));
  return { ...taskView(idHex, t), bids, leases };
}

export function oneLeaseView(reader: LedgerReader, id: string, index: number): LeaseAnswer {
  const [idHex, t] = findTask(reader, id);
  const l = reader.lease(idHex, index);
  if (!l) throw new ApiError(404, 'UNKNOWN_LEASE', `task ${idHex} has ${t.leaseCount} lease(s) (0..${t.leaseCount - 1}); no lease ${index}`);
  return leaseView(idHex, index, t, l, reader.appOutcome(idHex, index));
}

export function leasesView(reader: LedgerReader, f: LeaseFilter): LeaseAnswer[] {
  const worker = f.worker === undefined ? undefined : toHex(decodeAddress(f.worker));
  const out: LeaseAnswer[] = [];
  for (const [idHex, index, l] of reader.leases()) {
    if (worker !== undefined && toHex(l.worker) !== worker) continue;
    if (f.state !== undefined && LEASE_STATE_NAMES[l.state] !== f.state) continue;
    out.push(leaseView(idHex, index, reader.task(idHex)!, l, reader.appOutcome(idHex, index)));
  }
  out.sort((a, b) => b.matchedAt - a.matchedAt || (a.task < b.task ? -1 : a.task > b.task ? 1 : a.index - b.index));
  return out.slice(0, f.limit ?? 100);
}

/** The matcher's verdict over every registered worker, before any task is posted. */
export function quoteView(reader: LedgerReader, req: QuoteRequest): QuoteAnswer {
  const offers: WorkerOffer[] = reader.workers().map(([hex, w]) => workerOffer(hex, w, reader.params.market));
  try {
    return quoteAnswer(reader.height, offers, req);
  } catch (e) {
    throw new ApiError(400, 'INVALID_REQUEST', (e as Error).message);
  }
}

export function marketParamsView(m: MarketParams): MarketParamsAnswer {
  return { ...m, minWorkerBond: m.minWorkerBond.toString(), dividendPerLease: m.dividendPerLease.toString() };
}
