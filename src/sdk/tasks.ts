import { concatBytes, sha256, toHex } from '../crypto/portable.ts';
import type { ZeusClient } from './client.ts';
import { NodeApiError } from './errors.ts';
import { MAX_RESULT_MIB } from '../market/index.ts';
import { readTar } from './tar.ts';
import type { AppOutcomeAnswer, LeaseAnswer, TaskAtHeightAnswer, TaskDetailAnswer } from './wire.ts';

// A task after posting: waiting for its end (waitForTask) and reading its result (taskResult).
// The client's methods of the same names call these. The CLI's `zeus task wait` and `task result`
// do the same for a terminal.

/** A task no longer changes once done, cancelled or expired: its escrow has gone home. */
export const TASK_ENDED: readonly string[] = ['done', 'cancelled', 'expired'];

export type TaskOutcome = 'succeeded' | 'failed' | 'cancelled' | 'expired';

/** What a task's end means for its poster: every replica with an accepted result (or a service run to its end), or not. */
export function taskOutcome(t: TaskDetailAnswer): TaskOutcome {
  if (t.state === 'cancelled') return 'cancelled';
  if (t.state === 'expired') return 'expired';
  const own = t.leases.filter((l) => l.verifies === null);
  // A lease settles with the app's own failure accepted too: that is no result for the poster.
  const good = (l: LeaseAnswer): boolean => l.state === 'settled' && l.appOutcome === null;
  for (let r = 0; r < t.replicas; r++) if (!own.some((l) => (l.replica ?? 0) === r && good(l))) return 'failed';
  return own.length > 0 ? 'succeeded' : 'failed';
}

/** waitForTask gave up: the task goes on, in the state `task` shows. */
export class TaskWaitTimeout extends Error {
  override name = 'TaskWaitTimeout';
  readonly code = 'TIMEOUT';
  readonly task: TaskDetailAnswer;
  constructor(task: TaskDetailAnswer, seconds: number) {
    super(`task ${task.id} is still ${task.state} after ${seconds} s (leases: ${task.leases.map((l) => `${l.index} ${l.state}`).join(', ') || 'none'})`);
    this.task = task;
  }
}

export interface WaitForTaskOptions {
  /** Give up after this long with TaskWaitTimeout (default 0: wait as long as it takes). */
  timeoutMs?: number;
  /** How often to ask the node (default 500 ms). */
  pollMs?: number;
  /** Called with every answer of the node while waiting, the last one included. */
  onProgress?: (t: TaskAtHeightAnswer) => void;
  /** Stops waiting (rejects with the signal's reason). */
  signal?: AbortSignal;
}

/**
 * Resolves with the task once it has ended (done, cancelled or expired); `taskOutcome` says whether
 * it succeeded. Polls GET /tasks/:id, which works on every runtime (Node 20 has no WebSocket) and
 * misses nothing: a task's end is its state, not an event. A node that does not answer for a moment
 * (restarting) is asked again; an unknown task or a bad id is said at once.
 */
export async function waitForTask(client: ZeusClient, id: string, o: WaitForTaskOptions = {}): Promise<TaskAtHeightAnswer> {
  const started = Date.now();
  const timeoutMs = o.timeoutMs ?? 0;
  let last: TaskAtHeightAnswer | undefined;
  for (;;) {
    o.signal?.throwIfAborted();
    try {
      last = await client.task(id);
      o.onProgress?.(last);
      if (TASK_ENDED.includes(last.state)) return last;
    } catch (e) {
      if (!(e instanceof NodeApiError && e.status === 0) || last === undefined) throw e;
    }
    if (timeoutMs > 0 && Date.now() - started >= timeoutMs) throw new TaskWaitTimeout(last, Math.round(timeoutMs / 1000));
    await new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        clearTimeout(timer);
        reject(o.signal?.reason);
      };
      const timer = setTimeout(() => {
        o.signal?.removeEventListener('abort', onAbort);
        resolve();
      }, o.pollMs ?? 500);
      o.signal?.addEventListener('abort', onAbort, { once: true });
    });
  }
}

/** Why taskResult has nothing to give: `NO_RESULT` (no lease recorded one yet), `UNAVAILABLE` (no node serves it), `DIGEST_MISMATCH`. */
export class TaskResultError extends Error {
  override name = 'TaskResultError';
  readonly code: 'NO_RESULT' | 'UNAVAILABLE' | 'DIGEST_MISMATCH';
  constructor(code: TaskResultError['code'], message: string) {
    super(message);
    this.code = code;
  }
}

/** A lease's result, checked against the digest the chain recorded for it. */
export interface TaskResult {
  task: string;
  lease: number;
  worker: string;
  /** What the lease recorded on the chain (`sha256:…`): for a result, the archive's digest. */
  digest: string;
  /** 0 for a result; else the code the app exited with on its own failure (then `files` is empty). */
  exitCode: number;
  /** A result (exit code 0 and an archive whose bytes match the chain's digest). */
  ok: boolean;
  /** How the app failed on its own, as the lease's outcome recorded it; null for a result. */
  appOutcome: AppOutcomeAnswer | null;
  /** The files of the app's /out by their path inside it (`result.txt`, `sub/data.bin`); directories left out. */
  files: Map<string, Uint8Array>;
  /** The archive as fetched (the canonical tar of /out, entries under `out/`); empty for an app's failure. */
  archive: Uint8Array;
  /** The node that served the archive ('' when nothing was fetched). */
  source: string;
}

