import { createReadStream } from 'node:fs';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ErrorDialect } from '../http/index.ts';
import type { Digest } from './contracts.ts';
import { RegistryError, type OciErrorCode } from './errors.ts';
import { sha256Digest } from './files.ts';
import { MediaType, readManifest } from './manifest.ts';
import { checkRepositoryName, isTag, parseDigest } from './names.ts';
import { namespaceOf, namespaceOwner, refusal, type ChainApps, type PushOp } from './namespaces.ts';
import { DEFAULT_UPLOAD_LIMITS, uploadAllowance, type AccountStanding, type UploadLimits } from './quota.ts';
import type { DiskBlobStore } from './store.ts';
import { isKeyOf, RegistryTokenError, registryAudience, MAX_TOKEN_TTL_SECONDS, verifyRegistryToken, type RegistryTokenClaims } from './token.ts';
import type { AppendOptions, UploadQuota, UploadSession } from './uploads.ts';

// The OCI Distribution API (`/v2/…`) of a node, as an encapsulated fastify plugin: its own
// content-type parser hands every request body over unread, so blobs stream from the socket to
// disk whatever their size and the API's JSON body limit never applies here; manifests are read
// up to their own limit.
//
// Authentication follows Docker's token flow, because that is what lets `docker pull` stay
// anonymous while `docker push` sends the stored `docker login` credentials: GET /v2/ without
// credentials answers 401 with a Bearer challenge whose realm is /v2/_auth/token. Docker asks
// that realm for a token, sending its Basic credentials (znc1… address : zrt1… token) when it
// has some; anonymous callers get a token that may only read. Every endpoint also takes the
// Basic credentials directly (curl -u, skopeo --creds). Reads never need credentials.

export interface RegistryOptions {
  /** The node's blob store (`DiskBlobStore.open(<home>/ddn)`), shared with the fetcher. */
  store: DiskBlobStore;
  chainId: string;
  /** The node's own key: tokens it signs may run garbage collection. */
  nodePublicKey: Uint8Array;
  /** What the chain says: who owns a name (namespaces) and what an account has at stake (upload quota). */
  chain: RegistryChain;
  /** Bounds of uploads in progress (default DEFAULT_UPLOAD_LIMITS). */
  uploadLimits?: UploadLimits;
  maxManifestBytes?: number;
  maxBlobBytes?: number;
  /** How often the node collects garbage (0: never); default hourly. */
  gcIntervalMs?: number;
}

/** The committed state every node shares, as the registry needs it. */
export interface RegistryChain extends ChainApps {
  standing(address: string): AccountStanding;
}

/** A caller allowed to write: its account and what it may hold in uploads in progress. */
interface Pusher {
  account: string;
  quota: UploadQuota;
}

const MIB = 1024 * 1024;
export const MAX_MANIFEST_BYTES = 4 * MIB;
export const MAX_BLOB_BYTES = 16 * 1024 * MIB;
const MAX_TAGS_PAGE = 10_000;
/**
 * A refused request's unread body up to this size is read and dropped after the answer, so the
 * client reads the answer instead of a connection reset; a larger or unsized one is cut off.
 */
const DRAIN_LIMIT = 64 * MIB;
/** What anonymous callers get from the token endpoint: it grants reads, which need nothing. */
const ANONYMOUS_TOKEN = 'anonymous';
const SERVICE = 'zeusnet';

interface Caller {
  token: string;
  claims: RegistryTokenClaims;
}

type Route =
  | { kind: 'base' | 'token' | 'info' | 'gc' }
  | { kind: 'manifest'; name: string; reference: string }
  | { kind: 'blob'; name: string; digest: string }
  | { kind: 'uploads'; name: string }
  | { kind: 'upload'; name: string; uuid: string }
  | { kind: 'tags'; name: string }
  | { kind: 'referrers'; name: string; digest: string };

