import { describe, expect, it } from 'vitest';
import {
  containerAfterRestart,
  IllegalLeaseTransition,
  revealAction,
  startRun,
  step,
  WORKER_LEASE_TRANSITIONS,
  type LeaseEffect,
  type LeaseEvent,
  type LeaseRun,
  type LeaseRunInit,
  type WorkerLeasePhase,
} from './leaseMachine.ts';
import { driveLease, type LeaseIO } from './leaseRunner.ts';

// The worker's lease loop without Docker or a node: events in, effects out. Each test asserts what
// the chain would see (which transactions, numbered how, carrying what) and what the operator reads
// (the outcome written beside the lease's logs, the log lines).

const TASK = 'ab'.repeat(32);
const HOUR = 3_600_000;
const base: LeaseRunInit = {
  task: TASK,
  index: 2,
  kind: 'batch',
  chainState: 'matched',
  reports: 0,
  compared: false,
  startedAt: null,
  maxHours: 1,
  reportPeriodMs: 1000,
  fetchFailures: 0,
};

/** A run fed event by event; `last` holds what the latest event asked for. */
class Trace {
  run: LeaseRun;
  last: LeaseEffect[];
  readonly all: LeaseEffect[] = [];
  constructor(init: Partial<LeaseRunInit> = {}) {
    const s = startRun({ ...base, ...init });
    this.run = s.run;
    this.last = s.effects;
    this.all.push(...s.effects);
  }
  on(...events: LeaseEvent[]): LeaseEffect[] {
    for (const e of events) {
      const s = step(this.run, e);
      this.run = s.run;
      this.last = s.effects;
      this.all.push(...s.effects);
    }
    return this.last;
  }
  get phase(): WorkerLeasePhase {
    return this.run.phase;
  }
  /** The transactions asked for so far, as the chain would get them. */
  txs(): string[] {
    return this.all.flatMap((e) =>
      e.do === 'startLease'
        ? ['StartLease']
        : e.do === 'reportUsage'
          ? [`ReportUsage#${e.seq}`]
          : e.do === 'releaseLease'
            ? [`ReleaseLease:${e.reason}`]
            : e.do === 'end'
              ? [e.ending.how]
              : [],
    );
  }
  logs(): string[] {
    return this.all.flatMap((e) => (e.do === 'log' ? [e.line] : []));
  }
  outcome(): Record<string, unknown> | undefined {
    const r = this.all.find((e) => e.do === 'remove' || e.do === 'writeOutcome');
    return r && (r.do === 'remove' || r.do === 'writeOutcome') ? r.outcome : undefined;
  }
}

const running = (reports = 0) => ({ type: 'leaseRead', lease: { state: 'running', reports, outcome: '' }, now: 1 }) as const;
/** Launched at `now`, StartLease committed: waiting for the first report's turn. */
function started(init: Partial<LeaseRunInit> = {}, now = 0): Trace {
  const t = new Trace(init);
  t.on({ type: 'launched', name: 'container 0123456789ab', endpoint: '', now }, { type: 'sent' });
  return t;
}
/** One report turn: the period passes, the lease is live, usage sampled, the report commits. */
function reportTurn(t: Trace, reports = 0): void {
  t.on({ type: 'timer', turn: t.run.turn }, running(reports), { type: 'sampled' }, { type: 'sent' });
}
const collectedOk = { ok: true as const, digest: `sha256:${'c'.repeat(64)}`, tarBytes: 2048, fileBytes: 11, dropped: [] as { name: string; type: string }[] };

