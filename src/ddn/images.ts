import { createHash } from 'node:crypto';
import type { BlobStore, Digest } from './contracts.ts';
import type { FetchManager } from './fetches.ts';
import { MediaType, readManifest } from './manifest.ts';
import { isDigest, isRepositoryName } from './names.ts';
import { DdnError } from './pieces.ts';

// A whole image fetched by the node for a local caller (the worker agent, `zeus image pull`): the
// manifest by its digest (the one the chain records) from whichever peer has it, checked against
// that digest before anything else is trusted; then every blob it names, by pieces from all peers
// at once, the peer that served the manifest acting as origin; finally the manifest is stored, so
// this node serves the image to the next fetcher.

export interface ImageRequest {
  repository: string;
  /** The manifest (or index) digest, as recorded on the chain. */
  digest: Digest;
  /** Other nodes' API URLs; the node's configured DDN peers when omitted. */
  peers?: string[];
}

export interface ImageJob {
  repository: string;
  digest: Digest;
  state: 'running' | 'done' | 'failed';
  startedAt: number;
  finishedAt?: number;
  /** The peer that served the manifest (used as the origin of the blobs). */
  origin?: string;
  /** Digests of the image manifest (the platform one, for an index), its config and layers. */
  manifest?: Digest;
  config?: Digest;
  layers?: Digest[];
  progress: {
    blobs: number;
    blobsDone: number;
    bytesTotal: number;
    bytesDone: number;
    piecesTotal: number;
    piecesDone: number;
    peers: number;
    bytesFromOrigin: number;
  };
  error?: { code: string; message: string };
}

const ACCEPT = [MediaType.OciIndex, MediaType.OciManifest, MediaType.DockerManifestList, MediaType.DockerManifest].join(', ');
const MAX_MANIFEST = 4 * 1024 * 1024;
const sha256 = (b: Uint8Array): Digest => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** The manifest bytes for `digest`, from the first peer that has it and whose bytes hash to it. */
export async function manifestFromPeers(repository: string, digest: Digest, peers: string[]): Promise<{ bytes: Uint8Array; mediaType: string; from: string }> {
  const tried: string[] = [];
  for (const peer of peers) {
    try {
      const res = await fetch(`${peer}/v2/${repository}/manifests/${digest}`, { headers: { accept: ACCEPT }, signal: AbortSignal.timeout(10_000) });
      if (!res.ok) {
        tried.push(`${peer}: ${res.status}`);
        continue;
      }
      const bytes = new Uint8Array(await res.arrayBuffer());
      // A peer is believed only as far as the bytes hash to the digest the chain records.
      if (bytes.length > MAX_MANIFEST || sha256(bytes) !== digest) {
        tried.push(`${peer}: served bytes that are not ${digest}`);
        continue;
      }
      return { bytes, mediaType: res.headers.get('content-type') ?? '', from: peer };
    } catch (e) {
      tried.push(`${peer}: ${(e as Error).message}`);
    }
  }
  throw new DdnError(
    'MANIFEST_UNAVAILABLE',
    `no peer served manifest ${digest} of ${repository}${tried.length ? ` (${tried.join('; ')})` : ' (no peers configured)'}`,
  );
}

/** The platform a worker here runs: linux/amd64 (else the index's first image). */
export function pickPlatform(indexBytes: Uint8Array): Digest {
  const doc = JSON.parse(new TextDecoder().decode(indexBytes)) as { manifests?: { digest: string; platform?: { os?: string; architecture?: string } }[] };
  const all = doc.manifests ?? [];
  const chosen = all.find((m) => m.platform?.os === 'linux' && m.platform?.architecture === 'amd64') ?? all[0];
  if (!chosen || !isDigest(chosen.digest)) throw new DdnError('MANIFEST_INVALID', 'the index lists no usable image manifest');
  return chosen.digest as Digest;
}

export class ImageFetches {
  private readonly store: BlobStore;
  private readonly fetches: FetchManager;
  /** The peers right now: the configured ones and those the node learned from the network. */
  private readonly peers: () => string[];
  private readonly jobs = new Map<Digest, ImageJob>();

  /** `peers`: a list, or a function asked at each fetch (the node's configured ∪ discovered peers). */
  constructor(o: { store: BlobStore; fetches: FetchManager; peers: string[] | (() => string[]) }) {
    this.store = o.store;
    this.fetches = o.fetches;
    const peers = o.peers;
    this.peers = typeof peers === 'function' ? peers : () => peers;
  }