/**
 * Reads the route from the raw path. Each segment is percent-decoded on its own, so an encoded
 * "/" or "." cannot join or climb segments; names then pass the spec's grammar.
 */
export function parseRoute(path: string): Route | undefined {
  const raw = path.split('/').slice(2); // '' and 'v2'
  const seg = raw.map((s) => {
    let d: string;
    try {
      d = decodeURIComponent(s);
    } catch {
      throw new RegistryError('NAME_INVALID', `malformed percent-encoding in "${s.slice(0, 100)}"`);
    }
    if (d.includes('/')) throw new RegistryError('NAME_INVALID', `path segment "${s.slice(0, 100)}" encodes a "/"`);
    return d;
  });
  if (seg.length === 0 || (seg.length === 1 && seg[0] === '')) return { kind: 'base' };
  if (seg.length === 2 && seg[0] === '_auth' && seg[1] === 'token') return { kind: 'token' };
  if (seg.length === 2 && seg[0] === '_auth' && seg[1] === 'info') return { kind: 'info' };
  if (seg.length === 2 && seg[0] === '_zeus' && seg[1] === 'gc') return { kind: 'gc' };
  const n = seg.length;
  const name = (k: number): string => checkRepositoryName(seg.slice(0, n - k).join('/'));
  if (n >= 4 && seg[n - 3] === 'blobs' && seg[n - 2] === 'uploads') {
    return seg[n - 1] === '' ? { kind: 'uploads', name: name(3) } : { kind: 'upload', name: name(3), uuid: seg[n - 1] };
  }
  if (n >= 3 && seg[n - 2] === 'blobs' && seg[n - 1] === 'uploads') return { kind: 'uploads', name: name(2) };
  if (n >= 3 && seg[n - 2] === 'tags' && seg[n - 1] === 'list') return { kind: 'tags', name: name(2) };
  if (n >= 3 && seg[n - 2] === 'manifests') return { kind: 'manifest', name: name(2), reference: seg[n - 1] };
  if (n >= 3 && seg[n - 2] === 'blobs') return { kind: 'blob', name: name(2), digest: seg[n - 1] };
  if (n >= 3 && seg[n - 2] === 'referrers') return { kind: 'referrers', name: name(2), digest: seg[n - 1] };
  if (seg.some((s) => s === '..' || s === '.')) throw new RegistryError('NAME_INVALID', 'path segments "." and ".." are not allowed');
  return undefined;
}

interface ContentRange {
  start: number;
  length: number;
}

/** `Content-Range: <start>-<end>` of a chunk (inclusive), as the spec writes it. */
function parseContentRange(h: string | undefined): ContentRange | undefined {
  if (h === undefined) return undefined;
  const m = /^(?:bytes[ =])?(\d{1,15})-(\d{1,15})$/.exec(h.trim());
  if (!m || Number(m[2]) < Number(m[1]))
    throw new RegistryError('BLOB_UPLOAD_INVALID', `Content-Range "${h.slice(0, 100)}" must be <start>-<end>, inclusive, end ≥ start`);
  return { start: Number(m[1]), length: Number(m[2]) - Number(m[1]) + 1 };
}

