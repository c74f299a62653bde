import { Bitfield } from './bitfield.ts';
import type { BlobStore, Digest, FetchProgress, PieceMap } from './contracts.ts';
import { HttpClient, TransportError } from './http.ts';
import type { MapStore } from './maps.ts';
import { PieceStore, type PartialBlob } from './partial.ts';
import { DdnError, digestHex, pieceMapDigest, pieceRange, validatePieceMap } from './pieces.ts';
import { planRequests, type PlanSource } from './schedule.ts';

// The peer-to-peer fetcher: fills the blob store with one blob by pieces, asked of several peers
// at once, each piece checked against the blob's piece map on arrival and written to the partial
// download before it counts. Peers that lie are dropped; peers that fail are backed off, then
// dropped; pieces no peer holds come from the origin. A restarted fetch keeps every verified
// piece on disk.

export interface FetchLimits {
  /** Requests in flight to one peer. */
  connectionsPerPeer: number;
  /** Requests in flight to the origin. */
  originConnections: number;
  /** Requests in flight over all sources. */
  maxOutstanding: number;
  /** Deadline of one piece request, from sending it to the last byte. */
  pieceTimeoutMs: number;
  /** How often each peer is asked again which pieces it holds. */
  haveRefreshMs: number;
  /** Consecutive failures after which a peer is dropped for this fetch. */
  peerMaxFailures: number;
  /** Consecutive failures after which the origin is given up. */
  originMaxFailures: number;
  /** First backoff after a failure; doubles with each further one. */
  backoffMs: number;
  maxBackoffMs: number;
  /** Fail when no piece arrived for this long and nothing is in flight (no source has what is missing). */
  stallTimeoutMs: number;
}

export const DEFAULT_LIMITS: FetchLimits = {
  connectionsPerPeer: 2,
  originConnections: 4,
  maxOutstanding: 8,
  pieceTimeoutMs: 30_000,
  haveRefreshMs: 1_000,
  peerMaxFailures: 3,
  originMaxFailures: 8,
  backoffMs: 200,
  maxBackoffMs: 5_000,
  stallTimeoutMs: 60_000,
};

/** One source of a fetch as the progress shows it. */
export interface SourceStatus {
  url: string;
  kind: 'peer' | 'origin';
  /** Pieces and bytes received from it (verified). */
  pieces: number;
  bytes: number;
  /** Pieces it holds, by its last answer (the origin holds all). */
  holds: number;
  state: 'ok' | 'backoff' | 'dropped';
  /** Why it was dropped or backed off. */
  reason?: string;
}

export interface FetchStatus extends FetchProgress {
  /** Verified pieces found on disk when this fetch started (a resumed fetch). */
  piecesReused: number;
  /** Bytes of verified pieces received in this run. */
  bytesFetched: number;
  /** Bytes received and thrown away (bad pieces). */
  bytesRejected: number;
  /** Digest of the piece map in use. */
  mapDigest?: Digest;
  sources: SourceStatus[];
}

export interface FetchOptions {
  digest: Digest;
  /** The map to verify pieces against (the one published with the app). */
  pieceMap?: PieceMap;
  /** Or its digest: the map is then asked of the origin and peers and checked against it. */
  mapDigest?: Digest;
  /** Base URLs of other nodes' APIs (they serve /ddn/blobs/…). */
  peers: string[];
  /**
   * The publishing node's base URL (served like a peer, asked for pieces no peer holds), or an
   * OCI repository URL `http(s)://host/v2/<name>` (pieces by `Range` on its blob URL).
   */
  origin?: string;
  store: BlobStore;
  /** Where partial downloads live (one of these two). */
  partialDir?: string;
  pieceStore?: PieceStore;
  /** Maps this node serves: the map in use is recorded there, so the node can serve its pieces. */
  maps?: MapStore;
  onProgress?: (p: FetchStatus) => void;
  signal?: AbortSignal;
  limits?: Partial<FetchLimits>;
  /** Shared with the node's other fetches: caps requests to one origin over all of them. */
  originBudget?: OriginBudget;
  /** Shared by the fetches of one image so they reuse connections. */
  client?: HttpClient;
}

