import * as market from '../handlers/market.ts';
import { optionalRecipient, tokenSymbol } from '../fields.ts';
import { defineOp } from './operation.ts';

export const publishApp = defineOp({
  kind: 19,
  name: 'PublishApp',
  schema: { $id: 'PublishApp', fields: {
      name: { id: 1, type: 'string', max: 64 },
      version: { id: 2, type: 'string', max: 32 },
      digest: { id: 3, type: 'string', max: 71 },
      /** Who earns the license fee (empty: the publisher). */
      developer: { id: 4, ...optionalRecipient },
      feeToken: { id: 5, ...tokenSymbol },
      licenseFeePerHour: { id: 6, type: 'uint64' },
      requiresLicense: { id: 7, type: 'bool' },
    } },
  // The app registry is on main: every inner chain reads it when a task names an app.
  route: 'main',
  apply(ctx, tx, p) {
    market.publishApp(ctx, tx, p);
  },
});
