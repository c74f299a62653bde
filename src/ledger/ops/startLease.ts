import { fail } from '../errors.ts';
import { taskId } from '../fields.ts';
import { leaseStateName, LeaseState, moveLease } from '../market/lifecycle.ts';
import { leaseRef, requireLessee, schedule, writeLease } from '../market/tasks.ts';
import { DueKind, TaskKind } from '../marketEntries.ts';
import { defineOp } from './operation.ts';

export const startLease = defineOp({
  kind: 27,
  name: 'StartLease',
  schema: { $id: 'StartLease', fields: { task: { id: 1, ...taskId }, lease: { id: 2, type: 'uint32' }, endpoint: { id: 3, type: 'string', max: 128 } } },
  // The task names its chain (its id's first byte): its escrow, bids and leases live there.
  route: 'task',
  apply(ctx, tx, p) {
    const [idHex, t, l] = leaseRef(ctx, p);
    requireLessee(l, tx, p.lease);
    if (l.state !== LeaseState.Matched) fail('LEASE_NOT_MATCHED', `lease ${p.lease} is ${leaseStateName(l.state)}, not waiting to start`);
    if (t.kind === TaskKind.Service && t.ports.length > 0 && p.endpoint === '') {
      fail('INVALID_ARGUMENT', 'a service with ports records the endpoint (host:port) where users reach it');
    }
    moveLease(l, LeaseState.Started);
    l.endpoint = p.endpoint;
    l.startedAt = BigInt(ctx.time);
    l.paidUntil = BigInt(ctx.time);
    l.reportBy = BigInt(ctx.height + ctx.params.market.reportDeadlineBlocks);
    writeLease(ctx, idHex, p.lease, l);
    schedule(ctx, l.reportBy + 1n, DueKind.ReportDeadline, p.task, p.lease);
    ctx.announce({ kind: 'lease-started', task: idHex, lease: p.lease, worker: tx.fromHex, detail: p.endpoint });
  },
});