export interface FetchResult {
  digest: Digest;
  size: number;
  status: FetchStatus;
}

interface Source {
  id: number;
  url: string;
  kind: 'peer' | 'origin';
  /** For an OCI origin: the blob URL asked with `Range`. */
  ociBlobUrl?: string;
  limit: number;
  inflight: Map<number, AbortController>;
  have: Bitfield | undefined;
  complete: boolean;
  failures: number;
  retryAt: number;
  dropped?: string;
  lastError?: string;
  pieces: number;
  bytes: number;
  lastHaveAt: number;
  haveInFlight: boolean;
  /** Origin only: pieces it asked us to get from peers (it sent them elsewhere first), until when. */
  deferred: Map<number, number>;
}

/** How long a piece the origin deferred is left to the peers before asking the origin again. */
const DEFERRED_MS = 1_000;

const trimUrl = (u: string): string => u.replace(/\/+$/, '');

/**
 * Requests a node may have outstanding at one origin over all its fetches together. A node fetches
 * an image's blobs at once; per-blob caps alone would let it open many requests to the origin at
 * the start, each for a piece that peers would soon have had — the origin's uplink is what
 * peer-to-peer delivery exists to spare. A fetch waiting for a slot is woken when one frees.
 */
export class OriginBudget {
  readonly perOrigin: number;
  private readonly used = new Map<string, number>();
  private readonly waiters = new Set<() => void>();

  constructor(perOrigin: number) {
    this.perOrigin = perOrigin;
  }

  spare(origin: string): number {
    return this.perOrigin - (this.used.get(origin) ?? 0);
  }

  take(origin: string): void {
    this.used.set(origin, (this.used.get(origin) ?? 0) + 1);
  }

  release(origin: string): void {
    this.used.set(origin, Math.max(0, (this.used.get(origin) ?? 0) - 1));
    for (const w of [...this.waiters]) w();
  }

