import type { FastifyInstance } from 'fastify';
import { fromHex, isAddress } from '../crypto/index.ts';
import { ddnRoutes, registryErrorDialect, registryPlugin, type DdnContext, type DiskBlobStore, type UploadLimits } from '../ddn/index.ts';
import { HttpError, jsonErrors, lazyValidation } from '../http/index.ts';
import { blockHash, genesisHash, LedgerError, MAIN_CHAIN } from '../ledger/index.ts';
import {
  BAD_SIGNATURE_WINDOW_MS,
  BAD_SIGNATURES_PER_WINDOW,
  FailureBudget,
  failuresOf,
  NodeMetrics,
  REFUSALS_PER_WINDOW,
  type ZeusNode,
} from '../node/index.ts';
import type {
  AccountAnswer,
  BlockAnswer,
  BlocksAnswer,
  BookkeepersAnswer,
  ErrorAnswer,
  HaltAnswer,
  HealthAnswer,
  NodeEvent,
  ReadyAnswer,
  SegmentAnswer,
  StatusAnswer,
  SubmissionMessage,
  SubmitAnswer,
  SubmitBatchAnswer,
  SupplyAnswer,
  TokenAnswer,
  TokensAnswer,
  TxStatusAnswer,
} from '../sdk/index.ts';
import { decodeTxBatch, decodeTxFrame, frameSeq, MAX_BATCH_TXS, TX_BATCH_TAG, TxBatchError } from '../sdk/index.ts';
import { registerConsoleRoutes } from './console.ts';
import { StoreCorruptError } from '../store/index.ts';
import { ClientSockets, clientKey } from './clients.ts';
import { DEFAULT_SCAN_BUDGET, HeightCache } from './heightCache.ts';
import { ClientConnections, defaultMaxConnections } from './connections.ts';
import { RequestBudget } from './requests.ts';
import { ApiError, toApiError } from './errors.ts';
import { registerGovRoutes } from './govRoutes.ts';
import { registerMarketRoutes } from './marketRoutes.ts';
import { registryChainOf } from './registryChain.ts';
import { accountView, blockHeaderView, bookkeepersView, blockView, inclusionView, jsonValue, segmentView, tokensView, tokenView } from './views.ts';

/** `?events=` of the WebSocket stream: a comma list of event kinds, or none (a socket only for submitting). */
const EVENT_KINDS = '^(none|(block|tx|market|gov)(,(block|tx|market|gov))*)$';
/** Largest WebSocket message: a TxFrame of ~5,000 transfers; the event stream's own messages are small. */
const WS_MAX_PAYLOAD = 1024 * 1024;
/** What a /ws client may leave unread before it is cut off (see the /ws handler). */
const WS_MAX_BUFFERED = 8 * 1024 * 1024;
/** Open /ws sockets per client (an IPv4 address or an IPv6 /64): the SDK needs one or two per process. */
const WS_MAX_SOCKETS_PER_CLIENT = 64;
/** Unsent bytes of all /ws sockets together (clients.ts). */
const WS_MAX_TOTAL_BUFFERED = 256 * 1024 * 1024;
/** Requests one client may have in progress, and bytes the bodies of all requests in progress may announce (requests.ts). */
const MAX_REQUESTS_PER_CLIENT = 64;
/** Open connections one client may hold (a browser opens 6 per host; the SDK's pool a few). */
const MAX_CONNECTIONS_PER_CLIENT = 256;
const MAX_BODY_BYTES_IN_PROGRESS = 256 * 1024 * 1024;
const BODY_LIMIT = 16 * 1024 * 1024;
/** A batch is submitted this many transactions at a time (see submitAll). */
const SUBMIT_CHUNK = 256;
/**
 * TxFrames a socket may have waiting or in work: they are submitted one after the other, in the
 * order they came (a client's nonces stay in order), and one more is refused (TOO_MANY_FRAMES)
 * rather than queued, so a socket holds at most this many frames' memory.
 */
const WS_MAX_FRAMES = 4;

