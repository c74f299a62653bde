import * as stores from '../stores.ts';
import { encodeAddress } from '../../crypto/portable.ts';
import { fail } from '../errors.ts';
import { taskId } from '../fields.ts';
import { TaskState } from '../market/lifecycle.ts';
import { readTask } from '../market/tasks.ts';
import type { Bid } from '../marketEntries.ts';
import { defineOp } from './operation.ts';

/** A worker takes back its bid in a task's open window (issue 13: a bid must not hold a worker it cannot serve). */
export const withdrawBid = defineOp({
  kind: 35,
  name: 'WithdrawBid',
  schema: { $id: 'WithdrawBid', fields: { task: { id: 1, ...taskId } } },
  // The task names its chain (its id's first byte): its escrow, bids and leases live there.
  route: 'task',
  /**
   * A worker takes back its bid in the task's open window: it wins nothing there (neither at the close
   * nor by AcceptBid), and the worker may offer elsewhere the capacity the bid held. Once per window,
   * like the bid itself: it cannot bid again in this window (a loop of withdraw and bid would fill
   * the task's bid limit). Moves no money; a bid that won, lost or whose task ended has nothing to take back.
   */
  apply(ctx, tx, p) {
    const [idHex, t] = readTask(ctx, p.task);
    const ref = stores.bidRefs.get(ctx.state, idHex, tx.fromHex);
    if (t.state !== TaskState.Open || !ref || ref.window !== t.closeHeight) {
      fail('BID_NOT_FOUND', `${encodeAddress(tx.from)} has no bid in an open window of task ${idHex} (it won, lost, or the task ended)`);
    }
    const b = stores.bids.get(ctx.state, idHex, ref.index)!;
    if (b.used) fail('BID_NOT_FOUND', 'that bid already won a lease');
    if (b.withdrawn) fail('BID_NOT_FOUND', 'that bid is already withdrawn');
    stores.bids.set(ctx.state, idHex, ref.index, { ...b, withdrawn: true } satisfies Bid);
  },
});
