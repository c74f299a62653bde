import { open } from 'node:fs/promises';
import { networkInterfaces } from 'node:os';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Bitfield } from './bitfield.ts';
import { PIECE_SIZE, type BlobStore, type Digest, type PieceMap } from './contracts.ts';
import type { FetchManager, FetchRequest } from './fetches.ts';
import type { ImageFetches, ImageRequest } from './images.ts';
import { DdnError, pieceCount, pieceRange } from './pieces.ts';
import type { MapStore } from './maps.ts';
import type { PieceStore } from './partial.ts';

// The node's delivery endpoints, an encapsulated fastify plugin under /ddn: the piece map of a
// blob, which of its pieces the node holds, one verified piece (from the whole blob or from a
// download still in progress, so pieces travel on before a blob is complete), and the fetches
// the node runs for its local callers.

/** What the delivery endpoints serve from. */
export interface DdnContext {
  blobStore: BlobStore;
  pieceStore: PieceStore;
  mapStore: MapStore;
  fetches: FetchManager;
  /** Whole images fetched for local callers. */
  images: ImageFetches;
  stats: ServeStats;
  /** TEST ONLY: flip a byte in each of the first N pieces served, to show fetchers drop such a peer. */
  testCorruptPieces?: number;
}

/**
 * Super-seeding for blobs this node holds whole: a piece is served while it has been sent no more
 * often than the least-sent piece of its blob. Fetchers that are told "sent already" (409) take
 * it from the peers that got it, so the origin's uplink carries each piece about once.
 */
export class PieceSpread {
  private readonly sent = new Map<string, { counts: Uint32Array; min: number }>();

  /** How many pieces a blob has, once its first piece was offered. */
  pieces(digest: string): number | undefined {
    return this.sent.get(digest)?.counts.length;
  }

  offer(digest: string, index: number, pieces: number): boolean {
    let s = this.sent.get(digest);
    if (!s || s.counts.length !== pieces) {
      if (this.sent.size > 1024) this.sent.delete(this.sent.keys().next().value!);
      s = { counts: new Uint32Array(pieces), min: 0 };
      this.sent.set(digest, s);
    }
    if (index >= pieces) return true;
    if (s.counts[index] > s.min) return false;
    s.counts[index]++;
    let min = Infinity;
    for (const c of s.counts) if (c < min) min = c;
    s.min = min;
    return true;
  }
}

/** Counters of what this node served since it started (for operators and for tests). */
export interface ServeStats {
  piecesServed: number;
  bytesServed: number;
  /** Pieces served from a download not yet complete. */
  piecesServedFromPartial: number;
  piecesCorrupted: number;
}

export const newServeStats = (): ServeStats => ({ piecesServed: 0, bytesServed: 0, piecesServedFromPartial: 0, piecesCorrupted: 0 });

const STATUS: Record<string, number> = {
  DIGEST_INVALID: 400,
  MAP_INVALID: 400,
  INVALID_REQUEST: 400,
  MAP_MISMATCH: 409,
  NAME_INVALID: 400,
  FORBIDDEN: 403,
  BLOB_UNKNOWN: 404,
  PIECE_UNKNOWN: 404,
  FETCH_UNKNOWN: 404,
  PIECE_SENT: 409,
  RANGE_INVALID: 416,
};

const digestParam = { type: 'string', pattern: '^sha256:[0-9a-f]{64}$' } as const;
const tags = ['ddn'];
const notHeld = (d: string): DdnError => new DdnError('BLOB_UNKNOWN', `this node holds no piece of ${d}`);

/**
 * Whether a request comes from this machine: only such callers may make the node fetch (a fetch
 * makes it send requests to URLs it is given). Loopback, and also any of the machine's own
 * addresses: a node whose API binds its network address (a host of a real network) is reached by
 * its worker agent at that address, from that address, and not over 127.0.0.1. `machine` is the
 * addresses of the machine's interfaces; `local` the address the request arrived at.
 */
export function isLocalCaller(remote: string | undefined, local: string | undefined, machine: readonly string[]): boolean {
  if (!remote) return false;
  const ip = remote.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/, '');
  if (/^127\./.test(ip) || ip === '::1') return true;
  // A TCP peer cannot claim an address it does not hold (the handshake goes to it), so a caller at
  // one of this machine's addresses runs on this machine.
  const own = (a: string | undefined): boolean => a !== undefined && a.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/, '') === ip;
  return own(local) || machine.some(own);
}

/** The addresses of this machine's (this network namespace's) interfaces. */
const machineAddresses = (): string[] =>
  Object.values(networkInterfaces())
    .flat()
    .filter((i) => i !== undefined)
    .map((i) => i.address);

const fromThisMachine = (req: FastifyRequest): boolean => isLocalCaller(req.socket.remoteAddress, req.socket.localAddress, machineAddresses());

