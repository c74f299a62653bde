import { sha256Utf8, toHex } from '../crypto/portable.ts';

// The one matcher of ZeusNet. The ledger uses it to accept bids and to pick the winners when
// a bid window closes, the worker agent to decide what to bid on, and `zeus task quote` to
// explain before posting who could serve a task. Everything here is a pure function of its
// inputs, so every node ranks the same bids the same way.

/** A GPU model a worker offers, with how many of them. */
export interface GpuOffer {
  model: string;
  memoryMiB: number;
  count: number;
}

/** What a worker registered: its machine, where it runs and what it asks. */
export interface WorkerOffer {
  /** The worker's address (hex). */
  worker: string;
  /** 1000 = one core. */
  cpuMillis: number;
  memoryMiB: number;
  diskMiB: number;
  bandwidthMbps: number;
  gpus: GpuOffer[];
  runtimes: string[];
  region: string;
  /** ZNC base units per hour for one core, one GiB of memory and one GPU. */
  priceCpuCoreHour: bigint;
  priceMemoryGiBHour: bigint;
  priceGpuHour: bigint;
  /** 0..1000; every new worker starts at NEW_WORKER_RATING, then it follows the record (rating.ts). */
  rating: number;
  /** Registered and not leaving. */
  active: boolean;
  /** Bond it must add before it may be leased (0n: none); `bondShortfall` in eligibility.ts. */
  bondShortfall: bigint;
  /** Its bond now (what the refusal names when `bondShortfall` is not 0). */
  bond: bigint;
}

/** What one replica of a task needs. */
export interface TaskNeeds {
  cpuMillis: number;
  memoryMiB: number;
  diskMiB: number;
  bandwidthMbps: number;
  gpuCount: number;
  /** Empty: any model. */
  gpuModel: string;
  /** Memory each GPU must have. */
  gpuMemoryMiB: number;
  runtime: string;
  /** Empty: any region. */
  region: string;
  /** Most the task pays a worker per hour, ZNC base units. */
  maxPricePerHour: bigint;
  minRating: number;
}

export const MisfitCode = {
  Inactive: 'INACTIVE',
  Runtime: 'RUNTIME',
  Region: 'REGION',
  Cpu: 'CPU',
  Memory: 'MEMORY',
  Disk: 'DISK',
  Bandwidth: 'BANDWIDTH',
  GpuModel: 'GPU_MODEL',
  GpuMemory: 'GPU_MEMORY',
  GpuCount: 'GPU_COUNT',
  Rating: 'RATING',
  Price: 'PRICE',
  /** Its bond fell below the chain's minimum (slashes): not leased until it tops up. */
  Bond: 'BOND',
} as const;
export type MisfitCode = (typeof MisfitCode)[keyof typeof MisfitCode];

/** Why a worker cannot serve a task, in words a user can act on. */
export interface Misfit {
  code: MisfitCode;
  message: string;
}

const MIB_PER_GIB = 1024n;
const ZNC_BASE_UNITS = 100_000_000n;

/** Base units as ZNC (8 decimals), trailing zeros trimmed: 250000000n → "2.5 ZNC". */
export function formatZnc(base: bigint): string {
  const whole = base / ZNC_BASE_UNITS;
  const frac = (base % ZNC_BASE_UNITS).toString().padStart(8, '0').replace(/0+$/, '');
  return `${whole}${frac ? `.${frac}` : ''} ZNC`;
}

function ceilDiv(a: bigint, b: bigint): bigint {
  return (a + b - 1n) / b;
}

/** What a worker asks per hour for one replica of a task, from its registered prices. */
export function askPrice(
  w: Pick<WorkerOffer, 'priceCpuCoreHour' | 'priceMemoryGiBHour' | 'priceGpuHour'>,
  n: Pick<TaskNeeds, 'cpuMillis' | 'memoryMiB' | 'gpuCount'>,
): bigint {
  return (
    ceilDiv(BigInt(n.cpuMillis) * w.priceCpuCoreHour, 1000n) +
    ceilDiv(BigInt(n.memoryMiB) * w.priceMemoryGiBHour, MIB_PER_GIB) +
    BigInt(n.gpuCount) * w.priceGpuHour
  );
}

/** Why an active worker's bond keeps it from being leased, in words that say how to lift it. */
export function bondMisfit(bond: bigint, shortfall: bigint): Misfit {
  return {
    code: MisfitCode.Bond,
    message: `bond: ${formatZnc(bond)} is below the minimum of ${formatZnc(bond + shortfall)}; add at least ${formatZnc(shortfall)} (zeus worker update --add-bond) to be leased again`,
  };
}

/** GPUs of the worker usable by the task: the right model (if one is named) with enough memory. */
function usableGpus(w: WorkerOffer, n: TaskNeeds): { ofModel: number; usable: number } {
  let ofModel = 0;
  let usable = 0;
  for (const g of w.gpus) {
    if (n.gpuModel !== '' && g.model.toLowerCase() !== n.gpuModel.toLowerCase()) continue;
    ofModel += g.count;
    if (g.memoryMiB >= n.gpuMemoryMiB) usable += g.count;
  }
  return { ofModel, usable };
}

/**
 * Every reason the worker cannot serve the task; empty when it can. `price` is what the worker
 * would charge per hour (its bid, or its ask when quoting).
 */
