import { isLeaseAtWork, type AppOutcomeCanonical } from '../ledger/index.ts';

// The worker's side of one lease, as a state machine: what the agent does with a lease it holds,
// from launching its workload to the transaction that ends it. `step(run, event)` is pure — no clock,
// timer, chain, engine or disk: the time comes in the events, and what the agent must do comes out as
// effects (send this transaction, arm this timer, sample the workload…) that the driver
// (src/worker/leaseRunner.ts) performs, feeding what came of each back as the next event. So every
// transition can be tested without Docker or a node (leaseMachine.test.ts), like the consensus core.
//
// These are the WORKER's phases of its own work on a lease, not the chain's lease states
// (matched, started, running, completed, …), which the machine only reads: from the lease as the
// chain shows it (`ChainLeaseView`) it learns whether the lease still pays.
//
// At most one operation is in flight (the phase names it); two things may happen at any time and
// are kept as flags until the machine can act on them, so neither is lost: the workload exits
// (`exited`), and the chain says the lease may have ended (`woken`: cancel, deadline, escrow).

/** Failed fetches of a matched lease's image (each across every peer) before the lease is released. */
export const RELEASE_AFTER_FAILURES = 2;

/** What the worker is doing with a lease it holds. */
export type WorkerLeasePhase =
  /** Fetching the image and starting the workload. */
  | 'launching'
  /** The workload runs; StartLease is on its way to the chain. */
  | 'starting'
  /** Between usage reports: waiting for the report period, a chain event or the workload's exit. */
  | 'waiting'
  /** Reading the lease on the chain: does it still pay? */
  | 'checking'
  /** Reading the workload's usage from its engine. */
  | 'sampling'
  /** ReportUsage is on its way. */
  | 'reporting'
  /** Stopping a workload no lease pays for any more (ended on the chain, or past the task's max hours). */
  | 'stopping'
  /** The workload has ended: waiting for all it printed to be in its log. */
  | 'draining'
  /** Reading a batch workload's /out as its result. */
  | 'collecting'
  /** Sealing the lease's log to the poster and publishing it. */
  | 'publishingLogs'
  /** Sending what ends the lease: SubmitResult, CommitResult or SubmitAppOutcome. */
  | 'ending'
  /** Removing the workload (container, volumes, files) and writing down how the lease went. */
  | 'removing'
  /** The image cannot be fetched: ReleaseLease is on its way. */
  | 'releasing'
  /** Nothing more to do for this lease here (a commitment still waits for its reveal: `revealAction`). */
  | 'done';

/**
 * The legal moves; `step` refuses any other, so a new path must be added here to exist. Every phase
 * with a workload may go to `removing`: an operation that breaks off (engine, node) ends the run,
 * and the workload is removed either way.
 */
export const WORKER_LEASE_TRANSITIONS: { readonly [P in WorkerLeasePhase]: readonly WorkerLeasePhase[] } = {
  launching: ['starting', 'waiting', 'checking', 'draining', 'releasing', 'done'],
  starting: ['waiting', 'checking', 'draining', 'removing'],
  waiting: ['checking', 'draining', 'removing'],
  checking: ['sampling', 'stopping', 'removing'],
  sampling: ['reporting', 'draining', 'removing'],
  reporting: ['waiting', 'checking', 'draining', 'removing'],
  stopping: ['draining', 'removing'],
  draining: ['collecting', 'publishingLogs', 'removing'],
  collecting: ['publishingLogs', 'removing'],
  publishingLogs: ['ending', 'removing'],
  ending: ['removing'],
  removing: ['done'],
  releasing: ['done'],
  done: [],
};

/** How a workload ended (src/worker/workload.ts's WorkloadExit, as the machine needs it). */
export interface ExitView {
  code: number | null;
  reason?: string;
  cause?: Exclude<AppOutcomeCanonical['cause'], ''>;
}

/** A batch result read from /out, as the machine needs it (the files stay with the driver). */
export type CollectedView =
  | { ok: true; digest: string; tarBytes: number; fileBytes: number; dropped: { name: string; type: string }[] }
  | { ok: false; error: string; tooLarge: boolean };

/** The lease as the chain shows it now. */
export interface ChainLeaseView {
  state: string;
  reports: number;
  outcome: string;
}