  onRelease(wake: () => void): () => void {
    this.waiters.add(wake);
    return () => this.waiters.delete(wake);
  }
}
const OCI_REPO = /\/v2\/[^?#]+$/;
const JSON_MAX = 64 * 1024 * 1024;

/** Fetches one blob into `store`; resolves once the store holds it verified. */
export async function fetchBlob(o: FetchOptions): Promise<FetchResult> {
  const limits = { ...DEFAULT_LIMITS, ...o.limits };
  const pieceStore = o.pieceStore ?? (o.partialDir ? new PieceStore(o.partialDir) : undefined);
  if (!pieceStore) throw new DdnError('INVALID_REQUEST', 'fetchBlob needs partialDir or pieceStore');
  digestHex(o.digest);
  const client = o.client ?? new HttpClient({ connectionsPerHost: Math.max(limits.connectionsPerPeer, limits.originConnections) });
  try {
    if (await o.store.has(o.digest)) {
      const size = (await o.store.size(o.digest)) ?? 0;
      const status = doneStatus(o.digest, size);
      o.onProgress?.(status);
      return { digest: o.digest, size, status };
    }
    const map = await resolveMap(o, pieceStore, client, limits);
    await o.maps?.put(map);
    const partial = await pieceStore.open(map);
    return await new BlobFetch(o, map, partial, client, limits).run();
  } finally {
    if (!o.client) client.close();
  }
}

function doneStatus(digest: Digest, size: number): FetchStatus {
  return {
    digest,
    bytesTotal: size,
    bytesDone: size,
    piecesTotal: 0,
    piecesDone: 0,
    peers: 0,
    bytesFromOrigin: 0,
    piecesReused: 0,
    bytesFetched: 0,
    bytesRejected: 0,
    sources: [],
  };
}

/**
 * The piece map to use: the one given; else one on disk from an interrupted fetch, or asked of
 * the origin and then the peers, that matches `mapDigest`. Without a map digest the origin's
 * (the publisher's) map is taken first; the whole-blob digest check at the end guards it.
 */
async function resolveMap(o: FetchOptions, pieces: PieceStore, client: HttpClient, limits: FetchLimits): Promise<PieceMap> {
  const fits = (m: PieceMap): boolean => m.digest === o.digest && (!o.mapDigest || pieceMapDigest(m) === o.mapDigest);
  if (o.pieceMap) {
    const m = validatePieceMap(o.pieceMap);
    if (!fits(m)) throw new DdnError('MAP_MISMATCH', `the piece map given is not ${o.mapDigest ? `map ${o.mapDigest} of ` : ''}blob ${o.digest}`);
    return m;
  }
  const onDisk = (await pieces.get(o.digest))?.map;
  if (onDisk && (!o.mapDigest || fits(onDisk))) return onDisk;
  const nodes = [...(o.origin && !OCI_REPO.test(trimUrl(o.origin)) ? [o.origin] : []), ...o.peers].map(trimUrl);
  const errors: string[] = [];
  for (const base of nodes) {
    try {
      const r = await client.getJson(`${base}/ddn/blobs/${o.digest}/pieces`, { maxBytes: JSON_MAX, timeoutMs: limits.pieceTimeoutMs, signal: o.signal });
      if (r.status !== 200) {
        errors.push(`${base}: HTTP ${r.status}`);
        continue;
      }
      const m = validatePieceMap(r.json);
      if (fits(m)) return m;
      errors.push(`${base}: a different map`);
    } catch (e) {
      errors.push(`${base}: ${(e as Error).message}`);
    }
  }
  throw new DdnError(
    'NO_MAP',
    `no piece map${o.mapDigest ? ` ${o.mapDigest}` : ''} for ${o.digest} from the origin or any peer (${errors.join('; ') || 'none to ask'})`,
  );
}

/** One blob's fetch in progress: sources, pieces in flight, and the loop that schedules them. */
class BlobFetch {
  private readonly o: FetchOptions;
  private readonly map: PieceMap;
  private readonly partial: PartialBlob;
  private readonly client: HttpClient;
  private readonly limits: FetchLimits;
  private readonly sources: Source[] = [];
  /** Pieces in flight, with their source. */
  private readonly inflight = new Map<number, Source>();
  /** Aborts every request of this fetch when it ends. */
  private readonly ended = new AbortController();
  private readonly reused: number;
  private readonly mapDigest: Digest;
  private bytesFetched = 0;
  private bytesRejected = 0;
  private lastPieceAt = Date.now();
  private wakeUp: (() => void) | undefined;
  private fatal: unknown;

  constructor(o: FetchOptions, map: PieceMap, partial: PartialBlob, client: HttpClient, limits: FetchLimits) {
    this.o = o;
    this.map = map;
    this.partial = partial;
    this.client = client;
    this.limits = limits;
    this.reused = partial.have.count;
    this.mapDigest = pieceMapDigest(map);
    for (const url of new Set(o.peers.map(trimUrl))) this.addSource(url, 'peer');
    if (o.origin) this.addSource(trimUrl(o.origin), 'origin');
  }

  async run(): Promise<FetchResult> {
    const onAbort = (): void => this.wake();
    this.o.signal?.addEventListener('abort', onAbort);
    const unlisten = this.o.originBudget?.onRelease(() => this.wake());
    try {
      this.report();
      for (;;) {
        if (this.o.signal?.aborted) throw new DdnError('ABORTED', `fetch of ${this.map.digest} aborted`);
        if (this.fatal) throw this.fatal;
        if (this.partial.have.complete && this.inflight.size === 0) {
          const r = await this.partial.complete(this.o.store).catch(async (e: unknown) => {
            // Pieces that match a map which is not the blob's are worth nothing: start clean next time.
            if (e instanceof DdnError && e.code === 'MAP_MISMATCH') await this.partial.remove();
            throw e;
          });
          if (r.imported) break;
        }
        this.refreshHaves();
        this.schedule();
        this.checkStalled();
        await this.sleep(this.nextTimerMs());
      }
      const status = this.status();
      this.o.onProgress?.(status);
      return { digest: this.map.digest, size: this.map.size, status };
    } finally {
      this.o.signal?.removeEventListener('abort', onAbort);
      unlisten?.();
      this.ended.abort();
      // The file handle is released; the partial download stays in its store, servable.
      await this.partial.close().catch(() => undefined);
    }
  }

  status(): FetchStatus {
    const have = this.partial.have;
    return {
      digest: this.map.digest,
      bytesTotal: this.map.size,
      bytesDone: this.partial.open ? this.partial.bytesHeld : this.map.size,
      piecesTotal: have.length,
      piecesDone: this.partial.open ? have.count : have.length,
      peers: this.sources.filter((s) => s.kind === 'peer' && !s.dropped && (s.complete || (s.have?.count ?? 0) > 0)).length,
      bytesFromOrigin: this.sources.filter((s) => s.kind === 'origin').reduce((n, s) => n + s.bytes, 0),
      piecesReused: this.reused,
      bytesFetched: this.bytesFetched,
      bytesRejected: this.bytesRejected,
      mapDigest: this.mapDigest,
      sources: this.sources.map((s) => ({
        url: s.url,
        kind: s.kind,
        pieces: s.pieces,
        bytes: s.bytes,
        holds: s.complete ? have.length : (s.have?.count ?? 0),
        state: s.dropped ? 'dropped' : s.retryAt > Date.now() ? 'backoff' : 'ok',
        ...(s.dropped ? { reason: s.dropped } : s.lastError ? { reason: s.lastError } : {}),
      })),
    };
  }

  private addSource(url: string, kind: 'peer' | 'origin'): void {
    const oci = kind === 'origin' && OCI_REPO.test(url);
    this.sources.push({
      id: this.sources.length,
      url,
      kind,
      ...(oci ? { ociBlobUrl: `${url}/blobs/${this.map.digest}` } : {}),
      limit: kind === 'origin' ? this.limits.originConnections : this.limits.connectionsPerPeer,
      inflight: new Map(),
      have: undefined,
      // The origin is the publisher: it is not asked what it holds.
      complete: kind === 'origin',
      failures: 0,
      retryAt: 0,
      pieces: 0,
      bytes: 0,
      lastHaveAt: 0,
      haveInFlight: false,
      deferred: new Map(),
    });
  }

  private report(): void {
    this.o.onProgress?.(this.status());
  }

  private wake(): void {
    const w = this.wakeUp;
    this.wakeUp = undefined;
    w?.();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => this.wake(), Math.max(1, ms));
      this.wakeUp = () => {
        clearTimeout(t);
        resolve();
      };
    });
  }

  /** Until the next have refresh or backoff expiry (events wake the loop earlier). */
  private nextTimerMs(): number {
    const now = Date.now();
    let next = now + this.limits.haveRefreshMs;
    for (const s of this.sources) {
      if (s.dropped) continue;
      if (s.retryAt > now) next = Math.min(next, s.retryAt);
      if (s.kind === 'peer' && !s.complete && !s.haveInFlight) next = Math.min(next, s.lastHaveAt + this.limits.haveRefreshMs);
    }
    return next - now;
  }

  private usable(s: Source): boolean {
    return !s.dropped && s.retryAt <= Date.now();
  }

  /** Asks every usable peer that may still gain pieces which ones it holds now. */
  private refreshHaves(): void {
    const now = Date.now();
    for (const s of this.sources) {
      if (s.kind !== 'peer' || s.complete || s.haveInFlight || !this.usable(s) || now - s.lastHaveAt < this.limits.haveRefreshMs) continue;
      s.haveInFlight = true;
      void this.askHave(s).finally(() => {
        s.haveInFlight = false;
        s.lastHaveAt = Date.now();
        this.wake();
      });
    }
  }

  private async askHave(s: Source): Promise<void> {
    try {
      const r = await this.client.getJson(`${s.url}/ddn/blobs/${this.map.digest}/have`, {
        maxBytes: JSON_MAX,
        timeoutMs: Math.min(this.limits.pieceTimeoutMs, 5_000),
        signal: this.ended.signal,
      });
      if (s.dropped) return;
      if (r.status === 404) {
        s.have = new Bitfield(this.partial.pieces); // not (yet) there: asked again later
        return;
      }
      if (r.status !== 200) return this.failed(s, `have: HTTP ${r.status}`);
      const h = r.json as { complete?: unknown; pieceSize?: unknown; pieces?: unknown; have?: unknown };
      // A peer that cuts the blob otherwise numbers its pieces otherwise: nothing to ask it.
      if (h.pieceSize !== this.map.pieceSize || h.pieces !== this.partial.pieces) {
        s.have = new Bitfield(this.partial.pieces);
        return;
      }
      if (h.complete === true) {
        s.complete = true;
        return;
      }
      if (typeof h.have !== 'string') return this.failed(s, 'have: no bitmap in the answer');
      s.have = Bitfield.fromBase64(this.partial.pieces, h.have);
    } catch (e) {
      if (!this.ended.signal.aborted) this.failed(s, `have: ${(e as Error).message}`);
    }
  }

  private holds(s: Source, piece: number): boolean {
    if (s.kind === 'origin') return (s.deferred.get(piece) ?? 0) <= Date.now();
    return s.complete || (s.have?.has(piece) ?? false);
  }

  private schedule(): void {
    const needed: number[] = [];
    for (let i = 0; i < this.partial.pieces; i++) if (!this.partial.have.has(i) && !this.inflight.has(i)) needed.push(i);
    // Until every usable peer has said what it holds, the origin waits: at the start of a fetch
    // all of a piece's holders are unknown, and the origin is the source to spare.
    const unheard = this.sources.some((s) => s.kind === 'peer' && this.usable(s) && !s.complete && !s.have);
    const plan: PlanSource[] = this.sources.map((s) => ({
      id: s.id,
      origin: s.kind === 'origin',
      usable: this.usable(s) && !(s.kind === 'origin' && unheard),
      spare: Math.min(s.limit - s.inflight.size, s.kind === 'origin' && this.o.originBudget ? this.o.originBudget.spare(s.url) : Infinity),
      holds: (p) => this.holds(s, p),
    }));
    for (const { piece, source } of planRequests(needed, plan, this.limits.maxOutstanding - this.inflight.size)) {
      void this.request(piece, this.sources[source]);
    }
  }

  private checkStalled(): void {
    if (this.inflight.size > 0) return;
    const alive = this.sources.filter((s) => !s.dropped);
    const why = (): string =>
      this.sources.map((s) => `${s.url}: ${s.dropped ?? s.lastError ?? 'holds none of the missing pieces'}`).join('; ') || 'no peers and no origin';
    if (alive.length === 0 || Date.now() - this.lastPieceAt > this.limits.stallTimeoutMs) {
      throw new DdnError('NO_SOURCE', `${this.partial.pieces - this.partial.have.count} pieces of ${this.map.digest} are available from no source (${why()})`);
    }
  }

  private async request(piece: number, s: Source): Promise<void> {
    const ctl = new AbortController();
    const onEnd = (): void => ctl.abort();
    this.ended.signal.addEventListener('abort', onEnd, { once: true });
    s.inflight.set(piece, ctl);
    this.inflight.set(piece, s);
    if (s.kind === 'origin') this.o.originBudget?.take(s.url);
    const { start, length } = pieceRange(this.map, piece);
    try {
      const r = s.ociBlobUrl
        ? await this.client.get(s.ociBlobUrl, {
            headers: { range: `bytes=${start}-${start + length - 1}` },
            maxBytes: length,
            timeoutMs: this.limits.pieceTimeoutMs,
            signal: ctl.signal,
          })
        : await this.client.get(`${s.url}/ddn/blobs/${this.map.digest}/pieces/${piece}`, {
            maxBytes: length,
            timeoutMs: this.limits.pieceTimeoutMs,
            signal: ctl.signal,
          });
      // Anything from a source dropped meanwhile is not trusted, whatever it is.
      if (s.dropped || this.ended.signal.aborted) return;
      if (r.status === 409 && s.kind === 'origin') {
        // The origin sent this piece to another fetcher already: it is coming to the peers.
        s.deferred.set(piece, Date.now() + DEFERRED_MS);
        return;
      }
      if (r.status === 404 && s.kind === 'peer') {
        // It no longer holds it (or never did): not a fault; its next have answer tells more.
        if (s.complete) {
          s.complete = false;
          s.have = new Bitfield(this.partial.pieces);
        } else s.have?.clear(piece);
        return;
      }
      const whole = s.ociBlobUrl !== undefined && r.status === 200 && start === 0 && length === this.map.size;
      if (r.status !== (s.ociBlobUrl && !whole ? 206 : 200)) return this.failed(s, `piece ${piece}: HTTP ${r.status}`);
      if (!(await this.partial.writePiece(piece, r.body))) {
        this.bytesRejected += r.body.length;
        return this.drop(s, `BAD_PIECE: served piece ${piece} that does not match the map`);
      }
      s.failures = 0;
      s.lastError = undefined;
      s.pieces++;
      s.bytes += length;
      this.bytesFetched += length;
      this.lastPieceAt = Date.now();
      this.report();
    } catch (e) {
      if (!ctl.signal.aborted) {
        if (e instanceof TransportError) this.failed(s, `piece ${piece}: ${e.message}`);
        else this.fatal ??= e; // a local fault (disk): the loop ends the fetch with it
      }
    } finally {
      this.ended.signal.removeEventListener('abort', onEnd);
      s.inflight.delete(piece);
      if (this.inflight.get(piece) === s) this.inflight.delete(piece);
      if (s.kind === 'origin') this.o.originBudget?.release(s.url);
      this.wake();
    }
  }

  /** A failure that may pass (refused, reset, timed out, 5xx): back off, and give up after a few in a row. */
  private failed(s: Source, why: string): void {
    s.failures++;
    s.lastError = why;
    const max = s.kind === 'origin' ? this.limits.originMaxFailures : this.limits.peerMaxFailures;
    if (s.failures >= max) return this.drop(s, `UNREACHABLE: ${s.failures} failures in a row, last: ${why}`);
    s.retryAt = Date.now() + Math.min(this.limits.maxBackoffMs, this.limits.backoffMs * 2 ** (s.failures - 1));
    this.report();
  }

  /** Never asked again in this fetch; its requests in flight are cut and their pieces asked elsewhere. */
  private drop(s: Source, reason: string): void {
    if (s.dropped) return;
    s.dropped = reason;
    for (const ctl of s.inflight.values()) ctl.abort();
    this.report();
  }
}

