import * as stores from '../stores.ts';
import { fromHex } from '../../crypto/portable.ts';
import type { ExecContext } from '../context.ts';
import { fail } from '../errors.ts';
import { DueKind, VERIFY_SLOT, type Lease, type Task } from '../marketEntries.ts';
import { WorkerOutcome } from '../receipts.ts';
import { forfeitHeld, maybeFinish } from './escrow.ts';
import { endLease, LeaseState } from './lifecycle.ts';
import { schedule, writeLease } from './tasks.ts';
import { recordOutcome } from './workers.ts';

// Results compared with each other: the copies of a replica (redundancy ≥ 2) and a dispute's
// verifiers.
//
// docs/MARKET.md, "Fairness: commit and reveal". A result compared with other workers' — a copy in
// a redundancy group, a verifier's — is first committed (a salted hash bound to the task, the lease
// and the worker), and revealed only once every seat of its group has committed or can no longer
// commit: no digest is on the chain for a lazy worker to copy before it commits, and a copied
// commitment matches no reveal its copier can make. A commitment not revealed by the deadline is
// a wrong result: its pay forfeited and `wrongResultSlashBp` slashed — never better than revealing.

/** A lease whose result is compared with others': a seat of a redundancy group, or a verifier's. */
export const isCompared = (t: Task, l: Lease): boolean => l.verifies > 0 || (t.redundancy >= 2 && l.slot < VERIFY_SLOT);

export const unrevealed = (l: Lease): boolean => l.commitment.length > 0 && l.resultDigest === '';

export function refuseCompared(t: Task, l: Lease, index: number): void {
  if (isCompared(t, l)) {
    fail(
      'COMMIT_REQUIRED',
      `lease ${index}'s result is compared with other workers' (${l.verifies > 0 ? 'a verifier seat' : `redundancy ${t.redundancy}`}): commit to it (CommitResult) and reveal it when the group's reveal phase opens`,
    );
  }
}

/**
 * Whether the committed leases of a group (or of a dispute's verifier seats) can be compared now:
 * every commitment revealed, or the reveal deadline passed. The first time all are in, it opens the
 * reveal phase (each unrevealed lease gets `revealBy`) and schedules its end.
 */
export function revealsIn(ctx: ExecContext, idHex: string, committed: [number, Lease][]): boolean {
  const waiting = committed.filter(([, l]) => unrevealed(l));
  if (waiting.length === 0) return true;
  const h = BigInt(ctx.height);
  const closed = waiting.filter(([, l]) => l.revealBy === 0n);
  if (closed.length > 0) {
    const revealBy = h + BigInt(ctx.params.market.revealDeadlineBlocks);
    for (const [i, l] of closed) {
      l.revealBy = revealBy;
      writeLease(ctx, idHex, i, l);
    }
    schedule(ctx, revealBy + 1n, DueKind.RevealEnd, fromHex(idHex), closed[0][0]);
    return false;
  }
  return waiting.every(([, l]) => h > l.revealBy);
}

/** A commitment not revealed by its deadline: a wrong result (pay forfeited to the escrow, bond slashed). */
export function forfeitUnrevealed(ctx: ExecContext, idHex: string, t: Task, index: number, l: Lease): void {
  forfeitHeld(t, l);
  endLease(t, l, ctx, LeaseState.Settled, `result not revealed by height ${l.revealBy}: counted as a wrong result`, idHex, index);
  recordOutcome(ctx, l.worker, WorkerOutcome.Minority, ctx.params.market.wrongResultSlashBp);
  writeLease(ctx, idHex, index, l);
}

/**
 * Redundancy r ≥ 2: once every copy of a replica has a result (or can no longer get one), the
 * results are compared; the majority goes to review and payment, a minority is slashed.
 */
export function evaluateGroup(ctx: ExecContext, idHex: string, t: Task, replica: number): void {
  const r = t.redundancy;
  if (r < 2) return;
  const latest = new Map<number, [number, Lease]>();
  for (let i = 0; i < t.leaseCount; i++) {
    const l = stores.leases.get(ctx.state, idHex, i)!;
    if (l.slot < VERIFY_SLOT && Math.floor(l.slot / r) === replica) latest.set(l.slot, [i, { ...l }]);
  }
  for (let s = replica * r; s < replica * r + r; s++) {
    if (t.openSlots.includes(s)) return;
    const e = latest.get(s);
    // A seat released and not filled again (its slot dropped) can no longer commit, like a failed one.
    if (e && e[1].state !== LeaseState.Completed && e[1].state !== LeaseState.Failed && e[1].state !== LeaseState.Cancelled) return;
  }
  const done = [...latest.values()].filter(([, l]) => l.state === LeaseState.Completed && l.reviewEnd === 0n);
  if (done.length === 0) return;
  // Commit and reveal: compared only once every commitment is revealed or its deadline passed.
  if (!revealsIn(ctx, idHex, done)) return;
  for (const [i, l] of done) if (unrevealed(l)) forfeitUnrevealed(ctx, idHex, t, i, l);
  const revealed = done.filter(([, l]) => !unrevealed(l));
  const votes = new Map<string, number>();
  for (const [, l] of revealed) votes.set(l.resultDigest, (votes.get(l.resultDigest) ?? 0) + 1);
  let majority = '';
  for (const [d, n] of votes) if (n * 2 > r) majority = d;
  for (const [i, l] of revealed) {
    if (majority !== '' && l.resultDigest === majority) {
      l.reviewEnd = BigInt(ctx.height + ctx.params.market.reviewBlocks);
      schedule(ctx, l.reviewEnd + 1n, DueKind.ReviewEnd, fromHex(idHex), i);
    } else {
      forfeitHeld(t, l);
      if (majority !== '') {
        endLease(t, l, ctx, LeaseState.Settled, 'result differs from the majority', idHex, i);
        recordOutcome(ctx, l.worker, WorkerOutcome.Minority, ctx.params.market.wrongResultSlashBp);
      } else {
        endLease(t, l, ctx, LeaseState.Settled, 'no majority among the results; the user is refunded', idHex, i);
      }
    }
    writeLease(ctx, idHex, i, l);
  }
  maybeFinish(ctx, t, idHex);
}