/** How the lease's work ends on the chain. */
export type Ending =
  | { how: 'submitResult' }
  | { how: 'commitResult' }
  | { how: 'submitAppOutcome'; outcome: AppOutcomeCanonical }
  | { how: 'commitAppOutcome'; outcome: AppOutcomeCanonical };

export type WorkerCount = 'leasesStarted' | 'reports' | 'results' | 'workloadsFailed' | 'workloadsStopped';

export type LeaseEffect =
  | { do: 'launch' }
  | { do: 'startLease'; endpoint: string }
  | { do: 'reportUsage'; seq: number }
  | { do: 'releaseLease'; reason: string }
  /** Arm the report timer: a `timer` event with this turn after `ms`. */
  | { do: 'wait'; ms: number; turn: number }
  /** Usage is metered from now on (from what the chain has recorded). */
  | { do: 'startMeter' }
  | { do: 'readLease' }
  | { do: 'sample' }
  | { do: 'stop' }
  /** Wait for the exit and for the log to be complete. */
  | { do: 'drain' }
  | { do: 'collect' }
  | { do: 'publishLogs' }
  | { do: 'end'; ending: Ending }
  /** Remove the workload; then write `outcome` down beside the lease's logs, if there is one. */
  | { do: 'remove'; outcome?: Record<string, unknown> }
  | { do: 'writeOutcome'; outcome: Record<string, unknown> }
  /** The worker released a lease of this task: it bids there no more. */
  | { do: 'markReleased' }
  /** The count of failed image fetches kept for this lease across attempts (0: forget it). */
  | { do: 'fetchFailures'; n: number }
  | { do: 'count'; what: WorkerCount }
  | { do: 'log'; line: string }
  /** The run ends with this error (the next poll takes the lease up again if the chain still says so). */
  | { do: 'fail'; message: string };

export type LeaseEvent =
  | { type: 'launched'; name: string; endpoint: string; now: number }
  /** `unfetchable`: the DDN's code when the image cannot be fetched at all. */
  | { type: 'launchFailed'; message: string; unfetchable?: string }
  /** The transaction in flight (StartLease, ReportUsage, ReleaseLease) committed. */
  | { type: 'sent' }
  | { type: 'sendFailed'; message: string }
  | { type: 'timer'; turn: number }
  /** The chain said the lease may have ended (cancel, deadline, escrow). */
  | { type: 'wake' }
  /** The workload stopped, by itself or stopped. */
  | { type: 'exited' }
  /** `lease` undefined: the node did not answer. */
  | { type: 'leaseRead'; lease?: ChainLeaseView; now: number }
  | { type: 'sampled' }
  | { type: 'stopped' }
  | { type: 'drained'; exit: ExitView; logs?: { kept: number; dropped: number }; logsError?: string }
  | { type: 'collected'; result: CollectedView }
  | { type: 'logsPublished' }
  /** The ending transaction committed: what was submitted or committed to, where the result went, the log's digest. */
  | { type: 'ended'; submitted?: string; repository?: string; logDigest?: string }
  | { type: 'removed' }
  /** An operation failed in a way the run cannot go on from (the engine or the node broke off). */
  | { type: 'failed'; message: string };

/** What the machine is told when a lease is taken. */
export interface LeaseRunInit {
  task: string;
  index: number;
  kind: 'batch' | 'service';
  /** The lease's state on the chain when taken: a matched one is started with StartLease. */
  chainState: string;
  /** Usage reports the chain holds already (a restarted agent goes on from them). */
  reports: number;
  /** A redundancy group's or a verifier's lease: its result is committed first and revealed later. */
  compared: boolean;
  /** When the chain says the lease started (ms since the epoch); null for a lease not started yet. */
  startedAt: number | null;
  /** A batch job runs at most this long: the chain pays no more, so neither does the machine. */
  maxHours: number;
  reportPeriodMs: number;
  /** Failed fetches of this lease's image by earlier attempts. */
  fetchFailures: number;
  /** The workload already runs (a container taken up after a restart). */
  workload?: { name: string; endpoint: string; now: number };
}

