import type { BlobStore, Digest, PieceMap } from './contracts.ts';
import { fetchBlob, OriginBudget, type FetchLimits, type FetchStatus } from './fetch.ts';
import type { MapStore } from './maps.ts';
import type { PieceStore } from './partial.ts';
import { DdnError } from './pieces.ts';

// The fetches a node runs for its callers (its worker agent): at most one per blob, with the
// progress of each kept for polling. They run inside the node because the node is what other
// nodes reach: the pieces a fetch verifies are served to them at once, from the same piece
// store, and the finished blob lands in the node's own blob store, which has one writer.

export interface FetchRequest {
  digest: Digest;
  mapDigest?: Digest;
  pieceMap?: PieceMap;
  peers: string[];
  origin?: string;
}

export interface FetchJob {
  digest: Digest;
  state: 'running' | 'done' | 'failed';
  startedAt: number;
  finishedAt?: number;
  progress?: FetchStatus;
  error?: { code: string; message: string };
}

/** Finished jobs kept for callers that poll late. */
const FINISHED_KEPT = 200;

export class FetchManager {
  private readonly store: BlobStore;
  private readonly pieces: PieceStore;
  private readonly maps: MapStore;
  private readonly limits: Partial<FetchLimits> | undefined;
  private readonly originBudget: OriginBudget | undefined;
  private readonly jobs = new Map<Digest, { job: FetchJob; stop: AbortController; done: Promise<FetchJob> }>();

  constructor(o: { store: BlobStore; pieces: PieceStore; maps: MapStore; limits?: Partial<FetchLimits>; originRequests?: number }) {
    this.store = o.store;
    this.pieces = o.pieces;
    this.maps = o.maps;
    this.limits = o.limits;
    this.originBudget = o.originRequests ? new OriginBudget(o.originRequests) : undefined;
  }

  /** Starts fetching a blob, or returns the fetch of it already running. */
  start(req: FetchRequest): FetchJob {
    const running = this.jobs.get(req.digest);
    if (running?.job.state === 'running') return running.job;
    const job: FetchJob = { digest: req.digest, state: 'running', startedAt: Date.now() };
    const stop = new AbortController();
    const done = fetchBlob({
      ...req,
      store: this.store,
      pieceStore: this.pieces,
      maps: this.maps,
      signal: stop.signal,
      limits: this.limits,
      ...(this.originBudget ? { originBudget: this.originBudget } : {}),
      onProgress: (p) => (job.progress = p),
    })
      .then(
        (r) => {
          job.progress = r.status;
          job.state = 'done';
          return job;
        },
        (e: unknown) => {
          job.state = 'failed';
          job.error = { code: e instanceof DdnError ? e.code : 'FETCH_FAILED', message: e instanceof Error ? e.message : String(e) };
          return job;
        },
      )
      .finally(() => {
        job.finishedAt = Date.now();
        this.forgetOld();
      });
    this.jobs.set(req.digest, { job, stop, done });
    return job;
  }

  get(digest: Digest): FetchJob | undefined {
    return this.jobs.get(digest)?.job;
  }

  list(): FetchJob[] {
    return [...this.jobs.values()].map((j) => j.job);
  }

  /** Resolves when the fetch of `digest` (if any) has ended. */
  async wait(digest: Digest): Promise<FetchJob | undefined> {
    return this.jobs.get(digest)?.done;
  }

  /** Stops every fetch (their verified pieces stay on disk) and waits for them to end. */
  async close(): Promise<void> {
    for (const j of this.jobs.values()) j.stop.abort();
    await Promise.all([...this.jobs.values()].map((j) => j.done));
  }

  private forgetOld(): void {
    const finished = [...this.jobs.entries()].filter(([, j]) => j.job.state !== 'running');
    for (const [d] of finished.slice(0, Math.max(0, finished.length - FINISHED_KEPT))) this.jobs.delete(d);
  }
}
