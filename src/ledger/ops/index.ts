import type { Infer } from '../../codec/index.ts';
import type { ExecContext } from '../context.ts';
import { MAIN_CHAIN } from '../params.ts';
import { homeChain, taskChain } from '../routing.ts';
import type { Tx } from '../tx.ts';
import { acceptBid } from './acceptBid.ts';
import { acquireLicense } from './acquireLicense.ts';
import { bid } from './bid.ts';
import { cancelTask } from './cancelTask.ts';
import { commitResult } from './commitResult.ts';
import { deprecateApp } from './deprecateApp.ts';
import { dispute } from './dispute.ts';
import { delegate, registerCandidate, submitEvidence, unjail, voteBookkeepers } from './election.ts';
import { govDeposit, govPropose, govVote } from './gov.ts';
import { leaveWorker } from './leaveWorker.ts';
import { multisigApprove, multisigCreate, multisigExecute, multisigPropose } from './multisig.ts';
import type { AnyOperation } from './operation.ts';
import { postTask } from './postTask.ts';
import { publishApp } from './publishApp.ts';
import { registerWorker } from './registerWorker.ts';
import { releaseLease } from './releaseLease.ts';
import { reportUsage } from './reportUsage.ts';
import { revealResult } from './revealResult.ts';
import { stake, unstake } from './staking.ts';
import { startLease } from './startLease.ts';
import { submitAppOutcome } from './submitAppOutcome.ts';
import { submitResult } from './submitResult.ts';
import { tokenConvert, tokenCreate, tokenRedeem } from './token.ts';
import { topUpTask } from './topUpTask.ts';
import { transfer } from './transfer.ts';
import { updateWorker } from './updateWorker.ts';
import { withdrawBid } from './withdrawBid.ts';

// The operations table: every transaction kind the ledger knows, each defined in its own file
// (./operation.ts says what an operation is). `TxKind`, `TX_KIND_NAMES`, `PayloadSchemas`,
// `routeTx` and the dispatch of `applyTx` are all derived from this one list. To add a kind:
// write its file, append it here with the next unused number. A kind missing its schema, route
// or handler, or reusing a number or a name, does not compile (src/ledger/ops/table.test.ts).

/** The kind number or name that two operations of a table share (`never`: none). */
export type Duplicate<T extends readonly AnyOperation[], Kinds = never, Names = never> = T extends readonly [
  infer H extends AnyOperation,
  ...infer R extends readonly AnyOperation[],
]
  ? H['kind'] extends Kinds
    ? H['kind']
    : H['name'] extends Names
      ? H['name']
      : Duplicate<R, Kinds | H['kind'], Names | H['name']>
  : never;

/** A table of operations: refused by the compiler if two share a kind number or a name. */
export function opTable<const T extends readonly AnyOperation[]>(
  ops: T & ([Duplicate<T>] extends [never] ? unknown : { readonly duplicateKindOrName: Duplicate<T> }),
): T {
  return ops;
}

export const OPERATIONS = opTable([
  transfer,
  tokenCreate,
  tokenRedeem,
  tokenConvert,
  multisigCreate,
  multisigPropose,
  multisigApprove,
  multisigExecute,
  stake,
  unstake,
  registerCandidate,
  voteBookkeepers,
  delegate,
  unjail,
  submitEvidence,
  registerWorker,
  updateWorker,
  leaveWorker,
  publishApp,
  deprecateApp,
  acquireLicense,
  postTask,
  cancelTask,
  topUpTask,
  bid,
  acceptBid,
  startLease,
  reportUsage,
  submitResult,
  dispute,
  commitResult,
  revealResult,
  submitAppOutcome,
  releaseLease,
  withdrawBid,
  govPropose,
  govDeposit,
  govVote,
]);

type Op = (typeof OPERATIONS)[number];
/** The operation of kind `K`. */
export type OperationOf<K extends TxKind> = Extract<Op, { kind: K }>;

/** Every transaction kind by name, with its number on the wire. */
export const TxKind = Object.fromEntries(OPERATIONS.map((o) => [o.name, o.kind])) as { readonly [O in Op as O['name']]: O['kind'] };
export type TxKind = Op['kind'];

export const TX_KIND_NAMES: Record<number, string> = Object.fromEntries(OPERATIONS.map((o) => [o.kind, o.name]));

/** Each kind's payload schema, by kind number. */
export const PayloadSchemas = Object.fromEntries(OPERATIONS.map((o) => [o.kind, o.schema])) as { readonly [O in Op as O['kind']]: O['schema'] };

export type Payload<K extends TxKind> = Infer<(typeof PayloadSchemas)[K]>;
export type AnyPayload = { [K in TxKind]: { kind: K; payload: Payload<K> } }[TxKind];

const BY_KIND = new Map<number, AnyOperation>(OPERATIONS.map((o) => [o.kind, o]));
if (BY_KIND.size !== OPERATIONS.length) throw new Error('two operations share a kind number');

function operationOf(kind: number): AnyOperation {
  const op = BY_KIND.get(kind);
  if (!op) throw new Error(`no operation of kind ${kind}`);
  return op;
}

/**
 * The chain that executes a transaction of `kind` from `from` (see each operation's `route`).
 * A kind routed by its task needs the payload.
 */
export function routeTx(kind: TxKind, from: Uint8Array, payload?: unknown): number {
  const route = operationOf(kind).route;
  switch (route) {
    case 'home':
      return homeChain(from);
    case 'main':
      return MAIN_CHAIN;
    case 'task': {
      const id = (payload as { task?: Uint8Array } | undefined)?.task;
      if (!id) throw new Error(`routing transaction kind ${kind} needs its payload`);
      return taskChain(id);
    }
  }
}

/** Runs a transaction's own operation: its admission checks, then its state transition. */
export function applyOperation(ctx: ExecContext, tx: Tx): void {
  const op = operationOf(tx.kind);
  // The payload was decoded with this operation's schema (decodeTx), so it is the one it takes.
  const p = tx.body.payload as never;
  op.admit?.(ctx, tx, p);
  op.apply(ctx, tx, p);
}
