import type { LeaseStateName, TaskStateName } from '../ledger/index.ts';
import type { TaskNeeds } from '../market/index.ts';

// What a node's API answers about the compute market. The server builds its answers as these
// types (src/api/market.ts), so client and server cannot drift apart. Amounts are ZNC base units
// (or the fee token's) as decimal strings, heights are numbers, addresses znc1…, ids hex. Task and
// lease states are named as the ledger's lifecycle names them (src/ledger/market/lifecycle.ts).

export type TaskKindName = 'batch' | 'service';

export interface GpuAnswer {
  model: string;
  memoryMiB: number;
  count: number;
}

export interface WorkerAnswer {
  address: string;
  /** Registered with a bond and not leaving. */
  active: boolean;
  /** Active with a bond of at least the chain's minimum: it may bid and be leased (canBeLeased). */
  leasable: boolean;
  /** ZNC base units it must add to its bond before it may be leased again ("0": none). */
  bondShortfall: string;
  cpuMillis: number;
  memoryMiB: number;
  diskMiB: number;
  bandwidthMbps: number;
  gpus: GpuAnswer[];
  runtimes: string[];
  region: string;
  endpoint: string;
  /** X25519 public key (hex) that tasks seal their secrets to. */
  sealKey: string;
  prices: { cpuCoreHour: string; memoryGiBHour: string; gpuHour: string };
  bond: string;
  benchmark: number;
  /** 0..1000. */
  rating: number;
  /**
   * How its leases ended. `appFailures`: leases whose app failed on its own (paid, not a fault);
   * `released`: leases it gave back before starting because the image could not be fetched (not a fault).
   */
  record: { completed: string; failed: string; abandoned: string; disputesLost: string; slashedTotal: string; appFailures: string; released: string };
  registeredAt: number;
  /** Height at which a leaving worker's bond returns; null while active. */
  leavingAt: number | null;
}

export interface AppVersionAnswer {
  name: string;
  version: string;
  digest: string;
  developer: string;
  feeToken: string;
  licenseFeePerHour: string;
  requiresLicense: boolean;
  deprecated: boolean;
  publishedAt: number;
  /** Leases of this version whose app failed on its own (outcome accepted). */
  failures: string;
  /** Leases of this version released by their worker because the image could not be fetched: a developer whose images vanish shows here. */
  releases: string;
}

export interface AppAnswer {
  name: string;
  owner: string;
  versions: AppVersionAnswer[];
  /** Addresses holding a license for the app. */
  licensees: string[];
}

/** What one replica of a task needs (as in a PostTask payload), without the price. */
export type TaskNeedsAnswer = Omit<TaskNeeds, 'maxPricePerHour'>;

export interface TaskAnswer {
  id: string;
  chain: number;
  state: TaskStateName;
  kind: TaskKindName;
  owner: string;
  app: string;
  version: string;
  image: string;
  /** The image the leases run. */
  digest: string;
  developer: string | null;
  needs: TaskNeedsAnswer;
  replicas: number;
  redundancy: number;
  maxPricePerHour: string;
  maxHours: number;
  ports: number[];
  sealedBytes: number;
  /** Inputs and secrets sealed to the candidate workers (hex; ciphertext, opened only by the winner). */
  sealed: string;
  bidWindowBlocks: number;
  retries: number;
  retriesLeft: number;
  postedAt: number;
  /** Last height that takes bids in the current window. */
  closeHeight: number;
  endedAt: number | null;
  graceUntil: number | null;
  escrow: string;
  feeEscrow: string;
  held: string;
  feeHeld: string;
  feeToken: string;
  licenseFeePerHour: string;
  bidCount: number;
  leaseCount: number;
  activeLeases: number;
  openSlots: number[];
  /** Why nobody bid (misfit code → workers), when a window closed empty; `workers` is how many were looked at. */
  noBidReasons: Record<string, number> | null;
}

