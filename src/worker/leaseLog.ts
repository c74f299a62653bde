import { closeSync, existsSync, fstatSync, openSync, readFileSync, readSync, renameSync, writeFileSync, writeSync, ftruncateSync } from 'node:fs';
import { DEFAULT_LOG_MIB } from './policy.ts';

// A lease's log: what its workload prints, written to a file as it comes, up to a cap (the
// policy's maxLogMiB); what comes past the cap is counted and dropped, and the log ends with a
// note saying how much. Nothing is ever held in memory beyond the chunk in hand, so the agent's
// memory does not depend on what a workload prints (a container that printed 1 GiB used to be read
// back whole into one string, which killed the agent on every start).
//
// Beside the file, `<file>.state` records how far it got (bytes kept, the file's length, bytes
// dropped, and when), rewritten about once a second: an agent started again after a crash
// truncates the file to the last record and picks up what the workload printed since from the
// engine's own (capped) log. The head of the output is what is kept: it is what can be kept as it
// comes, with no buffer, and the note at the end says that the rest was cut.

export interface LogTarget {
  /** The lease's log file. */
  file: string;
  /** Bytes of output it keeps. */
  capBytes: number;
}

export interface LogCounts {
  /** Bytes of the workload's output in the file. */
  kept: number;
  /** Bytes it printed past the cap, counted and not kept. */
  dropped: number;
}

/** A log's counts while its workload may still print: `done` once its closing note is written. */
export interface LogProgress extends LogCounts {
  done: boolean;
}

export const DEFAULT_LOG_CAP_BYTES = DEFAULT_LOG_MIB * 1024 * 1024;

/** How often the state beside the file is rewritten while output comes. */
const CHECKPOINT_MS = 1000;

const sizeText = (bytes: number): string =>
  bytes % (1024 * 1024) === 0 ? `${bytes / 1024 / 1024} MiB` : bytes % 1024 === 0 ? `${bytes / 1024} KiB` : `${bytes} bytes`;

/**
 * The line a log that was cut ends with. `uncounted`: the agent was restarted meanwhile, and what
 * the engine's own log no longer held by then was neither kept nor counted.
 */
export const droppedNote = (dropped: number, capBytes: number, uncounted = false): string =>
  uncounted
    ? `[zeus: at least ${dropped} bytes dropped past the ${sizeText(capBytes)} cap (the worker agent was restarted meanwhile: what the engine's log had let go by then is not counted)]\n`
    : `[zeus: ${dropped} bytes dropped past the ${sizeText(capBytes)} cap]\n`;

interface LogState {
  v: 1;
  kept: number;
  /** The file's length: the kept output and the agent's own notes. */
  size: number;
  dropped: number;
  /** When this record was written (ms since the epoch): output printed after it may not be in the file yet. */
  at: number;
  /** The output ended and the closing note is written. */
  done: boolean;
  /** Times an agent took the log up again after another one stopped writing it. */
  resumed: number;
}

export const logStateFile = (file: string): string => `${file}.state`;

function readState(file: string): LogState | undefined {
  try {
    const s = JSON.parse(readFileSync(logStateFile(file), 'utf8')) as Partial<LogState>;
    const n = (x: unknown): x is number => Number.isSafeInteger(x) && (x as number) >= 0;
    if (s.v === 1 && n(s.kept) && n(s.size) && n(s.dropped) && n(s.at) && n(s.resumed) && typeof s.done === 'boolean') return s as LogState;
  } catch {
    // none, or torn: start the file over
  }
  return undefined;
}

function writeAll(fd: number, bytes: Uint8Array): void {
  for (let at = 0; at < bytes.length; ) at += writeSync(fd, bytes, at, bytes.length - at);
}

export class CappedLog {
  readonly file: string;
  readonly capBytes: number;
  private fd: number | undefined;
  private kept: number;
  private size: number;
  private dropped: number;
  private resumed: number;
  private lastByte: number;
  private lastCheckpoint = 0;
  /**
   * Off while the output printed during a restart is read back: until it is all in, a record
   * made now would claim it is, and an agent restarted again would never read the rest.
   */
  private recording = true;

  private constructor(t: LogTarget, fd: number | undefined, s: Pick<LogState, 'kept' | 'size' | 'dropped' | 'resumed'>, lastByte: number) {
    this.file = t.file;
    this.capBytes = t.capBytes;
    this.fd = fd;
    this.kept = s.kept;
    this.size = s.size;
    this.dropped = s.dropped;
    this.resumed = s.resumed;
    this.lastByte = lastByte;
  }

