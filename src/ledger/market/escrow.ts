import * as stores from '../stores.ts';
import { credit, type ExecContext } from '../context.ts';
import { fail } from '../errors.ts';
import { LeaseState, moveTask, endLease, isLeaseMetered, isLiveLease, isTaskEnded, TASK_STATE_NAMES, TaskState } from './lifecycle.ts';
import { TaskKind, type Lease, type Task } from '../marketEntries.ts';
import { MAX_U64, ZNC } from '../params.ts';
import { readLease, writeLease } from './tasks.ts';

// The escrow of a task: what its poster paid in for the worst case, what is held for batch
// leases under review, what is paid out for time (to the worker, and the license fee to the app's
// developer), and what goes back to the poster when the task ends. Pay is for block time,
// rounded down; nothing here creates or destroys money (src/ledger/market.conservation.test.ts).

const HOUR_MS = 3_600_000n;

/** Pay for `ms` of block time at `perHour`, rounded down. */
export function payFor(perHour: bigint, ms: bigint): bigint {
  return (perHour * ms) / HOUR_MS;
}

/** The product of the factors, refused if it does not fit in 64 bits (the worst case a task or a dispute must escrow). */
export function mulChecked(...xs: bigint[]): bigint {
  const v = xs.reduce((a, b) => a * b, 1n);
  if (v > MAX_U64) fail('INVALID_AMOUNT', "the task's worst-case cost does not fit in 64 bits");
  return v;
}

/** ZNC of the escrow not held for anyone. */
export const freeEscrow = (t: Task): bigint => t.escrow - t.held;

export const freeFeeEscrow = (t: Task): bigint => (t.feeToken === ZNC ? 0n : t.feeEscrow - t.feeHeld);

/** Adds a period's metered usage to a lease's totals. */
export function addUsage(l: Lease, u: { cpuSeconds: bigint; memoryGiBSeconds: bigint; gpuSeconds: bigint; networkBytes: bigint }): void {
  l.cpuSeconds += u.cpuSeconds;
  l.memoryGiBSeconds += u.memoryGiBSeconds;
  l.gpuSeconds += u.gpuSeconds;
  l.networkBytes += u.networkBytes;
  if (l.cpuSeconds > MAX_U64 || l.memoryGiBSeconds > MAX_U64 || l.gpuSeconds > MAX_U64 || l.networkBytes > MAX_U64) {
    fail('INVALID_ARGUMENT', 'usage totals overflow 64 bits');
  }
}

/**
 * Settles a lease's time since its last settlement, up to `claimedMs` (what the worker reports):
 * a service is paid at once, a batch lease's pay is held for review. Returns false if the escrow
 * could not cover it in full.
 */
export function settlePeriod(ctx: ExecContext, t: Task, l: Lease, claimedMs: bigint): boolean {
  let ms = BigInt(ctx.time) - l.paidUntil;
  if (claimedMs < ms) ms = claimedMs;
  if (t.kind === TaskKind.Batch) {
    const cap = BigInt(t.maxHours) * HOUR_MS - l.wallMs;
    if (ms > cap) ms = cap > 0n ? cap : 0n;
  }
  l.paidUntil = BigInt(ctx.time);
  l.wallMs += ms;
  let pay = payFor(l.price, ms);
  let fee = payFor(t.licenseFeePerHour, ms);
  let full = true;
  if (t.feeToken === ZNC) {
    const free = freeEscrow(t);
    if (pay + fee > free) {
      full = false;
      // Not enough for both: the worker and developer share what is left pro rata.
      const total = pay + fee;
      pay = (free * pay) / total;
      fee = free - pay;
    }
  } else {
    const free = freeEscrow(t);
    const freeFee = freeFeeEscrow(t);
    if (pay > free) [pay, full] = [free, false];
    if (fee > freeFee) [fee, full] = [freeFee, false];
  }
  if (t.kind === TaskKind.Service) payOut(ctx, t, l, pay, fee);
  else {
    l.held += pay;
    l.feeHeld += fee;
    t.held += t.feeToken === ZNC ? pay + fee : pay;
    if (t.feeToken !== ZNC) t.feeHeld += fee;
  }
  return full;
}

/** Moves pay out of the escrow to the worker and the license fee to the developer. */
function payOut(ctx: ExecContext, t: Task, l: Lease, pay: bigint, fee: bigint): void {
  if (t.feeToken === ZNC) t.escrow -= pay + fee;
  else {
    t.escrow -= pay;
    t.feeEscrow -= fee;
  }
  l.workerPaid += pay;
  l.feePaid += fee;
  credit(ctx, l.worker, ZNC, pay);
  if (fee > 0n) credit(ctx, t.developer, t.feeToken, fee);
}

