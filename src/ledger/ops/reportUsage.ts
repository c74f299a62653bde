import * as market from '../handlers/market.ts';
import { taskId, usageFields } from '../fields.ts';
import { defineOp } from './operation.ts';

/** Usage of one period, signed by the worker; `seq` numbers the periods from 1. */
export const reportUsage = defineOp({
  kind: 28,
  name: 'ReportUsage',
  schema: { $id: 'ReportUsage', fields: { task: { id: 1, ...taskId }, lease: { id: 2, type: 'uint32' }, seq: { id: 3, type: 'uint32' }, ...usageFields } },
  // The task names its chain (its id's first byte): its escrow, bids and leases live there.
  route: 'task',
  apply(ctx, tx, p) {
    market.reportUsage(ctx, tx, p);
  },
});