/** A single `bytes=` range within a piece of `length` bytes, or undefined for the whole piece. */
function parseRange(header: string | undefined, length: number): { start: number; end: number } | undefined {
  if (!header) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  const bad = (): never => {
    throw new DdnError('RANGE_INVALID', `range "${header}" is not one satisfiable range within a piece of ${length} bytes`);
  };
  if (!m || (m[1] === '' && m[2] === '')) return bad();
  const start = m[1] === '' ? Math.max(0, length - Number(m[2])) : Number(m[1]);
  const end = m[1] === '' || m[2] === '' ? length - 1 : Math.min(Number(m[2]), length - 1);
  if (start > end || start >= length) bad();
  return { start, end };
}

export async function ddnRoutes(app: FastifyInstance, o: { ddn: DdnContext }): Promise<void> {
  const { blobStore, pieceStore, mapStore, fetches, stats } = o.ddn;
  const spread = new PieceSpread();
  const wholePieceCount = async (d: Digest): Promise<number> =>
    pieceCount({ size: (await blobStore.size(d)) ?? 0, pieceSize: (await mapStore.get(d))?.pieceSize ?? PIECE_SIZE });

  // Delivery's own refusals and requests its schemas refuse; anything else goes on to the handler of
  // the app that mounts these routes (the node's API).
  app.setErrorHandler((err, _req, reply) => {
    if (err instanceof DdnError) return void reply.status(STATUS[err.code] ?? 500).send({ error: { code: err.code, message: err.message } });
    if ((err as { validation?: unknown }).validation)
      return void reply.status(400).send({ error: { code: 'INVALID_REQUEST', message: (err as Error).message } });
    throw err;
  });

  /** The map of a blob this node holds whole (computed on first need) or in part. */
  const mapOf = async (d: Digest): Promise<PieceMap | undefined> =>
    (await mapStore.ofStoredBlob(d, blobStore)) ?? (await pieceStore.get(d))?.map ?? (await mapStore.get(d));

  /** Piece `index` of a blob held whole: read from the store's verified file. */
  const fromStore = async (d: Digest, index: number): Promise<Buffer | undefined> => {
    const path = await blobStore.path(d);
    if (!path) return undefined;
    const map = await mapStore.ofStoredBlob(d, blobStore);
    if (!map || index >= map.pieces.length) return undefined;
    const { start, length } = pieceRange(map, index);
    const fh = await open(path, 'r');
    try {
      const buf = Buffer.allocUnsafe(length);
      const { bytesRead } = await fh.read(buf, 0, length, start);
      return bytesRead === length ? buf : undefined;
    } finally {
      await fh.close();
    }
  };

  app.get<{ Params: { digest: Digest } }>(
    '/ddn/blobs/:digest/pieces',
    {
      schema: {
        summary: 'The piece map of a blob this node holds whole or in part (4 MiB pieces, SHA-256 each)',
        tags,
        params: { type: 'object', properties: { digest: digestParam } },
      },
    },
    async (req) => {
      const map = await mapOf(req.params.digest);
      if (!map) throw notHeld(req.params.digest);
      return map;
    },
  );

  app.get<{ Params: { digest: Digest } }>(
    '/ddn/blobs/:digest/have',
    {
      schema: {
        summary:
          'Which pieces of a blob this node holds verified: a bitmap (base64, most significant bit of byte 0 = piece 0) and whether it holds the whole blob',
        tags,
        params: { type: 'object', properties: { digest: digestParam } },
      },
    },
    async (req) => {
      const d = req.params.digest;
      const size = await blobStore.size(d);
      if (size !== undefined) {
        // Whole: no need to hash the blob just to say so; the map is made when a piece is asked.
        const pieceSize = (await mapStore.get(d))?.pieceSize ?? PIECE_SIZE;
        const pieces = pieceCount({ size, pieceSize });
        return { digest: d, size, pieceSize, pieces, complete: true, count: pieces, have: Bitfield.full(pieces).toBase64() };
      }
      const partial = await pieceStore.get(d);
      if (!partial) throw notHeld(d);
      const { map, have } = partial;
      return { digest: d, size: map.size, pieceSize: map.pieceSize, pieces: have.length, complete: false, count: have.count, have: have.toBase64() };
    },
  );

  app.get<{ Params: { digest: Digest; index: number } }>(
    '/ddn/blobs/:digest/pieces/:index',
    {
      schema: {
        summary: 'One verified piece of a blob (application/octet-stream); a Range header selects bytes within the piece',
        tags,
        params: { type: 'object', properties: { digest: digestParam, index: { type: 'integer', minimum: 0, maximum: 1 << 20 } } },
      },
    },
    async (req, reply: FastifyReply) => {
      const { digest: d, index } = req.params;
      const fromPartial = async (): Promise<Buffer | undefined> => (await pieceStore.get(d))?.readPiece(index);
      let buf = await fromStore(d, index);
      // As the origin (a node with the whole blob), hand out every piece once before any twice:
      // a piece already sent goes from peer to peer while the origin's uplink sends new ones.
      // The piece count is looked up once per blob, not on every piece request.
      if (buf && !spread.offer(d, index, spread.pieces(d) ?? (await wholePieceCount(d)))) {
        throw new DdnError(
          'PIECE_SENT',
          `piece ${index} of ${d} was sent to another fetcher already: fetch it from the peers (pieces sent fewer times are served first)`,
        );
      }
      let partial = false;
      if (!buf) {
        buf = await fromPartial();
        partial = buf !== undefined;
      }
      // A download that completed between the two looks has just moved into the store.
      buf ??= await fromStore(d, index);
      if (!buf) throw new DdnError('PIECE_UNKNOWN', `this node holds no verified piece ${index} of ${d}`);
      if (stats.piecesCorrupted < (o.ddn.testCorruptPieces ?? 0)) {
        buf = Buffer.from(buf);
        buf[0] ^= 0xff;
        stats.piecesCorrupted++;
      }
      const range = parseRange(req.headers.range, buf.length);
      const body = range ? buf.subarray(range.start, range.end + 1) : buf;
      stats.piecesServed++;
      stats.bytesServed += body.length;
      if (partial) stats.piecesServedFromPartial++;
      reply.header('content-type', 'application/octet-stream').header('accept-ranges', 'bytes');
      if (range) reply.status(206).header('content-range', `bytes ${range.start}-${range.end}/${buf.length}`);
      return reply.send(body);
    },
  );

  app.get(
    '/ddn/stats',
    { schema: { summary: 'What this node served since it started: pieces, bytes, pieces served from incomplete downloads', tags } },
    async () => stats,
  );

  const fetchBody = {
    type: 'object',
    required: ['digest', 'peers'],
    additionalProperties: false,
    properties: {
      digest: digestParam,
      mapDigest: digestParam,
      pieceMap: { type: 'object' },
      peers: { type: 'array', maxItems: 64, items: { type: 'string', pattern: '^https?://', maxLength: 2048 } },
      origin: { type: 'string', pattern: '^https?://', maxLength: 2048 },
    },
  } as const;

  app.post<{ Body: FetchRequest }>(
    '/ddn/fetches',
    {
      schema: {
        summary:
          'Make this node fetch a blob from peers (and the origin) into its store; local callers only. Answers with the fetch, to poll at GET /ddn/fetches/{digest}',
        tags,
        body: fetchBody,
      },
    },
    async (req, reply) => {
      if (!fromThisMachine(req)) throw new DdnError('FORBIDDEN', 'only a caller on this machine may start a fetch');
      const job = fetches.start(req.body);
      return reply.status(job.state === 'running' ? 202 : 200).send(job);
    },
  );

  app.get('/ddn/fetches', { schema: { summary: 'The fetches this node runs or ran recently, with their progress', tags } }, async () => ({
    fetches: fetches.list(),
  }));

  app.get<{ Params: { digest: Digest } }>(
    '/ddn/fetches/:digest',
    {
      schema: {
        summary: 'One fetch: running, done or failed (with why), and its progress: bytes, pieces, peers, bytes from the origin, each source',
        tags,
        params: { type: 'object', properties: { digest: digestParam } },
      },
    },
    async (req) => {
      const job = fetches.get(req.params.digest);
      if (!job) throw new DdnError('FETCH_UNKNOWN', `this node has no fetch of ${req.params.digest}; start one with POST /ddn/fetches`);
      return job;
    },
  );

  app.get(
    '/ddn/peers',
    {
      schema: {
        summary: "Other nodes' API URLs this node fetches images from: its configured DDN peers and the API URLs its connected p2p peers told it",
        tags,
      },
    },
    async () => ({
      peers: o.ddn.images.configuredPeers,
    }),
  );

  app.post<{ Body: ImageRequest }>(
    '/ddn/images',
    {
      schema: {
        summary:
          'Make this node fetch a whole image by its manifest digest (as the chain records it) from its peers: the manifest from whichever peer has it, checked against the digest, then every blob by pieces; local callers only. Poll GET /ddn/images/{digest}',
        tags,
        body: {
          type: 'object',
          required: ['repository', 'digest'],
          additionalProperties: false,
          properties: {
            repository: { type: 'string', maxLength: 255 },
            digest: digestParam,
            peers: { type: 'array', maxItems: 64, items: { type: 'string', pattern: '^https?://', maxLength: 2048 } },
          },
        },
      },
    },
    async (req, reply) => {
      if (!fromThisMachine(req)) throw new DdnError('FORBIDDEN', 'only a caller on this machine may start a fetch');
      const job = o.ddn.images.start(req.body);
      return reply.status(job.state === 'running' ? 202 : 200).send(job);
    },
  );

  app.get<{ Params: { digest: Digest } }>(
    '/ddn/images/:digest',
    {
      schema: {
        summary: 'One image fetch: running, done or failed (with why); its manifest, config and layers; progress over all its blobs',
        tags,
        params: { type: 'object', properties: { digest: digestParam } },
      },
    },
    async (req) => {
      const job = o.ddn.images.get(req.params.digest);
      if (!job) throw new DdnError('FETCH_UNKNOWN', `this node has no image fetch of ${req.params.digest}; start one with POST /ddn/images`);
      return job;
    },
  );
}
