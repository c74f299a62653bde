import * as stores from '../stores.ts';
import { toHex } from '../../crypto/portable.ts';
import { drawSeed, drawVerifiers, misfitCounts, misfits, rankBids, type TaskNeeds } from '../../market/index.ts';
import { credit, type ExecContext } from '../context.ts';
import { DueKind, type Bid, type Lease, type Task } from '../marketEntries.ts';
import { ZNC } from '../params.ts';
import { WorkerOutcome } from '../receipts.ts';
import { describeAppOutcome } from '../appOutcome.ts';
import { evaluateGroup } from './compare.ts';
import { closeTask, escrowLow, maybeFinish, releaseHeld, stopService } from './escrow.ts';
import { createVerifierLease, readDispute, redrawVerifier, settleDispute, verifierPool, verifiersOf } from './disputes.ts';
import { endLease, isLeaseMetered, isTaskEnded, LeaseState, moveTask, TaskState } from './lifecycle.ts';
import { createLease, pickSlot, reopenOrDrop } from './matching.ts';
import { writeLease, writeTask } from './tasks.ts';
import { govDue } from '../gov/lifecycle.ts';
import { recordFairness, recordOutcome, taskNeeds, workerOffer } from './workers.ts';

// What the market does at the start of every height on every chain, unasked: the deadlines it
// scheduled (in blocks) when they come. A bid window closes; a lease not started or not reported
// in time fails; a result's review ends and it is paid; a service in grace stops or carries on; a
// leaving worker's bond returns; a dispute's verifiers are drawn; a reveal phase ends. Each
// handler first checks that what it was scheduled for still holds (a deadline met is no deadline).

/** Start of every height on every chain: what the market scheduled for it. */
export function marketWork(ctx: ExecContext): void {
  const n = stores.dueCounts.get(ctx.state, ctx.height)?.n ?? 0n;
  if (n === 0n) return;
  for (let i = 0n; i < n; i++) {
    const d = stores.dues.get(ctx.state, ctx.height, i)!;
    stores.dues.delete(ctx.state, ctx.height, i);
    switch (d.kind) {
      case DueKind.CloseBids:
        closeBids(ctx, d.id);
        break;
      case DueKind.StartDeadline:
      case DueKind.ReportDeadline:
        leaseDeadline(ctx, d.id, d.lease, d.kind);
        break;
      case DueKind.ReviewEnd:
        reviewEnd(ctx, d.id, d.lease);
        break;
      case DueKind.GraceEnd:
        graceEnd(ctx, d.id);
        break;
      case DueKind.WorkerRelease:
        releaseWorkerBond(ctx, d.id);
        break;
      case DueKind.DrawVerifiers:
        drawDue(ctx, d.id, d.lease);
        break;
      case DueKind.RevealEnd:
        revealEnd(ctx, d.id, d.lease);
        break;
      // Governance's deadlines share the queue, so an idle network still makes the blocks that reach them.
      case DueKind.GovDepositEnd:
      case DueKind.GovVotingEnd:
      case DueKind.GovExecute:
      case DueKind.GovUpgrade:
        govDue(ctx, d.kind, d.id);
        break;
    }
  }
  stores.dueCounts.delete(ctx.state, ctx.height);
}

/** A bid window closes: every node ranks the same bids the same way and leases the winners. */
function closeBids(ctx: ExecContext, id: Uint8Array): void {
  const idHex = toHex(id);
  const found = stores.tasks.get(ctx.state, idHex);
  if (!found || found.state !== TaskState.Open || found.closeHeight + 1n !== BigInt(ctx.height)) return;
  const t: Task = { ...found, openSlots: [...found.openSlots] };
  const needs = taskNeeds(t);
  const live: { bid: Bid; index: number; worker: string; price: bigint; rating: number }[] = [];
  for (let i = 0; i < t.bidCount; i++) {
    const b = stores.bids.get(ctx.state, idHex, i)!;
    if (b.used || b.withdrawn) continue;
    const workerHex = toHex(b.worker);
    // Only this window's bids: a worker's latest bid is the one its reference points at.
    const ref = stores.bidRefs.get(ctx.state, idHex, workerHex)!;
    if (ref.index !== i || ref.window !== t.closeHeight) continue;
    const w = stores.workers.get(ctx.main, workerHex);
    // A worker that left, changed, or was slashed below the minimum bond since it bid no longer wins.
    if (!w || misfits(workerOffer(workerHex, w, ctx.params.market), needs, b.price).length > 0) continue;
    live.push({ bid: b, index: i, worker: workerHex, price: b.price, rating: b.rating });
  }
  let leased = 0;
  for (const b of rankBids(idHex, live)) {
    if (t.openSlots.length === 0) break;
    const slot = pickSlot(ctx, idHex, t, b.bid.worker);
    if (slot === undefined) continue;
    createLease(ctx, idHex, t, slot, b.index, b.bid);
    leased++;
  }
  ctx.announce({ kind: 'window-closed', task: idHex, detail: `${leased} lease(s) matched, ${t.openSlots.length} slot(s) still open` });
  if (t.openSlots.length === 0) moveTask(t, TaskState.Running);
  else if (leased === 0 && t.leaseCount === 0) {
    t.noBidReasons = noBidReasons(ctx, needs);
    t.openSlots = [];
    closeTask(ctx, t, idHex, TaskState.Expired);
  } else {
    reopenOrDrop(ctx, idHex, t);
  }
  writeTask(ctx, idHex, t);
}