describe('the worker lease machine: usage reports', () => {
  it('starts a matched lease with StartLease, then reports once a period, numbered 1, 2, 3', () => {
    const t = new Trace();
    expect(t.last).toEqual([{ do: 'launch' }]);
    expect(t.on({ type: 'launched', name: 'container 0123456789ab', endpoint: '127.0.0.1:4000', now: 0 })).toContainEqual({
      do: 'startLease',
      endpoint: '127.0.0.1:4000',
    });
    expect(t.on({ type: 'sent' })).toContainEqual({ do: 'wait', ms: 1000, turn: 1 });
    expect(t.logs()).toContain(`lease ${TASK.slice(0, 12)}…/2: started container 0123456789ab at 127.0.0.1:4000`);
    for (let i = 0; i < 3; i++) reportTurn(t);
    expect(t.txs()).toEqual(['StartLease', 'ReportUsage#1', 'ReportUsage#2', 'ReportUsage#3']);
    expect(t.phase).toBe('waiting');
    expect(t.last).toContainEqual({ do: 'wait', ms: 1000, turn: 4 });
  });

  it('reports nothing before the period is up, and ignores the timer of an earlier turn', () => {
    const t = started();
    reportTurn(t);
    expect(t.on({ type: 'timer', turn: 1 })).toEqual([]);
    expect(t.phase).toBe('waiting');
    expect(t.txs()).toEqual(['StartLease', 'ReportUsage#1']);
  });

  it("goes on from the chain's count when the chain holds more reports than it sent", () => {
    const t = started();
    reportTurn(t, 0);
    reportTurn(t, 4);
    expect(t.txs()).toEqual(['StartLease', 'ReportUsage#1', 'ReportUsage#5']);
  });

  it('numbers a refused report again on the next turn', () => {
    const t = started();
    t.on({ type: 'timer', turn: 1 }, running(), { type: 'sampled' }, { type: 'sendFailed', message: 'gap' });
    expect(t.logs().at(-1)).toMatch(/usage report refused: gap/);
    reportTurn(t);
    expect(t.txs()).toEqual(['StartLease', 'ReportUsage#1', 'ReportUsage#1']);
  });

  it('keeps a wake-up that comes while a report is in flight: the next turn reads the chain at once', () => {
    const t = started();
    t.on({ type: 'timer', turn: 1 }, running(), { type: 'sampled' }, { type: 'wake' });
    expect(t.on({ type: 'sent' })).toContainEqual({ do: 'readLease' });
    expect(t.last.some((e) => e.do === 'wait')).toBe(false);
    expect(t.phase).toBe('checking');
  });

  it('reads the chain at once when woken while waiting', () => {
    const t = started();
    expect(t.on({ type: 'wake' })).toEqual([{ do: 'readLease' }]);
  });
});

