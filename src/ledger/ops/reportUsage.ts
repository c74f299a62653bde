import { fail } from '../errors.ts';
import { taskId, usageFields } from '../fields.ts';
import { addUsage, escrowLow, freeEscrow, settlePeriod, stopService } from '../market/escrow.ts';
import { isLeaseMetered, leaseStateName, LeaseState, moveLease } from '../market/lifecycle.ts';
import { leaseRef, requireLessee, schedule, writeLease, writeTask } from '../market/tasks.ts';
import { DueKind, TaskKind } from '../marketEntries.ts';
import { defineOp } from './operation.ts';

/** Usage of one period, signed by the worker; `seq` numbers the periods from 1. */
export const reportUsage = defineOp({
  kind: 28,
  name: 'ReportUsage',
  schema: { $id: 'ReportUsage', fields: { task: { id: 1, ...taskId }, lease: { id: 2, type: 'uint32' }, seq: { id: 3, type: 'uint32' }, ...usageFields } },
  // The task names its chain (its id's first byte): its escrow, bids and leases live there.
  route: 'task',
  apply(ctx, tx, p) {
    const [idHex, t, l] = leaseRef(ctx, p);
    requireLessee(l, tx, p.lease);
    if (!isLeaseMetered(l.state)) fail('LEASE_NOT_RUNNING', `lease ${p.lease} is ${leaseStateName(l.state)}`);
    if (p.seq <= l.reports) fail('PERIOD_SETTLED', `period ${p.seq} of lease ${p.lease} was already settled (last: ${l.reports})`);
    if (p.seq !== l.reports + 1) fail('REPORT_GAP', `lease ${p.lease} expects period ${l.reports + 1} next`);
    addUsage(l, p);
    const full = settlePeriod(ctx, t, l, p.wallMs);
    l.reports = p.seq;
    moveLease(l, LeaseState.Running);
    l.reportBy = BigInt(ctx.height + ctx.params.market.reportDeadlineBlocks);
    schedule(ctx, l.reportBy + 1n, DueKind.ReportDeadline, p.task, p.lease);
    writeLease(ctx, idHex, p.lease, l);
    if (t.kind === TaskKind.Service) {
      if (!full || freeEscrow(t) === 0n) stopService(ctx, idHex, t, 'escrow ran out');
      else if (t.graceUntil === 0n && escrowLow(ctx, idHex, t)) {
        t.graceUntil = BigInt(ctx.height + ctx.params.market.graceBlocks);
        schedule(ctx, t.graceUntil + 1n, DueKind.GraceEnd, p.task);
        ctx.announce({ kind: 'escrow-low', task: idHex, detail: `escrow low: top up by height ${t.graceUntil} or the service stops` });
      }
    }
    writeTask(ctx, idHex, t);
  },
});