/**
 * A matched lease its poster cancels before it starts: the worker was preparing it on the poster's
 * word (fetching the image, starting the container), and is paid that wait, from the match to
 * now, at `matchedWaitBp` of the lease's price; no license fee, since the app never ran.
 */
export function payMatchedWait(ctx: ExecContext, t: Task, l: Lease): void {
  // Matched while the rule was off (no match time kept): nothing to count from.
  if (l.paidUntil === 0n) return;
  const ms = BigInt(ctx.time) - l.paidUntil;
  l.paidUntil = BigInt(ctx.time);
  if (ms <= 0n) return;
  const pay = (payFor(l.price, ms) * BigInt(ctx.params.market.matchedWaitBp)) / 10_000n;
  const free = freeEscrow(t);
  payOut(ctx, t, l, pay > free ? free : pay, 0n);
}

/** A batch lease's held pay becomes the worker's (and the developer's). */
export function releaseHeld(ctx: ExecContext, t: Task, l: Lease): void {
  const pay = l.held;
  const fee = l.feeHeld;
  t.held -= t.feeToken === ZNC ? pay + fee : pay;
  if (t.feeToken !== ZNC) t.feeHeld -= fee;
  l.held = 0n;
  l.feeHeld = 0n;
  payOut(ctx, t, l, pay, fee);
}

/** A batch lease's held pay goes back to the escrow (the user's). */
export function forfeitHeld(t: Task, l: Lease): void {
  t.held -= t.feeToken === ZNC ? l.held + l.feeHeld : l.held;
  if (t.feeToken !== ZNC) t.feeHeld -= l.feeHeld;
  l.held = 0n;
  l.feeHeld = 0n;
}

/** A task ends (done, cancelled or expired): what is left of its escrow goes back to its poster. */
export function closeTask(ctx: ExecContext, t: Task, idHex: string, to: typeof TaskState.Done | typeof TaskState.Cancelled | typeof TaskState.Expired): void {
  moveTask(t, to);
  ctx.announce({ kind: 'task-ended', task: idHex, detail: `${TASK_STATE_NAMES[t.state]}; refunded ${t.escrow} base units` });
  const znc = t.escrow;
  const fee = t.feeToken === ZNC ? 0n : t.feeEscrow;
  t.escrow = 0n;
  t.feeEscrow = 0n;
  t.endedAt = BigInt(ctx.height);
  credit(ctx, t.owner, ZNC, znc);
  if (fee > 0n) credit(ctx, t.owner, t.feeToken, fee);
}

/** Once nothing runs and nothing waits for a worker, the rest of the escrow goes home. */
export function maybeFinish(ctx: ExecContext, t: Task, idHex: string): void {
  if (isTaskEnded(t) || t.activeLeases > 0 || t.openSlots.length > 0) return;
  closeTask(ctx, t, idHex, TaskState.Done);
}

/** Whether a service's free escrow covers less than `lowEscrowMs` of all its running leases. */
export function escrowLow(ctx: ExecContext, idHex: string, t: Task): boolean {
  if (t.kind !== TaskKind.Service) return false;
  let perHour = 0n;
  let feePerHour = 0n;
  for (let i = 0; i < t.leaseCount; i++) {
    const l = stores.leases.get(ctx.state, idHex, i)!;
    if (isLeaseMetered(l.state)) {
      perHour += l.price;
      feePerHour += t.licenseFeePerHour;
    }
  }
  const window = BigInt(ctx.params.market.lowEscrowMs);
  if (t.feeToken === ZNC) return freeEscrow(t) < payFor(perHour + feePerHour, window);
  return freeEscrow(t) < payFor(perHour, window) || freeFeeEscrow(t) < payFor(feePerHour, window);
}

/** Ends every running lease of a service, paying each its time up to now from what is left. */
export function stopService(ctx: ExecContext, idHex: string, t: Task, why: string): void {
  for (let i = 0; i < t.leaseCount; i++) {
    const l = readLease(ctx, idHex, i);
    if (!isLiveLease(l.state)) continue;
    if (l.state !== LeaseState.Matched) settlePeriod(ctx, t, l, MAX_U64);
    endLease(t, l, ctx, LeaseState.Settled, why, idHex, i);
    writeLease(ctx, idHex, i, l);
  }
  t.openSlots = [];
  t.graceUntil = 0n;
  maybeFinish(ctx, t, idHex);
}