export interface LeaseRun {
  readonly init: LeaseRunInit;
  readonly phase: WorkerLeasePhase;
  /** How the logs name the lease: `<task's first 12>…/<index>`. */
  readonly label: string;
  /** The workload's name for the logs, once it runs, and where a service answers. */
  readonly workload?: string;
  readonly endpoint?: string;
  /** When a batch workload must stop (ms since the epoch; Infinity for a service), from the time it runs. */
  readonly deadline: number;
  /** The last usage report sent or seen on the chain. */
  readonly seq: number;
  /** Which report timer counts: a timer of an earlier turn is stale. */
  readonly turn: number;
  readonly woken: boolean;
  readonly exited: boolean;
  /** The chain ended the lease: the workload was stopped, nothing is submitted. */
  readonly ended: boolean;
  /** Stopped past the task's max hours: the app's outcome `time`. */
  readonly timedOut: boolean;
  readonly exit?: ExitView;
  readonly collected?: CollectedView;
  /** How the lease ends on the chain, once decided. */
  readonly ending?: Ending;
  /** The DDN's code for an image that cannot be fetched, when the lease is given back. */
  readonly released?: string;
  /** Why the run ends with an error, once the workload is removed. */
  readonly error?: string;
}

export interface Step {
  run: LeaseRun;
  effects: LeaseEffect[];
}

/** The outcome of an app whose /out outgrew the lease's disk. */
const DISK_OUTCOME: AppOutcomeCanonical = { exitCode: 0, oomKilled: false, cause: 'disk' };

/** A batch workload's end as the app's own outcome (exit code, OOM, cause), or undefined when it ended well or not by its own doing. */
export function appOutcomeOf(exit: ExitView, timedOut: boolean): AppOutcomeCanonical | undefined {
  if (timedOut) return { exitCode: 0, oomKilled: false, cause: 'time' };
  if (exit.cause) return { exitCode: 0, oomKilled: exit.cause === 'memory', cause: exit.cause };
  if (exit.code !== null && exit.code !== 0) return { exitCode: exit.code, oomKilled: false, cause: '' };
  return undefined;
}

export class IllegalLeaseTransition extends Error {}

function move(run: LeaseRun, phase: WorkerLeasePhase, changes: Partial<Omit<LeaseRun, 'init' | 'phase' | 'label'>> = {}): LeaseRun {
  if (!WORKER_LEASE_TRANSITIONS[run.phase].includes(phase)) throw new IllegalLeaseTransition(`lease ${run.label}: no move from ${run.phase} to ${phase}`);
  return { ...run, ...changes, phase };
}

const log = (line: string): LeaseEffect => ({ do: 'log', line });

/** A lease just taken: launches its workload, or goes on with the one it has. */
export function startRun(init: LeaseRunInit): Step {
  const run: LeaseRun = {
    init,
    phase: 'launching',
    label: `${init.task.slice(0, 12)}…/${init.index}`,
    deadline: Infinity,
    seq: init.reports,
    turn: 0,
    woken: false,
    exited: false,
    ended: false,
    timedOut: false,
  };
  if (init.workload) return step(run, { type: 'launched', ...init.workload });
  return { run, effects: [{ do: 'launch' }] };
}

/** The next turn of the report loop: the workload's exit ends it, a chain event is looked at now, else wait a period. */
function nextTurn(run: LeaseRun, effects: LeaseEffect[]): Step {
  if (run.exited) return drain(run, effects);
  if (run.woken) return { run: move(run, 'checking', { woken: false }), effects: [...effects, { do: 'readLease' }] };
  const turn = run.turn + 1;
  return { run: move(run, 'waiting', { turn }), effects: [...effects, { do: 'wait', ms: run.init.reportPeriodMs, turn }] };
}

function drain(run: LeaseRun, effects: LeaseEffect[] = []): Step {
  return { run: move(run, 'draining'), effects: [...effects, { do: 'drain' }] };
}

/** Removes the workload, writing `outcome` down; `error` is said once it is gone. */
function remove(run: LeaseRun, effects: LeaseEffect[], outcome?: Record<string, unknown>, error?: string): Step {
  return { run: move(run, 'removing', { error }), effects: [...effects, { do: 'remove', outcome }] };
}

