// Who may be given a lease at all, whatever the task: the one rule every path that leases a
// worker applies (a bid, the poster's AcceptBid, a window's ranking, a re-offered slot, a
// dispute's verifier), and what the worker agent and the views show. A bond is what a worker
// stands to lose when it fails a lease; a worker whose slashes took it below the chain's minimum
// has less at stake than every other worker was made to put up, so it is not leased until it
// tops up (UpdateWorker with addBond).

/** What the chain records about a worker's standing (a `Worker` entry has these fields). */
export interface WorkerStanding {
  /** ZNC base units bonded; 0 when it never registered or its bond was returned. */
  bond: bigint;
  /** Height its bond returns at when it is leaving; 0 while it stays. */
  leavingAt: bigint;
}

/** The chain's rule (the `MarketParams` field of that name). */
export interface BondRule {
  minWorkerBond: bigint;
}

/** ZNC base units the worker must add to its bond before it may be leased again (0n: none). */
export function bondShortfall(w: Pick<WorkerStanding, 'bond'>, p: BondRule): bigint {
  return w.bond < p.minWorkerBond ? p.minWorkerBond - w.bond : 0n;
}

/** Registered (a bond) and not leaving: the worker's own choice, before the bond rule. */
export function isActive(w: WorkerStanding): boolean {
  return w.leavingAt === 0n && w.bond > 0n;
}

/** The eligibility rule: registered, not leaving, and a bond of at least `minWorkerBond`. */
export function canBeLeased(w: WorkerStanding, p: BondRule): boolean {
  return isActive(w) && bondShortfall(w, p) === 0n;
}
