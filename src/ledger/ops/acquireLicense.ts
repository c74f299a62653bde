import * as stores from '../stores.ts';
import { encodeAddress } from '../../crypto/portable.ts';
import { fail } from '../errors.ts';
import { defineOp } from './operation.ts';

export const acquireLicense = defineOp({
  kind: 21,
  name: 'AcquireLicense',
  schema: { $id: 'AcquireLicense', fields: { name: { id: 1, type: 'string', max: 64 } } },
  // Licenses are kept with the app registry on main, where PostTask reads them.
  route: 'main',
  apply(ctx, tx, p) {
    if (!stores.appNames.get(ctx.state, p.name)) fail('UNKNOWN_APP', `no app "${p.name}"`);
    if (stores.licenses.has(ctx.state, p.name, tx.fromHex)) fail('ALREADY_LICENSED', `${encodeAddress(tx.from)} already holds a license for "${p.name}"`);
    stores.licenses.set(ctx.state, p.name, tx.fromHex, { acquiredAt: BigInt(ctx.height) });
  },
});