/** After the log is published: how the lease ends, from how its workload ended. */
function decideEnding(run: LeaseRun): Step {
  const { init, label: k, exit, collected } = run;
  if (!exit) throw new IllegalLeaseTransition(`lease ${k}: no exit to decide on`);
  if (run.ended) return remove(run, [{ do: 'count', what: 'workloadsStopped' }], { stopped: true, exitCode: exit.code, result: null });
  // An /out larger than the lease's disk is the app's doing too (the wasm runtime cannot cap it while it runs).
  const overfull = collected !== undefined && !collected.ok && collected.tooLarge;
  const failed = init.kind === 'batch' ? (appOutcomeOf(exit, run.timedOut) ?? (overfull ? DISK_OUTCOME : undefined)) : undefined;
  if (failed) {
    // The app's own end, inside its limits: its outcome is the lease's result, reported now.
    const ending: Ending = init.compared ? { how: 'commitAppOutcome', outcome: failed } : { how: 'submitAppOutcome', outcome: failed };
    return { run: move(run, 'ending', { ending }), effects: [{ do: 'end', ending }] };
  }
  if (exit.code !== 0 || init.kind === 'service') {
    const why = exit.code === null ? exit.reason : `exited ${exit.code}`;
    return remove(
      run,
      [log(`lease ${k}: workload ${why}; no result submitted, the report deadline ends the lease`), { do: 'count', what: 'workloadsFailed' }],
      { exitCode: exit.code, reason: exit.reason ?? null, result: null },
    );
  }
  if (!collected?.ok) {
    const why = collected?.error ?? 'no result';
    return remove(run, [log(`lease ${k}: ${why}; no result submitted, the report deadline ends the lease`), { do: 'count', what: 'workloadsFailed' }], {
      exitCode: exit.code,
      reason: why,
      result: null,
    });
  }
  const ending: Ending = init.compared ? { how: 'commitResult' } : { how: 'submitResult' };
  return { run: move(run, 'ending', { ending }), effects: [{ do: 'end', ending }] };
}

/** What the ending transaction's commit means for the lease's record and the operator's log. */
function ended(run: LeaseRun, ending: Ending, e: Extract<LeaseEvent, { type: 'ended' }>): Step {
  const { label: k, exit, collected } = run;
  if (ending.how === 'submitAppOutcome' || ending.how === 'commitAppOutcome') {
    const code = exit?.code ?? null;
    return remove(
      run,
      [
        { do: 'count', what: 'workloadsFailed' },
        log(
          `lease ${k}: the app ${code === null ? exit?.reason : `exited ${code}`} on its own; its outcome is reported as the lease's result after ${run.seq} report(s)`,
        ),
      ],
      { exitCode: code, reason: exit?.reason ?? null, appOutcome: { ...ending.outcome, logDigest: e.logDigest }, result: null },
    );
  }
  if (!collected?.ok) throw new IllegalLeaseTransition(`lease ${k}: a result ended without one collected`);
  const { tarBytes: bytes, fileBytes, dropped } = collected;
  if (ending.how === 'commitResult') {
    return remove(
      run,
      [
        { do: 'count', what: 'results' },
        log(`lease ${k}: committed to its result (${bytes} bytes) after ${run.seq} report(s); it is published and revealed once every seat has committed`),
      ],
      { exitCode: 0, result: { committed: e.submitted, bytes, fileBytes, dropped } },
    );
  }
  return remove(run, [{ do: 'count', what: 'results' }, log(`lease ${k}: result ${e.submitted} (${bytes} bytes) submitted after ${run.seq} report(s)`)], {
    exitCode: 0,
    result: { repository: e.repository, digest: e.submitted, bytes, fileBytes, dropped },
  });
}

/**
 * One transition: the run as it is after `event`, and what the agent must do now. An event the
 * current phase does not expect is refused (IllegalLeaseTransition) — except a stale report timer,
 * and the workload's exit and the chain's wake-up, which may come at any time and are kept.
 */
