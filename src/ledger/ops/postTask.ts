import * as market from '../handlers/market.ts';
import { TaskNeedsFields, TaskOrderFields } from '../marketEntries.ts';
import { defineOp } from './operation.ts';

export const postTask = defineOp({
  kind: 22,
  name: 'PostTask',
  schema: { $id: 'PostTask', fields: { ...TaskNeedsFields, ...TaskOrderFields } },
  // The escrow is the poster's funds, on its home chain; the task lives there with it (its id names that chain).
  route: 'home',
  apply(ctx, tx, p) {
    market.postTask(ctx, tx, p);
  },
});