describe('the worker lease machine: deadline, cancel', () => {
  it("stops a batch workload past the task's max hours and reports the app outcome 'time'", () => {
    const t = started({ startedAt: 10 * HOUR, maxHours: 2 });
    t.on({ type: 'timer', turn: 1 }, { ...running(), now: 12 * HOUR });
    expect(t.last).toContainEqual({ do: 'sample' }); // exactly at the deadline: still paid
    t.on({ type: 'sampled' }, { type: 'sent' }, { type: 'timer', turn: 2 }, { ...running(1), now: 12 * HOUR + 1 });
    expect(t.last).toContainEqual({ do: 'stop' });
    expect(t.logs().at(-1)).toMatch(/still running after the task's 2 h; stopping container/);
    t.on({ type: 'stopped' }, { type: 'drained', exit: { code: null, reason: 'stopped' } });
    expect(t.last).toEqual([{ do: 'publishLogs' }]); // nothing collected
    expect(t.on({ type: 'logsPublished' })).toEqual([
      { do: 'end', ending: { how: 'submitAppOutcome', outcome: { exitCode: 0, oomKilled: false, cause: 'time' } } },
    ]);
    t.on({ type: 'ended', logDigest: 'sha256:00' });
    expect(t.outcome()).toEqual({
      exitCode: null,
      reason: 'stopped',
      appOutcome: { exitCode: 0, oomKilled: false, cause: 'time', logDigest: 'sha256:00' },
      result: null,
    });
  });

  it('counts the deadline from the launch when the chain has not started the lease yet', () => {
    const t = started({ maxHours: 1 }, 5 * HOUR);
    t.on({ type: 'timer', turn: 1 }, { ...running(), now: 6 * HOUR });
    expect(t.last).toContainEqual({ do: 'sample' });
    t.on({ type: 'sampled' }, { type: 'sent' }, { type: 'timer', turn: 2 }, { ...running(), now: 6 * HOUR + 1 });
    expect(t.last).toContainEqual({ do: 'stop' });
  });

  it('never stops a service for time', () => {
    const t = started({ kind: 'service', startedAt: 0 });
    t.on({ type: 'timer', turn: 1 }, { ...running(), now: 1000 * HOUR });
    expect(t.last).toEqual([{ do: 'sample' }]);
  });

  it('stops the workload of a lease the poster cancelled, submits nothing and writes down that it was stopped', () => {
    const t = started();
    reportTurn(t);
    t.on({ type: 'wake' }, { type: 'leaseRead', lease: { state: 'cancelled', reports: 1, outcome: 'cancelled by the poster' }, now: 2 });
    expect(t.last).toContainEqual({ do: 'stop' });
    expect(t.logs().at(-1)).toBe(`lease ${TASK.slice(0, 12)}…/2: cancelled on the chain (cancelled by the poster); stopping container 0123456789ab`);
    t.on({ type: 'exited' }, { type: 'stopped' }, { type: 'drained', exit: { code: 0 } });
    expect(t.last).toEqual([{ do: 'publishLogs' }]); // a stopped lease's /out is no result
    t.on({ type: 'logsPublished' });
    expect(t.txs()).toEqual(['StartLease', 'ReportUsage#1']);
    expect(t.last).toContainEqual({ do: 'count', what: 'workloadsStopped' });
    expect(t.outcome()).toEqual({ stopped: true, exitCode: 0, result: null });
    expect(t.on({ type: 'removed' })).toEqual([]);
    expect(t.phase).toBe('done');
  });

  it('keeps reporting while the node does not answer', () => {
    const t = started();
    t.on({ type: 'timer', turn: 1 }, { type: 'leaseRead', now: 1 });
    expect(t.last).toEqual([{ do: 'sample' }]);
  });
});

describe('the worker lease machine: the workload exits', () => {
  function exits(init: Partial<LeaseRunInit>, exit: { code: number | null; reason?: string; cause?: 'memory' | 'time' | 'trap' }): Trace {
    const t = started(init);
    reportTurn(t);
    t.on({ type: 'exited' }, { type: 'drained', exit, logs: { kept: 100, dropped: 0 } });
    return t;
  }

  it('collects a batch result, publishes the log, then submits the result', () => {
    const t = exits({}, { code: 0 });
    expect(t.last).toEqual([{ do: 'collect' }]);
    expect(t.on({ type: 'collected', result: collectedOk })).toEqual([{ do: 'publishLogs' }]);
    expect(t.on({ type: 'logsPublished' })).toEqual([{ do: 'end', ending: { how: 'submitResult' } }]);
    t.on({ type: 'ended', submitted: collectedOk.digest, repository: 'zeus1x/results' });
    expect(t.outcome()).toEqual({ exitCode: 0, result: { repository: 'zeus1x/results', digest: collectedOk.digest, bytes: 2048, fileBytes: 11, dropped: [] } });
    expect(t.logs().at(-1)).toBe(`lease ${TASK.slice(0, 12)}…/2: result ${collectedOk.digest} (2048 bytes) submitted after 1 report(s)`);
    expect(t.txs()).toEqual(['StartLease', 'ReportUsage#1', 'submitResult']);
  });

  it("commits a compared lease's result instead of submitting it", () => {
    const t = exits({ compared: true }, { code: 0 });
    t.on({ type: 'collected', result: collectedOk }, { type: 'logsPublished' });
    expect(t.last).toEqual([{ do: 'end', ending: { how: 'commitResult' } }]);
    t.on({ type: 'ended', submitted: collectedOk.digest });
    expect(t.outcome()).toEqual({ exitCode: 0, result: { committed: collectedOk.digest, bytes: 2048, fileBytes: 11, dropped: [] } });
  });

  it("reports an app that exits non-zero as the lease's app outcome", () => {
    const t = exits({}, { code: 3 });
    expect(t.last).toEqual([{ do: 'publishLogs' }]);
    expect(t.on({ type: 'logsPublished' })).toEqual([
      { do: 'end', ending: { how: 'submitAppOutcome', outcome: { exitCode: 3, oomKilled: false, cause: '' } } },
    ]);
    t.on({ type: 'ended', logDigest: 'sha256:11' });
    expect(t.logs().at(-1)).toMatch(/the app exited 3 on its own; its outcome is reported as the lease's result after 1 report\(s\)/);
    expect(t.last).toContainEqual({ do: 'count', what: 'workloadsFailed' });
  });

  it('reports an OOM kill as oomKilled, and commits it in a compared lease', () => {
    const t = exits({ compared: true }, { code: null, reason: 'out of memory', cause: 'memory' });
    t.on({ type: 'logsPublished' });
    expect(t.last).toEqual([{ do: 'end', ending: { how: 'commitAppOutcome', outcome: { exitCode: 0, oomKilled: true, cause: 'memory' } } }]);
    t.on({ type: 'ended', logDigest: 'sha256:22' });
    expect(t.outcome()).toMatchObject({ exitCode: null, reason: 'out of memory', appOutcome: { oomKilled: true, cause: 'memory', logDigest: 'sha256:22' } });
  });

  it("reports a result larger than the lease's disk as the app outcome 'disk'", () => {
    const t = exits({}, { code: 0 });
    t.on({ type: 'collected', result: { ok: false, error: 'too large for a result', tooLarge: true } }, { type: 'logsPublished' });
    expect(t.last).toEqual([{ do: 'end', ending: { how: 'submitAppOutcome', outcome: { exitCode: 0, oomKilled: false, cause: 'disk' } } }]);
  });

  it('submits nothing for a result that cannot be read: the report deadline ends the lease', () => {
    const t = exits({}, { code: 0 });
    t.on({ type: 'collected', result: { ok: false, error: 'the result could not be read: EIO', tooLarge: false } }, { type: 'logsPublished' });
    expect(t.txs()).toEqual(['StartLease', 'ReportUsage#1']);
    expect(t.outcome()).toEqual({ exitCode: 0, reason: 'the result could not be read: EIO', result: null });
  });

  it('submits nothing when a service exits', () => {
    const t = exits({ kind: 'service' }, { code: 0 });
    expect(t.last).toEqual([{ do: 'publishLogs' }]);
    t.on({ type: 'logsPublished' });
    expect(t.logs().at(-1)).toMatch(/workload exited 0; no result submitted, the report deadline ends the lease/);
    expect(t.txs()).toEqual(['StartLease', 'ReportUsage#1']);
  });

  it('sends no report when the workload exits while its usage is sampled', () => {
    const t = started();
    t.on({ type: 'timer', turn: 1 }, running(), { type: 'exited' });
    expect(t.on({ type: 'sampled' })).toEqual([{ do: 'drain' }]);
    expect(t.txs()).toEqual(['StartLease']);
  });

  it('says how much of the log was dropped past the cap', () => {
    const t = started();
    t.on({ type: 'exited' }, { type: 'drained', exit: { code: 3 }, logs: { kept: 8, dropped: 5 } });
    expect(t.logs().at(-1)).toMatch(/its log kept the first 8 bytes of its output; 5 more were dropped past the cap/);
  });

  it('removes the workload and fails the run when an ending transaction is refused', () => {
    const t = exits({}, { code: 0 });
    t.on({ type: 'collected', result: collectedOk }, { type: 'logsPublished' }, { type: 'failed', message: 'transaction x rejected' });
    expect(t.last).toEqual([{ do: 'remove', outcome: undefined }]);
    expect(t.on({ type: 'removed' })).toEqual([{ do: 'fail', message: 'transaction x rejected' }]);
  });
});

describe('the worker lease machine: release', () => {
  const unfetchable = { type: 'launchFailed', message: 'no peer has it', unfetchable: 'IMAGE_NOT_FOUND' } as const;

  it('releases a matched lease whose image cannot be fetched a second time, and writes down why', () => {
    const t = new Trace({ fetchFailures: 1 });
    t.on(unfetchable);
    expect(t.txs()).toEqual(['ReleaseLease:IMAGE_NOT_FOUND']);
    t.on({ type: 'sent' });
    expect(t.last).toContainEqual({ do: 'markReleased' });
    expect(t.outcome()).toEqual({ released: 'IMAGE_NOT_FOUND', result: null });
    expect(t.phase).toBe('done');
  });

  it('does not release at the first failure, but counts it', () => {
    const t = new Trace();
    expect(t.on(unfetchable)).toEqual([
      { do: 'fetchFailures', n: 1 },
      { do: 'fail', message: 'no peer has it' },
    ]);
    expect(t.txs()).toEqual([]);
  });

  it('never releases a lease already started, nor for a failure that is not an unfetchable image', () => {
    expect(new Trace({ chainState: 'running', fetchFailures: 5 }).on(unfetchable)).toEqual([{ do: 'fail', message: 'no peer has it' }]);
    expect(new Trace({ fetchFailures: 5 }).on({ type: 'launchFailed', message: 'disk full' })).toEqual([{ do: 'fail', message: 'disk full' }]);
  });

  it('forgets the failures once the image is fetched', () => {
    expect(new Trace({ fetchFailures: 1 }).on({ type: 'launched', name: 'w', endpoint: '', now: 0 })).toContainEqual({ do: 'fetchFailures', n: 0 });
  });
});

describe('the worker lease machine: restart take-up', () => {
  it("takes up a running container without StartLease and reports on from the chain's count", () => {
    const t = new Trace({ chainState: 'running', reports: 4, startedAt: 0, workload: { name: 'container 0123456789ab', endpoint: '', now: 1 } });
    expect(t.last.some((e) => e.do === 'launch' || e.do === 'startLease')).toBe(false);
    expect(t.logs()).toEqual([`lease ${TASK.slice(0, 12)}…/2: taken up again after a restart, 4 report(s) on the chain`]);
    reportTurn(t, 4);
    expect(t.txs()).toEqual(['ReportUsage#5']);
  });

  it('starts a workload again for a started lease with no container, without StartLease', () => {
    const t = new Trace({ chainState: 'started', reports: 0, startedAt: 0 });
    expect(t.last).toEqual([{ do: 'launch' }]);
    t.on({ type: 'launched', name: 'w', endpoint: '', now: 5 });
    expect(t.logs()).toEqual([`lease ${TASK.slice(0, 12)}…/2: started again after a restart, 0 report(s) on the chain`]);
    expect(t.phase).toBe('waiting');
    expect(t.txs()).toEqual([]);
  });

  it('ends a taken-up workload that exited while no agent ran: its result is submitted, with no report', () => {
    const t = new Trace({ chainState: 'running', reports: 2, startedAt: 0, workload: { name: 'w', endpoint: '', now: 1 } });
    expect(t.on({ type: 'exited' })).toEqual([{ do: 'drain' }]);
    t.on({ type: 'drained', exit: { code: 0 } }, { type: 'collected', result: collectedOk }, { type: 'logsPublished' });
    expect(t.txs()).toEqual(['submitResult']);
  });

  it('takes up a container only while its lease is live on the chain', () => {
    expect(containerAfterRestart({ state: 'running' })).toBe('takeUp');
    expect(containerAfterRestart({ state: 'matched' })).toBe('takeUp');
    expect(containerAfterRestart({ state: 'completed' })).toBe('remove');
    expect(containerAfterRestart({ state: 'cancelled' })).toBe('remove');
    expect(containerAfterRestart(undefined)).toBe('remove');
  });
});

describe('the reveal phase', () => {
  const lease = { state: 'completed', resultDigest: '', revealBy: null, outcome: '' };
  it('waits while the commitment is not on the chain yet or the phase is not open', () => {
    expect(revealAction('t/0', undefined)).toEqual({ do: 'wait' });
    expect(revealAction('t/0', { ...lease, state: 'running' })).toEqual({ do: 'wait' });
    expect(revealAction('t/0', lease)).toEqual({ do: 'wait' });
  });
  it('reveals a committed lease once its reveal phase is open (after a restart too: it is read from reveal.json)', () => {
    expect(revealAction('t/0', { ...lease, revealBy: 120 })).toEqual({ do: 'reveal' });
  });
  it('forgets it once revealed, or when the lease was decided without it (and says so)', () => {
    expect(revealAction('t/0', { ...lease, revealBy: 120, resultDigest: 'sha256:aa' })).toEqual({ do: 'forget' });
    expect(revealAction('t/0', { ...lease, state: 'failed', outcome: 'no reveal' })).toEqual({
      do: 'forget',
      log: 'lease t/0: failed before its reveal (no reveal)',
    });
  });
});

describe('the transition table', () => {
  it('refuses an event the phase does not expect', () => {
    const t = started();
    expect(() => t.on({ type: 'sampled' })).toThrow(IllegalLeaseTransition);
    const done = new Trace({ fetchFailures: 1 });
    done.on({ type: 'launchFailed', message: 'x' });
    expect(() => done.on({ type: 'sent' })).toThrow(IllegalLeaseTransition);
  });

  it('lists every phase, and only done is final', () => {
    const finals = Object.entries(WORKER_LEASE_TRANSITIONS)
      .filter(([, to]) => to.length === 0)
      .map(([p]) => p);
    expect(finals).toEqual(['done']);
  });
});

describe('the lease runner with injected I/O', () => {
  /** A fake world: a manual clock and timers, a workload that exits when told, a chain that records. */
  function world(opts: { leaseState?: () => string; sample?: () => Promise<void> } = {}) {
    let now = 0;
    const timers: { at: number; fire: () => void; live: boolean }[] = [];
    const sent: string[] = [];
    const lines: string[] = [];
    let exit: (() => void) | undefined;
    const exited = new Promise<void>((res) => (exit = res));
    const io: LeaseIO = {
      now: () => now,
      setTimer: (ms, fire) => {
        const t = { at: now + ms, fire, live: true };
        timers.push(t);
        return () => (t.live = false);
      },
      launch: async () => ({ name: 'fake', endpoint: '', exited }),
      unfetchable: () => undefined,
      startLease: async () => void sent.push('StartLease'),
      startMeter: () => undefined,
      reportUsage: async (seq) => void sent.push(`ReportUsage#${seq}`),
      releaseLease: async (r) => void sent.push(`ReleaseLease:${r}`),
      readLease: async () => ({ state: opts.leaseState?.() ?? 'running', reports: 0, outcome: '' }),
      sample: opts.sample ?? (async () => undefined),
      stop: async () => exit?.(),
      drain: async () => ({ exit: { code: 0 } }),
      collect: async () => collectedOk,
      publishLogs: async () => undefined,
      end: async (e) => {
        sent.push(e.how);
        return { submitted: collectedOk.digest, repository: 'r' };
      },
      remove: async (outcome) => void sent.push(`removed${outcome ? ' with an outcome' : ''}`),
      writeOutcome: () => undefined,
      markReleased: () => undefined,
      setFetchFailures: () => undefined,
      count: () => undefined,
      log: (l) => void lines.push(l),
    };
    const settle = () => new Promise((res) => setTimeout(res, 0));
    /** Moves the clock on by `ms`, firing the timers due, and lets the effects run. */
    const advance = async (ms: number) => {
      now += ms;
      for (const t of timers.filter((t) => t.live && t.at <= now)) {
        t.live = false;
        t.fire();
      }
      for (let i = 0; i < 5; i++) await settle();
    };
    return { io, sent, lines, advance, exit: () => exit?.() };
  }

  it('reports on the clock it is given, then submits the result when the workload exits', async () => {
    const w = world();
    const d = driveLease(base, w.io);
    await w.advance(0);
    expect(w.sent).toEqual(['StartLease']);
    await w.advance(999);
    expect(w.sent).toEqual(['StartLease']);
    await w.advance(1);
    await w.advance(1000);
    expect(w.sent).toEqual(['StartLease', 'ReportUsage#1', 'ReportUsage#2']);
    w.exit();
    await w.advance(0);
    await d.done;
    expect(w.sent).toEqual(['StartLease', 'ReportUsage#1', 'ReportUsage#2', 'submitResult', 'removed with an outcome']);
    expect(d.run.phase).toBe('done');
  });

  it('stops at once, between reports, when woken for a lease the chain cancelled', async () => {
    let state = 'running';
    const w = world({ leaseState: () => state });
    const d = driveLease(base, w.io);
    await w.advance(0);
    await w.advance(1000);
    state = 'cancelled';
    d.wake();
    await w.advance(0);
    await d.done;
    expect(w.sent).toEqual(['StartLease', 'ReportUsage#1', 'removed with an outcome']);
    expect(w.lines.some((l) => l.includes('cancelled on the chain'))).toBe(true);
  });

  it('removes the workload and fails the run with the error when the engine breaks off mid-run', async () => {
    const w = world({ sample: async () => Promise.reject(new Error('engine gone')) });
    const d = driveLease(base, w.io);
    // Watched from the start, as the agent awaits it: the run fails while the clock advances.
    const failed = expect(d.done).rejects.toThrow('engine gone');
    await w.advance(0);
    await w.advance(1000);
    await failed;
    expect(w.sent).toEqual(['StartLease', 'removed']);
  });

  it('drives a workload taken up after a restart without launching or starting it', async () => {
    const w = world();
    const d = driveLease({ ...base, chainState: 'running', reports: 7, startedAt: 0 }, w.io, {
      name: 'container 0123456789ab',
      endpoint: '',
      exited: new Promise(() => undefined),
    });
    await w.advance(1000);
    expect(w.sent).toEqual(['ReportUsage#8']);
    expect(w.lines[0]).toMatch(/taken up again after a restart, 7 report\(s\) on the chain/);
    expect(d.run.phase).toBe('waiting');
  });
});
