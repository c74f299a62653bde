// What requests in progress may hold of a node, per client and in total.
//
// A request body is read into memory before its handler runs (up to the body limit, 16 MiB), and
// opening requests costs a client nothing: a thousand uploads at once, or trickled byte by byte,
// would hold gigabytes of the node's memory. So a client (clientKey: an IPv4 address or an IPv6
// /64) may have at most `perClient` requests in progress, and the bodies of all requests in
// progress together may announce at most `maxBodyBytes` (a body of unknown length counts as the
// body limit). A request past either is answered at once, before its body is read: 429
// TOO_MANY_REQUESTS or 503 SERVER_BUSY, both with Retry-After. Neither was processed, so sending
// it again is safe (the SDK does, after Retry-After). Upgrades to a WebSocket are counted by
// ClientSockets instead; the registry's uploads stream to disk, and the delivery network paces its
// peers itself (neither is counted here).

export interface RequestLimits {
  perClient: number;
  maxBodyBytes: number;
}

export type Admission = { ok: true; release: () => void } | { ok: false; code: 'TOO_MANY_REQUESTS' | 'SERVER_BUSY'; message: string };

export class RequestBudget {
  readonly limits: RequestLimits;
  private readonly inProgress = new Map<string, number>();
  private bodyBytes = 0;
  /** Requests refused, per code (metrics, tests). */
  readonly refused = { TOO_MANY_REQUESTS: 0, SERVER_BUSY: 0 };

  constructor(limits: RequestLimits) {
    this.limits = limits;
  }

  /** Bytes the bodies of the requests in progress announced. */
  get heldBodyBytes(): number {
    return this.bodyBytes;
  }

  /** Admits a request of `client` whose body announces `bodyBytes` (0: none), or says why not; `release` once it is answered. */
  admit(client: string, bodyBytes: number): Admission {
    const n = this.inProgress.get(client) ?? 0;
    if (n >= this.limits.perClient) {
      this.refused.TOO_MANY_REQUESTS++;
      return {
        ok: false,
        code: 'TOO_MANY_REQUESTS',
        message: `this client (${client}) has ${n} requests in progress, the most a node serves one client at once; send more as answers arrive`,
      };
    }
    // One request alone is always admitted (a limit below the body limit must not refuse everything).
    if (bodyBytes > 0 && this.bodyBytes > 0 && this.bodyBytes + bodyBytes > this.limits.maxBodyBytes) {
      this.refused.SERVER_BUSY++;
      return {
        ok: false,
        code: 'SERVER_BUSY',
        message: `the node is reading ${this.bodyBytes} bytes of request bodies, the most it holds at once; retry in a moment`,
      };
    }
    this.inProgress.set(client, n + 1);
    this.bodyBytes += bodyBytes;
    let released = false;
    return {
      ok: true,
      release: () => {
        if (released) return;
        released = true;
        this.bodyBytes -= bodyBytes;
        const left = (this.inProgress.get(client) ?? 1) - 1;
        if (left > 0) this.inProgress.set(client, left);
        else this.inProgress.delete(client);
      },
    };
  }
}
