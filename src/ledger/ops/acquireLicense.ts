import { encodeAddress } from '../../crypto/portable.ts';
import { fail } from '../errors.ts';
import { MarketKeys, type AppName, type License } from '../marketEntries.ts';
import { defineOp } from './operation.ts';

export const acquireLicense = defineOp({
  kind: 21,
  name: 'AcquireLicense',
  schema: { $id: 'AcquireLicense', fields: { name: { id: 1, type: 'string', max: 64 } } },
  // Licenses are kept with the app registry on main, where PostTask reads them.
  route: 'main',
  apply(ctx, tx, p) {
    if (!ctx.state.get<AppName>(MarketKeys.appName(p.name))) fail('UNKNOWN_APP', `no app "${p.name}"`);
    const key = MarketKeys.license(p.name, tx.fromHex);
    if (ctx.state.get<License>(key)) fail('ALREADY_LICENSED', `${encodeAddress(tx.from)} already holds a license for "${p.name}"`);
    ctx.state.set(key, { acquiredAt: BigInt(ctx.height) } satisfies License);
  },
});
