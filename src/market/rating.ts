/** A worker's record as the market counts it. */
export interface WorkerRecord {
  /** 0..1000, attested at registration. */
  benchmark: number;
  completed: bigint;
  failed: bigint;
  abandoned: bigint;
  disputesLost: bigint;
}

// The benchmark counts as ten leases' worth of evidence; after that the record dominates.
// A completed lease scores 1000; a failure weighs like two leases scoring 0, an abandoned lease
// three, a lost dispute (a wrong result) four.
const PRIOR_WEIGHT = 10n;

/** 0..1000: the benchmark at first, then the record. Integer arithmetic only. */
export function ratingOf(r: WorkerRecord): number {
  const num = BigInt(r.benchmark) * PRIOR_WEIGHT + 1000n * r.completed;
  const den = PRIOR_WEIGHT + r.completed + 2n * r.failed + 3n * r.abandoned + 4n * r.disputesLost;
  return Number(num / den);
}

/** Runtimes a worker may offer and a task may ask for. */
export const RUNTIMES = ['docker', 'wasm'] as const;
