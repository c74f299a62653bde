import * as stores from '../stores.ts';
import { bytesEqual, fromHex, toHex } from '../../crypto/portable.ts';
import type { ExecContext } from '../context.ts';
import { DueKind, type Bid, type Task } from '../marketEntries.ts';
import { evaluateGroup } from './compare.ts';
import { maybeFinish } from './escrow.ts';
import { isLiveLease, LeaseState, moveTask, TaskState } from './lifecycle.ts';
import { schedule, writeLease } from './tasks.ts';

// Leasing a task's slots: a bid won (at a window's close, or accepted by the poster) or a verifier
// seat drawn becomes a matched lease; slots still open after a window get another window while the
// task has retries, else they are dropped.

/**
 * The first open slot this worker may take: never two leases of one task. Open slots are replica
 * slots only: a dispute's verifier seats are drawn by the chain (`drawDue`), never offered to bids.
 */
export function pickSlot(ctx: ExecContext, idHex: string, t: Task, worker: Uint8Array): number | undefined {
  for (let i = 0; i < t.leaseCount; i++) {
    const l = stores.leases.get(ctx.state, idHex, i)!;
    if (isLiveLease(l.state) && bytesEqual(l.worker, worker)) return undefined;
  }
  return t.openSlots[0];
}

/** A matched lease of `slot` for `worker` at `price` (a bid won or a verifier seat drawn), due to start within `startDeadlineBlocks`. */
export function newLease(
  ctx: ExecContext,
  idHex: string,
  t: Task,
  worker: Uint8Array,
  slot: number,
  price: bigint,
  verifies: number,
): [index: number, startBy: bigint] {
  const index = t.leaseCount++;
  t.activeLeases++;
  const startBy = BigInt(ctx.height + ctx.params.market.startDeadlineBlocks);
  writeLease(ctx, idHex, index, {
    worker,
    slot,
    price,
    state: LeaseState.Matched,
    matchedAt: BigInt(ctx.height),
    startBy,
    reportBy: 0n,
    endpoint: '',
    startedAt: 0n,
    // From the match the worker prepares the lease (fetches the image, starts it): a poster who
    // cancels before the start owes that wait (payMatchedWait); a start moves it to the start time.
    // Kept only where the rule is on, so that a chain from before it replays alike.
    paidUntil: ctx.params.market.matchedWaitBp > 0 ? BigInt(ctx.time) : 0n,
    reports: 0,
    workerPaid: 0n,
    feePaid: 0n,
    held: 0n,
    feeHeld: 0n,
    resultDigest: '',
    cpuSeconds: 0n,
    memoryGiBSeconds: 0n,
    gpuSeconds: 0n,
    networkBytes: 0n,
    wallMs: 0n,
    reviewEnd: 0n,
    verifies,
    disputeDeposit: 0n,
    endedAt: 0n,
    outcome: '',
    commitment: new Uint8Array(),
    revealBy: 0n,
  });
  schedule(ctx, startBy + 1n, DueKind.StartDeadline, fromHex(idHex), index);
  return [index, startBy];
}

export function createLease(ctx: ExecContext, idHex: string, t: Task, slot: number, bidIndex: number, b: Bid): void {
  stores.bids.set(ctx.state, idHex, bidIndex, { ...b, used: true });
  t.openSlots.splice(t.openSlots.indexOf(slot), 1);
  const [index, startBy] = newLease(ctx, idHex, t, b.worker, slot, b.price, 0);
  ctx.announce({ kind: 'lease-matched', task: idHex, lease: index, worker: toHex(b.worker), detail: `start by height ${startBy}` });
}

/** Slots still open after a window: another window while retries remain, else they are dropped. */
export function reopenOrDrop(ctx: ExecContext, idHex: string, t: Task): void {
  if (t.openSlots.length === 0) return;
  if (t.retriesLeft > 0) {
    t.retriesLeft--;
    moveTask(t, TaskState.Open);
    t.closeHeight = BigInt(ctx.height + t.bidWindowBlocks);
    schedule(ctx, t.closeHeight + 1n, DueKind.CloseBids, fromHex(idHex));
    return;
  }
  const dropped = t.openSlots;
  t.openSlots = [];
  moveTask(t, TaskState.Running);
  for (const slot of dropped) evaluateGroup(ctx, idHex, t, Math.floor(slot / t.redundancy));
  maybeFinish(ctx, t, idHex);
}