/** Why no registered worker bid: misfit counts over the registry (bounded), as JSON. */
function noBidReasons(ctx: ExecContext, needs: TaskNeeds): string {
  const n = stores.workerCount.get(ctx.main)?.n ?? 0n;
  const limit = BigInt(ctx.params.market.reasonScanLimit);
  const refused: { worker: string; ask: bigint; reasons: ReturnType<typeof misfits> }[] = [];
  let fitting = 0;
  for (let i = 0n; i < n && i < limit; i++) {
    const addr = stores.workerIndex.get(ctx.main, i)!.worker;
    const hex = toHex(addr);
    const w = stores.workers.get(ctx.main, hex)!;
    const reasons = misfits(workerOffer(hex, w, ctx.params.market), needs);
    if (reasons.length > 0) refused.push({ worker: hex, ask: 0n, reasons });
    else fitting++;
  }
  const counts: Record<string, number> = { ...misfitCounts(refused) };
  if (fitting > 0) counts.FIT_BUT_NO_BID = fitting;
  const scanned = Number(n < limit ? n : limit);
  return JSON.stringify({ workers: scanned, ...counts }).slice(0, 1024);
}

/** A missed deadline: the lease fails, the worker is slashed and rated down, the slot re-offered. */
function leaseDeadline(ctx: ExecContext, id: Uint8Array, index: number, kind: DueKind): void {
  const idHex = toHex(id);
  const found = stores.tasks.get(ctx.state, idHex);
  const lease = stores.leases.get(ctx.state, idHex, index);
  if (!found || !lease) return;
  const h = BigInt(ctx.height);
  const missedStart = kind === DueKind.StartDeadline && lease.state === LeaseState.Matched && lease.startBy + 1n === h;
  const missedReport = kind === DueKind.ReportDeadline && isLeaseMetered(lease.state) && lease.reportBy + 1n === h;
  if (!missedStart && !missedReport) return;
  const t = { ...found, openSlots: [...found.openSlots] };
  const l = { ...lease };
  if (l.verifies > 0) return verifierMissed(ctx, idHex, t, l, index, missedStart);
  if (missedStart) {
    endLease(t, l, ctx, LeaseState.Failed, `did not start by height ${l.startBy}`, idHex, index);
    recordOutcome(ctx, l.worker, WorkerOutcome.Failed, ctx.params.market.failSlashBp);
  } else {
    // What the worker reported is paid; the silence after it is not.
    releaseHeld(ctx, t, l);
    endLease(t, l, ctx, LeaseState.Failed, `stopped reporting (last report due by height ${l.reportBy})`, idHex, index);
    recordOutcome(ctx, l.worker, WorkerOutcome.Abandoned, ctx.params.market.failSlashBp);
  }
  writeLease(ctx, idHex, index, l);
  if (!isTaskEnded(t)) {
    t.openSlots.push(l.slot);
    if (t.state === TaskState.Open && t.closeHeight >= h) {
      // a window is open: the slot joins it
    } else reopenOrDrop(ctx, idHex, t);
  }
  writeTask(ctx, idHex, t);
}

/**
 * A drawn verifier missed a deadline. Not starting costs it nothing (it never asked for the duty;
 * it only forgoes the pay) and its seat is drawn again. Once started it is a lease like any other:
 * stopping reports is abandoning it, with the usual slash.
 */
function verifierMissed(ctx: ExecContext, idHex: string, t: Task, l: Lease, index: number, missedStart: boolean): void {
  if (missedStart) {
    endLease(t, l, ctx, LeaseState.Failed, `drawn verifier did not start by height ${l.startBy}; no penalty, another is drawn`, idHex, index);
  } else {
    releaseHeld(ctx, t, l);
    endLease(t, l, ctx, LeaseState.Failed, `verifier stopped reporting (last report due by height ${l.reportBy})`, idHex, index);
    recordOutcome(ctx, l.worker, WorkerOutcome.Abandoned, ctx.params.market.failSlashBp);
  }
  writeLease(ctx, idHex, index, l);
  redrawVerifier(ctx, idHex, t, l);
  writeTask(ctx, idHex, t);
}

