import type { Infer } from '../codec/index.ts';
import { address, optionalAddress } from './fields.ts';
import type { AppOutcome } from './appOutcome.ts';

// The market's entries in chain state. Workers, apps and licenses live on the main chain
// (every inner chain reads them as committed at the previous height); a task, its bids and
// its leases live on the inner chain of the task (its poster's home chain), where its escrow is.

const u32 = { type: 'uint32' } as const;
const u64 = { type: 'uint64' } as const;

export const GpuSchema = {
  $id: 'Gpu',
  fields: { model: { id: 1, type: 'string', max: 32 }, memoryMiB: { id: 2, ...u32 }, count: { id: 3, ...u32 } },
} as const;

/** Resources, prices and place of a worker: what registration and update carry. */
export const WorkerSpecFields = {
  cpuMillis: { id: 1, ...u32 },
  memoryMiB: { id: 2, ...u32 },
  diskMiB: { id: 3, ...u32 },
  bandwidthMbps: { id: 4, ...u32 },
  gpus: { id: 5, type: { array: GpuSchema, max: 16 } },
  runtimes: { id: 6, type: { array: 'string', max: 8 }, max: 16 },
  region: { id: 7, type: 'string', max: 32 },
  endpoint: { id: 8, type: 'string', max: 128 },
  sealKey: { id: 9, type: 'bytes', length: 32 },
  priceCpuCoreHour: { id: 10, ...u64 },
  priceMemoryGiBHour: { id: 11, ...u64 },
  priceGpuHour: { id: 12, ...u64 },
} as const;

export const WorkerSchema = {
  $id: 'Worker',
  fields: {
    ...WorkerSpecFields,
    bond: { id: 20, ...u64 },
    benchmark: { id: 21, ...u32 },
    rating: { id: 22, ...u32 },
    completed: { id: 23, ...u64 },
    failed: { id: 24, ...u64 },
    abandoned: { id: 25, ...u64 },
    disputesLost: { id: 26, ...u64 },
    /** Height at which a leaving worker's bond returns (0: active). */
    leavingAt: { id: 27, ...u64 },
    registeredAt: { id: 28, ...u64 },
    slashedTotal: { id: 29, ...u64 },
    /** Leases whose app failed on its own, the outcome accepted: neither a completion nor a failure of the worker. */
    appFailures: { id: 50, ...u64 },
    /** Leases it released before starting them, penalty-free (their image could not be fetched). */
    released: { id: 51, ...u64 },
  },
} as const;

/** Registration order of workers, chunked so that appending costs one write. */
export const WorkerIndexSchema = { $id: 'WorkerIndex', fields: { worker: { id: 1, ...address } } } as const;
export const CounterSchema = { $id: 'Counter', fields: { n: { id: 1, ...u64 } } } as const;

export const AppSchema = {
  $id: 'App',
  fields: {
    name: { id: 1, type: 'string', max: 64 },
    version: { id: 2, type: 'string', max: 32 },
    digest: { id: 3, type: 'string', max: 71 },
    developer: { id: 4, ...address },
    feeToken: { id: 5, type: 'string', max: 10 },
    licenseFeePerHour: { id: 6, ...u64 },
    requiresLicense: { id: 7, type: 'bool' },
    deprecated: { id: 8, type: 'bool' },
    publishedAt: { id: 9, ...u64 },
    /** Leases of this version whose app failed on its own (outcome accepted). */
    failures: { id: 50, ...u64 },
    /** Leases of this version released by their worker because its image could not be fetched. */
    releases: { id: 51, ...u64 },
  },
} as const;

export const AppNameSchema = { $id: 'AppName', fields: { owner: { id: 1, ...address }, versions: { id: 2, ...u32 } } } as const;
export const LicenseSchema = { $id: 'License', fields: { acquiredAt: { id: 1, ...u64 } } } as const;

export const TaskNeedsFields = {
  cpuMillis: { id: 1, ...u32 },
  memoryMiB: { id: 2, ...u32 },
  diskMiB: { id: 3, ...u32 },
  bandwidthMbps: { id: 4, ...u32 },
  gpuCount: { id: 5, ...u32 },
  gpuModel: { id: 6, type: 'string', max: 32 },
  gpuMemoryMiB: { id: 7, ...u32 },
  runtime: { id: 8, type: 'string', max: 16 },
  region: { id: 9, type: 'string', max: 32 },
  minRating: { id: 10, ...u32 },
} as const;

