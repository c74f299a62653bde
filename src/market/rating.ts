/** A worker's record as the market counts it. */
export interface WorkerRecord {
  completed: bigint;
  failed: bigint;
  abandoned: bigint;
  disputesLost: bigint;
}

/**
 * Where every new worker starts, whatever benchmark it registered. The benchmark is the worker's
 * own claim (nothing on the chain can check it), so it must not buy precedence: a claim of 1000
 * would otherwise rank a newcomer above every worker with a record at equal price. Half way: a
 * newcomer ranks below any worker whose record is better than even and above any whose failures
 * brought it lower, so a bad record is not protected against newcomers either. A good newcomer wins
 * its first leases by price (price ranks first) and earns the rest.
 */
export const NEW_WORKER_RATING = 500;

// The start counts as ten leases' worth of evidence; after that the record dominates.
// A completed lease scores 1000; a failure weighs like two leases scoring 0, an abandoned lease
// three, a lost dispute (a wrong result) four.
const PRIOR_WEIGHT = 10n;

/** 0..1000: NEW_WORKER_RATING at first, then the record. Integer arithmetic only. */
export function ratingOf(r: WorkerRecord): number {
  const num = BigInt(NEW_WORKER_RATING) * PRIOR_WEIGHT + 1000n * r.completed;
  const den = PRIOR_WEIGHT + r.completed + 2n * r.failed + 3n * r.abandoned + 4n * r.disputesLost;
  return Number(num / den);
}

/** Runtimes a worker may offer and a task may ask for. */
export const RUNTIMES = ['docker', 'wasm'] as const;