export interface ApiOptions {
  host: string;
  port: number;
  /** Largest request body; a batch of transactions must fit. */
  bodyLimit?: number;
  logger?: boolean;
  /** The delivery network's stores; without it the node serves no /ddn endpoints. */
  ddn?: DdnContext;
  /** Serve the node's OCI registry (`/v2/…`, the DDN) from this blob store. */
  registry?: DiskBlobStore;
  /** Bounds of the registry's uploads in progress (default DEFAULT_UPLOAD_LIMITS). */
  uploadLimits?: UploadLimits;
  /** The built web console served at `/` (default dist/web of this checkout). */
  consoleDir?: string;
  /** Bytes a /ws client may leave unread before its socket is closed (default 8 MiB). */
  wsMaxBufferedBytes?: number;
  /** Open /ws sockets one client (IPv4 address, IPv6 /64) may hold (default 64). */
  wsMaxSocketsPerClient?: number;
  /** Unsent bytes all /ws sockets together may hold before the largest holders are closed (default 256 MiB). */
  wsMaxTotalBufferedBytes?: number;
  /** Requests one client (IPv4 address, IPv6 /64) may have in progress (default 64; past it 429 TOO_MANY_REQUESTS). */
  maxRequestsPerClient?: number;
  /** Bytes the bodies of all requests in progress may announce (default 256 MiB; past it 503 SERVER_BUSY). */
  maxBodyBytesInProgress?: number;
  /** Open connections one client (IPv4 address, IPv6 /64) may hold (default 256; past it a new one is closed at once). */
  maxConnectionsPerClient?: number;
  /** Open connections all clients together may hold (default half the soft limit of open files, at most 8,192). */
  maxConnections?: number;
  /** Computing time (ms) one client's uncached whole-collection answers may take per second, and at once (defaults 250, 500; heightCache.ts). */
  scanMsPerSecond?: number;
  scanBurstMs?: number;
}

const errorSchema = {
  type: 'object',
  properties: { error: { type: 'object', properties: { code: { type: 'string' }, message: { type: 'string' } } } },
} as const;
const hexTx = { type: 'string', pattern: '^[0-9a-fA-F]+$', maxLength: 2 * 64 * 1024 } as const;

/** A binary submission refused as a whole, as the API answers it. */
function batchRefusal(e: TxBatchError): ApiError {
  return new ApiError(e.code === 'BATCH_TOO_LARGE' ? 413 : 400, e.code, e.message);
}

/** The refusal of a frame or request as the wire's {error:{code,message}}. */
function errorAnswer(e: unknown): ErrorAnswer {
  const ae = e instanceof TxBatchError ? batchRefusal(e) : toApiError(e);
  return { error: { code: ae.code, message: ae.message } };
}