/** What a `PostTask` carries besides its needs. */
export const TaskOrderFields = {
  app: { id: 20, type: 'string', max: 64 },
  version: { id: 21, type: 'string', max: 32 },
  /** A raw image (sha256:…) when no app is named. */
  image: { id: 22, type: 'string', max: 71 },
  replicas: { id: 23, ...u32 },
  kind: { id: 24, ...u32 },
  maxPricePerHour: { id: 25, ...u64 },
  maxHours: { id: 26, ...u32 },
  redundancy: { id: 27, ...u32 },
  ports: { id: 28, type: { array: 'uint32', max: 16 } },
  sealed: { id: 29, type: 'bytes', max: 4096 },
  bidWindowBlocks: { id: 30, ...u32 },
  retries: { id: 31, ...u32 },
} as const;

export const TaskKind = { Batch: 1, Service: 2 } as const;

export const TaskSchema = {
  $id: 'Task',
  fields: {
    ...TaskNeedsFields,
    ...TaskOrderFields,
    owner: { id: 40, ...address },
    /** The image the leases run: the app version's digest, or the raw image. */
    digest: { id: 41, type: 'string', max: 71 },
    developer: { id: 42, ...optionalAddress },
    feeToken: { id: 43, type: 'string', max: 10 },
    licenseFeePerHour: { id: 44, ...u64 },
    /** A TaskState (src/ledger/market/lifecycle.ts). */
    state: { id: 45, ...u32 },
    postedAt: { id: 46, ...u64 },
    /** Last height at which bids are accepted. */
    closeHeight: { id: 47, ...u64 },
    /** ZNC held for this task: unspent worst-case cost, including batch pay held for review. */
    escrow: { id: 48, ...u64 },
    /** The license fee's escrow when it is paid in a sub-token. */
    feeEscrow: { id: 49, ...u64 },
    bidCount: { id: 50, ...u32 },
    leaseCount: { id: 51, ...u32 },
    /** Leases not yet ended. */
    activeLeases: { id: 52, ...u32 },
    /** Replica slots (replica × redundancy) waiting for a worker. */
    openSlots: { id: 53, type: { array: 'uint32', max: 512 } },
    retriesLeft: { id: 54, ...u32 },
    /** Height until which a service with low escrow keeps running (0: not in grace). */
    graceUntil: { id: 55, ...u64 },
    /** Why nobody bid, when the window closed empty: reason code → number of workers. */
    noBidReasons: { id: 56, type: 'string', max: 1024 },
    endedAt: { id: 57, ...u64 },
    /** Part of `escrow` (and `feeEscrow`) that batch leases earned and wait to be paid after review. */
    held: { id: 58, ...u64 },
    feeHeld: { id: 59, ...u64 },
  },
} as const;

export const BidSchema = {
  $id: 'Bid',
  fields: {
    worker: { id: 1, ...address },
    price: { id: 2, ...u64 },
    rating: { id: 3, ...u32 },
    height: { id: 4, ...u64 },
    used: { id: 5, type: 'bool' },
    /** The worker took it back (WithdrawBid): it wins nothing and no longer holds the worker. */
    withdrawn: { id: 60, type: 'bool' },
  },
} as const;
/** A worker's latest bid on a task: its index, and the window (close height) it was for. */
export const BidRefSchema = { $id: 'BidRef', fields: { index: { id: 1, ...u32 }, window: { id: 2, ...u64 } } } as const;

/** A worker released a lease of this task (ReleaseLease): it may not bid on the task again. */
export const ReleasedSchema = { $id: 'Released', fields: { lease: { id: 1, ...u32 }, height: { id: 2, ...u64 } } } as const;

/** Slots at or above this mark verify the result of lease (slot − VERIFY_SLOT) of a dispute. */
export const VERIFY_SLOT = 0x8000_0000;

