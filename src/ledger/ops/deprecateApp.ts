import * as market from '../handlers/market.ts';
import { defineOp } from './operation.ts';

export const deprecateApp = defineOp({
  kind: 20,
  name: 'DeprecateApp',
  schema: { $id: 'DeprecateApp', fields: { name: { id: 1, type: 'string', max: 64 }, version: { id: 2, type: 'string', max: 32 } } },
  // The app registry is on main.
  route: 'main',
  apply(ctx, tx, p) {
    market.deprecateApp(ctx, tx, p);
  },
});