export function step(run: LeaseRun, event: LeaseEvent): Step {
  const { init, label: k } = run;
  if (event.type === 'exited') {
    const r = { ...run, exited: true };
    // Only a wait is cut short by it; any other phase looks at the flag when its operation is done.
    return run.phase === 'waiting' ? drain(r) : { run: r, effects: [] };
  }
  if (event.type === 'wake') {
    if (run.phase === 'waiting') return { run: move(run, 'checking', { woken: false }), effects: [{ do: 'readLease' }] };
    if (run.phase === 'done') return { run, effects: [] };
    // Kept for the next turn: lost, it would leave the workload running unpaid for a whole period.
    return { run: { ...run, woken: true }, effects: [] };
  }
  if (event.type === 'timer') {
    if (run.phase !== 'waiting' || event.turn !== run.turn) return { run, effects: [] };
    return { run: move(run, 'checking', { woken: false }), effects: [{ do: 'readLease' }] };
  }
  if (event.type === 'failed') {
    if (run.phase === 'done') return { run, effects: [] };
    // Without a workload, or while removing it, there is nothing left to clean up.
    if (run.phase === 'launching' || run.phase === 'releasing' || run.phase === 'removing')
      return { run: move(run, 'done'), effects: [{ do: 'fail', message: event.message }] };
    // The workload is removed either way; the error is said once it is gone.
    return remove(run, [], undefined, event.message);
  }
  const unexpected = (): never => {
    throw new IllegalLeaseTransition(`lease ${k}: ${event.type} is not expected while ${run.phase}`);
  };
  switch (run.phase) {
    case 'launching': {
      if (event.type === 'launched') {
        const deadline = init.kind === 'batch' ? (init.startedAt ?? event.now) + init.maxHours * 3_600_000 : Infinity;
        const r = { ...run, workload: event.name, endpoint: event.endpoint, deadline };
        const effects: LeaseEffect[] = init.workload ? [] : [{ do: 'fetchFailures', n: 0 }];
        if (init.chainState === 'matched') return { run: move(r, 'starting'), effects: [...effects, { do: 'startLease', endpoint: event.endpoint }] };
        return nextTurn(r, [
          ...effects,
          log(`lease ${k}: ${init.workload ? 'taken up again' : 'started again'} after a restart, ${init.reports} report(s) on the chain`),
          { do: 'startMeter' },
        ]);
      }
      if (event.type === 'launchFailed') {
        if (init.chainState !== 'matched' || event.unfetchable === undefined)
          return { run: move(run, 'done'), effects: [{ do: 'fail', message: event.message }] };
        const n = init.fetchFailures + 1;
        if (n < RELEASE_AFTER_FAILURES)
          return {
            run: move(run, 'done'),
            effects: [
              { do: 'fetchFailures', n },
              { do: 'fail', message: event.message },
            ],
          };
        return {
          run: move(run, 'releasing', { released: event.unfetchable }),
          effects: [
            { do: 'fetchFailures', n: 0 },
            log(`lease ${k}: its image cannot be fetched (${event.message}); releasing the lease`),
            { do: 'releaseLease', reason: event.unfetchable },
          ],
        };
      }
      return unexpected();
    }
    case 'releasing': {
      if (event.type === 'sent') {
        const reason = run.released ?? '';
        return {
          run: move(run, 'done'),
          effects: [
            { do: 'markReleased' },
            { do: 'writeOutcome', outcome: { released: reason, result: null } },
            log(`lease ${k}: released (${reason}), penalty-free`),
          ],
        };
      }
      if (event.type === 'sendFailed') return { run: move(run, 'done'), effects: [{ do: 'fail', message: event.message }] };
      return unexpected();
    }
    case 'starting': {
      if (event.type === 'sent')
        return nextTurn(run, [
          { do: 'count', what: 'leasesStarted' },
          log(`lease ${k}: started ${run.workload}${run.endpoint ? ` at ${run.endpoint}` : ''}`),
          { do: 'startMeter' },
        ]);
      if (event.type === 'sendFailed') return remove(run, [], undefined, event.message);
      return unexpected();
    }
    case 'checking': {
      if (event.type !== 'leaseRead') return unexpected();
      const now = event.lease;
      // The chain's count wins: a report refused as a gap or already settled (one this or an
      // earlier process sent that committed after all, e.g. past a wait timeout or a kill) would
      // otherwise be numbered the same on every turn and refused until the deadline fails the lease.
      const seq = now && now.reports > run.seq ? now.reports : run.seq;
      // Cancelled, failed at a deadline, out of escrow: stop what no lease pays for any more.
      if (now && !isLeaseAtWork(now.state)) {
        return {
          run: move(run, 'stopping', { seq, ended: true }),
          effects: [log(`lease ${k}: ${now.state} on the chain (${now.outcome || 'no outcome given'}); stopping ${run.workload}`), { do: 'stop' }],
        };
      }
      // A batch job runs at most the task's max hours: the chain pays no more, so neither does the machine.
      if (event.now > run.deadline) {
        return {
          run: move(run, 'stopping', { seq, timedOut: true }),
          effects: [log(`lease ${k}: still running after the task's ${init.maxHours} h; stopping ${run.workload}`), { do: 'stop' }],
        };
      }
      return { run: move(run, 'sampling', { seq }), effects: [{ do: 'sample' }] };
    }
    case 'sampling': {
      if (event.type !== 'sampled') return unexpected();
      if (run.exited) return drain(run);
      const seq = run.seq + 1;
      return { run: move(run, 'reporting', { seq }), effects: [{ do: 'reportUsage', seq }] };
    }
    case 'reporting': {
      if (event.type === 'sent') return nextTurn(run, [{ do: 'count', what: 'reports' }, log(`lease ${k}: usage report ${run.seq}`)]);
      // Refused because the lease ended meanwhile: the next turn's check finds out and stops it.
      if (event.type === 'sendFailed') return nextTurn({ ...run, seq: run.seq - 1 }, [log(`lease ${k}: usage report refused: ${event.message}`)]);
      return unexpected();
    }
    case 'stopping': {
      if (event.type !== 'stopped') return unexpected();
      return drain(run);
    }
    case 'draining': {
      if (event.type !== 'drained') return unexpected();
      const effects: LeaseEffect[] = [];
      if (event.logsError !== undefined) effects.push(log(`lease ${k}: logs not kept: ${event.logsError}`));
      if (event.logs?.dropped)
        effects.push(log(`lease ${k}: its log kept the first ${event.logs.kept} bytes of its output; ${event.logs.dropped} more were dropped past the cap`));
      const r = { ...run, exit: event.exit };
      // Collected before the logs are sealed, so that what the result left out is said in them.
      if (!run.ended && event.exit.code === 0 && init.kind === 'batch') return { run: move(r, 'collecting'), effects: [...effects, { do: 'collect' }] };
      return { run: move(r, 'publishingLogs'), effects: [...effects, { do: 'publishLogs' }] };
    }
    case 'collecting': {
      if (event.type !== 'collected') return unexpected();
      return { run: move({ ...run, collected: event.result }, 'publishingLogs'), effects: [{ do: 'publishLogs' }] };
    }
    case 'publishingLogs': {
      if (event.type !== 'logsPublished') return unexpected();
      return decideEnding(run);
    }
    case 'ending': {
      if (event.type === 'ended' && run.ending) return ended(run, run.ending, event);
      return unexpected();
    }
    case 'removing': {
      if (event.type !== 'removed') return unexpected();
      return { run: move(run, 'done'), effects: run.error !== undefined ? [{ do: 'fail', message: run.error }] : [] };
    }
    case 'waiting':
    case 'done':
      return unexpected();
  }
}