/** The lease whose result a poster wants: the first of the task's own (not a verifier's) with a result, else one where the app failed. */
function resultLease(t: TaskDetailAnswer, index: number | undefined): LeaseAnswer {
  if (index !== undefined) {
    const l = t.leases[index];
    if (!l || l.resultDigest === '') throw new TaskResultError('NO_RESULT', `task ${t.id} has no lease ${index} with a result yet (it is ${t.state})`);
    return l;
  }
  const own = t.leases.filter((l) => l.verifies === null && l.resultDigest !== '');
  const l = own.find((x) => x.appOutcome === null) ?? own[0];
  if (!l) throw new TaskResultError('NO_RESULT', `task ${t.id} has no lease with a result yet (it is ${t.state}; waitForTask waits for its end)`);
  return l;
}

export interface TaskResultOptions {
  /** The lease whose result to read (default: the first of the task's own with a result). */
  lease?: number;
  /** The nodes to ask, in order (default: the client's node, then the worker's registered endpoint). */
  sources?: string[];
  /** How long one node may take to serve the whole archive before the next is asked (default 60 s). */
  sourceTimeoutMs?: number;
}

/** A result is at most the market's limit for a batch task's /out (src/market/results.ts). */
const MAX_RESULT_BYTES = MAX_RESULT_MIB * 1024 * 1024;

/**
 * The body of a node's answer, or why it was refused: a node (a worker's own endpoint is one the
 * worker chose) must not hold the caller forever nor fill its memory, so the read has a time limit
 * and stops at the largest result the market allows.
 */
async function readArchive(url: string, timeoutMs: number): Promise<Uint8Array | string> {
  const signal = AbortSignal.timeout(timeoutMs);
  try {
    const res = await fetch(url, { signal });
    if (!res.ok || !res.body) return `HTTP ${res.status}`;
    const declared = Number(res.headers.get('content-length') ?? 0);
    if (declared > MAX_RESULT_BYTES) {
      await res.body.cancel();
      return `an answer of ${declared} bytes, over the ${MAX_RESULT_MIB} MiB a result may be`;
    }
    const parts: Uint8Array[] = [];
    let size = 0;
    const reader = res.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.length;
      if (size > MAX_RESULT_BYTES) {
        await reader.cancel();
        return `more than the ${MAX_RESULT_MIB} MiB a result may be`;
      }
      parts.push(value);
    }
    return concatBytes(...parts);
  } catch (e) {
    return signal.aborted ? `no whole answer within ${Math.round(timeoutMs / 1000)} s` : `does not answer (${e instanceof Error ? e.message : String(e)})`;
  }
}

/** Where a worker's results are: the client's node, then the worker's registered endpoint (it pushes them to its own node). */
async function resultSources(client: ZeusClient, worker: string): Promise<string[]> {
  const endpoint = (await client.worker(worker)).endpoint;
  return [...new Set([client.url, ...(endpoint ? [/^https?:\/\//.test(endpoint) ? endpoint : `http://${endpoint}`] : [])])];
}

/**
 * A task's result: fetched from the node's registry by the digest its lease recorded on the chain,
 * the client's node first, then the worker's registered endpoint (the worker pushes it to its own
 * node), or from `sources`; bytes that hash to anything else are refused (and the next node asked).
 * The archive is read into `files`. An app that failed on its own recorded its exit code instead:
 * then nothing is fetched and `ok` is false. The whole archive is held in memory (at most the
 * lease's disk); `zeus task result` streams it to a file.
 */
export async function taskResult(client: ZeusClient, id: string, o: TaskResultOptions = {}): Promise<TaskResult> {
  const t = await client.task(id);
  const l = resultLease(t, o.lease);
  const base = { task: t.id, lease: l.index, worker: l.worker, digest: l.resultDigest };
  if (l.appOutcome !== null) {
    return { ...base, exitCode: l.appOutcome.exitCode, ok: false, appOutcome: l.appOutcome, files: new Map(), archive: new Uint8Array(0), source: '' };
  }
  const sources = o.sources ?? (await resultSources(client, l.worker));
  const misses: string[] = [];
  let forged = false;
  for (const node of sources) {
    const url = `${node.replace(/\/$/, '')}/v2/${l.worker}/results/blobs/${l.resultDigest}`;
    const archive = await readArchive(url, o.sourceTimeoutMs ?? 60_000);
    if (typeof archive === 'string') {
      misses.push(`${node}: ${archive}`);
      continue;
    }
    const got = `sha256:${toHex(sha256(archive))}`;
    if (got !== l.resultDigest) {
      // Refused, and the next node asked: one node's bad bytes must not hide the result another holds.
      forged = true;
      misses.push(`${node} served bytes that hash to ${got}: refused`);
      continue;
    }
    const files = new Map<string, Uint8Array>();
    for (const e of readTar(archive)) if (e.type === 'file') files.set(e.name.startsWith('out/') ? e.name.slice(4) : e.name, e.bytes);
    return { ...base, exitCode: 0, ok: true, appOutcome: null, files, archive, source: node };
  }
  if (forged) {
    throw new TaskResultError(
      'DIGEST_MISMATCH',
      `no node served the result ${l.resultDigest} that lease ${l.index} of task ${t.id} recorded (${misses.join('; ')})`,
    );
  }
  throw new TaskResultError('UNAVAILABLE', `no node serves the result ${l.resultDigest} of task ${t.id} lease ${l.index} (${misses.join('; ')})`);
}