  /** The peers a fetch would use now, without duplicates or trailing slashes. */
  get configuredPeers(): string[] {
    return [...new Set(this.peers().map((p) => p.replace(/\/+$/, '')))];
  }

  /** Starts fetching an image (or returns the fetch already running or done for it). */
  start(req: ImageRequest): ImageJob {
    if (!isRepositoryName(req.repository)) throw new DdnError('NAME_INVALID', `invalid repository name "${req.repository}"`);
    if (!isDigest(req.digest)) throw new DdnError('DIGEST_INVALID', `invalid manifest digest "${req.digest}"`);
    const existing = this.jobs.get(req.digest);
    if (existing && existing.state !== 'failed') return existing;
    const job: ImageJob = {
      repository: req.repository,
      digest: req.digest,
      state: 'running',
      startedAt: Date.now(),
      progress: { blobs: 0, blobsDone: 0, bytesTotal: 0, bytesDone: 0, piecesTotal: 0, piecesDone: 0, peers: 0, bytesFromOrigin: 0 },
    };
    this.jobs.set(req.digest, job);
    const peers = req.peers ? req.peers.map((p) => p.replace(/\/+$/, '')) : this.configuredPeers;
    void this.run(job, peers).then(
      () => {
        job.state = 'done';
        job.finishedAt = Date.now();
      },
      (e: unknown) => {
        job.state = 'failed';
        job.finishedAt = Date.now();
        job.error = e instanceof DdnError ? { code: e.code, message: e.message } : { code: 'FETCH_FAILED', message: (e as Error).message };
      },
    );
    return job;
  }

  get(digest: Digest): ImageJob | undefined {
    const job = this.jobs.get(digest);
    if (job?.state === 'running') this.refresh(job);
    return job;
  }

  private refresh(job: ImageJob): void {
    const all = [job.config, ...(job.layers ?? [])].filter((d): d is Digest => d !== undefined);
    const p = { blobs: all.length, blobsDone: 0, bytesTotal: 0, bytesDone: 0, piecesTotal: 0, piecesDone: 0, peers: 0, bytesFromOrigin: 0 };
    for (const d of all) {
      const f = this.fetches.get(d);
      if (!f) {
        p.blobsDone++;
        continue;
      }
      if (f.state === 'done') p.blobsDone++;
      const s = f.progress;
      if (!s) continue;
      p.bytesTotal += s.bytesTotal;
      p.bytesDone += s.bytesDone;
      p.piecesTotal += s.piecesTotal;
      p.piecesDone += s.piecesDone;
      p.peers = Math.max(p.peers, s.peers);
      p.bytesFromOrigin += s.bytesFromOrigin;
    }
    job.progress = p;
  }

  private async manifest(repository: string, digest: Digest, peers: string[], job: ImageJob): Promise<{ bytes: Uint8Array; mediaType: string }> {
    const local = await this.store.getManifest(repository, digest);
    if (local) return local;
    const got = await manifestFromPeers(repository, digest, peers);
    job.origin ??= got.from;
    return got;
  }

  private async run(job: ImageJob, peers: string[]): Promise<void> {
    let top = await this.manifest(job.repository, job.digest, peers, job);
    let facts = readManifest(top.bytes, top.mediaType);
    const index = facts.kind === 'index' ? top : undefined;
    if (index) {
      top = await this.manifest(job.repository, pickPlatform(index.bytes), peers, job);
      facts = readManifest(top.bytes, top.mediaType);
    }
    job.manifest = sha256(top.bytes);
    const doc = JSON.parse(new TextDecoder().decode(top.bytes)) as { config: { digest: Digest }; layers: { digest: Digest }[] };
    job.config = doc.config.digest;
    job.layers = doc.layers.map((l) => l.digest);
    const needed: Digest[] = [];
    for (const b of facts.blobs) if (!(await this.store.has(b.digest as Digest))) needed.push(b.digest as Digest);
    const origin = job.origin;
    const others = peers.filter((p) => p !== origin);
    for (const d of needed) this.fetches.start({ digest: d, peers: others, ...(origin ? { origin } : {}) });
    for (const d of needed) {
      const done = await this.fetches.wait(d);
      if (done?.state === 'failed') throw new DdnError(done.error?.code ?? 'FETCH_FAILED', `blob ${d}: ${done.error?.message ?? 'fetch failed'}`);
    }
    // Stored only now, with every blob it names in place: this node can serve the image onward.
    await this.store.putManifest(job.repository, top.bytes, facts.mediaType);
    if (index) await this.store.putManifest(job.repository, index.bytes, readManifest(index.bytes, index.mediaType).mediaType);
    this.refresh(job);
  }
}
