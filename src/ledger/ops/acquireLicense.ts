import * as market from '../handlers/market.ts';
import { defineOp } from './operation.ts';

export const acquireLicense = defineOp({
  kind: 21,
  name: 'AcquireLicense',
  schema: { $id: 'AcquireLicense', fields: { name: { id: 1, type: 'string', max: 64 } } },
  // Licenses are kept with the app registry on main, where PostTask reads them.
  route: 'main',
  apply(ctx, tx, p) {
    market.acquireLicense(ctx, tx, p);
  },
});
