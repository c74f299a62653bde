import * as stores from '../stores.ts';
import { bytesEqual, encodeAddress } from '../../crypto/portable.ts';
import { fail } from '../errors.ts';
import { defineOp } from './operation.ts';

export const deprecateApp = defineOp({
  kind: 20,
  name: 'DeprecateApp',
  schema: { $id: 'DeprecateApp', fields: { name: { id: 1, type: 'string', max: 64 }, version: { id: 2, type: 'string', max: 32 } } },
  // The app registry is on main.
  route: 'main',
  apply(ctx, tx, p) {
    const app = stores.apps.get(ctx.state, p.name, p.version);
    if (!app) fail('UNKNOWN_APP', `no app ${p.name}@${p.version}`);
    const owner = stores.appNames.get(ctx.state, p.name)!;
    if (!bytesEqual(owner.owner, tx.from)) fail('NOT_AUTHORIZED', `app "${p.name}" belongs to ${encodeAddress(owner.owner)}`);
    if (app.deprecated) fail('ALREADY_DEPRECATED', `${p.name}@${p.version} is already deprecated`);
    stores.apps.set(ctx.state, p.name, p.version, { ...app, deprecated: true });
  },
});
