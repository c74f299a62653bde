import type { NodeEvent } from './wire.ts';

// A node's event stream (WebSocket /ws?events=block,tx,market,gov) as typed events, through the
// runtime's own WebSocket (globalThis.WebSocket: browsers, Node 22+). A dropped connection is
// reopened with exponential backoff; events of the gap are not replayed (the node keeps no
// history), so whoever must not miss one (waitForFinality) also polls.

export type EventKind = NodeEvent['type'];
export type EventOf<K extends EventKind> = Extract<NodeEvent, { type: K }>;

export type ConnectionState = 'connecting' | 'open' | 'reconnecting' | 'closed';

export interface SubscribeOptions<K extends EventKind> {
  /** Kinds to receive (default: all of them). */
  events?: readonly K[];
  /** Called for every event (besides any async iteration). */
  onEvent?: (e: EventOf<K>) => void;
  /** Called when the connection opens, drops (and will be reopened) or is closed for good. */
  onState?: (state: ConnectionState, detail?: string) => void;
  /** Reopen after a drop: delays double from `initialMs` to `maxMs` (default 250 ms … 10 s); false: never. */
  reconnect?: ReconnectOptions | false;
  /** Events held for an async iterator that is not reading; the oldest are dropped beyond it (default 10,000). */
  buffer?: number;
  /** A WebSocket class where the runtime has none. */
  WebSocket?: typeof WebSocket;
}

/** What waiting and following need of a subscription, whatever kinds it carries. */
export interface EventSource extends AsyncIterable<NodeEvent> {
  readonly connection: ConnectionState;
  on(listener: (e: NodeEvent) => void): () => void;
  close(): void;
}

const ALL: readonly EventKind[] = ['block', 'tx', 'market', 'gov'];

/** The URL of a node's event stream for some kinds. */
export function eventsUrl(nodeUrl: string, kinds: readonly EventKind[] = ALL): string {
  return `${nodeUrl.replace(/\/$/, '').replace(/^http/, 'ws')}/ws?events=${[...new Set(kinds)].join(',')}`;
}

/** How a dropped WebSocket of the SDK (the event stream, the submitter) is reopened. */
export interface ReconnectOptions {
  initialMs?: number;
  maxMs?: number;
}

/** A socket to `url` with the WebSocket the caller gave, else the runtime's (Node 20 has none). */
export function openSocket(url: string, ctor: typeof WebSocket | undefined): WebSocket {
  const WS = ctor ?? globalThis.WebSocket;
  if (!WS) throw new Error('this runtime has no WebSocket: pass one as options.WebSocket');
  return new WS(url);
}

/** The wait before reopening attempt `attempt` (0 first): doubling from 250 ms to 10 s by default, ±25 % so clients spread out. */
export function reconnectDelay(o: ReconnectOptions | undefined, attempt: number): number {
  return Math.min(o?.maxMs ?? 10_000, (o?.initialMs ?? 250) * 2 ** attempt) * (0.75 + Math.random() / 2);
}

/**
 * A live subscription: every event goes to the `onEvent`/`on()` listeners and into one queue that
 * `for await` loops read (from the moment of subscribing, so nothing between subscribing and the
 * first loop is lost; one loop at a time: each event is read once). `close()` ends it all.
 * `ready` resolves when the first connection opens.
 */
export class EventSubscription<K extends EventKind = EventKind> implements AsyncIterable<EventOf<K>> {
  readonly url: string;
  /** Resolves once connected for the first time; rejects if closed before that. */
  readonly ready: Promise<void>;
  /** Events an idle async reader missed because the buffer was full. */
  dropped = 0;
  /** How many times the connection was reopened. */
  reconnects = 0;
  private state: ConnectionState = 'connecting';
  private socket: WebSocket | undefined;
  private readonly o: SubscribeOptions<K>;
  private readonly queue: EventOf<K>[] = [];
  private readonly waiting: ((r: IteratorResult<EventOf<K>>) => void)[] = [];
  private readonly listeners = new Set<(e: EventOf<K>) => void>();
  private attempt = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private resolveReady!: () => void;
  private rejectReady!: (e: Error) => void;

  constructor(nodeUrl: string, o: SubscribeOptions<K> = {}) {
    this.o = o;
    this.url = eventsUrl(nodeUrl, o.events ?? ALL);
    this.ready = new Promise((resolve, reject) => {
      this.resolveReady = resolve;
      this.rejectReady = reject;
    });
    this.ready.catch(() => undefined); // a caller that never awaits it must not see an unhandled rejection
    if (o.onEvent) this.listeners.add(o.onEvent);
    this.connect();
  }

  /** connecting, open, reconnecting or closed. */
  get connection(): ConnectionState {
    return this.state;
  }

  /** Adds a listener; returns the function that removes it. */
  on(listener: (e: EventOf<K>) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Ends the subscription: the socket closes, readers finish. */
  close(): void {
    if (this.state === 'closed') return;
    this.setState('closed');
    clearTimeout(this.timer);
    this.socket?.close();
    this.rejectReady(new Error(`subscription to ${this.url} closed before it connected`));
    for (const w of this.waiting.splice(0)) w({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterator<EventOf<K>> {
    return {
      next: () => {
        const e = this.queue.shift();
        if (e) return Promise.resolve({ value: e, done: false });
        if (this.state === 'closed') return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve) => this.waiting.push(resolve));
      },
      // Leaving a for-await loop early stops reading, not the subscription: events keep
      // queueing for the next loop over it until close().
      return: () => Promise.resolve({ value: undefined, done: true }),
    };
  }

  private setState(s: ConnectionState, detail?: string): void {
    this.state = s;
    this.o.onState?.(s, detail);
  }

  private connect(): void {
    const ws = openSocket(this.url, this.o.WebSocket);
    this.socket = ws;
    ws.addEventListener('open', () => {
      if (this.state === 'closed') return ws.close();
      this.attempt = 0;
      this.setState('open');
      this.resolveReady();
    });
    ws.addEventListener('message', (m: MessageEvent) => {
      let e: EventOf<K>;
      try {
        e = JSON.parse(String(m.data)) as EventOf<K>;
      } catch {
        return; // not an event: ignore rather than end the stream
      }
      this.deliver(e);
    });
    ws.addEventListener('close', (c: CloseEvent) => {
      if (this.socket !== ws || this.state === 'closed') return;
      const detail = `connection closed (${c.code}${c.reason ? `: ${c.reason}` : ''})`;
      if (this.o.reconnect === false) {
        this.setState('closed', detail);
        this.rejectReady(new Error(`cannot connect to ${this.url}: ${detail}`));
        for (const w of this.waiting.splice(0)) w({ value: undefined, done: true });
        return;
      }
      const delay = reconnectDelay(this.o.reconnect, this.attempt++);
      this.setState('reconnecting', `${detail}; reconnecting in ${Math.round(delay)} ms`);
      this.timer = setTimeout(() => {
        if (this.state === 'closed') return;
        this.reconnects++;
        this.connect();
      }, delay);
    });
  }

  private deliver(e: EventOf<K>): void {
    for (const l of this.listeners) l(e);
    const w = this.waiting.shift();
    if (w) return w({ value: e, done: false });
    this.queue.push(e);
    if (this.queue.length > (this.o.buffer ?? 10_000)) {
      this.queue.shift();
      this.dropped++;
    }
  }
}

/** Subscribes to a node's events: `subscribe(url, { events: ['tx'] })`. */
export function subscribe<K extends EventKind = EventKind>(nodeUrl: string, o: SubscribeOptions<K> = {}): EventSubscription<K> {
  return new EventSubscription(nodeUrl, o);
}