/** A single `Range: bytes=…` of a blob of `size` bytes; undefined means "send it all". */
export function parseRange(h: string | undefined, size: number): { start: number; end: number } | 'unsatisfiable' | undefined {
  if (h === undefined) return undefined;
  const m = /^bytes=(\d{0,15})-(\d{0,15})$/.exec(h.trim());
  if (!m || (m[1] === '' && m[2] === '')) return undefined; // not one simple range: RFC 9110 lets a server ignore it
  if (m[1] === '') {
    const n = Number(m[2]);
    if (n === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(m[1]);
  if (m[2] !== '' && Number(m[2]) < start) return undefined;
  if (start >= size) return 'unsatisfiable';
  return { start, end: m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1) };
}

const rangeHeader = (size: number): string => `0-${Math.max(0, size - 1)}`;

export async function registryPlugin(app: FastifyInstance, o: RegistryOptions): Promise<void> {
  const store = o.store;
  const limits = o.uploadLimits ?? DEFAULT_UPLOAD_LIMITS;
  store.uploads.limits = limits;
  const audience = registryAudience(o.chainId, o.nodePublicKey);
  const maxManifest = o.maxManifestBytes ?? MAX_MANIFEST_BYTES;
  const maxBlob = o.maxBlobBytes ?? MAX_BLOB_BYTES;

  const gcEvery = o.gcIntervalMs ?? 3_600_000;
  const timer =
    gcEvery > 0 ? setInterval(() => void store.gc().catch((e: unknown) => app.log.error(e, 'registry garbage collection failed')), gcEvery) : undefined;
  timer?.unref();
  // Idle uploads are dropped as they expire, not only when the hourly collection comes.
  const sweep = setInterval(
    () => void store.uploads.expireIdle().catch((e: unknown) => app.log.error(e, 'dropping idle uploads failed')),
    Math.min(60_000, Math.max(1000, limits.idleMs / 2)),
  );
  sweep.unref();
  app.addHook('onClose', async () => {
    clearInterval(timer);
    clearInterval(sweep);
  });

  // Leave every body unread for the handlers: blobs stream to disk, manifests are read with a limit.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_req, _payload, done) => done(null, undefined));
  app.addHook('onRequest', async (_req, reply) => {
    reply.header('docker-distribution-api-version', 'registry/2.0');
  });

  const challenge = (req: FastifyRequest, scope?: string): string => {
    const host = /^[A-Za-z0-9.:[\]-]{1,300}$/.test(req.host) ? req.host : `127.0.0.1`;
    return `Bearer realm="${req.protocol}://${host}/v2/_auth/token",service="${SERVICE}"${scope ? `,scope="${scope}"` : ''}`;
  };

  const unauthorized = (req: FastifyRequest, message: string, scope?: string): RegistryError =>
    new RegistryError('UNAUTHORIZED', message, { headers: { 'www-authenticate': [challenge(req, scope), `Basic realm="${SERVICE}"`] } });

  /** The caller's verified token; undefined when anonymous; UNAUTHORIZED when credentials fail. */
  const authenticate = (req: FastifyRequest): Caller | undefined => {
    const h = req.headers.authorization;
    if (h === undefined) return undefined;
    const m = /^(Basic|Bearer)\s+(\S+)$/i.exec(h);
    if (!m) throw unauthorized(req, 'Authorization must be Basic (address:token) or Bearer');
    try {
      if (m[1].toLowerCase() === 'bearer') {
        return m[2] === ANONYMOUS_TOKEN ? undefined : { token: m[2], claims: verifyRegistryToken(m[2], { audience, nowMs: Date.now() }) };
      }
      const decoded = Buffer.from(m[2], 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      const user = colon < 0 ? decoded : decoded.slice(0, colon);
      const password = colon < 0 ? '' : decoded.slice(colon + 1);
      if (user === '' && password === '') return undefined; // some clients send empty Basic credentials when they have none
      return { token: password, claims: verifyRegistryToken(password, { audience, nowMs: Date.now(), address: user }) };
    } catch (e) {
      if (e instanceof RegistryTokenError) throw unauthorized(req, e.message);
      throw e;
    }
  };

  /** A write: the caller must be an account the namespace's rules let do `op` (namespaces.ts). */
  const authorizePush = async (req: FastifyRequest, name: string, op: PushOp): Promise<Pusher> => {
    const scope = `repository:${name}:pull,push`;
    const caller = authenticate(req)?.claims;
    if (!caller)
      throw unauthorized(
        req,
        `authentication required to push to ${name}: run \`zeus registry login --node URL\` (docker login with your znc1… address and a registry token)`,
        scope,
      );
    const owner = namespaceOwner(name, o.chain);
    const why = refusal(owner, caller.sub, op);
    if (why !== undefined)
      throw new RegistryError('DENIED', why, { detail: { namespace: owner.namespace, ...(owner.kind === 'open' ? {} : { owner: owner.owner }) } });
    return { account: caller.sub, quota: { account: caller.sub, allowance: uploadAllowance(o.chain.standing(caller.sub), limits) } };
  };

  const readBody = async (req: FastifyRequest, max: number): Promise<Uint8Array> => {
    const declared = Number(req.headers['content-length'] ?? 0);
    const tooBig = new RegistryError('SIZE_INVALID', `manifest is larger than the ${max} bytes this registry accepts`, { status: 413 });
    if (declared > max) throw tooBig;
    const chunks: Uint8Array[] = [];
    let n = 0;
    for await (const c of body(req)) {
      n += c.length;
      if (n > max) throw tooBig;
      chunks.push(c);
    }
    return new Uint8Array(Buffer.concat(chunks));
  };

  /**
   * The request body as chunks; stopping early leaves the rest unread rather than destroying the
   * socket. A body that stalls for the uploads' idle time is cut off, so a client that stops sending
   * midway does not hold its session (and its quota) busy forever.
   */
  const body = (req: FastifyRequest): AsyncIterable<Uint8Array> => {
    req.raw.setTimeout(limits.idleMs, () => req.raw.destroy(new Error(`no bytes for ${limits.idleMs} ms`)));
    return req.raw.iterator({ destroyOnReturn: false });
  };

  const uploadLocation = (s: UploadSession): string => `/v2/${s.repository}/blobs/uploads/${s.uuid}`;

  const sendUploadState = (reply: FastifyReply, s: UploadSession, size: number, status: number): FastifyReply =>
    reply
      .code(status)
      .header('location', uploadLocation(s))
      .header('range', rangeHeader(size))
      .header('docker-upload-uuid', s.uuid)
      .header('content-length', '0')
      .send();

  const blobCreated = async (reply: FastifyReply, name: string, d: Digest): Promise<FastifyReply> => {
    await store.linkBlob(name, d);
    return reply.code(201).header('location', `/v2/${name}/blobs/${d}`).header('docker-content-digest', d).header('content-length', '0').send();
  };

  /** How much of the request body may go into an upload, from its Content-Range and Content-Length. */
  const chunkOptions = (req: FastifyRequest, quota: UploadQuota): AppendOptions => {
    const cr = parseContentRange(req.headers['content-range']);
    const declared = req.headers['content-length'];
    if (cr && declared !== undefined && Number(declared) !== cr.length) {
      throw new RegistryError('SIZE_INVALID', `Content-Range covers ${cr.length} bytes but Content-Length is ${declared}`);
    }
    if (declared !== undefined && Number(declared) > maxBlob)
      throw new RegistryError('SIZE_INVALID', `blob exceeds the ${maxBlob} bytes this registry accepts`, { status: 413 });
    return { start: cr?.start, length: cr?.length, declared: declared === undefined ? undefined : Number(declared), maxBytes: maxBlob, quota };
  };

  /** Runs an upload step; a chunk refused as out of order answers where the upload stands. */
  const atUpload = async <T>(reply: FastifyReply, s: UploadSession, step: () => Promise<T>): Promise<T> => {
    try {
      return await step();
    } catch (e) {
      if (e instanceof RegistryError && e.status === 416) {
        reply.header('location', uploadLocation(s)).header('range', rangeHeader(await store.uploads.size(s)));
      }
      throw e;
    }
  };

  const handlers = {
    async base(req: FastifyRequest, reply: FastifyReply) {
      const caller = authenticate(req);
      if (!caller && req.headers.authorization === undefined) {
        throw new RegistryError('UNAUTHORIZED', 'pulling needs no credentials: fetch an anonymous token from the realm, or send Basic address:token to push', {
          headers: { 'www-authenticate': challenge(req) },
        });
      }
      return reply.code(200).header('content-type', 'application/json').send('{}');
    },

    async token(req: FastifyRequest, reply: FastifyReply) {
      // The account's own token is the bearer token: it is self-verifying and already short-lived.
      const caller = authenticate(req);
      const now = Math.floor(Date.now() / 1000);
      const token = caller?.token ?? ANONYMOUS_TOKEN;
      const expiresIn = caller ? Math.max(1, caller.claims.exp - now) : 3600;
      return reply.send({ token, access_token: token, expires_in: expiresIn, issued_at: new Date(now * 1000).toISOString() });
    },

    async info(_req: FastifyRequest, reply: FastifyReply) {
      return reply.send({ service: SERVICE, chainId: o.chainId, audience, maxTokenTtlSeconds: MAX_TOKEN_TTL_SECONDS, tokenEndpoint: '/v2/_auth/token' });
    },

    async gc(req: FastifyRequest, reply: FastifyReply, query: URLSearchParams) {
      const caller = authenticate(req)?.claims;
      if (!caller) throw unauthorized(req, "garbage collection needs a token signed by the node's own key (zeus registry gc)");
      if (!isKeyOf(caller, o.nodePublicKey)) throw new RegistryError('DENIED', "only the node's own key may collect garbage");
      const grace = query.get('graceSeconds');
      if (grace !== null && !/^\d{1,9}$/.test(grace)) throw new RegistryError('UNSUPPORTED', 'graceSeconds must be a whole number', { status: 400 });
      return reply.send(await store.gc(grace === null ? {} : { blobGraceMs: Number(grace) * 1000 }));
    },
  };

  const manifest = async (req: FastifyRequest, reply: FastifyReply, name: string, reference: string): Promise<FastifyReply> => {
    const byDigest = reference.includes(':');
    const digest = byDigest ? parseDigest(reference) : undefined;
    const unknown = (): RegistryError =>
      new RegistryError('MANIFEST_UNKNOWN', `manifest ${reference.slice(0, 200)} is not in ${name}`, { detail: { name, reference: reference.slice(0, 200) } });
    switch (req.method) {
      case 'GET':
      case 'HEAD': {
        if (!byDigest && !isTag(reference)) throw unknown();
        // A published version is what the chain says it is (namespaces.ts): `app:version` is served
        // as the chain's digest, never as a tag someone else wrote before the app was published.
        const published = byDigest || name !== namespaceOf(name) ? undefined : o.chain.appDigest(name, reference);
        const m = await store.getManifest(name, published ?? reference);
        if (!m) throw unknown();
        reply
          .header('content-type', m.mediaType)
          .header('docker-content-digest', m.digest)
          .header('etag', `"${m.digest}"`)
          .header('content-length', String(m.bytes.length));
        return req.method === 'HEAD' ? reply.code(200).send() : reply.code(200).send(Buffer.from(m.bytes.buffer, m.bytes.byteOffset, m.bytes.byteLength));
      }
      case 'PUT': {
        await authorizePush(req, name, 'add');
        if (!byDigest && !isTag(reference)) {
          throw new RegistryError('TAG_INVALID', `invalid tag "${reference.slice(0, 200)}": up to 128 characters [a-zA-Z0-9_.-], not starting with "." or "-"`);
        }
        const bytes = await readBody(req, maxManifest);
        const facts = readManifest(bytes, req.headers['content-type']);
        const actual = sha256Digest(bytes);
        if (digest !== undefined && actual !== digest) {
          throw new RegistryError('DIGEST_INVALID', `manifest has digest ${actual}, not ${digest} as the URL says`, { detail: { expected: digest, actual } });
        }
        const stored = await store.storeManifest(name, bytes, facts, byDigest ? undefined : reference);
        if (facts.subject) reply.header('oci-subject', facts.subject.digest);
        return reply
          .code(201)
          .header('location', `/v2/${name}/manifests/${stored}`)
          .header('docker-content-digest', stored)
          .header('content-length', '0')
          .send();
      }
      case 'DELETE': {
        await authorizePush(req, name, 'delete');
        const removed = digest !== undefined ? await store.deleteManifest(name, digest) : isTag(reference) && (await store.deleteTag(name, reference));
        if (!removed) throw unknown();
        return reply.code(202).header('content-length', '0').send();
      }
    }
    throw notAllowed(req.method, 'GET, HEAD, PUT, DELETE');
  };

  const blob = async (req: FastifyRequest, reply: FastifyReply, name: string, digestText: string): Promise<FastifyReply> => {
    const digest = parseDigest(digestText);
    const unknown = (): RegistryError => new RegistryError('BLOB_UNKNOWN', `blob ${digest} is not in ${name}`, { detail: { digest } });
    switch (req.method) {
      case 'GET':
      case 'HEAD': {
        const size = (await store.hasBlobIn(name, digest)) ? await store.size(digest) : undefined;
        const file = size === undefined ? undefined : await store.path(digest);
        if (size === undefined || file === undefined) throw unknown();
        const range = req.method === 'GET' ? parseRange(req.headers.range, size) : undefined;
        if (range === 'unsatisfiable') {
          throw new RegistryError('SIZE_INVALID', `range "${String(req.headers.range).slice(0, 100)}" starts beyond the end of the ${size}-byte blob`, {
            status: 416,
            detail: { size },
            headers: { 'content-range': `bytes */${size}` },
          });
        }
        reply
          .header('content-type', 'application/octet-stream')
          .header('docker-content-digest', digest)
          .header('etag', `"${digest}"`)
          .header('accept-ranges', 'bytes')
          .header('cache-control', 'max-age=31536000, immutable');
        if (req.method === 'HEAD') return reply.code(200).header('content-length', String(size)).send();
        if (range === undefined) return reply.code(200).header('content-length', String(size)).send(createReadStream(file));
        return reply
          .code(206)
          .header('content-range', `bytes ${range.start}-${range.end}/${size}`)
          .header('content-length', String(range.end - range.start + 1))
          .send(createReadStream(file, { start: range.start, end: range.end }));
      }
      case 'DELETE': {
        await authorizePush(req, name, 'delete');
        if (!(await store.unlinkBlob(name, digest))) throw unknown();
        return reply.code(202).header('content-length', '0').send();
      }
    }
    throw notAllowed(req.method, 'GET, HEAD, DELETE');
  };

  const startUpload = async (req: FastifyRequest, reply: FastifyReply, name: string, query: URLSearchParams): Promise<FastifyReply> => {
    if (req.method !== 'POST') throw notAllowed(req.method, 'POST');
    const pusher = await authorizePush(req, name, 'add');
    const mount = query.get('mount');
    const from = query.get('from');
    if (mount !== null) {
      const d = parseDigest(mount);
      // Without `from` the client starts an ordinary upload, as the spec's default asks.
      if (from !== null && (await store.hasBlobIn(checkRepositoryName(from), d))) return blobCreated(reply, name, d);
    }
    const digest = query.get('digest');
    if (digest !== null && mount === null) {
      const d = parseDigest(digest);
      const options = chunkOptions(req, pusher.quota);
      const s = await store.uploads.start(name, pusher.quota);
      try {
        await store.uploads.complete(s, d, { body: body(req), options });
      } catch (e) {
        await store.uploads.cancel(s);
        throw e;
      }
      return blobCreated(reply, name, d);
    }
    const s = await store.uploads.start(name, pusher.quota);
    return sendUploadState(reply, s, 0, 202);
  };

  const upload = async (req: FastifyRequest, reply: FastifyReply, name: string, uuid: string, query: URLSearchParams): Promise<FastifyReply> => {
    if (!['GET', 'PATCH', 'PUT', 'DELETE'].includes(req.method)) throw notAllowed(req.method, 'GET, PATCH, PUT, DELETE');
    const pusher = req.method === 'GET' ? undefined : await authorizePush(req, name, 'add');
    const s = await store.uploads.find(uuid, name);
    // A session is its starter's: in a namespace open to all, nobody else may add to it or end it.
    if (pusher && s.account !== undefined && s.account !== pusher.account) {
      throw new RegistryError(
        'DENIED',
        `upload ${uuid} was started by ${s.account}; ${pusher.account} may not add to it, complete or cancel it: start your own`,
      );
    }
    switch (req.method) {
      case 'GET':
        return sendUploadState(reply, s, await store.uploads.size(s), 204);
      case 'PATCH': {
        const options = chunkOptions(req, pusher!.quota);
        return sendUploadState(reply, s, await atUpload(reply, s, () => store.uploads.append(s, body(req), options)), 202);
      }
      case 'PUT': {
        const digest = query.get('digest');
        if (digest === null) throw new RegistryError('DIGEST_INVALID', 'PUT that completes an upload needs ?digest=sha256:… of the whole blob');
        const d = parseDigest(digest);
        const options = chunkOptions(req, pusher!.quota);
        await atUpload(reply, s, () => store.uploads.complete(s, d, { body: body(req), options }));
        return blobCreated(reply, name, d);
      }
      case 'DELETE':
        await store.uploads.cancel(s);
        return reply.code(204).send();
    }
    throw notAllowed(req.method, 'GET, PATCH, PUT, DELETE');
  };

  const tags = async (req: FastifyRequest, reply: FastifyReply, name: string, query: URLSearchParams): Promise<FastifyReply> => {
    if (req.method !== 'GET') throw notAllowed(req.method, 'GET');
    const all = await store.tags(name);
    if (!all) throw new RegistryError('NAME_UNKNOWN', `repository ${name} is not known to this registry`, { detail: { name } });
    const nText = query.get('n');
    if (nText !== null && (!/^\d{1,9}$/.test(nText) || Number(nText) > MAX_TAGS_PAGE)) {
      throw new RegistryError('UNSUPPORTED', `n must be a whole number from 0 to ${MAX_TAGS_PAGE}`, { status: 400 });
    }
    const last = query.get('last');
    const after = last === null ? all : all.filter((t) => t > last);
    const n = nText === null ? after.length : Number(nText);
    const page = after.slice(0, n);
    if (n > 0 && after.length > n) {
      reply.header('link', `</v2/${name}/tags/list?n=${n}&last=${encodeURIComponent(page[page.length - 1])}>; rel="next"`);
    }
    return reply.header('content-type', 'application/json').send(JSON.stringify({ name, tags: page }));
  };

  const referrers = async (req: FastifyRequest, reply: FastifyReply, name: string, digestText: string, query: URLSearchParams): Promise<FastifyReply> => {
    if (req.method !== 'GET') throw notAllowed(req.method, 'GET');
    const subject = parseDigest(digestText);
    const artifactType = query.get('artifactType');
    let manifests = await store.referrers(name, subject);
    if (artifactType !== null) {
      manifests = manifests.filter((m) => m.artifactType === artifactType);
      reply.header('oci-filters-applied', 'artifactType');
    }
    // A Buffer, so fastify leaves the exact media type alone (it appends a charset to strings).
    return reply.header('content-type', MediaType.OciIndex).send(Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.OciIndex, manifests })));
  };

  const dispatch = async (req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    const url = req.raw.url ?? '/';
    const q = url.indexOf('?');
    const query = new URLSearchParams(q < 0 ? '' : url.slice(q + 1));
    const route = parseRoute(q < 0 ? url : url.slice(0, q));
    if (!route) throw new RegistryError('NAME_UNKNOWN', `no registry endpoint at ${url.slice(0, 200)}`, { status: 404 });
    switch (route.kind) {
      case 'base':
        if (req.method !== 'GET' && req.method !== 'HEAD') throw notAllowed(req.method, 'GET, HEAD');
        return handlers.base(req, reply);
      case 'token':
      case 'info':
        if (req.method !== 'GET') throw notAllowed(req.method, 'GET');
        return handlers[route.kind](req, reply);
      case 'gc':
        if (req.method !== 'POST') throw notAllowed(req.method, 'POST');
        return handlers.gc(req, reply, query);
      case 'manifest':
        return manifest(req, reply, route.name, route.reference);
      case 'blob':
        return blob(req, reply, route.name, route.digest);
      case 'uploads':
        return startUpload(req, reply, route.name, query);
      case 'upload':
        return upload(req, reply, route.name, route.uuid, query);
      case 'tags':
        return tags(req, reply, route.name, query);
      case 'referrers':
        return referrers(req, reply, route.name, route.digest, query);
    }
  };

  const handler = async (req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    try {
      return await dispatch(req, reply);
    } catch (err) {
      const e = err instanceof RegistryError ? err : new RegistryError('UNSUPPORTED', 'internal error', { status: 500 });
      if (!(err instanceof RegistryError)) req.log.error(err);
      if (!req.raw.complete) drainOrClose(req, reply);
      return sendError(reply, e);
    }
  };

  for (const url of ['/v2', '/v2/*']) {
    app.route({ method: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'], url, exposeHeadRoute: false, schema: { hide: true }, handler });
  }
}

/**
 * The rest of a refused body must leave the connection before the next request on it can be read.
 * Up to DRAIN_LIMIT bytes are read and dropped, so the client, still sending, reads the answer
 * rather than a reset; a body declared larger ends the connection after the answer, and an unsized
 * one that goes on past the limit is cut off.
 */
function drainOrClose(req: FastifyRequest, reply: FastifyReply): void {
  const declared = req.headers['content-length'];
  if (declared !== undefined && !(Number(declared) <= DRAIN_LIMIT)) {
    reply.header('connection', 'close');
    return;
  }
  let left = DRAIN_LIMIT;
  req.raw.on('data', (c: Buffer) => {
    left -= c.length;
    if (left < 0) req.raw.socket.destroy();
  });
  req.raw.resume();
}

function sendError(reply: FastifyReply, e: RegistryError): FastifyReply {
  for (const [k, v] of Object.entries(e.headers)) reply.header(k, v);
  return reply.code(e.status).header('content-type', 'application/json').send(JSON.stringify(e.toJSON()));
}

/** OCI codes for refusals made outside the registry's handlers (the router, Node's parser, hooks). */
const OCI_FOR: Record<string, OciErrorCode> = {
  BAD_URL: 'NAME_INVALID',
  NOT_FOUND: 'NAME_UNKNOWN',
  UNAUTHORIZED: 'UNAUTHORIZED',
  FORBIDDEN: 'DENIED',
  TOO_MANY_REQUESTS: 'TOOMANYREQUESTS',
  BODY_TOO_LARGE: 'SIZE_INVALID',
};

/**
 * Refusals of requests under /v2/ that never reach the registry's handler (a malformed %-escape
 * the router refuses, headers over Node's limit, a method no route takes) in the format the OCI
 * distribution spec requires of a JSON error body: one of its codes, the project's code in `detail`.
 */
export const registryErrorDialect: ErrorDialect = {
  owns: (url) => /^\/v2(\/|$|\?)/.test(url),
  render: (e) => {
    const code = OCI_FOR[e.code] ?? 'UNSUPPORTED';
    return {
      body: JSON.stringify(new RegistryError(code, e.message, { status: e.status, detail: { reason: e.code } }).toJSON()),
      headers: { 'docker-distribution-api-version': 'registry/2.0' },
    };
  },
};

const notAllowed = (method: string, allowed: string): RegistryError =>
  new RegistryError('UNSUPPORTED', `${method} is not supported here; use ${allowed}`, { headers: { allow: allowed } });
