import * as market from '../handlers/market.ts';
import { taskId } from '../fields.ts';
import { defineOp } from './operation.ts';

/**
 * What a commitment hid: the result digest and the salt — or, with `appOutcome`, the app outcome
 * (its digest is computed by the chain; `digest` is then empty).
 */
export const revealResult = defineOp({
  kind: 32,
  name: 'RevealResult',
  schema: { $id: 'RevealResult', fields: {
      task: { id: 1, ...taskId },
      lease: { id: 2, type: 'uint32' },
      digest: { id: 81, type: 'string', max: 71 },
      salt: { id: 82, type: 'bytes', length: 32 },
      appOutcome: { id: 83, type: 'bool' },
      exitCode: { id: 84, type: 'uint32' },
      oomKilled: { id: 85, type: 'bool' },
      cause: { id: 86, type: 'string', max: 16 },
      logDigest: { id: 87, type: 'string', max: 71 },
    } },
  // The task names its chain (its id's first byte): its escrow, bids and leases live there.
  route: 'task',
  apply(ctx, tx, p) {
    market.revealResult(ctx, tx, p);
  },
});
