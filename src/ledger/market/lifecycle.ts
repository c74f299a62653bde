import { toHex } from '../../crypto/portable.ts';
import type { ExecContext } from '../context.ts';
import { fail } from '../errors.ts';
import { TaskKind, type Lease, type Task } from '../marketEntries.ts';

// The lifecycle of a task and of a lease: their states, the transitions between them, and the
// only functions that move a task or a lease from one state to another. Everything else in the
// market (operations, deadlines, escrow) asks these to move it, so the table below is the whole
// state machine (docs/MARKET.md). A move the table does not hold is a bug in ZeusNet, never a
// user's mistake: it throws an internal error, and the transaction that met it is refused on every
// node. Also what the SDK, CLI and console call the states, and which leases are live.

export const TaskState = { Open: 1, Running: 2, Done: 3, Cancelled: 4, Expired: 5 } as const;
export type TaskState = (typeof TaskState)[keyof typeof TaskState];

export const LeaseState = {
  Matched: 1,
  Started: 2,
  Running: 3,
  /** A batch result is in and under review. */
  Completed: 4,
  Failed: 5,
  Cancelled: 6,
  Settled: 7,
  /** The user disputed the result; a verifier re-runs the task. */
  Disputed: 8,
} as const;
export type LeaseState = (typeof LeaseState)[keyof typeof LeaseState];

/** A state's name where people and the API see it: its constant's name in lower case. */
export type TaskStateName = Lowercase<keyof typeof TaskState>;
export type LeaseStateName = Lowercase<keyof typeof LeaseState>;

const namesOf = <N extends string>(states: Record<string, number>): N[] =>
  Object.entries(states)
    .sort(([, a], [, b]) => a - b)
    .map(([k]) => k.toLowerCase() as N);

/** Every task state's name, in the order of the states' numbers. */
export const TASK_STATES: readonly TaskStateName[] = namesOf<TaskStateName>(TaskState);
/** Every lease state's name, in the order of the states' numbers. */
export const LEASE_STATES: readonly LeaseStateName[] = namesOf<LeaseStateName>(LeaseState);
export const TASK_STATE_NAMES: Readonly<Record<number, TaskStateName>> = Object.fromEntries(Object.values(TaskState).map((v, i) => [v, TASK_STATES[i]]));
export const LEASE_STATE_NAMES: Readonly<Record<number, LeaseStateName>> = Object.fromEntries(Object.values(LeaseState).map((v, i) => [v, LEASE_STATES[i]]));

/**
 * Where a task may go from each state. Open takes bids; Running has all its slots leased or
 * dropped; a slot given back (a lease failed or released) opens a new window, Open again. Done,
 * Cancelled and Expired are final: the escrow has gone home.
 */
export const TASK_TRANSITIONS: { readonly [S in TaskState]: readonly TaskState[] } = {
  [TaskState.Open]: [TaskState.Open, TaskState.Running, TaskState.Done, TaskState.Cancelled, TaskState.Expired],
  [TaskState.Running]: [TaskState.Open, TaskState.Running, TaskState.Done, TaskState.Cancelled],
  [TaskState.Done]: [],
  [TaskState.Cancelled]: [],
  [TaskState.Expired]: [],
};

/**
 * Where a lease may go from each state. Matched waits for its worker to start it; Started and
 * Running are metered (Running once a period is reported); Completed has its result (or
 * commitment) in, under review or comparison; Disputed waits for its verifiers. Failed, Cancelled
 * and Settled are final.
 */
export const LEASE_TRANSITIONS: { readonly [S in LeaseState]: readonly LeaseState[] } = {
  [LeaseState.Matched]: [LeaseState.Started, LeaseState.Failed, LeaseState.Cancelled, LeaseState.Settled],
  [LeaseState.Started]: [LeaseState.Running, LeaseState.Completed, LeaseState.Failed, LeaseState.Cancelled, LeaseState.Settled],
  [LeaseState.Running]: [LeaseState.Running, LeaseState.Completed, LeaseState.Failed, LeaseState.Cancelled, LeaseState.Settled],
  [LeaseState.Completed]: [LeaseState.Disputed, LeaseState.Settled, LeaseState.Cancelled],
  [LeaseState.Disputed]: [LeaseState.Settled],
  [LeaseState.Failed]: [],
  [LeaseState.Cancelled]: [],
  [LeaseState.Settled]: [],
};