/** The node's HTTP API (fastify): JSON over HTTP, an OpenAPI document and a WebSocket stream. */
export async function createApi(node: ZeusNode, opts: ApiOptions): Promise<FastifyInstance> {
  // Every refusal, including those fastify and Node's HTTP parser would write in their own
  // formats, is {error:{code,message}}; under /v2/ the registry's OCI format.
  const errors = jsonErrors({
    toError: (e) => (e instanceof HttpError || e instanceof LedgerError || e instanceof StoreCorruptError ? toApiError(e) : undefined),
    dialects: opts.registry ? [registryErrorDialect] : [],
  });
  // fastify and its plugins load when a node serves its API, not with every `zeus` command.
  const [{ default: Fastify }, { default: fastifySwagger }, { default: fastifyWebsocket }] = await Promise.all([
    import('fastify'),
    import('@fastify/swagger'),
    import('@fastify/websocket'),
  ]);
  const bodyLimit = opts.bodyLimit ?? BODY_LIMIT;
  const app = Fastify({
    logger: opts.logger ?? false,
    bodyLimit,
    schemaController: lazyValidation(),
    ...errors.serverOptions,
  });
  errors.install(app);
  // Idle connections cost a client nothing and the node a file descriptor each (connections.ts).
  const connections = new ClientConnections({
    perClient: opts.maxConnectionsPerClient ?? MAX_CONNECTIONS_PER_CLIENT,
    total: opts.maxConnections ?? defaultMaxConnections(),
  });
  connections.watch(app.server);
  // Before any body is read: requests in progress per client, and their bodies in all (requests.ts).
  const requests = new RequestBudget({
    perClient: opts.maxRequestsPerClient ?? MAX_REQUESTS_PER_CLIENT,
    maxBodyBytes: opts.maxBodyBytesInProgress ?? MAX_BODY_BYTES_IN_PROGRESS,
  });
  app.addHook('onRequest', async (req, reply) => {
    // The registry streams uploads to disk; the delivery network paces its peers' piece transfers itself.
    if (req.url.startsWith('/v2/') || req.url.startsWith('/ddn/') || req.headers.upgrade?.toLowerCase() === 'websocket') return;
    const length = req.headers['content-length'];
    const body = length !== undefined ? Math.min(Number(length) || 0, bodyLimit + 1) : req.headers['transfer-encoding'] ? bodyLimit : 0;
    const admitted = requests.admit(clientKey(req.ip), body);
    if (!admitted.ok) {
      reply.header('retry-after', '1');
      throw new ApiError(admitted.code === 'TOO_MANY_REQUESTS' ? 429 : 503, admitted.code, admitted.message);
    }
    reply.raw.once('close', admitted.release);
  });
  await app.register(fastifySwagger, {
    openapi: {
      info: { title: 'ZeusNet node API', version: '0.1.0', description: 'Ledger queries, transaction submission and events of a ZeusNet node.' },
    },
    // The swagger plugin leaves WebSocket routes out; describe the event stream by hand.
    transformObject: (doc) => {
      const o = (doc as { openapiObject: { paths?: Record<string, unknown> } }).openapiObject;
      return {
        ...o,
        paths: {
          ...o.paths,
          '/ws': {
            get: {
              summary: 'WebSocket (upgrade): a stream of events as JSON text messages, and submission of transactions as binary TxFrames',
              description:
                '{"type":"block",height,hash,time,txCounts[10],stateRoots[10]} for every committed block, {"type":"tx",hash,status:"pending"|"committed"|"rejected",chain,height?,index?,error?} for every transaction, {"type":"market",kind,task,lease?,worker?,detail?,height,chain} for market happenings (task-posted, window-closed, lease-matched, lease-started, lease-ended, escrow-low, task-ended) and {"type":"gov",kind,proposal,proposalType,title,status,outcome?,detail,height} for governance happenings (submitted, vote-opened, vote-ended, expired, param-changed, upgrade-planned, upgrade-done, failed). Query ?events=block,tx (any of block, tx, market, gov) to receive only those kinds, or ?events=none for none. ' +
                'A binary frame holding a TxFrame {seq = 1: uint32; txs = 2: repeated bytes} (docs/API.md) submits its transactions; the answer is {"type":"submitted",seq,results:[{hash,chain,status}|{error}]} as POST /txs gives them, or {"type":"error",seq?,error} for a frame refused as a whole (BAD_ENCODING, EMPTY_BATCH, BATCH_TOO_LARGE, TOO_MANY_FRAMES: at most 4 wait per socket; BAD_FRAME for a text frame).',
              tags: ['events'],
              parameters: [{ name: 'events', in: 'query', required: false, schema: { type: 'string', pattern: EVENT_KINDS } }],
              responses: { 101: { description: 'Switching protocols to WebSocket' } },
            },
          },
        },
      } as never;
    },
  });
  await app.register(fastifyWebsocket, { options: { maxPayload: WS_MAX_PAYLOAD } });
  /** Answers that read a whole collection (supply, task and lease lists): once per height and query. */
  const listings = new HeightCache({
    budget: { burstMs: opts.scanBurstMs ?? DEFAULT_SCAN_BUDGET.burstMs, msPerSecond: opts.scanMsPerSecond ?? DEFAULT_SCAN_BUDGET.msPerSecond },
  });
  const wsSockets = new ClientSockets({
    perClient: opts.wsMaxSocketsPerClient ?? WS_MAX_SOCKETS_PER_CLIENT,
    maxBuffered: opts.wsMaxBufferedBytes ?? WS_MAX_BUFFERED,
    maxTotalBuffered: opts.wsMaxTotalBufferedBytes ?? WS_MAX_TOTAL_BUFFERED,
  });
  const tooManySockets = (client: string): ApiError =>
    new ApiError(
      429,
      'TOO_MANY_SOCKETS',
      `this client (${client}) holds ${wsSockets.open(client)} open /ws sockets, the most a node allows one client; close one, or share one between subscriptions`,
    );

  /**
   * Refuses, before any check, a client whose transactions failed their signature check too often,
   * or were refused too often after it (src/node/failureBudget.ts).
   */
  const badSignatures = new FailureBudget();
  const refusals = new FailureBudget(Date.now, REFUSALS_PER_WINDOW);
  const budgetRefusal = (client: string): ApiError | undefined => {
    const wait = badSignatures.waitMs(client);
    if (wait > 0) {
      return new ApiError(
        429,
        'TOO_MANY_BAD_SIGNATURES',
        `${BAD_SIGNATURES_PER_WINDOW} of this client's transactions failed their signature check within ${BAD_SIGNATURE_WINDOW_MS / 1000} s; ` +
          `its transactions are refused unchecked for another ${Math.ceil(wait / 1000)} s`,
      );
    }
    const refusedWait = refusals.waitMs(client);
    if (refusedWait === 0) return undefined;
    return new ApiError(
      429,
      'TOO_MANY_REFUSALS',
      `${REFUSALS_PER_WINDOW} of this client's transactions were refused after their signature was checked within ${BAD_SIGNATURE_WINDOW_MS / 1000} s ` +
        `(see each one's error); its transactions are refused unchecked for another ${Math.ceil(refusedWait / 1000)} s`,
    );
  };

  /**
   * Submits a client's transactions in order, one result each, under its budget of failed
   * signature checks: a client already over it is refused as a whole. In chunks, so that a batch
   * of forgeries (up to MAX_BATCH_TXS) costs at most one chunk's checks past the budget: the rest
   * of it is refused unchecked, each with its own error.
   */
  const submitUnderBudget = async (txs: readonly Uint8Array[], client: string): Promise<(Awaited<ReturnType<ZeusNode['submitMany']>>[number] | ApiError)[]> => {
    const over = budgetRefusal(client);
    if (over) throw over;
    const submitted: (Awaited<ReturnType<ZeusNode['submitMany']>>[number] | ApiError)[] = [];
    for (let i = 0; i < txs.length; i += SUBMIT_CHUNK) {
      const chunk = txs.slice(i, i + SUBMIT_CHUNK);
      const refusal = budgetRefusal(client);
      if (refusal) {
        for (let j = 0; j < chunk.length; j++) submitted.push(refusal);
        continue;
      }
      const results = await node.submitMany(chunk);
      const failed = failuresOf(results);
      badSignatures.charge(client, failed.badSignatures);
      refusals.charge(client, failed.refusals);
      submitted.push(...results);
    }
    return submitted;
  };

  /**
   * Submits transactions in order and answers for each, as POST /txs with `txs` does: one that
   * could not even be read (bad hex) keeps its own error and its place.
   */
  const submitAll = async (list: readonly (Uint8Array | ApiError)[], client: string): Promise<(SubmitAnswer | ErrorAnswer)[]> => {
    const submitted = await submitUnderBudget(
      list.filter((b): b is Uint8Array => b instanceof Uint8Array),
      client,
    );
    let k = 0;
    return list.map((b): SubmitAnswer | ErrorAnswer => {
      const r = b instanceof Uint8Array ? submitted[k++] : b;
      return r instanceof Error ? errorAnswer(r) : { ...r, status: 'pending' };
    });
  };

  /** One transaction, as POST /txs with `tx` does: its refusal is thrown. */
  const submitOne = async (bytes: Uint8Array, client: string): Promise<SubmitAnswer> => {
    const [r] = await submitUnderBudget([bytes], client);
    if (r instanceof Error) throw r;
    return { ...r, status: 'pending' };
  };

  app.addContentTypeParser('application/octet-stream', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
  const addressParam = {
    type: 'object',
    required: ['address'],
    properties: { address: { type: 'string', minLength: 1, maxLength: 100 } },
  } as const;
  const requireAddress = (a: string): void => {
    if (!isAddress(a)) throw new ApiError(400, 'INVALID_ADDRESS', `"${a}" is not a valid znc1… address`);
  };

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  // A planned upgrade the node lacks is not a failure to report: restarting as before halts again.
  const haltError = (halted: HaltAnswer, when: string): { code: string; message: string } =>
    halted.upgrade
      ? { code: 'UPGRADE_NEEDED', message: `${halted.reason} (after height ${halted.height}${when})` }
      : { code: 'CONSENSUS_STOPPED', message: `${halted.reason} (after height ${halted.height}${when}); restart the node` };
  const genesisHashHex = genesisHash(node.ledger.genesis);

  app.get('/status', { schema: { summary: 'Node status: heights, state roots, mempool, supply totals', tags: ['chain'] } }, async (): Promise<StatusAnswer> => {
    const l = node.reader;
    const supply = l.supply();
    const roots = l.stateRoots();
    const group = node.signerGroupStatus();
    return jsonValue({
      chainId: l.chainId,
      height: l.height,
      time: l.time,
      lastBlockHash: l.lastBlockHash,
      chains: roots.map((r, i) => ({ chain: i, kind: i === MAIN_CHAIN ? 'main' : 'inner', height: l.height, stateRoot: r })),
      receiptsInFlight: l.inFlight.length,
      mempool: node.mempool.size,
      // A seat group's member: the seat's key (its peer id is its own node key's).
      bookkeeper: node.bookkeeperPublicKey ?? node.publicKey,
      consensus: node.consensusStatus() ?? { mode: 'solo' },
      // The liveness alarm: set once block production stopped for good (see /health).
      halted: node.halted ?? null,
      supply,
      ...(node.stateSync ? { stateSync: await node.stateSync.status() } : {}),
      ...(group ? { signerGroup: group } : {}),
    });
  });

  app.get(
    '/health',
    {
      schema: {
        summary:
          'Liveness: 200 {ok:true,height} while the node can commit blocks; 503 with the reason once its consensus (or solo block production) has stopped',
        tags: ['chain'],
      },
    },
    async (_req, reply) => {
      const h: HealthAnswer = node.health();
      if (h.ok) return h;
      return reply.status(503).send({ ...h, error: haltError(h.halted!, `, at ${h.halted!.since}`) });
    },
  );

  app.get(
    '/health/live',
    {
      schema: {
        summary:
          'Liveness probe: 200 {ok:true,height} while the process serves and can commit blocks; 503 {ok:false,halted,error} once its consensus (or solo block production) has stopped: restart it',
        tags: ['chain'],
      },
    },
    async (_req, reply) => {
      const h: HealthAnswer = node.health();
      if (h.ok) return h;
      return reply.status(503).send({ ...h, error: haltError(h.halted!, '') });
    },
  );

  const readyMaxBehind = node.config.health?.readyMaxBehind ?? 5;
  app.get(
    '/health/ready',
    {
      schema: {
        summary: `Readiness probe: 200 {ready:true,height,peersHeight,peers,maxBehind} when the node is in sync — its height within maxBehind blocks (config.json health.readyMaxBehind, default 5) of the best height its peers show, and at least one connected peer unless it alone is the bookkeeper set (a solo dev node: while it produces); 503 {ready:false,reason,…} otherwise`,
        tags: ['chain'],
      },
    },
    async (_req, reply): Promise<ReadyAnswer> => {
      const r = node.readiness(readyMaxBehind);
      if (!r.ready) reply.status(503);
      return r;
    },
  );

  app.get(
    '/genesis',
    {
      schema: {
        summary:
          "The chain's genesis as JSON, exactly the file its nodes validated (`zeus init --genesis http://NODE:26657` reads it); its hash, `zeus genesis hash`, is in the x-zeus-genesis-hash header",
        tags: ['chain'],
      },
    },
    async (_req, reply) => {
      reply.header('x-zeus-genesis-hash', genesisHashHex);
      return node.ledger.genesis;
    },
  );

  app.get<{ Params: { address: string } }>(
    '/accounts/:address',
    { schema: { summary: 'Balances per token, nonces per chain, home chain, vesting, stake, quota', tags: ['accounts'], params: addressParam } },
    async (req): Promise<AccountAnswer> => {
      requireAddress(req.params.address);
      return accountView(node.reader, req.params.address, Math.max(node.reader.time, Date.now()));
    },
  );

  app.post<{ Body: Buffer | { tx?: string; txs?: string[] } }>(
    '/txs',
    {
      schema: {
        summary:
          'Submit signed transactions: JSON {"tx": hex} or {"txs": [hex…]}, or application/octet-stream: one signed transaction\'s bytes, or a TxBatch of many (first byte 0x12; docs/API.md)',
        description:
          '202 pending means this node checked the transaction, holds it in its mempool and wrote it to disk: it is not a commitment. ' +
          'It is final when GET /txs/{hash} says committed. A node that crashes sends what it acknowledged again when it restarts, but one that never comes back takes it along: ' +
          'to be sure, follow the transaction and give the same signed bytes to another node when this one stops answering or says UNKNOWN_TX ' +
          '(safe: a transaction applies at most once; a node holding it answers 409 DUPLICATE_TX, and once committed every node answers 409 NONCE_REPLAYED). The SDK does this in submitUntilFinal. ' +
          `A batch (JSON txs or a binary TxBatch, at most ${MAX_BATCH_TXS}) answers 202 {results:[…]}, one result per transaction in order: {hash,chain,status:"pending"} or {error:{code,message}}; ` +
          'a binary body that is not a canonical TxBatch answers 400 BAD_ENCODING, one over the limit 413 BATCH_TOO_LARGE.',
        tags: ['transactions'],
        response: { 400: errorSchema },
      },
    },
    async (req, reply) => {
      const body = req.body;
      if (Buffer.isBuffer(body)) {
        // A signed transaction never starts with TX_BATCH_TAG (its field 1 comes first): anything
        // else is one transaction, refused by the ledger's decoder if it is not one. It is copied:
        // the pool keeps it, and a view would keep the request's (maybe pooled) buffer alive.
        if (body[0] !== TX_BATCH_TAG) return reply.status(202).send(await submitOne(new Uint8Array(body), clientKey(req.ip)));
        let txs: Uint8Array[];
        try {
          // The decoder copies each transaction out of the body.
          txs = decodeTxBatch(body);
        } catch (e) {
          throw e instanceof TxBatchError ? batchRefusal(e) : e;
        }
        return reply.status(202).send({ results: await submitAll(txs, clientKey(req.ip)) } satisfies SubmitBatchAnswer);
      }
      if (!body || typeof body !== 'object') throw new ApiError(400, 'INVALID_REQUEST', 'body must be {"tx": hex} or {"txs": [hex, …]}');
      const decodeHex = (s: unknown): Uint8Array => {
        if (typeof s !== 'string' || s.length > hexTx.maxLength || !/^[0-9a-fA-F]*$/.test(s) || s.length % 2 !== 0) {
          throw new ApiError(400, 'BAD_ENCODING', 'transaction must be an even-length hex string');
        }
        return fromHex(s);
      };
      if (Array.isArray(body.txs)) {
        if (body.txs.length > MAX_BATCH_TXS) throw new ApiError(413, 'BATCH_TOO_LARGE', `at most ${MAX_BATCH_TXS} transactions per request`);
        const bytes: (Uint8Array | ApiError)[] = body.txs.map((s) => {
          try {
            return decodeHex(s);
          } catch (e) {
            return toApiError(e);
          }
        });
        return reply.status(202).send({ results: await submitAll(bytes, clientKey(req.ip)) } satisfies SubmitBatchAnswer);
      }
      return reply.status(202).send(await submitOne(decodeHex(body.tx), clientKey(req.ip)));
    },
  );

  app.get<{ Params: { hash: string } }>(
    '/txs/:hash',
    {
      schema: {
        summary: 'A transaction: pending, rejected (with reason) or committed (chain, height, Merkle inclusion proof)',
        tags: ['transactions'],
        params: { type: 'object', properties: { hash: { type: 'string', pattern: '^[0-9a-f]{64}$' } } },
      },
    },
    async (req): Promise<TxStatusAnswer> => {
      const hash = req.params.hash;
      // The mempool is asked first, at the same instant: a commit that lands while the store is
      // read takes the transaction out of the mempool, and asked after, a committed transaction
      // would be in neither (404 for a transaction committed a moment ago).
      const pending = node.mempool.get(hash);
      const loc = await node.store.txLocation(hash);
      if (loc) {
        const block = (await node.store.block(loc.height))!;
        const bh = blockHash(block.header);
        const txBytes = block.segments[loc.chain].txs[loc.index];
        const { decodeTx } = await import('../ledger/index.ts');
        return {
          status: 'committed',
          hash,
          chain: loc.chain,
          height: loc.height,
          index: loc.index,
          result: 'ok',
          tx: (await import('./views.ts')).txView(decodeTx(txBytes)),
          inclusion: inclusionView(block, bh, loc.chain, loc.index),
        };
      }
      if (pending) return { status: 'pending', hash, chain: pending.chain };
      const rej = node.rejection(hash);
      if (rej) return { status: 'rejected', hash, chain: rej.chain, error: { code: rej.code, message: rej.message } };
      throw new ApiError(404, 'UNKNOWN_TX', `no transaction ${hash} is known to this node`);
    },
  );

  const heightParam = { type: 'object', properties: { height: { type: 'string', pattern: '^(latest|[0-9]{1,15})$' } } } as const;
  const loadCommitted = async (h: string) => {
    const height = h === 'latest' ? node.reader.height : Number(h);
    const c = height > 0 ? await node.store.committedBlock(height) : undefined;
    if (!c) {
      const base = await node.store.base();
      if (height > 0 && height < base && height <= node.reader.height) {
        const joined = await node.store.stateSyncInfo();
        const why =
          joined && height < joined.snapshotHeight
            ? `this node joined by state sync at height ${joined.snapshotHeight} and holds no earlier block`
            : `this node pruned blocks below height ${base}`;
        throw new ApiError(404, 'UNKNOWN_BLOCK', `block ${height} is not held here: ${why}; ask an archive node`);
      }
      throw new ApiError(404, 'UNKNOWN_BLOCK', `no block at height ${h}`);
    }
    return c;
  };
  const loadBlock = async (h: string) => (await loadCommitted(h)).block;

  app.get<{ Querystring: { from?: number; limit?: number } }>(
    '/blocks',
    {
      schema: {
        summary: 'Recent main block headers, newest first',
        tags: ['blocks'],
        querystring: { type: 'object', properties: { from: { type: 'integer', minimum: 1 }, limit: { type: 'integer', minimum: 1, maximum: 100 } } },
      },
    },
    async (req): Promise<BlocksAnswer> => {
      const from = Math.min(req.query.from ?? node.reader.height, node.reader.height);
      const limit = req.query.limit ?? 20;
      const out = [];
      const base = await node.store.base();
      for (let h = from; h >= base && h > 0 && out.length < limit; h--) {
        const b = await node.store.block(h);
        if (!b) break;
        out.push(blockHeaderView(b, blockHash(b.header)));
      }
      return { height: node.reader.height, blocks: out };
    },
  );

  app.get<{ Params: { height: string } }>(
    '/blocks/:height',
    { schema: { summary: 'A main block: header, the ten segment headers, transaction hashes', tags: ['blocks'], params: heightParam } },
    async (req): Promise<BlockAnswer> => {
      const { block, certificate } = await loadCommitted(req.params.height);
      return { ...blockView(block, blockHash(block.header)), certificate: jsonValue(certificate), lastCommit: jsonValue(block.lastCommit) };
    },
  );

  app.get<{ Params: { height: string; chain: number } }>(
    '/blocks/:height/chains/:chain',
    {
      schema: {
        summary: 'One chain segment (0 = main, 1..9 inner) of a height with its transactions',
        tags: ['blocks'],
        params: { type: 'object', properties: { height: heightParam.properties.height, chain: { type: 'integer', minimum: 0, maximum: 9 } } },
      },
    },
    async (req): Promise<SegmentAnswer> => segmentView(await loadBlock(req.params.height), req.params.chain),
  );

  app.get(
    '/tokens',
    { schema: { summary: 'Sub-tokens: anchor rate, deposit, supply, issuer', tags: ['tokens'] } },
    async (): Promise<TokensAnswer> => ({
      tokens: tokensView(node.reader),
    }),
  );

  app.get<{ Params: { symbol: string } }>(
    '/tokens/:symbol',
    { schema: { summary: 'One sub-token', tags: ['tokens'], params: { type: 'object', properties: { symbol: { type: 'string', maxLength: 10 } } } } },
    async (req): Promise<TokenAnswer> => {
      const t = node.reader.token(req.params.symbol);
      if (!t) throw new ApiError(404, 'UNKNOWN_TOKEN', `unknown token "${req.params.symbol}"`);
      return tokenView(t);
    },
  );

  app.get(
    '/bookkeepers',
    { schema: { summary: 'Candidates (weight, stake, missed slots, jail), votes, the current and scheduled bookkeeper sets', tags: ['bookkeepers'] } },
    async (): Promise<BookkeepersAnswer> => bookkeepersView(node.reader),
  );

  registerMarketRoutes(app, node, requireAddress, listings);
  registerGovRoutes(app, node);
  registerConsoleRoutes(app, opts.consoleDir);
  if (opts.ddn) await app.register(ddnRoutes, { ddn: opts.ddn });
  if (opts.registry) {
    await app.register(registryPlugin, {
      store: opts.registry,
      chainId: node.chainId,
      nodePublicKey: node.publicKey,
      chain: registryChainOf(node.reader),
      uploadLimits: opts.uploadLimits,
    });
  }

  const metrics = new NodeMetrics({
    node,
    ddnServed: opts.ddn ? () => ({ bytes: opts.ddn!.stats.bytesServed, pieces: opts.ddn!.stats.piecesServed }) : undefined,
    wsSockets: () => ({ open: wsSockets.size, unsentBytes: wsSockets.recount(), refused: wsSockets.refused, cut: wsSockets.cut }),
    requests: () => ({ tooMany: requests.refused.TOO_MANY_REQUESTS, busy: requests.refused.SERVER_BUSY, bodyBytes: requests.heldBodyBytes }),
    connections: () => ({ open: connections.open(), refusedClient: connections.refused.client, refusedFull: connections.refused.total }),
    listings: () => ({ computed: listings.computed, cached: listings.hits, refused: listings.refused }),
  });
  app.get(
    '/metrics',
    {
      schema: {
        summary: 'Prometheus metrics: height, rounds, commit latency, mempool, peers, transactions, market events, DDN bytes delivered, process',
        tags: ['chain'],
      },
    },
    async (_req, reply) => {
      reply.type(metrics.contentType);
      return metrics.text();
    },
  );

  // The report scans every account of every chain: computed at most once per committed height
  // (nothing it counts changes in between), or anyone could keep the node scanning for free.
  app.get(
    '/supply',
    { schema: { summary: 'Where all 10,000,000,000 ZNC are, checked against the fixed supply', tags: ['chain'] } },
    async (req): Promise<SupplyAnswer> => listings.get(node.ledger.height, 'supply', () => jsonValue(node.reader.supply()), clientKey(req.ip)),
  );

  app.route<{ Querystring: { events?: string } }>({
    method: 'GET',
    url: '/ws',
    schema: {
      hide: true, // documented by hand in transformObject above
      summary: 'WebSocket stream of {type:"block"}, {type:"tx"}, {type:"market"} and {type:"gov"} events; ?events=block,tx to receive only some kinds',
      tags: ['events'],
      querystring: { type: 'object', properties: { events: { type: 'string', pattern: EVENT_KINDS } } },
    },
    // A client at its cap of open sockets is refused before the upgrade.
    preValidation: async (req) => {
      const client = clientKey(req.ip);
      if (req.headers.upgrade?.toLowerCase() === 'websocket' && !wsSockets.mayOpen(client)) throw tooManySockets(client);
    },
    // A plain HTTP GET (no Upgrade) gets a JSON answer saying what to do, not an empty 404.
    handler: async (_req, reply) =>
      reply
        .status(426)
        .header('upgrade', 'websocket')
        .send({ error: { code: 'UPGRADE_REQUIRED', message: 'GET /ws is a WebSocket endpoint: connect with a WebSocket client (Upgrade: websocket)' } }),
    wsHandler: (socket, req) => {
      const client = clientKey(req.ip);
      const kinds = new Set(req.query.events === 'none' ? [] : (req.query.events ?? 'block,tx,market,gov').split(','));
      // A client that subscribes and does not read would have the node hold every event for it, in
      // memory without end: past its cap unsent (or when all sockets together hold too much and it
      // holds the most), it is cut off. It may reconnect and read faster, or ask for fewer kinds.
      let cutOff = false;
      const close = (reason: string): void => {
        cutOff = true;
        node.events.off('event', onEvent);
        wsSockets.remove(socket);
        node.logger.warn({ client: req.ip, unsentBytes: socket.bufferedAmount }, `closed a /ws client's socket: ${reason}`);
        socket.terminate();
      };
      // Two upgrades that passed preValidation together may still take one client past its cap.
      if (!wsSockets.add(socket, client, close)) {
        socket.close(1008, 'TOO_MANY_SOCKETS');
        return;
      }
      const send = (e: NodeEvent | SubmissionMessage): void => {
        if (cutOff || socket.readyState !== socket.OPEN || !wsSockets.maySend(socket)) return;
        socket.send(JSON.stringify(e));
      };
      const onEvent = (e: NodeEvent): void => {
        if (kinds.has(e.type)) send(e);
      };
      node.events.on('event', onEvent);
      socket.on('close', () => {
        node.events.off('event', onEvent);
        wsSockets.remove(socket);
      });
      // Submitting: a binary TxFrame {seq, txs} is answered {type:"submitted",seq,results}; a frame
      // refused as a whole {type:"error",seq?,error}. Frames are submitted one after another in
      // arrival order; at most WS_MAX_FRAMES wait, so a fast client cannot grow the node's memory.
      let waiting = 0;
      let last: Promise<void> = Promise.resolve();
      socket.on('message', (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => {
        if (!isBinary) {
          return send({
            type: 'error',
            error: {
              code: 'BAD_FRAME',
              message: 'submit transactions as a binary frame holding a TxFrame {seq, txs} (docs/API.md); text frames carry nothing here',
            },
          });
        }
        const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
        const seq = frameSeq(bytes);
        if (waiting >= WS_MAX_FRAMES) {
          return send({
            type: 'error',
            seq,
            error: {
              code: 'TOO_MANY_FRAMES',
              message: `at most ${WS_MAX_FRAMES} frames may wait for their answer on one socket; send more once answers arrive`,
            },
          });
        }
        let frame: { seq: number; txs: Uint8Array[] };
        try {
          frame = decodeTxFrame(bytes);
        } catch (e) {
          return send({ type: 'error', seq, ...errorAnswer(e) });
        }
        waiting++;
        last = last.then(async () => {
          try {
            send({ type: 'submitted', seq: frame.seq, results: await submitAll(frame.txs, clientKey(req.ip)) });
          } catch (e) {
            send({ type: 'error', seq: frame.seq, ...errorAnswer(e) });
          } finally {
            waiting--;
          }
        });
      });
    },
  });

  await app.listen({ host: opts.host, port: opts.port });
  return app;
}
