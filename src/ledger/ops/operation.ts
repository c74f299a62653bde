import type { Infer, ObjectSchema } from '../../codec/index.ts';
import type { ExecContext } from '../context.ts';
import type { Tx } from '../tx.ts';

// What a transaction kind is, in one place (Lodestar's one file per operation, Lisk's commands):
// its number and name, the schema of its payload, the chain that executes it, the checks it
// passes before it changes anything, and the state transition itself. The table (./index.ts)
// lists every operation; the kinds, schemas, routing and dispatch are derived from it, so a kind
// that lacks any of these does not compile.

/**
 * The chain a kind executes on. Routing by correlation key keeps every kind a single-chain
 * transition (src/ledger/routing.ts):
 * - `home`: the sender's home inner chain — it moves the sender's own funds, which live there;
 * - `task`: the inner chain the payload's task id names — the task, its escrow, bids and leases live there;
 * - `main`: the main chain — shared registries (bookkeepers, stakes, workers, apps, multisig accounts).
 */
export type Route = 'home' | 'task' | 'main';

/** Only a payload that names a task can be routed by it. */
export type RouteFor<P> = P extends { task: Uint8Array } ? Route : Exclude<Route, 'task'>;

export interface Operation<K extends number = number, N extends string = string, S extends ObjectSchema = ObjectSchema> {
  /** The kind's number on the wire (UnsignedTx field 2): never reused, never renumbered. */
  readonly kind: K;
  /** Its name: also its payload schema's `$id`, what errors, logs and the API call it. */
  readonly name: N;
  readonly schema: S & { readonly $id: N };
  /** Which chain executes it (see Route). */
  readonly route: RouteFor<Infer<S>>;
  /**
   * Checks beyond the common ones (chain, nonce, quota) that read state but never write it, run
   * before `apply`. A kind whose checks are interleaved with its effects keeps them in `apply`:
   * a failed transaction leaves no trace either way, and the order of checks decides its error.
   */
  readonly admit?: (ctx: ExecContext, tx: Tx, p: Infer<S>) => void;
  /** The state transition: a pure function of state, block context and transaction. Throws a LedgerError to refuse. */
  readonly apply: (ctx: ExecContext, tx: Tx, p: Infer<S>) => void;
}

/** Declares an operation with its literal kind, name and schema kept in its type. */
export function defineOp<const K extends number, const N extends string, const S extends ObjectSchema & { readonly $id: N }>(
  op: Operation<K, N, S>,
): Operation<K, N, S> {
  return op;
}

/**
 * Any operation, whatever its payload: what the table holds. A handler of one payload type is a
 * handler of `never` (parameters are contravariant), so every operation fits without `any`.
 */
export interface AnyOperation {
  readonly kind: number;
  readonly name: string;
  readonly schema: ObjectSchema;
  readonly route: Route;
  readonly admit?: (ctx: ExecContext, tx: Tx, p: never) => void;
  readonly apply: (ctx: ExecContext, tx: Tx, p: never) => void;
}
