import * as stores from '../stores.ts';
import { fromHex, toHex } from '../../crypto/portable.ts';
import { askPrice, canBeLeased, misfits, verifierWeight, type DrawCandidate, type TaskNeeds } from '../../market/index.ts';
import { credit, type ExecContext } from '../context.ts';
import { DueKind, VERIFY_SLOT, type DisputeState, type Lease, type Task } from '../marketEntries.ts';
import { MAIN_CHAIN, ZNC } from '../params.ts';
import { WorkerOutcome } from '../receipts.ts';
import { forfeitUnrevealed, revealsIn, unrevealed } from './compare.ts';
import { forfeitHeld, freeEscrow, maybeFinish, releaseHeld } from './escrow.ts';
import { endLease, isLeaseAtWork, LeaseState } from './lifecycle.ts';
import { newLease } from './matching.ts';
import { readLease, schedule, writeLease } from './tasks.ts';
import { recordOutcome, taskNeeds, workerOffer } from './workers.ts';

// Disputes: docs/MARKET.md, "Fairness: disputes and verifiers". The verifiers of a disputed result are drawn
// by the chain, never bid for: a bid lets the disputer's accomplice buy the deciding seat. Up to
// three decide by majority; one outvoted by the others is slashed like a minority replica; the
// disputer's deposit pays them, and compensates the worker when the result stands.

/** Verifiers whose majority decides a dispute over more than `singleVerifierMaxPayZnc`; the most any dispute seats. */
export const VERIFIER_QUORUM = 3;

/**
 * A draw runs two heights after what calls for it. Its seed is then the hash of the block after the
 * one that committed the call, and that block carries the previous height's commit certificate:
 * bookkeepers' signatures nobody in the dispute can compute beforehand, so neither the disputer
 * (by grinding its transaction) nor a worker can steer the draw.
 */
const DRAW_DELAY_BLOCKS = 2;

export function readDispute(ctx: ExecContext, idHex: string, index: number): DisputeState | undefined {
  return stores.disputes.get(ctx.state, idHex, index);
}

/** The verifier leases of a disputed lease, as private copies. */
export function verifiersOf(ctx: ExecContext, idHex: string, t: Task, disputedIndex: number): [number, Lease][] {
  const out: [number, Lease][] = [];
  for (let i = 0; i < t.leaseCount; i++) {
    const l = stores.leases.get(ctx.state, idHex, i)!;
    if (l.verifies === disputedIndex + 1) out.push([i, { ...l }]);
  }
  return out;
}

/**
 * Who may be drawn to verify: registered, not leaving, bonded at least `minWorkerBond`, able to run
 * the task (resources, GPU, runtime, by the shared matcher) — and not the disputed worker, not the
 * poster, not any worker that holds or held a lease of this task. The poster's own preferences
 * (region, rating floor, price cap) do not narrow the pool: the poster is the disputer, and a
 * narrow pool would let it pick its verifier. Each is paid its ask, at most the task's price cap.
 */
export function verifierPool(ctx: ExecContext, idHex: string, t: Task): (DrawCandidate & { address: Uint8Array; price: bigint })[] {
  const reader = ctx.chain === MAIN_CHAIN ? ctx.state : ctx.main;
  const excluded = new Set<string>([toHex(t.owner)]);
  for (let i = 0; i < t.leaseCount; i++) excluded.add(toHex(stores.leases.get(ctx.state, idHex, i)!.worker));
  const needs: TaskNeeds = { ...taskNeeds(t), region: '', minRating: 0 };
  const n = stores.workerCount.get(reader)?.n ?? 0n;
  const limit = BigInt(ctx.params.market.verifierScanLimit);
  const out: (DrawCandidate & { address: Uint8Array; price: bigint })[] = [];
  for (let i = 0n; i < n && i < limit; i++) {
    const address = stores.workerIndex.get(reader, i)!.worker;
    const hex = toHex(address);
    if (excluded.has(hex)) continue;
    const w = stores.workers.get(reader, hex);
    if (!w || !canBeLeased(w, ctx.params.market)) continue;
    const offer = workerOffer(hex, w, ctx.params.market);
    if (misfits(offer, needs, 0n).length > 0) continue;
    const ask = askPrice(offer, needs);
    out.push({ worker: hex, weight: verifierWeight(w.bond, w.rating), address, price: ask < t.maxPricePerHour ? ask : t.maxPricePerHour });
  }
  return out;
}

/** Asks for a draw DRAW_DELAY_BLOCKS from now, unless one is pending (it fills every empty seat). */
export function scheduleDraw(ctx: ExecContext, idHex: string, disputedIndex: number): void {
  const ds = readDispute(ctx, idHex, disputedIndex)!;
  if (ds.drawAt > BigInt(ctx.height)) return;
  const drawAt = BigInt(ctx.height + DRAW_DELAY_BLOCKS);
  stores.disputes.set(ctx.state, idHex, disputedIndex, { ...ds, drawAt });
  schedule(ctx, drawAt, DueKind.DrawVerifiers, fromHex(idHex), disputedIndex);
}

export function createVerifierLease(ctx: ExecContext, idHex: string, t: Task, disputedIndex: number, worker: Uint8Array, price: bigint): void {
  const [index, startBy] = newLease(ctx, idHex, t, worker, VERIFY_SLOT + disputedIndex, price, disputedIndex + 1);
  ctx.announce({
    kind: 'lease-matched',
    task: idHex,
    lease: index,
    worker: toHex(worker),
    detail: `drawn to verify lease ${disputedIndex}; start by height ${startBy}`,
  });
}