export interface BidAnswer {
  index: number;
  worker: string;
  price: string;
  rating: number;
  height: number;
  /** It won a lease. */
  used: boolean;
  /** The worker took it back (WithdrawBid): it wins nothing. */
  withdrawn: boolean;
}

export interface UsageAnswer {
  cpuSeconds: string;
  memoryGiBSeconds: string;
  gpuSeconds: string;
  networkBytes: string;
  wallMs: string;
}

export interface LeaseAnswer {
  task: string;
  index: number;
  worker: string;
  state: LeaseStateName;
  /** Replica and copy (redundancy) the lease runs; null for a verifier. */
  replica: number | null;
  copy: number | null;
  /** For a verifier: the lease whose disputed result it checks. */
  verifies: number | null;
  price: string;
  matchedAt: number;
  startBy: number;
  reportBy: number | null;
  endpoint: string;
  /** Block time (ms). */
  startedAt: number | null;
  paidUntil: number | null;
  reports: number;
  workerPaid: string;
  /** License fees paid to the developer, in `feeToken`. */
  feePaid: string;
  feeToken: string;
  held: string;
  feeHeld: string;
  /** '' until revealed when the result is compared (redundancy group, verifier seat): see `commitment`. */
  resultDigest: string;
  /** A compared lease's commitment to its result (hex; '' when none): docs/MARKET.md, "Fairness: commit and reveal". */
  commitment: string;
  /** Last height to reveal the committed result; null until every seat of its group has committed (or can no longer). */
  revealBy: number | null;
  usage: UsageAnswer;
  reviewEnd: number | null;
  disputeDeposit: string;
  endedAt: number | null;
  outcome: string;
  /** How the app failed on its own, when the worker reported that as the lease's outcome (its digest is `resultDigest`). */
  appOutcome: AppOutcomeAnswer | null;
}

export interface AppOutcomeAnswer {
  /** The code the app exited with; 0 when it did not exit by itself. */
  exitCode: number;
  oomKilled: boolean;
  /** What stopped it besides its own exit: '' | memory | time | disk | pids | trap. */
  cause: string;
  /** sha256 of the lease's log as the worker kept it. */
  logDigest: string;
}

export interface TaskDetailAnswer extends TaskAnswer {
  bids: BidAnswer[];
  leases: LeaseAnswer[];
}

/** A task's needs and the most it pays per hour: what `POST /market/quote` takes. */
export interface QuoteRequest {
  cpuMillis: number;
  memoryMiB: number;
  diskMiB?: number;
  bandwidthMbps?: number;
  gpuCount?: number;
  gpuModel?: string;
  gpuMemoryMiB?: number;
  runtime: string;
  region?: string;
  minRating?: number;
  /** ZNC base units, decimal string. */
  maxPricePerHour: string;
}

export interface MisfitAnswer {
  code: string;
  message: string;
}

export interface QuoteAnswer {
  height: number;
  /** Registered workers looked at. */
  workers: number;
  /** Workers that could serve the task, best first, with their asking price per hour. */
  candidates: { worker: string; ask: string; rating: number }[];
  /** Every other worker with every reason it could not. */
  refused: { worker: string; ask: string; rating: number; reasons: MisfitAnswer[] }[];
  /** How many workers were refused for each reason. */
  counts: Record<string, number>;
}

export interface MarketParamsAnswer {
  minWorkerBond: string;
  workerUnbondingBlocks: number;
  startDeadlineBlocks: number;
  reportDeadlineBlocks: number;
  reviewBlocks: number;
  graceBlocks: number;
  lowEscrowMs: number;
  maxBidWindowBlocks: number;
  maxBidsPerTask: number;
  failSlashBp: number;
  wrongResultSlashBp: number;
  dividendPerLease: string;
  reasonScanLimit: number;
}

export interface TaskFilter {
  state?: TaskStateName;
  owner?: string;
  /** An app name, or name@version. */
  app?: string;
  limit?: number;
}

export interface LeaseFilter {
  worker?: string;
  state?: LeaseStateName;
  limit?: number;
}
