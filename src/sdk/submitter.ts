import { NodeApiError } from './errors.ts';
import { openSocket, type ReconnectOptions, reconnectDelay } from './events.ts';
import { encodeTxFrame, MAX_BATCH_TXS } from './txBatch.ts';
import type { ErrorAnswer, SubmissionMessage, SubmitAnswer } from './wire.ts';

// Submitting over one WebSocket (/ws?events=none) for clients that send many transactions: no
// request per batch, and batches pipelined (up to the node's WS_MAX_FRAMES = 4 waiting per socket,
// submitted in the order sent, so consecutive nonces in consecutive batches stay in order).
// Through the runtime's own WebSocket (browsers, Node 22+), as the event stream.

export interface SubmitterOptions {
  /** Frames sent and not answered yet (default 4, the most a node lets wait on one socket). */
  inFlight?: number;
  /** Batches waiting here for a free slot; one more is refused with SUBMITTER_BUSY (default 1,000). */
  maxQueued?: number;
  /**
   * Reopen a dropped connection for the batches still to send: delays double from `initialMs` to
   * `maxMs` (default 250 ms … 10 s); false: the submitter closes and refuses everything after.
   */
  reconnect?: ReconnectOptions | false;
  /** Called when the connection opens, drops or closes for good. */
  onState?: (state: SubmitterState, detail?: string) => void;
  /** A WebSocket class where the runtime has none. */
  WebSocket?: typeof WebSocket;
}

export type SubmitterState = 'connecting' | 'open' | 'reconnecting' | 'closed';

/** The status an HTTP POST /txs gives a frame's refusal, so both paths throw alike. */
const STATUS: Record<string, number> = { BATCH_TOO_LARGE: 413, TOO_MANY_FRAMES: 429, TOO_MANY_BAD_SIGNATURES: 429 };

interface Job {
  txs: readonly Uint8Array[];
  seq?: number;
  resolve: (r: (SubmitAnswer | ErrorAnswer)[]) => void;
  reject: (e: Error) => void;
}

/**
 * Submits signed transactions over one WebSocket. `submit(txs)` resolves with one result per
 * transaction, in order, as POST /txs answers a batch; it rejects with NodeApiError when the
 * batch is refused as a whole, and with CONNECTION_LOST when the connection dropped before the
 * answer came: the node may or may not have taken them, and submitting the same bytes again is
 * safe (a node answers DUPLICATE_TX or NONCE_REPLAYED for what it has). Batches not sent yet wait
 * for the reconnection. `close()` ends it; what is still waiting is refused with SUBMITTER_CLOSED.
 */
export class TxSubmitter {
  readonly url: string;
  /** Resolves once the first connection is open; rejects if it closes before. */
  readonly ready: Promise<void>;
  /** How many times the connection was reopened. */
  reconnects = 0;
  private state: SubmitterState = 'connecting';
  private socket: WebSocket | undefined;
  private readonly o: SubmitterOptions;
  private readonly queue: Job[] = [];
  private readonly sent = new Map<number, Job>();
  private nextSeq = 1;
  private attempt = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private resolveReady!: () => void;
  private rejectReady!: (e: Error) => void;

  constructor(nodeUrl: string, o: SubmitterOptions = {}) {
    this.o = o;
    this.url = `${nodeUrl.replace(/\/$/, '').replace(/^http/, 'ws')}/ws?events=none`;
    this.ready = new Promise((resolve, reject) => {
      this.resolveReady = resolve;
      this.rejectReady = reject;
    });
    this.ready.catch(() => undefined); // a caller that never awaits it must not see an unhandled rejection
    this.connect();
  }

  /** connecting, open, reconnecting or closed. */
  get connection(): SubmitterState {
    return this.state;
  }

  /** Batches sent and not answered, and waiting to be sent. */
  get pending(): number {
    return this.sent.size + this.queue.length;
  }