/** A verifier seat left empty (not started, released, abandoned): another is drawn while draws remain, else the dispute is settled. */
export function redrawVerifier(ctx: ExecContext, idHex: string, t: Task, l: Lease): void {
  const disputedIndex = l.verifies - 1;
  if (readDispute(ctx, idHex, disputedIndex)!.draws < ctx.params.market.maxVerifierDraws) scheduleDraw(ctx, idHex, disputedIndex);
  else settleDispute(ctx, idHex, t, disputedIndex);
}

/**
 * Decides a dispute once no verifier runs and no draw is pending. The verifiers' majority (of the
 * seats wanted) decides; overturning a result takes at least two verifiers agreeing, so a single
 * verifier that disagrees calls two more instead (BOINC's adaptive replication). A verifier outside
 * the majority is slashed `wrongResultSlashBp` and unpaid. With no majority the result stands.
 */
export function settleDispute(ctx: ExecContext, idHex: string, t: Task, disputedIndex: number): void {
  const d = readLease(ctx, idHex, disputedIndex);
  const ds = readDispute(ctx, idHex, disputedIndex);
  if (d.state !== LeaseState.Disputed || !ds || ds.drawAt > BigInt(ctx.height)) return;
  const vs = verifiersOf(ctx, idHex, t, disputedIndex);
  if (vs.some(([, v]) => isLeaseAtWork(v.state))) return;
  const committed = vs.filter(([, v]) => v.state === LeaseState.Completed);
  // Commit and reveal: the verifiers' results are compared once all are revealed or the deadline passed.
  if (!revealsIn(ctx, idHex, committed)) return;
  for (const [i, v] of committed) if (unrevealed(v)) forfeitUnrevealed(ctx, idHex, t, i, v);
  const done = committed.filter(([, v]) => !unrevealed(v));
  const votes = new Map<string, number>();
  for (const [, v] of done) votes.set(v.resultDigest, (votes.get(v.resultDigest) ?? 0) + 1);
  let majority = '';
  for (const [digest, n] of votes) if (n * 2 > ds.wanted) majority = digest;
  if (ds.wanted === 1 && majority !== '' && majority !== d.resultDigest && ds.draws < ctx.params.market.maxVerifierDraws) {
    stores.disputes.set(ctx.state, idHex, disputedIndex, { ...ds, wanted: VERIFIER_QUORUM });
    scheduleDraw(ctx, idHex, disputedIndex);
    return;
  }
  const stands = majority !== '' && majority === d.resultDigest;
  const overturned = majority !== '' && !stands && (votes.get(majority) ?? 0) >= 2;
  const decided = stands || overturned;
  for (const [i, v] of done) {
    if (!decided || v.resultDigest === majority) {
      releaseHeld(ctx, t, v);
      endLease(t, v, ctx, LeaseState.Settled, decided ? 'verification done: with the majority' : 'verification done: no majority', idHex, i);
      recordOutcome(ctx, v.worker, WorkerOutcome.Completed);
    } else {
      forfeitHeld(t, v);
      endLease(t, v, ctx, LeaseState.Settled, "verifier outvoted: its result differs from the other verifiers' majority", idHex, i);
      recordOutcome(ctx, v.worker, WorkerOutcome.Minority, ctx.params.market.wrongResultSlashBp);
    }
    writeLease(ctx, idHex, i, v);
  }
  const tally = `${votes.get(majority) ?? 0} of ${ds.wanted} verifiers`;
  if (stands) {
    releaseHeld(ctx, t, d);
    // The deposit, less what the verifiers earned, pays the worker for the wait: as much again as
    // its held pay, at most.
    let spent = 0n;
    for (const [, v] of vs) spent += v.workerPaid + (t.feeToken === ZNC ? v.feePaid : 0n);
    const left = ds.deposit > spent ? ds.deposit - spent : 0n;
    let comp = ds.disputedPay < left ? ds.disputedPay : left;
    if (comp > freeEscrow(t)) comp = freeEscrow(t);
    if (comp > 0n) {
      t.escrow -= comp;
      credit(ctx, d.worker, ZNC, comp);
    }
    endLease(t, d, ctx, LeaseState.Settled, `dispute decided for the worker: ${tally} got its result`, idHex, disputedIndex);
    recordOutcome(ctx, d.worker, WorkerOutcome.Completed);
  } else if (overturned) {
    forfeitHeld(t, d);
    endLease(t, d, ctx, LeaseState.Settled, `dispute decided for the user: ${tally} got another result`, idHex, disputedIndex);
    recordOutcome(ctx, d.worker, WorkerOutcome.DisputeLost, ctx.params.market.wrongResultSlashBp, t.owner);
  } else {
    releaseHeld(ctx, t, d);
    endLease(t, d, ctx, LeaseState.Settled, 'dispute lapsed: no majority of drawn verifiers; the result stands', idHex, disputedIndex);
    recordOutcome(ctx, d.worker, WorkerOutcome.Completed);
  }
  writeLease(ctx, idHex, disputedIndex, d);
  stores.disputes.delete(ctx.state, idHex, disputedIndex);
  maybeFinish(ctx, t, idHex);
}
