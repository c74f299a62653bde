import { describe, expect, it } from 'vitest';
import type { ExecContext, MarketEvent } from '../context.ts';
import type { Lease, Task } from '../marketEntries.ts';
import {
  endLease,
  IllegalTransitionError,
  isLeaseAtWork,
  isLeaseMetered,
  isLiveLease,
  isTaskEnded,
  LEASE_STATE_NAMES,
  LEASE_STATES,
  LEASE_TRANSITIONS,
  LeaseState,
  moveLease,
  moveTask,
  TASK_STATES,
  TASK_TRANSITIONS,
  TaskState,
} from './lifecycle.ts';

// The lifecycle table is the market's whole state machine: these check that its moves are the
// only ones that happen, and that the names and the live-lease rule everyone uses come from it.
// The market scenarios (src/ledger/market*.test.ts) drive every legal move through real blocks.

const task = (state: number): Task => ({ state, activeLeases: 1 }) as Task;
const lease = (state: number): Lease => ({ state, worker: new Uint8Array(21), outcome: '', endedAt: 0n }) as Lease;
const ctx = (events: MarketEvent[]): ExecContext => ({ height: 7, announce: (e: MarketEvent) => events.push(e) }) as unknown as ExecContext;

describe('the market lifecycle', () => {
  it('moves a task only along the table, and refuses every other move as a bug', () => {
    for (const from of Object.values(TaskState)) {
      for (const to of Object.values(TaskState)) {
        const t = task(from);
        if (TASK_TRANSITIONS[from].includes(to)) {
          moveTask(t, to);
          expect(t.state).toBe(to);
        } else {
          expect(() => moveTask(t, to), `${from} → ${to}`).toThrow(IllegalTransitionError);
          expect(t.state).toBe(from);
        }
      }
    }
    // An ended task goes nowhere: its escrow has gone home.
    for (const s of [TaskState.Done, TaskState.Cancelled, TaskState.Expired]) expect(isTaskEnded(task(s))).toBe(true);
    expect(() => moveTask(task(TaskState.Done), TaskState.Open)).toThrow('a task cannot go from done to open');
  });

  it("moves and ends a lease only along the table; ending frees its worker and its task's count", () => {
    const live = [LeaseState.Started, LeaseState.Running, LeaseState.Completed, LeaseState.Disputed] as const;
    const ends = [LeaseState.Failed, LeaseState.Cancelled, LeaseState.Settled] as const;
    for (const from of Object.values(LeaseState)) {
      for (const to of live) {
        const l = lease(from);
        if (LEASE_TRANSITIONS[from].includes(to)) moveLease(l, to);
        else expect(() => moveLease(l, to), `${from} → ${to}`).toThrow(IllegalTransitionError);
      }
      for (const to of ends) {
        const l = lease(from);
        const t = task(TaskState.Running);
        const events: MarketEvent[] = [];
        if (LEASE_TRANSITIONS[from].includes(to)) {
          endLease(t, l, ctx(events), to, 'why', 'ab', 3);
          expect([l.state, l.outcome, l.endedAt, t.activeLeases]).toEqual([to, 'why', 7n, 0]);
          expect(events).toEqual([{ kind: 'lease-ended', task: 'ab', lease: 3, worker: '00'.repeat(21), detail: `${LEASE_STATE_NAMES[to]}: why` }]);
        } else {
          expect(() => endLease(t, l, ctx(events), to, 'why', 'ab', 3), `${from} → ${to}`).toThrow(IllegalTransitionError);
          expect([l.state, t.activeLeases, events.length]).toEqual([from, 1, 0]);
        }
      }
    }
    expect(() => endLease(task(TaskState.Running), lease(LeaseState.Settled), ctx([]), LeaseState.Failed, '', 'ab', 0)).toThrow(
      'a lease cannot go from settled to failed',
    );
  });

  it('one live-lease rule: live until failed, cancelled or settled, by number and by name alike', () => {
    const liveByNumber = Object.values(LeaseState).filter((s) => isLiveLease(s));
    expect(liveByNumber).toEqual([LeaseState.Matched, LeaseState.Started, LeaseState.Running, LeaseState.Completed, LeaseState.Disputed]);
    expect(LEASE_STATES.filter((n) => isLiveLease(n))).toEqual(liveByNumber.map((s) => LEASE_STATE_NAMES[s]));
    // At work: still to be started or run; metered: its time is paid for. Both are live.
    expect(LEASE_STATES.filter((n) => isLeaseAtWork(n))).toEqual(['matched', 'started', 'running']);
    expect(LEASE_STATES.filter((n) => isLeaseMetered(n))).toEqual(['started', 'running']);
    for (const n of LEASE_STATES) if (isLeaseAtWork(n)) expect(isLiveLease(n)).toBe(true);
    for (const junk of ['', 'Matched', '__proto__', 'constructor', 0, 9]) expect([isLiveLease(junk), isLeaseAtWork(junk)]).toEqual([false, false]);
  });

  it('names the states as the API has always named them', () => {
    expect(TASK_STATES).toEqual(['open', 'running', 'done', 'cancelled', 'expired']);
    expect(LEASE_STATES).toEqual(['matched', 'started', 'running', 'completed', 'failed', 'cancelled', 'settled', 'disputed']);
  });
});