  /** Submits signed transactions as one frame; one result per transaction, in order. */
  submit(txs: readonly Uint8Array[]): Promise<(SubmitAnswer | ErrorAnswer)[]> {
    if (this.state === 'closed') return Promise.reject(new NodeApiError(0, 'SUBMITTER_CLOSED', `the submitter to ${this.url} is closed`));
    if (txs.length === 0) return Promise.resolve([]);
    if (txs.length > MAX_BATCH_TXS) {
      return Promise.reject(new NodeApiError(413, 'BATCH_TOO_LARGE', `at most ${MAX_BATCH_TXS} transactions per batch, not ${txs.length}`));
    }
    if (this.queue.length >= (this.o.maxQueued ?? 1_000)) {
      return Promise.reject(
        new NodeApiError(429, 'SUBMITTER_BUSY', `${this.queue.length} batches wait to be sent to ${this.url}; await some answers before submitting more`),
      );
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ txs, resolve, reject });
      this.pump();
    });
  }

  /** Submits one transaction; throws NodeApiError (its code, as POST /txs would give) if refused. */
  async submitOne(tx: Uint8Array): Promise<SubmitAnswer> {
    const [r] = await this.submit([tx]);
    if ('error' in r) throw new NodeApiError(STATUS[r.error.code] ?? 400, r.error.code, r.error.message);
    return r;
  }

  /** Closes the connection; batches not answered yet are refused with SUBMITTER_CLOSED. */
  close(): void {
    if (this.state === 'closed') return;
    this.closeFor('closed by the client');
  }

  private closeFor(why: string): void {
    this.setState('closed', why);
    clearTimeout(this.timer);
    this.socket?.close();
    this.rejectReady(new Error(`submitter to ${this.url} closed before it connected: ${why}`));
    const err = (): NodeApiError =>
      new NodeApiError(
        0,
        'SUBMITTER_CLOSED',
        `the submitter to ${this.url} closed (${why}) before this batch was answered; the node may hold it: submit the same bytes again`,
      );
    for (const j of [...this.sent.values(), ...this.queue.splice(0)]) j.reject(err());
    this.sent.clear();
  }

  private setState(s: SubmitterState, detail?: string): void {
    this.state = s;
    this.o.onState?.(s, detail);
  }

  /** Sends waiting batches while the connection is open and slots are free. */
  private pump(): void {
    const ws = this.socket;
    if (this.state !== 'open' || !ws) return;
    const slots = this.o.inFlight ?? 4;
    while (this.sent.size < slots && this.queue.length > 0) {
      const job = this.queue.shift()!;
      const seq = this.nextSeq;
      this.nextSeq = this.nextSeq >= 0xffffffff ? 1 : this.nextSeq + 1;
      job.seq = seq;
      this.sent.set(seq, job);
      ws.send(encodeTxFrame(seq, job.txs) as Uint8Array<ArrayBuffer>);
    }
  }

  private connect(): void {
    const ws = openSocket(this.url, this.o.WebSocket);
    this.socket = ws;
    ws.addEventListener('open', () => {
      if (this.state === 'closed') return ws.close();
      this.attempt = 0;
      this.setState('open');
      this.resolveReady();
      this.pump();
    });
    ws.addEventListener('message', (m: MessageEvent) => {
      let msg: SubmissionMessage;
      try {
        msg = JSON.parse(String(m.data)) as SubmissionMessage;
      } catch {
        return; // not an answer: ignore rather than fail the others
      }
      const job = msg.seq === undefined ? undefined : this.sent.get(msg.seq);
      if (!job) return;
      this.sent.delete(msg.seq!);
      if (msg.type === 'submitted') job.resolve(msg.results);
      else job.reject(new NodeApiError(STATUS[msg.error.code] ?? 400, msg.error.code, msg.error.message));
      this.pump();
    });
    ws.addEventListener('close', (c: CloseEvent) => {
      if (this.socket !== ws || this.state === 'closed') return;
      const detail = `connection closed (${c.code}${c.reason ? `: ${c.reason}` : ''})`;
      // Sent and not answered: the node may have them. The caller decides (same bytes are safe to resend).
      for (const j of this.sent.values()) {
        j.reject(new NodeApiError(0, 'CONNECTION_LOST', `${detail} before batch ${j.seq} was answered; the node may hold it: submit the same bytes again`));
      }
      this.sent.clear();
      if (this.o.reconnect === false) return this.closeFor(detail);
      const delay = reconnectDelay(this.o.reconnect, this.attempt++);
      this.setState('reconnecting', `${detail}; reconnecting in ${Math.round(delay)} ms`);
      this.timer = setTimeout(() => {
        if (this.state === 'closed') return;
        this.reconnects++;
        this.connect();
      }, delay);
    });
  }
}
