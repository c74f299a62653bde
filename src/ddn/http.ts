import { Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';

// The fetcher's HTTP client: keep-alive connections (a piece request reuses the socket of the
// last one), a cap on sockets per host, a deadline per request, and a cap on the bytes a
// response may carry, so a peer that stalls or streams without end costs a timeout, not memory.
// node:http rather than fetch: its Agent gives the per-host socket cap and the body cap is
// enforced while reading, without adding undici as a dependency.

export interface HttpAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export interface GetOptions {
  headers?: Record<string, string>;
  /** Largest body accepted; a longer one fails the request. */
  maxBytes: number;
  timeoutMs: number;
  signal?: AbortSignal;
}

/** A request that failed without an HTTP answer (refused, reset, timed out, too large). */
export class TransportError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

const MAX_REDIRECTS = 5;

export class HttpClient {
  private readonly http: HttpAgent;
  private readonly https: HttpsAgent;

  constructor(o: { connectionsPerHost: number }) {
    const opts = { keepAlive: true, maxSockets: o.connectionsPerHost, maxFreeSockets: o.connectionsPerHost, scheduling: 'lifo' as const };
    this.http = new HttpAgent(opts);
    this.https = new HttpsAgent(opts);
  }

  /** GET with redirects followed (an OCI registry may send a blob request to its storage). */
  async get(url: string, o: GetOptions): Promise<HttpAnswer> {
    let target = url;
    for (let hop = 0; ; hop++) {
      const r = await this.once(target, o);
      const loc = r.headers.location;
      if (r.status >= 300 && r.status < 400 && r.status !== 304 && loc && hop < MAX_REDIRECTS) {
        target = new URL(loc, target).toString();
        continue;
      }
      return r;
    }
  }

  async getJson(url: string, o: Omit<GetOptions, 'headers'>): Promise<{ status: number; json: unknown }> {
    const r = await this.get(url, { ...o, headers: { accept: 'application/json' } });
    let json: unknown;
    try {
      json = JSON.parse(r.body.toString('utf8'));
    } catch {
      json = undefined;
    }
    return { status: r.status, json };
  }

  close(): void {
    this.http.destroy();
    this.https.destroy();
  }

  private once(url: string, o: GetOptions): Promise<HttpAnswer> {
    return new Promise((resolve, reject) => {
      const u = new URL(url);
      const https = u.protocol === 'https:';
      if (!https && u.protocol !== 'http:') return reject(new TransportError('BAD_URL', `${url}: only http and https are supported`));
      if (o.signal?.aborted) return reject(new TransportError('ABORTED', 'aborted'));
      const req = (https ? httpsRequest : httpRequest)(u, { method: 'GET', headers: o.headers, agent: https ? this.https : this.http });
      // Settled here, once, rather than by the request's 'error' event: once the answer's headers
      // are in, a connection that dies mid-body has already destroyed the socket, and destroying
      // the request again emits nothing — the request would hang past its own deadline.
      let settled = false;
      const settle = (outcome: { answer: HttpAnswer } | { error: TransportError }): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        o.signal?.removeEventListener('abort', onAbort);
        if ('answer' in outcome) return resolve(outcome.answer);
        req.destroy();
        reject(outcome.error);
      };
      const fail = (code: string, message: string): void => settle({ error: new TransportError(code, message) });
      const asTransport = (e: Error): TransportError =>
        e instanceof TransportError ? e : new TransportError((e as NodeJS.ErrnoException).code ?? 'NETWORK', `${url}: ${e.message}`);
      const timer = setTimeout(() => fail('TIMEOUT', `${url}: no complete answer within ${o.timeoutMs} ms`), o.timeoutMs);
      const onAbort = (): void => fail('ABORTED', 'aborted');
      o.signal?.addEventListener('abort', onAbort, { once: true });
      req.on('error', (e) => settle({ error: asTransport(e) }));
      req.on('response', (res: IncomingMessage) => {
        const declared = Number(res.headers['content-length'] ?? -1);
        if (declared > o.maxBytes) return fail('TOO_LARGE', `${url}: answer of ${declared} bytes exceeds ${o.maxBytes}`);
        const chunks: Buffer[] = [];
        let n = 0;
        res.on('data', (c: Buffer) => {
          n += c.length;
          if (n > o.maxBytes) fail('TOO_LARGE', `${url}: answer exceeds ${o.maxBytes} bytes`);
          else chunks.push(c);
        });
        res.on('end', () => settle({ answer: { status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks, n) } }));
        res.on('error', (e) => settle({ error: asTransport(e) }));
        // A body cut short ends in 'close' without 'end' (and, on some paths, without 'error').
        res.on('close', () => {
          if (!res.complete) fail('CUT', `${url}: the connection closed after ${n} bytes of the answer`);
        });
      });
      req.on('close', () => fail('CUT', `${url}: the connection closed before a complete answer`));
      req.end();
    });
  }
}
