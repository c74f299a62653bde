import { bytesEqual, encodeAddress, isAddress } from '../../crypto/portable.ts';
import { requireRecipient, requireToken } from '../context.ts';
import { fail } from '../errors.ts';
import { optionalRecipient, tokenSymbol } from '../fields.ts';
import { DIGEST } from '../market/tasks.ts';
import * as stores from '../stores.ts';
import type { App } from '../marketEntries.ts';
import { defineOp } from './operation.ts';

const APP_NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;
const APP_VERSION = /^[0-9A-Za-z][0-9A-Za-z.+_-]{0,31}$/;

export const publishApp = defineOp({
  kind: 19,
  name: 'PublishApp',
  schema: {
    $id: 'PublishApp',
    fields: {
      name: { id: 1, type: 'string', max: 64 },
      version: { id: 2, type: 'string', max: 32 },
      digest: { id: 3, type: 'string', max: 71 },
      /** Who earns the license fee (empty: the publisher). */
      developer: { id: 4, ...optionalRecipient },
      feeToken: { id: 5, ...tokenSymbol },
      licenseFeePerHour: { id: 6, type: 'uint64' },
      requiresLicense: { id: 7, type: 'bool' },
    },
  },
  // The app registry is on main: every inner chain reads it when a task names an app.
  route: 'main',
  apply(ctx, tx, p) {
    if (!APP_NAME.test(p.name)) fail('INVALID_ARGUMENT', 'app name: lowercase letters, digits, ".", "_" or "-", starting with a letter or digit');
    // The registry gives a namespace that is an address to that address (docs/DDN.md): an app named
    // like someone's address would put a name on the chain whose images only that someone can push.
    if (isAddress(p.name)) fail('INVALID_ARGUMENT', "app name: an address is not an app name (it names that account's own registry namespace)");
    if (!APP_VERSION.test(p.version)) fail('INVALID_ARGUMENT', 'app version: letters, digits, ".", "+", "_" or "-"');
    if (!DIGEST.test(p.digest)) fail('BAD_DIGEST', `image digest must be sha256: and 64 lowercase hex digits, got "${p.digest}"`);
    // The license fees go to the developer: an address nobody can spend from would swallow them.
    if (p.developer.length !== 0) requireRecipient(ctx, p.developer, 'developer');
    requireToken(ctx, p.feeToken);
    const owner = stores.appNames.get(ctx.state, p.name);
    if (owner && !bytesEqual(owner.owner, tx.from)) fail('NOT_AUTHORIZED', `app "${p.name}" belongs to ${encodeAddress(owner.owner)}`);
    if (stores.apps.has(ctx.state, p.name, p.version)) fail('APP_EXISTS', `${p.name}@${p.version} is already published; publish a new version`);
    stores.appNames.set(ctx.state, p.name, { owner: tx.from, versions: (owner?.versions ?? 0) + 1 });
    stores.apps.set(ctx.state, p.name, p.version, {
      name: p.name,
      version: p.version,
      digest: p.digest,
      developer: p.developer.length !== 0 ? p.developer : tx.from,
      feeToken: p.feeToken,
      licenseFeePerHour: p.licenseFeePerHour,
      requiresLicense: p.requiresLicense,
      deprecated: false,
      publishedAt: BigInt(ctx.height),
      failures: 0n,
      releases: 0n,
    } satisfies App);
  },
});
