import {
  startRun,
  step,
  type ChainLeaseView,
  type CollectedView,
  type Ending,
  type ExitView,
  type LeaseEffect,
  type LeaseEvent,
  type LeaseRun,
  type LeaseRunInit,
  type WorkerCount,
} from './leaseMachine.ts';

// Drives one lease's state machine (src/worker/leaseMachine.ts): performs each effect through the
// I/O it is given and feeds what came of it back as the next event. It holds no decision of its
// own — which transaction, when, what to stop — so the agent (real chain, engine and disk) and the
// tests (fakes, a fake clock) run the same lease loop.

/** A workload as the lease loop first sees it. */
export interface LaunchedWorkload {
  /** How the logs name it (src/worker/workload.ts's workloadName). */
  name: string;
  endpoint: string;
  /** Settles when it stops, by itself or stopped. */
  exited: Promise<unknown>;
}

/** Everything the lease loop does to the world, for one lease. */
export interface LeaseIO {
  now(): number;
  /** Calls `fire` after `ms`; the function returned cancels it. */
  setTimer(ms: number, fire: () => void): () => void;
  /** Fetches the image and starts the workload. */
  launch(): Promise<LaunchedWorkload>;
  /** The DDN's code when `e` says the image cannot be fetched at all; undefined for any other failure. */
  unfetchable(e: unknown): string | undefined;
  startLease(endpoint: string): Promise<void>;
  /** Meters usage from now on, from what the chain has recorded. */
  startMeter(): void;
  /** Meters the period since the last report and sends it numbered `seq`. */
  reportUsage(seq: number): Promise<void>;
  releaseLease(reason: string): Promise<void>;
  /** The lease as the chain shows it; undefined when the node does not answer. */
  readLease(): Promise<ChainLeaseView | undefined>;
  /** Adds the workload's usage now to the meter. */
  sample(): Promise<void>;
  stop(): Promise<void>;
  /** Waits for the workload's exit and for its log to be complete. */
  drain(): Promise<{ exit: ExitView; logs?: { kept: number; dropped: number }; logsError?: string }>;
  collect(): Promise<CollectedView>;
  /** Seals the lease's log to the poster and publishes it (never throws). */
  publishLogs(): Promise<void>;
  /** Sends the transaction that ends the lease (publishing or keeping the result as it needs). */
  end(ending: Ending): Promise<{ submitted?: string; repository?: string; logDigest?: string }>;
  /** Removes the workload, then writes `outcome` down beside the lease's logs. */
  remove(outcome?: Record<string, unknown>): Promise<void>;
  writeOutcome(outcome: Record<string, unknown>): void;
  markReleased(): void;
  setFetchFailures(n: number): void;
  count(what: WorkerCount): void;
  log(line: string): void;
}

export interface LeaseDrive {
  /** The chain said the lease may have ended: look at it now rather than at the next report. */
  wake(): void;
  /** The run's state now (the phase, the last report…). */
  readonly run: LeaseRun;
  /** Settles when the run is done; rejects with the error that ended it. */
  readonly done: Promise<void>;
}

const message = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** Runs a lease from `init` to its end; `running`: the workload it already has (taken up after a restart). */
export function driveLease(init: Omit<LeaseRunInit, 'workload'>, io: LeaseIO, running?: LaunchedWorkload): LeaseDrive {
  let run: LeaseRun;
  let cancelTimer: (() => void) | undefined;
  let finished = false;
  let settle: { resolve: () => void; reject: (e: Error) => void } | undefined;
  const done = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));

  const finish = (error?: string): void => {
    finished = true;
    cancelTimer?.();
    if (error === undefined) settle?.resolve();
    else settle?.reject(new Error(error));
  };

  const dispatch = (event: LeaseEvent): void => {
    if (finished) return;
    let next: ReturnType<typeof step>;
    try {
      next = step(run, event);
    } catch (e) {
      finish(message(e));
      return;
    }
    run = next.run;
    performAll(next.effects);
  };

  const performAll = (effects: LeaseEffect[]): void => {
    try {
      for (const effect of effects) perform(effect);
    } catch (e) {
      // A synchronous effect that throws (a file that cannot be written) ends the run, as it did inline.
      finish(message(e));
      return;
    }
    if (run.phase === 'done' && !finished) finish();
  };

  /** An operation whose result is the next event; one that throws ends the run (`failed`). */
  const op = <T>(p: () => Promise<T>, then: (v: T) => LeaseEvent, caught?: (e: unknown) => LeaseEvent): void => {
    void p().then(
      (v) => dispatch(then(v)),
      (e: unknown) => dispatch(caught ? caught(e) : { type: 'failed', message: message(e) }),
    );
  };
  const sent = (p: () => Promise<void>): void =>
    op(
      p,
      () => ({ type: 'sent' }),
      (e) => ({ type: 'sendFailed', message: message(e) }),
    );
  const watch = (w: LaunchedWorkload): void => {
    void w.exited.then(
      () => dispatch({ type: 'exited' }),
      () => dispatch({ type: 'exited' }),
    );
  };

  const perform = (effect: LeaseEffect): void => {
    switch (effect.do) {
      case 'launch':
        return op(
          () => io.launch(),
          (w) => {
            watch(w);
            return { type: 'launched', name: w.name, endpoint: w.endpoint, now: io.now() };
          },
          (e) => ({ type: 'launchFailed', message: message(e), unfetchable: io.unfetchable(e) }),
        );
      case 'startLease':
        return sent(() => io.startLease(effect.endpoint));
      case 'reportUsage':
        return sent(() => io.reportUsage(effect.seq));
      case 'releaseLease':
        return sent(() => io.releaseLease(effect.reason));
      case 'wait':
        cancelTimer?.();
        cancelTimer = io.setTimer(effect.ms, () => dispatch({ type: 'timer', turn: effect.turn }));
        return;
      case 'startMeter':
        return io.startMeter();
      case 'readLease':
        return op(
          () => io.readLease().catch(() => undefined),
          (lease) => ({ type: 'leaseRead', lease, now: io.now() }),
        );
      case 'sample':
        return op(
          () => io.sample(),
          () => ({ type: 'sampled' }),
        );
      case 'stop':
        return op(
          () => io.stop(),
          () => ({ type: 'stopped' }),
        );
      case 'drain':
        return op(
          () => io.drain(),
          (d) => ({ type: 'drained', ...d }),
        );
      case 'collect':
        return op(
          () => io.collect(),
          (result) => ({ type: 'collected', result }),
        );
      case 'publishLogs':
        return op(
          () => io.publishLogs(),
          () => ({ type: 'logsPublished' }),
        );
      case 'end':
        return op(
          () => io.end(effect.ending),
          (r) => ({ type: 'ended', ...r }),
        );
      case 'remove':
        return op(
          () => io.remove(effect.outcome),
          () => ({ type: 'removed' }),
        );
      case 'writeOutcome':
        return io.writeOutcome(effect.outcome);
      case 'markReleased':
        return io.markReleased();
      case 'fetchFailures':
        return io.setFetchFailures(effect.n);
      case 'count':
        return io.count(effect.what);
      case 'log':
        return io.log(effect.line);
      case 'fail':
        return finish(effect.message);
    }
  };

  const first = startRun({ ...init, workload: running && { name: running.name, endpoint: running.endpoint, now: io.now() } });
  run = first.run;
  if (running) watch(running);
  performAll(first.effects);
  return {
    wake: () => dispatch({ type: 'wake' }),
    get run() {
      return run;
    },
    done,
  };
}