  /** A new, empty log at `t.file` (one left there before is replaced). */
  static create(t: LogTarget): CappedLog {
    const log = new CappedLog(t, openSync(t.file, 'w'), { kept: 0, size: 0, dropped: 0, resumed: 0 }, 0x0a);
    log.checkpoint();
    return log;
  }

  /**
   * The log an earlier agent process was writing, cut back to its last record. `since` is when that
   * record was made: output printed from then on is not in the file. A log whose output had ended
   * comes back finished (`since` undefined).
   */
  static resume(t: LogTarget): { log: CappedLog; since: number | undefined } {
    const s = readState(t.file);
    if (s?.done && existsSync(t.file)) return { log: new CappedLog(t, undefined, s, 0x0a), since: undefined };
    // O_APPEND: every write goes to the end, wherever the truncation left it.
    const fd = openSync(t.file, 'a+');
    const size = Math.min(s?.size ?? 0, fstatSync(fd).size);
    ftruncateSync(fd, size);
    const last = Buffer.alloc(1, 0x0a);
    if (size > 0) readSync(fd, last, 0, 1, size - 1);
    const log = new CappedLog(t, fd, { kept: Math.min(s?.kept ?? size, size), size, dropped: s?.dropped ?? 0, resumed: (s?.resumed ?? 0) + 1 }, last[0]);
    log.recording = false;
    return { log, since: s?.at ?? 0 };
  }

  /** The output printed while no agent wrote the log is in: records go on from here. */
  caughtUp(): void {
    this.recording = true;
    this.checkpoint();
  }

  /** Whether output past what is kept now would still be kept. */
  get full(): boolean {
    return this.kept >= this.capBytes;
  }

  counts(): LogProgress {
    return { kept: this.kept, dropped: this.dropped, done: this.fd === undefined };
  }

  /** Output of the workload: kept up to the cap, counted past it. */
  write(bytes: Uint8Array): void {
    if (this.fd === undefined) throw new Error(`the log ${this.file} is closed`);
    const take = Math.min(bytes.length, this.capBytes - this.kept);
    if (take > 0) {
      this.append(bytes.subarray(0, take));
      this.kept += take;
    }
    this.dropped += bytes.length - take;
    if (Date.now() - this.lastCheckpoint >= CHECKPOINT_MS) this.checkpoint();
  }

  /**
   * A line of the agent's own (`[zeus: text]`) on a line of its own. Outside the cap: the agent
   * writes one per event (a restart, a broken stream), never per byte of output.
   */
  note(text: string): void {
    if (this.fd === undefined) return;
    this.append(Buffer.from(`${this.lastByte === 0x0a ? '' : '\n'}[zeus: ${text}]\n`));
    this.checkpoint();
  }

  /** Ends the log: the note of what was dropped, if anything was, and the last record. */
  finish(): LogProgress {
    if (this.fd === undefined) return this.counts();
    if (this.dropped > 0) this.append(Buffer.from(`${this.lastByte === 0x0a ? '' : '\n'}${droppedNote(this.dropped, this.capBytes, this.resumed > 0)}`));
    closeSync(this.fd);
    this.fd = undefined;
    this.record(true);
    return this.counts();
  }

  /** Writes the record an agent started again resumes from. */
  checkpoint(): void {
    if (this.fd !== undefined && this.recording) this.record(false);
  }

  private append(bytes: Uint8Array): void {
    if (this.fd === undefined || bytes.length === 0) return;
    writeAll(this.fd, bytes);
    this.size += bytes.length;
    this.lastByte = bytes[bytes.length - 1];
  }

  private record(done: boolean): void {
    this.lastCheckpoint = Date.now();
    const state: LogState = { v: 1, kept: this.kept, size: this.size, dropped: this.dropped, at: this.lastCheckpoint, done, resumed: this.resumed };
    const f = logStateFile(this.file);
    writeFileSync(`${f}.tmp`, JSON.stringify(state));
    renameSync(`${f}.tmp`, f);
  }
}

/**
 * At most the last `maxBytes` of a log file (a bounded read, whatever the file's size), or
 * undefined when there is no such file. `cut` is how many bytes before them were left out.
 */
export function readLogTail(file: string, maxBytes: number): { bytes: Buffer; cut: number } | undefined {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return undefined;
  }
  try {
    const size = fstatSync(fd).size;
    const n = Math.min(size, maxBytes);
    const bytes = Buffer.alloc(n);
    let got = 0;
    while (got < n) {
      const r = readSync(fd, bytes, got, n - got, size - n + got);
      if (r === 0) break;
      got += r;
    }
    return { bytes: bytes.subarray(0, got), cut: size - n };
  } finally {
    closeSync(fd);
  }
}
