// What a node holds for the clients of its API, bounded per client and in total.
//
// Opening a WebSocket and not reading it costs a client nothing; the node keeps every event it owes
// that socket in memory. One socket is cut off past its own cap (wsMaxBufferedBytes), but a client
// could open any number of sockets, and many clients together could still exhaust the node's
// memory. So: at most `perClient` open sockets per client, and at most `maxTotalBuffered` unsent
// bytes over all sockets, beyond which the sockets holding the most are cut off first (a client
// that reads holds next to nothing, so it is the last to go).

/** The address a client is counted by: an IPv4 address, or the /64 network of an IPv6 one (one host gets a whole /64). */
export function clientKey(ip: string): string {
  const v4 = /^(?:::ffff:)?(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(ip);
  if (v4) return v4[1]!;
  if (!ip.includes(':')) return ip;
  const [head = '', tail = ''] = ip.toLowerCase().split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = ip.includes('::') ? [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right] : left;
  return `${groups
    .slice(0, 4)
    .map((g) => (Number.parseInt(g, 16) || 0).toString(16))
    .join(':')}::/64`;
}

/** The part of a WebSocket this bookkeeping needs (ws's WebSocket has it). */
export interface HeldSocket {
  readonly bufferedAmount: number;
}

export interface SocketLimits {
  /** Open /ws sockets one client (clientKey) may hold. */
  perClient: number;
  /** Unsent bytes one socket may hold before it is cut off. */
  maxBuffered: number;
  /** Unsent bytes all sockets together may hold; past it the largest holders are cut off. */
  maxTotalBuffered: number;
}

interface Entry {
  client: string;
  /** bufferedAmount when last seen: the running total is kept from these. */
  seen: number;
  cutOff: (reason: string) => void;
}

export class ClientSockets {
  readonly limits: SocketLimits;
  private readonly sockets = new Map<HeldSocket, Entry>();
  private readonly perClient = new Map<string, number>();
  /**
   * Sum of each socket's bufferedAmount as last seen. Sockets drain between sends without telling,
   * so it only overestimates; when it crosses the limit it is recounted exactly before anyone is cut.
   */
  private total = 0;
  /** Sockets refused at a client's cap, and sockets cut off for what they left unsent (metrics). */
  refused = 0;
  cut = 0;

  constructor(limits: SocketLimits) {
    this.limits = limits;
  }

  /** Sockets `client` holds open now. */
  open(client: string): number {
    return this.perClient.get(client) ?? 0;
  }

  /** Open sockets of all clients. */
  get size(): number {
    return this.sockets.size;
  }

  /** Whether `client` may open one more socket (counted as refused if not). */
  mayOpen(client: string): boolean {
    if (this.open(client) < this.limits.perClient) return true;
    this.refused++;
    return false;
  }

  /** Counts an opened socket; `cutOff` closes it (it must call `remove`). False if the client holds its cap already. */
  add(socket: HeldSocket, client: string, cutOff: (reason: string) => void): boolean {
    if (!this.mayOpen(client)) return false;
    this.sockets.set(socket, { client, seen: socket.bufferedAmount, cutOff });
    this.perClient.set(client, this.open(client) + 1);
    this.total += socket.bufferedAmount;
    return true;
  }

  remove(socket: HeldSocket): void {
    const e = this.sockets.get(socket);
    if (!e) return;
    this.sockets.delete(socket);
    this.total -= e.seen;
    const n = this.open(e.client) - 1;
    if (n > 0) this.perClient.set(e.client, n);
    else this.perClient.delete(e.client);
  }

  /**
   * Whether `socket` may be sent more: false once it holds more than its own cap. Called before
   * each send, and it updates the running total, cutting off the largest holders when all
   * sockets together hold more than the total cap.
   */
  maySend(socket: HeldSocket): boolean {
    const e = this.sockets.get(socket);
    if (!e) return false;
    this.total += socket.bufferedAmount - e.seen;
    e.seen = socket.bufferedAmount;
    if (socket.bufferedAmount > this.limits.maxBuffered) {
      this.cut++;
      e.cutOff(`it left more than ${this.limits.maxBuffered} bytes unread`);
      return false;
    }
    if (this.total > this.limits.maxTotalBuffered) this.shed();
    return this.sockets.has(socket);
  }

  /** Unsent bytes of all sockets, counted now. */
  recount(): number {
    this.total = 0;
    for (const [s, e] of this.sockets) {
      e.seen = s.bufferedAmount;
      this.total += e.seen;
    }
    return this.total;
  }

  private shed(): void {
    if (this.recount() <= this.limits.maxTotalBuffered) return;
    const largest = [...this.sockets].sort((a, b) => b[1].seen - a[1].seen);
    for (const [s, e] of largest) {
      if (this.total <= this.limits.maxTotalBuffered || e.seen === 0) break;
      this.total -= e.seen;
      e.seen = 0;
      this.cut++;
      e.cutOff(`the node's sockets together held more than ${this.limits.maxTotalBuffered} unsent bytes, and this one held the most (${s.bufferedAmount})`);
    }
  }
}
