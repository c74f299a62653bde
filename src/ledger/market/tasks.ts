import * as stores from '../stores.ts';
import { bytesEqual, encodeAddress, sha256, toHex, utf8 } from '../../crypto/portable.ts';
import type { ExecContext } from '../context.ts';
import { fail } from '../errors.ts';
import type { Due, DueKind, Lease, Task } from '../marketEntries.ts';
import type { Tx } from '../tx.ts';

// The compute market as ledger logic. Workers, apps and licenses are registered on main; a task
// lives on its poster's home chain with its escrow, bids and leases, so posting, bidding, matching,
// metering and paying are single-chain transitions. What crosses chains goes by receipt: pay to a
// worker or developer homed elsewhere (Credit), and a lease's outcome to the worker's record and
// bond on main (WorkerRecord). Deadlines are heights; each chain looks at what is due at a
// height when the height begins.
//
// Its layers, bottom up: lifecycle.ts (task and lease states and the only moves between them),
// tasks.ts (this: tasks and leases in state, who may act on them, the due queue), escrow.ts,
// workers.ts, matching.ts, compare.ts (redundancy, commit and reveal), disputes.ts, due.ts (the
// deadlines); each market transaction kind is one operation in src/ledger/ops/.

/** A result, log or image digest as the chain takes it. */
export const DIGEST = /^sha256:[0-9a-f]{64}$/;

/** The id of the task a `PostTask` transaction creates on `chain`. */
export function taskIdFor(txHash: Uint8Array, chain: number): Uint8Array {
  const id = sha256(utf8('ZEUSNET/task/v1\0'), txHash);
  id[0] = chain;
  return id;
}

/** Puts `kind` of work for `id` (and its lease) on the queue of `height` (run by ./due.ts when the height begins). */
export function schedule(ctx: ExecContext, height: bigint, kind: DueKind, id: Uint8Array, lease = 0): void {
  const n = stores.dueCounts.get(ctx.state, height)?.n ?? 0n;
  stores.dues.set(ctx.state, height, n, { kind, id, lease } satisfies Due);
  stores.dueCounts.set(ctx.state, height, { n: n + 1n });
}

export function readTask(ctx: ExecContext, id: Uint8Array): [string, Task] {
  const idHex = toHex(id);
  const t = stores.tasks.get(ctx.state, idHex);
  if (!t) fail('TASK_NOT_FOUND', `no task ${idHex}`);
  return [idHex, { ...t, openSlots: [...t.openSlots] }];
}

export function writeTask(ctx: ExecContext, idHex: string, t: Task): void {
  stores.tasks.set(ctx.state, idHex, t);
}

export function readLease(ctx: ExecContext, idHex: string, index: number): Lease {
  const l = stores.leases.get(ctx.state, idHex, index);
  if (!l) fail('LEASE_NOT_FOUND', `task ${idHex} has no lease ${index}`);
  return { ...l };
}

export function writeLease(ctx: ExecContext, idHex: string, index: number, l: Lease): void {
  stores.leases.set(ctx.state, idHex, index, l);
}

export function leaseRef(ctx: ExecContext, p: { task: Uint8Array; lease: number }): [string, Task, Lease] {
  const [idHex, t] = readTask(ctx, p.task);
  return [idHex, t, readLease(ctx, idHex, p.lease)];
}

export function requireOwner(t: Task, tx: Tx): void {
  if (!bytesEqual(t.owner, tx.from)) fail('NOT_AUTHORIZED', `only the task's poster ${encodeAddress(t.owner)} may do this`);
}

export function requireLessee(l: Lease, tx: Tx, index: number): void {
  if (!bytesEqual(l.worker, tx.from)) fail('NOT_LESSEE', `lease ${index} belongs to worker ${encodeAddress(l.worker)}`);
}
