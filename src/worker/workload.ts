// What the agent runs for a lease, whatever the runtime: a Docker container (batch or service)
// or a WASI module in a thread. The lease loop only meters, waits, collects and removes, so one
// loop serves every runtime and kind, and a workload found again after a restart (a container
// that kept running) is driven exactly like one just started.
import type { AppCause } from '../ledger/index.ts';
import type { DroppedEntry } from './canonicalResult.ts';
import type { LogCounts, LogProgress } from './leaseLog.ts';

/** One engine sample: cumulative cpu time and the memory in use now. */
export interface StatsSample {
  cpuNanos: bigint;
  memoryBytes: number;
}

/** How a workload ended. */
export interface WorkloadExit {
  /** The process's exit code; null when it did not exit by itself (killed at a limit, trapped). */
  code: number | null;
  /** Why it did not end well, in words for the logs: out of memory, wall-time limit, trap. */
  reason?: string;
  /**
   * When the app itself was stopped at one of its lease's limits, or crashed in a way only it could:
   * the app's outcome (docs/MARKET.md, "Fairness: app failures and missing images"). Unset when it
   * exited by itself (its code says how) or was stopped by the worker (a cancel, a runtime fault).
   */
  cause?: Exclude<AppCause, ''>;
}

export interface Workload {
  /** The engine's id of what runs (container id, or the run's directory for wasm). */
  readonly id: string;
  /** Where a service answers (`host:port,…`, as recorded on the chain); empty for batch. */
  readonly endpoint: string;
  /** Settles when the workload stops by itself or is stopped. */
  readonly exited: Promise<WorkloadExit>;
  /** Usage so far; undefined when the engine has nothing to say (stopped). */
  sample(): Promise<StatsSample | undefined>;
  /** Stops it now (a cancelled or ended lease); `exited` settles afterwards. */
  stop(): Promise<void>;
  /**
   * Settles once all it printed (stdout and stderr) is in its lease's log — the log it was started
   * with, capped, ending with a note of what was dropped past the cap — so: after `exited`.
   */
  logsDone(): Promise<LogCounts>;
  /** What its log holds and dropped so far. */
  logCounts(): LogProgress;
  /**
   * A batch workload's /out as a directory on this host (a container's is unpacked into `staging`
   * from the engine's archive, keeping regular files and directories only), with what was left
   * out. Refused (ResultTooLargeError) past `limitBytes` of files. The canonical archive of it is
   * the result (src/worker/canonicalResult.ts), the same for either runtime.
   */
  resultFiles(staging: string, limitBytes: number): Promise<ResultFiles>;
  /** Frees everything it holds (container, volumes, files); safe to call twice. */
  remove(): Promise<void>;
}

/** Where a workload's /out is on this host, and what of it a result cannot hold. */
export interface ResultFiles {
  dir: string;
  dropped: DroppedEntry[];
}

/**
 * How the logs name a workload: a container by Docker's short id (12 hex digits, as `docker ps`
 * shows it), anything else in full. Cutting every id to 12 characters left of a wasm run only
 * "wasm:/tmp/ze", a path no one can find.
 */
export function workloadName(id: string): string {
  if (/^[0-9a-f]{64}$/.test(id)) return `container ${id.slice(0, 12)}`;
  if (id.startsWith('wasm:')) return `wasm module in ${id.slice('wasm:'.length)}`;
  return id;
}