export const LeaseSchema = {
  $id: 'Lease',
  fields: {
    worker: { id: 1, ...address },
    /** Replica slot: replica index × redundancy + copy. */
    slot: { id: 2, ...u32 },
    price: { id: 3, ...u64 },
    /** A LeaseState (src/ledger/market/lifecycle.ts). */
    state: { id: 4, ...u32 },
    matchedAt: { id: 5, ...u64 },
    startBy: { id: 6, ...u64 },
    reportBy: { id: 7, ...u64 },
    endpoint: { id: 8, type: 'string', max: 128 },
    startedAt: { id: 9, ...u64 },
    /** Block time up to which the worker's time has been settled or held. */
    paidUntil: { id: 10, ...u64 },
    reports: { id: 11, ...u32 },
    workerPaid: { id: 12, ...u64 },
    feePaid: { id: 13, ...u64 },
    /** Batch pay earned but held in escrow until the review ends. */
    held: { id: 14, ...u64 },
    feeHeld: { id: 15, ...u64 },
    resultDigest: { id: 16, type: 'string', max: 71 },
    cpuSeconds: { id: 17, ...u64 },
    memoryGiBSeconds: { id: 18, ...u64 },
    gpuSeconds: { id: 19, ...u64 },
    networkBytes: { id: 20, ...u64 },
    wallMs: { id: 21, ...u64 },
    reviewEnd: { id: 22, ...u64 },
    /** For a verifier lease: the lease whose result it checks (index + 1; 0: none). */
    verifies: { id: 23, ...u32 },
    /** For a disputed lease: ZNC the disputer deposited to pay the verifier. */
    disputeDeposit: { id: 24, ...u64 },
    endedAt: { id: 25, ...u64 },
    /** How the lease ended, in words. */
    outcome: { id: 26, type: 'string', max: 128 },
    /** A compared lease's commitment to its result (CommitResult; empty: none). Its digest stays '' until revealed. */
    commitment: { id: 80, type: 'bytes', max: 32 },
    /** Last height at which the commitment may be revealed (0: its group's reveal phase is not open). */
    revealBy: { id: 81, ...u64 },
  },
} as const;

export const DueKind = {
  CloseBids: 1,
  StartDeadline: 2,
  ReportDeadline: 3,
  ReviewEnd: 4,
  GraceEnd: 5,
  WorkerRelease: 6,
  DrawVerifiers: 40,
  RevealEnd: 80,
  /** Governance (main): a proposal's deposit period ends (`id`: the proposal id, 8 bytes big-endian). */
  GovDepositEnd: 100,
  /** Governance (main): a proposal's vote ends and is counted. */
  GovVotingEnd: 101,
  /** Governance (main): a passed parameter change takes effect. */
  GovExecute: 102,
  /** Governance (main): a planned upgrade's height (nothing to do then: it keeps an idle network making blocks up to it). */
  GovUpgrade: 103,
} as const;
export type DueKind = (typeof DueKind)[keyof typeof DueKind];
/** Something the chain must look at when a height begins (stale ones are skipped). */
export const DueSchema = { $id: 'Due', fields: { kind: { id: 1, ...u32 }, id: { id: 2, type: 'bytes', max: 32 }, lease: { id: 3, ...u32 } } } as const;

/**
 * A dispute under way (beside the disputed lease, `dsp/<task>/<lease>`): how many verifiers decide
 * it, how many the chain has drawn so far, when the next draw is due, and the disputer's deposit.
 */
export const DisputeStateSchema = {
  $id: 'DisputeState',
  fields: {
    /** Verifiers whose majority decides: 1 (low stakes, may grow to 3) or 3. */
    wanted: { id: 40, ...u32 },
    /** Verifier leases drawn so far (at most `maxVerifierDraws`). */
    draws: { id: 41, ...u32 },
    /** Height of the pending draw (0: none pending). */
    drawAt: { id: 42, ...u64 },
    /** ZNC deposited (held in the task's escrow): pays the verifiers, compensates the worker if the result stands. */
    deposit: { id: 43, ...u64 },
    /** The license fee's part of the deposit when the fee is in a sub-token. */
    feeDeposit: { id: 44, ...u64 },
    /** The disputed lease's pay held when the dispute was made (the worker's compensation if the result stands). */
    disputedPay: { id: 45, ...u64 },
  },
} as const;

export type Gpu = Infer<typeof GpuSchema>;
export type Worker = Infer<typeof WorkerSchema>;
export type WorkerIndex = Infer<typeof WorkerIndexSchema>;
export type Counter = Infer<typeof CounterSchema>;
export type App = Infer<typeof AppSchema>;
export type AppName = Infer<typeof AppNameSchema>;
export type License = Infer<typeof LicenseSchema>;
export type Task = Infer<typeof TaskSchema>;
export type Bid = Infer<typeof BidSchema>;
export type BidRef = Infer<typeof BidRefSchema>;
export type Lease = Infer<typeof LeaseSchema>;
export type Due = Infer<typeof DueSchema>;
export type Released = Infer<typeof ReleasedSchema>;
export type DisputeState = Infer<typeof DisputeStateSchema>;
export type MarketEntry = Worker | WorkerIndex | Counter | App | AppName | License | Task | Bid | BidRef | Lease | Due | Released | AppOutcome | DisputeState;