export interface BlobRef {
  digest: Digest;
  pieceMap?: PieceMap;
  mapDigest?: Digest;
}

/**
 * Fetches the blobs of one image, `concurrency` at a time over shared connections; resolves when
 * all are in the store, or rejects with the first failure (the others are stopped: their verified
 * pieces stay on disk for the next try).
 */
export async function fetchBlobs(
  blobs: readonly BlobRef[],
  o: Omit<FetchOptions, 'digest' | 'pieceMap' | 'mapDigest' | 'onProgress' | 'client'> & {
    concurrency?: number;
    onProgress?: (each: FetchStatus[]) => void;
  },
): Promise<FetchResult[]> {
  const limits = { ...DEFAULT_LIMITS, ...o.limits };
  const concurrency = Math.max(1, o.concurrency ?? 3);
  const client = new HttpClient({ connectionsPerHost: Math.max(limits.connectionsPerPeer, limits.originConnections) * concurrency });
  const stop = new AbortController();
  const onAbort = (): void => stop.abort();
  o.signal?.addEventListener('abort', onAbort, { once: true });
  const progress: FetchStatus[] = blobs.map((b) => ({ ...doneStatus(b.digest, 0), bytesDone: 0 }));
  const out: FetchResult[] = new Array(blobs.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < blobs.length && !stop.signal.aborted) {
      const i = next++;
      out[i] = await fetchBlob({
        ...o,
        ...blobs[i],
        client,
        signal: stop.signal,
        onProgress: (p) => {
          progress[i] = p;
          o.onProgress?.(progress);
        },
      });
    }
  };
  try {
    await Promise.all(
      Array.from({ length: Math.min(concurrency, blobs.length) }, () =>
        worker().catch((e: unknown) => {
          stop.abort();
          throw e;
        }),
      ),
    );
    return out;
  } finally {
    o.signal?.removeEventListener('abort', onAbort);
    client.close();
  }
}