/** Pays a completed lease after its review window. */
function reviewEnd(ctx: ExecContext, id: Uint8Array, index: number): void {
  const idHex = toHex(id);
  const found = stores.tasks.get(ctx.state, idHex);
  const lease = stores.leases.get(ctx.state, idHex, index);
  if (!found || !lease || lease.state !== LeaseState.Completed || lease.reviewEnd + 1n !== BigInt(ctx.height)) return;
  const t = { ...found, openSlots: [...found.openSlots] };
  const l = { ...lease };
  releaseHeld(ctx, t, l);
  endLease(t, l, ctx, LeaseState.Settled, 'result accepted', idHex, index);
  if (!recordAppOutcome(ctx, idHex, index, t, l)) recordOutcome(ctx, l.worker, WorkerOutcome.Completed);
  writeLease(ctx, idHex, index, l);
  maybeFinish(ctx, t, idHex);
  writeTask(ctx, idHex, t);
}

/** At review end: an accepted app outcome is noted on the worker's and the app's record instead of a completion. */
function recordAppOutcome(ctx: ExecContext, idHex: string, index: number, t: Task, l: Lease): boolean {
  const o = stores.appOutcomes.get(ctx.state, idHex, index);
  if (!o || o.digest !== l.resultDigest) return false;
  l.outcome = `app outcome accepted: the app ${describeAppOutcome(o)}`;
  recordFairness(ctx, l.worker, WorkerOutcome.AppFailed, t);
  return true;
}

/** A service in grace: stop it if the escrow is still low, else carry on. */
function graceEnd(ctx: ExecContext, id: Uint8Array): void {
  const idHex = toHex(id);
  const found = stores.tasks.get(ctx.state, idHex);
  if (!found || isTaskEnded(found) || found.graceUntil === 0n || found.graceUntil + 1n !== BigInt(ctx.height)) return;
  const t = { ...found, openSlots: [...found.openSlots] };
  if (escrowLow(ctx, idHex, t)) stopService(ctx, idHex, t, 'escrow ran low and was not topped up');
  else t.graceUntil = 0n;
  writeTask(ctx, idHex, t);
}

/** A leaving worker's bond returns at the height its unbonding ends. */
function releaseWorkerBond(ctx: ExecContext, worker: Uint8Array): void {
  const hex = toHex(worker);
  const w = stores.workers.get(ctx.state, hex);
  if (!w || w.leavingAt !== BigInt(ctx.height) || w.bond === 0n) return;
  stores.workers.set(ctx.state, hex, { ...w, bond: 0n });
  credit(ctx, worker, ZNC, w.bond);
}

/** The chain draws verifiers for the empty seats of a dispute and leases them the task, unasked. */
function drawDue(ctx: ExecContext, id: Uint8Array, disputedIndex: number): void {
  const idHex = toHex(id);
  const found = stores.tasks.get(ctx.state, idHex);
  const d = stores.leases.get(ctx.state, idHex, disputedIndex);
  const found2 = readDispute(ctx, idHex, disputedIndex);
  if (!found || !d || !found2 || d.state !== LeaseState.Disputed || found2.drawAt !== BigInt(ctx.height)) return;
  const t = { ...found, openSlots: [...found.openSlots] };
  const ds = { ...found2, drawAt: 0n };
  // A seat whose verifier never started (Failed at its start deadline) or gave it back (Cancelled) is empty.
  const seated = verifiersOf(ctx, idHex, t, disputedIndex).filter(([, v]) => v.state !== LeaseState.Failed && v.state !== LeaseState.Cancelled).length;
  const need = Math.min(ds.wanted - seated, ctx.params.market.maxVerifierDraws - ds.draws);
  if (need > 0) {
    const pool = verifierPool(ctx, idHex, t);
    for (const hex of drawVerifiers(drawSeed(ctx.prevHash, id, disputedIndex, ds.draws), pool, need)) {
      const c = pool.find((x) => x.worker === hex)!;
      createVerifierLease(ctx, idHex, t, disputedIndex, c.address, c.price);
      ds.draws++;
    }
  }
  stores.disputes.set(ctx.state, idHex, disputedIndex, ds);
  // Nobody left to draw: the dispute is decided with the verifiers it has.
  settleDispute(ctx, idHex, t, disputedIndex);
  writeTask(ctx, idHex, t);
}

/** A reveal deadline passed: the group (or dispute) is compared with the reveals it has. */
function revealEnd(ctx: ExecContext, id: Uint8Array, index: number): void {
  const idHex = toHex(id);
  const found = stores.tasks.get(ctx.state, idHex);
  const l = stores.leases.get(ctx.state, idHex, index);
  if (!found || !l || l.revealBy + 1n !== BigInt(ctx.height)) return;
  const t = { ...found, openSlots: [...found.openSlots] };
  if (l.verifies > 0) settleDispute(ctx, idHex, t, l.verifies - 1);
  else evaluateGroup(ctx, idHex, t, Math.floor(l.slot / t.redundancy));
  writeTask(ctx, idHex, t);
}