type LeaseStateLike = LeaseState | LeaseStateName | number | string;
const LEASE_BY_NAME = new Map<string, LeaseState>(Object.values(LeaseState).map((v) => [LEASE_STATE_NAMES[v], v]));
const leaseStateOf = (s: LeaseStateLike): LeaseState | undefined =>
  typeof s === 'number' ? (Object.hasOwn(LEASE_TRANSITIONS, s) ? (s as LeaseState) : undefined) : LEASE_BY_NAME.get(s);

/**
 * The "live lease" rule, one for everyone: a lease is live until it has ended (failed, cancelled
 * or settled). A live lease holds its worker and its slot — the worker cannot take another lease of
 * the task, the task cannot finish — and counts in the task's `activeLeases`. Takes a state's
 * number (ledger) or its name (API, SDK, CLI, console).
 */
export function isLiveLease(state: LeaseStateLike): boolean {
  const s = leaseStateOf(state);
  return s !== undefined && LEASE_TRANSITIONS[s].length > 0;
}

/**
 * A live lease whose worker still has work to do on it: start it (matched), or run it and report
 * (started, running). A completed or disputed lease is live but its work is delivered.
 */
export function isLeaseAtWork(state: LeaseStateLike): boolean {
  const s = leaseStateOf(state);
  return s === LeaseState.Matched || isLeaseMetered(state);
}

/** A lease whose time is being paid for: started, and not yet ended nor completed. */
export function isLeaseMetered(state: LeaseStateLike): boolean {
  const s = leaseStateOf(state);
  return s === LeaseState.Started || s === LeaseState.Running;
}

/** Whether a task has ended (done, cancelled or expired): its escrow has gone home. */
export const isTaskEnded = (t: Pick<Task, 'state'>): boolean => TASK_TRANSITIONS[t.state as TaskState]?.length === 0;

export const leaseStateName = (s: number): string => LEASE_STATE_NAMES[s] ?? String(s);
const taskStateName = (s: number): string => TASK_STATE_NAMES[s] ?? String(s);

/** A move the state machine does not have: a bug in the ledger, refused as an internal error. */
export class IllegalTransitionError extends Error {
  override name = 'IllegalTransitionError';
}

/** Moves a task to `to`, if its lifecycle allows it. */
export function moveTask(t: Task, to: TaskState): void {
  if (!TASK_TRANSITIONS[t.state as TaskState]?.includes(to)) {
    throw new IllegalTransitionError(`a task cannot go from ${taskStateName(t.state)} to ${taskStateName(to)}`);
  }
  t.state = to;
}

/** Moves a live lease to another live state, if its lifecycle allows it (ending it is `endLease`). */
export function moveLease(
  l: Lease,
  to: typeof LeaseState.Started | typeof LeaseState.Running | typeof LeaseState.Completed | typeof LeaseState.Disputed,
): void {
  checkLeaseMove(l, to);
  l.state = to;
}

function checkLeaseMove(l: Lease, to: LeaseState): void {
  if (!LEASE_TRANSITIONS[l.state as LeaseState]?.includes(to)) {
    throw new IllegalTransitionError(`a lease cannot go from ${leaseStateName(l.state)} to ${leaseStateName(to)}`);
  }
}

/** Ends a lease (failed, cancelled or settled): it frees its worker and its task's count of live leases. */
export function endLease(
  t: Task,
  l: Lease,
  ctx: ExecContext,
  state: typeof LeaseState.Failed | typeof LeaseState.Cancelled | typeof LeaseState.Settled,
  outcome: string,
  idHex: string,
  index: number,
): void {
  checkLeaseMove(l, state);
  l.state = state;
  l.outcome = outcome;
  l.endedAt = BigInt(ctx.height);
  t.activeLeases--;
  ctx.announce({ kind: 'lease-ended', task: idHex, lease: index, worker: toHex(l.worker), detail: `${leaseStateName(state)}: ${outcome}` });
}

/** A batch lease that is running and has not ended with a result yet: the only one a result or commitment may end. */
export function requireResultDue(t: Task, l: Lease, lease: number): void {
  if (t.kind !== TaskKind.Batch) fail('NOT_BATCH', 'a service has no result; it ends when cancelled or out of escrow');
  if (l.state === LeaseState.Completed || l.state === LeaseState.Disputed || l.state === LeaseState.Settled) {
    fail('DUPLICATE_RESULT', `lease ${lease} already submitted its result`);
  }
  if (!isLeaseMetered(l.state)) fail('LEASE_NOT_RUNNING', `lease ${lease} is ${leaseStateName(l.state)}`);
}
