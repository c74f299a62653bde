import * as market from '../handlers/market.ts';
import { defineOp } from './operation.ts';

export const leaveWorker = defineOp({
  kind: 18,
  name: 'LeaveWorker',
  schema: { $id: 'LeaveWorker', fields: {} },
  // The worker registry and its bond are on main.
  route: 'main',
  apply(ctx, tx) {
    market.leaveWorker(ctx, tx);
  },
});