export function misfits(w: WorkerOffer, n: TaskNeeds, price: bigint = askPrice(w, n)): Misfit[] {
  const out: Misfit[] = [];
  const short = (code: MisfitCode, what: string, has: number, needs: number, unit: string): void => {
    if (has < needs) out.push({ code, message: `${what}: has ${has} ${unit}, task needs ${needs}` });
  };
  if (!w.active) out.push({ code: MisfitCode.Inactive, message: 'worker is leaving the market' });
  else if (w.bondShortfall > 0n) out.push(bondMisfit(w.bond, w.bondShortfall));
  if (!w.runtimes.includes(n.runtime)) {
    out.push({ code: MisfitCode.Runtime, message: `runtime: offers ${w.runtimes.join(', ') || 'none'}, task needs ${n.runtime}` });
  }
  if (n.region !== '' && w.region !== n.region) out.push({ code: MisfitCode.Region, message: `region: in ${w.region || 'no region'}, task needs ${n.region}` });
  short(MisfitCode.Cpu, 'cpu', w.cpuMillis, n.cpuMillis, 'millicores');
  short(MisfitCode.Memory, 'memory', w.memoryMiB, n.memoryMiB, 'MiB');
  short(MisfitCode.Disk, 'disk', w.diskMiB, n.diskMiB, 'MiB');
  short(MisfitCode.Bandwidth, 'bandwidth', w.bandwidthMbps, n.bandwidthMbps, 'Mbit/s');
  if (n.gpuCount > 0) {
    const { ofModel, usable } = usableGpus(w, n);
    if (ofModel === 0) {
      out.push({ code: MisfitCode.GpuModel, message: n.gpuModel ? `gpu: no ${n.gpuModel}` : 'gpu: has none' });
    } else if (usable === 0 || (usable < n.gpuCount && ofModel >= n.gpuCount)) {
      out.push({ code: MisfitCode.GpuMemory, message: `gpu memory: ${n.gpuModel || 'its GPUs'} have less than ${n.gpuMemoryMiB} MiB each` });
    } else if (usable < n.gpuCount) {
      out.push({ code: MisfitCode.GpuCount, message: `gpu: has ${usable} ${n.gpuModel || 'GPU'}${usable === 1 ? '' : 's'}, task needs ${n.gpuCount}` });
    }
  }
  if (w.rating < n.minRating) out.push({ code: MisfitCode.Rating, message: `rating: ${w.rating}, task needs at least ${n.minRating}` });
  if (price > n.maxPricePerHour) {
    out.push({ code: MisfitCode.Price, message: `price: asks ${formatZnc(price)}/h, task pays at most ${formatZnc(n.maxPricePerHour)}/h` });
  }
  return out;
}

export function canServe(w: WorkerOffer, n: TaskNeeds, price?: bigint): boolean {
  return misfits(w, n, price).length === 0;
}

/** A bid as the ranking sees it. */
export interface RankedBid {
  worker: string;
  price: bigint;
  rating: number;
}

/** The stable tie-break: a hash of the task and the worker, the same on every node. */
export function tieBreak(taskId: string, worker: string): string {
  return toHex(sha256Utf8(`${taskId}/${worker}`));
}

/** Best first: lowest price, then highest rating, then the stable hash. */
export function rankBids<B extends RankedBid>(taskId: string, bids: readonly B[]): B[] {
  const keyed = bids.map((b) => ({ b, tie: tieBreak(taskId, b.worker) }));
  keyed.sort((x, y) => {
    if (x.b.price !== y.b.price) return x.b.price < y.b.price ? -1 : 1;
    if (x.b.rating !== y.b.rating) return y.b.rating - x.b.rating;
    return x.tie < y.tie ? -1 : x.tie > y.tie ? 1 : 0;
  });
  return keyed.map((k) => k.b);
}

export interface Quote {
  /** Workers that could serve the task, best first, with what each would ask per hour. */
  candidates: { worker: string; ask: bigint; rating: number }[];
  /** Every other worker, with all the reasons it could not. */
  refused: { worker: string; ask: bigint; reasons: Misfit[] }[];
}

/** Which workers could serve a task at their asking prices, and why each other one could not. */
export function quote(taskId: string, workers: readonly WorkerOffer[], n: TaskNeeds): Quote {
  const candidates: Quote['candidates'] = [];
  const refused: Quote['refused'] = [];
  for (const w of workers) {
    const ask = askPrice(w, n);
    const reasons = misfits(w, n, ask);
    if (reasons.length === 0) candidates.push({ worker: w.worker, ask, rating: w.rating });
    else refused.push({ worker: w.worker, ask, reasons });
  }
  const ranked = rankBids(
    taskId,
    candidates.map((c) => ({ ...c, price: c.ask })),
  );
  return { candidates: ranked.map(({ worker, ask, rating }) => ({ worker, ask, rating })), refused };
}

/** How many workers were refused for each reason (what a task with no bids records). */
export function misfitCounts(refused: Quote['refused']): Partial<Record<MisfitCode, number>> {
  const counts: Partial<Record<MisfitCode, number>> = {};
  for (const r of refused) for (const m of r.reasons) counts[m.code] = (counts[m.code] ?? 0) + 1;
  return counts;
}
