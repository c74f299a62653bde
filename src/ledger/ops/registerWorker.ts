import * as stores from '../stores.ts';
import { ratingOf } from '../../market/index.ts';
import { fail } from '../errors.ts';
import { checkWorkerSpec, takeFromStake } from '../market/workers.ts';
import { WorkerSpecFields, type Counter, type Worker, type WorkerIndex } from '../marketEntries.ts';
import { defineOp } from './operation.ts';

/** The bond moves from the worker's stake on main; `benchmark` (0..1000) is its own claim, recorded and shown, not rated. */
export const registerWorker = defineOp({
  kind: 16,
  name: 'RegisterWorker',
  schema: { $id: 'RegisterWorker', fields: { ...WorkerSpecFields, bond: { id: 20, type: 'uint64' }, benchmark: { id: 21, type: 'uint32' } } },
  // The worker registry, and the stake the bond comes from, are on main: every inner chain reads it.
  route: 'main',
  admit(_ctx, _tx, p) {
    checkWorkerSpec(p);
    if (p.benchmark > 1000) fail('INVALID_ARGUMENT', 'benchmark score is 0..1000');
  },
  apply(ctx, tx, p) {
    const existing = stores.workers.get(ctx.state, tx.fromHex);
    if (existing && existing.bond > 0n) fail('ALREADY_REGISTERED', 'this worker is registered (or its bond has not returned yet)');
    const min = ctx.params.market.minWorkerBond;
    if (p.bond < min) fail('BOND_TOO_SMALL', `a worker bonds at least ${min} base units; ${p.bond} offered`);
    takeFromStake(ctx, tx.fromHex, p.bond);
    const { bond, benchmark, ...spec } = p;
    const record = existing ?? { completed: 0n, failed: 0n, abandoned: 0n, disputesLost: 0n, slashedTotal: 0n };
    const w: Worker = {
      ...spec,
      bond,
      benchmark,
      completed: record.completed,
      failed: record.failed,
      abandoned: record.abandoned,
      disputesLost: record.disputesLost,
      slashedTotal: record.slashedTotal,
      appFailures: existing?.appFailures ?? 0n,
      released: existing?.released ?? 0n,
      rating: 0,
      leavingAt: 0n,
      registeredAt: BigInt(ctx.height),
    };
    w.rating = ratingOf(w);
    stores.workers.set(ctx.state, tx.fromHex, w);
    if (!existing) {
      const n = stores.workerCount.get(ctx.state)?.n ?? 0n;
      stores.workerIndex.set(ctx.state, n, { worker: tx.from } satisfies WorkerIndex);
      stores.workerCount.set(ctx.state, { n: n + 1n } satisfies Counter);
    }
  },
});