/**
 * After a restart, a container this worker started (found by its labels) is taken up again when
 * its lease is still live on the chain and removed otherwise: nothing runs that no lease pays for.
 * `lease` undefined: the chain knows no such lease. (A live lease with no container is started anew
 * by the poll of live leases; a finished one is never asked for, so never run again.)
 */
export function containerAfterRestart(lease: { state: string } | undefined): 'takeUp' | 'remove' {
  return lease && isLeaseAtWork(lease.state) ? 'takeUp' : 'remove';
}

/** The lease of a commitment written down (`reveal.json`), as the chain shows it now. */
export interface RevealLeaseView {
  state: string;
  resultDigest: string;
  /** Set once the group's reveal phase is open. */
  revealBy: number | null;
  outcome: string;
}

export type RevealAction = { do: 'wait' } | { do: 'reveal' } | { do: 'forget'; log?: string };

/**
 * What to do with a commitment not yet revealed (docs/MARKET.md, "Fairness: commit and reveal"):
 * wait while it is not committed yet (it is written down before it is sent) or the reveal phase is
 * not open; reveal once it is; forget it once revealed or decided without it. `lease` undefined: the
 * node did not answer.
 */
export function revealAction(label: string, lease: RevealLeaseView | undefined): RevealAction {
  if (!lease || isLeaseAtWork(lease.state)) return { do: 'wait' };
  if (lease.state !== 'completed' || lease.resultDigest !== '') {
    return lease.resultDigest === '' && lease.state !== 'completed'
      ? { do: 'forget', log: `lease ${label}: ${lease.state} before its reveal (${lease.outcome})` }
      : { do: 'forget' };
  }
  if (lease.revealBy === null) return { do: 'wait' };
  return { do: 'reveal' };
}
