import type Docker from 'dockerode';
import { CappedLog, type LogCounts, type LogProgress, type LogTarget } from './leaseLog.ts';

// A container's output, streamed into its lease's capped log (leaseLog.ts) while it runs.
//
// The agent attaches to the container's stdout and stderr before it starts it, and writes each
// chunk through the cap as it comes: the engine's attach is back-pressured (a reader that is
// behind holds up the container's writes; it never piles them up), so every byte is seen once and
// counted exactly, and memory holds one chunk. Reading the engine's log file instead falls behind a
// fast writer and loses what the engine's rotation deletes first (a 1 GiB flood came through as
// 150 MB), and reading it at the end meant reading it whole.
//
// The engine also keeps its own log of the container (json-file, capped by `dockerLogConfig`):
// that is what an agent started again after a crash reads for the output printed while no agent
// was attached, from its log's last record on.

/** Docker's log of a container: json-file, at most `capBytes` per file and two files. */
export function dockerLogConfig(capBytes: number): Docker.HostConfig['LogConfig'] {
  return { Type: 'json-file', Config: { 'max-size': `${Math.max(1, Math.ceil(capBytes / 1024 / 1024))}m`, 'max-file': '2' } };
}

/** An attach made just as the container stopped is never closed by the engine: once it has exited, this much silence ends it. */
const SILENT_AFTER_EXIT_MS = 3000;

type OutputStream = NodeJS.ReadableStream & { destroy?: (error?: Error) => void };

/**
 * Docker's multiplexed stream (each frame: stream type, three zero bytes, big-endian length, then
 * that many bytes) to payloads, as slices of the chunks that come in: it holds at most a header.
 */
export class FrameReader {
  private readonly header = Buffer.alloc(8);
  private have = 0;
  private left = 0;
  private readonly emit: (payload: Buffer) => void;

  constructor(emit: (payload: Buffer) => void) {
    this.emit = emit;
  }

  push(chunk: Buffer): void {
    for (let at = 0; at < chunk.length; ) {
      if (this.left === 0) {
        const n = Math.min(8 - this.have, chunk.length - at);
        chunk.copy(this.header, this.have, at, at + n);
        this.have += n;
        at += n;
        if (this.have === 8) {
          this.left = this.header.readUInt32BE(4);
          this.have = 0;
        }
        continue;
      }
      const n = Math.min(this.left, chunk.length - at);
      this.emit(chunk.subarray(at, at + n));
      this.left -= n;
      at += n;
    }
  }
}

const attachOutput = async (c: Docker.Container): Promise<OutputStream> => (await c.attach({ stream: true, stdout: true, stderr: true })) as OutputStream;

/** The engine's log of the container between two times (ms), streamed: dockerode reads a log whole unless it follows it. */
function engineLog(c: Docker.Container, sinceMs: number, untilMs: number | undefined): Promise<OutputStream> {
  const options: Record<string, string | boolean> = { stdout: true, stderr: true, follow: false, since: (sinceMs / 1000).toFixed(3) };
  if (untilMs !== undefined) options.until = (untilMs / 1000).toFixed(3);
  return new Promise((resolve, reject) => {
    c.modem.dial(
      { path: `/containers/${c.id}/logs?`, method: 'GET', isStream: true, statusCodes: { 200: true, 404: 'no such container', 500: 'server error' }, options },
      (e: Error | null, s: unknown) => (e ? reject(e) : resolve(s as OutputStream)),
    );
  });
}

/** A container's output on its way into the lease's log. */
export class LogCapture {
  /** Settles once the output has ended and the log is closed (with the note of what was dropped). */
  readonly done: Promise<LogCounts>;
  private readonly log: CappedLog;
  private exited = false;
  private live?: OutputStream;
  private silence?: NodeJS.Timeout;

  private constructor(log: CappedLog, body: (x: LogCapture) => Promise<void>) {
    this.log = log;
    this.done = body(this)
      .catch((e: unknown) => log.note(`the output could not be read to its end: ${(e as Error).message}`))
      .then(() => {
        clearTimeout(this.silence);
        return log.finish();
      });
  }

  /** Attaches to a container not started yet: its output from the first byte. */
  static async fromStart(c: Docker.Container, target: LogTarget): Promise<LogCapture> {
    const stream = await attachOutput(c);
    return new LogCapture(CappedLog.create(target), (x) => x.pump(stream, true));
  }

  /**
   * Takes up the log of a container an earlier agent process started: the log is cut back to its
   * last record, then comes what the engine kept of the output printed since, then the live output
   * (when the container still runs).
   */
  static async resumed(c: Docker.Container, running: boolean, target: LogTarget): Promise<LogCapture> {
    const { log, since } = CappedLog.resume(target);
    if (since === undefined) return new LogCapture(log, async () => undefined);
    // Attached first, then the engine's log is read up to a time after the attach was made: what is
    // printed between the two is in both (a repeat), never in neither (a line lost under load when
    // `until` was taken before the attach).
    const live = running ? await attachOutput(c) : undefined;
    const until = Date.now();
    return new LogCapture(log, async (x) => {
      if (!log.full)
        log.note(
          'the worker agent was restarted: what follows is the output printed meanwhile as the engine kept it (its last part), then the live output; a few lines around the restart may be missing or repeated',
        );
      try {
        await x.pump(await engineLog(c, since, live ? until : undefined), false);
      } catch (e) {
        // The live output still has to be read: the engine holds the container's writes until it is.
        log.note(`the output printed while the worker agent was down could not be read from the engine: ${(e as Error).message}`);
      }
      log.caughtUp();
      if (live) await x.pump(live, true);
    });
  }

  counts(): LogProgress {
    return this.log.counts();
  }

  /** The container has exited: a live stream the engine leaves open after it is closed once silent. */
  containerExited(): void {
    this.exited = true;
    this.armSilence();
  }

  private armSilence(): void {
    clearTimeout(this.silence);
    const live = this.live;
    if (this.exited && live) this.silence = setTimeout(() => live.destroy?.(), SILENT_AFTER_EXIT_MS);
  }

  private async pump(stream: OutputStream, live: boolean): Promise<void> {
    const frames = new FrameReader((p) => this.log.write(p));
    if (live) {
      this.live = stream;
      this.armSilence();
    }
    try {
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        frames.push(chunk);
        if (live && this.exited) this.armSilence();
      }
    } catch (e) {
      // Closed here after the container exited: its output had ended.
      if (!(live && this.exited)) throw e;
    } finally {
      if (live) this.live = undefined;
    }
  }
}
