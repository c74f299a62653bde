import { randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import { z } from 'zod';
import { HttpError, jsonErrors } from '../http/index.ts';
import { INNER_CHAINS, taskChain } from '../ledger/index.ts';
import { NodeApiError } from '../sdk/index.ts';

// The operator's window into a running `zeus worker start`: a small HTTP endpoint (fastify) bound
// to 127.0.0.1 only, answering what the agent runs now, what it earned and what it offers. It is
// reached by `zeus worker status --home HOME`, which finds it through two files the agent writes:
//
//   HOME/worker/admin.json    where it listens (url, port, pid, worker): the port is ephemeral by default
//   HOME/worker/admin.token   a random bearer token, made at the first start, mode 0600
//
// Loopback is not enough on its own: every local user and every container with host networking
// can reach 127.0.0.1. The token is what keeps the endpoint to whoever can read the worker's home.
//
// One route takes another credential: a task's poster asks for the live logs of its lease with a
// short token its own key signed (src/worker/logs.ts), and gets them sealed to that key.

export const adminPaths = (home: string) => ({
  info: join(home, 'worker', 'admin.json'),
  token: join(home, 'worker', 'admin.token'),
});

/** The token in HOME/worker/admin.token, made (32 random bytes, hex, mode 0600) if there is none. */
export function adminToken(home: string): string {
  const { token } = adminPaths(home);
  mkdirSync(join(home, 'worker'), { recursive: true });
  if (!existsSync(token)) {
    // wx: two agents starting at once on one home must not each write a different token.
    try {
      writeFileSync(token, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  }
  // A token readable by others is no secret: tighten a file someone copied in with a loose mode.
  if ((statSync(token).mode & 0o077) !== 0) chmodSync(token, 0o600);
  const t = readFileSync(token, 'utf8').trim();
  if (!/^[0-9a-f]{64}$/.test(t))
    throw new Error(`${token} does not hold an admin token (64 hex digits); delete it and start the worker again to make a new one`);
  return t;
}

export const AdminInfoSchema = z.object({
  url: z.url(),
  port: z.number().int().min(1).max(65535),
  pid: z.number().int().positive(),
  worker: z.string(),
  startedAt: z.string(),
});
export type AdminInfo = z.infer<typeof AdminInfoSchema>;

/** Lease numbers the chain can hold (the node's API takes the same range). */
const MAX_LEASE = 1_000_000;

/**
 * A route's task and lease, or the refusal that says what is wrong with them: a task id names its
 * inner chain in its first byte, so one that names the main chain (or none) is no task id at all
 * and is refused here, not asked of the node.
 */
function leaseParams(p: unknown): { task: string; lease: number } | { code: string; message: string } {
  const { task, lease } = (p ?? {}) as { task?: string; lease?: string };
  const id = (task ?? '').toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(id)) return { code: 'INVALID_TASK_ID', message: `"${(task ?? '').slice(0, 80)}" is not a task id: 64 hex digits` };
  if (taskChain(Buffer.from(id, 'hex')) === 0)
    return {
      code: 'INVALID_TASK_ID',
      message: `${id} is not a task id: its first byte names its inner chain (01..${String(INNER_CHAINS).padStart(2, '0')}), and it is ${id.slice(0, 2)}`,
    };
  if (!/^\d{1,7}$/.test(lease ?? '') || Number(lease) > MAX_LEASE)
    return { code: 'INVALID_LEASE', message: `"${(lease ?? '').slice(0, 20)}" is not a lease number: 0..${MAX_LEASE}` };
  return { task: id, lease: Number(lease) };
}

/** Log reads at once: each may hold a log's published size a few times over (read, sealed, sent). */
const MAX_LOG_READS = 2;

export interface AdminRoutes {
  status: () => Promise<unknown>;
  /** A running lease's logs so far, sealed to its poster, for a request the poster signed (`token`). */
  posterLog: (task: string, lease: number, token: string) => Promise<Uint8Array>;
  /** A lease's logs so far (or all of them once it ended); undefined for a lease this worker has no logs of. */
  leaseLog: (task: string, lease: number) => Promise<Uint8Array | undefined>;
  /** Prometheus text exposition of the agent's metrics. */
  metrics?: () => Promise<{ contentType: string; text: string }>;
}

export interface AdminServer {
  info: AdminInfo;
  close: () => Promise<void>;
}

/** The route a task's poster may call with its own signed token instead of the admin token. */
const POSTER_ROUTE = /^\/leases\/[^/]+\/[^/]+\/sealed-logs$/;

const refuse = (reply: FastifyReply, status: number, code: string, message: string): FastifyReply => reply.status(status).send({ error: { code, message } });

const ROUTES = 'GET /status, /metrics, /leases/TASK/LEASE/logs and /leases/TASK/LEASE/sealed-logs';

/**
 * The answer to an error a route threw, when it is one of ours: the node's refusals keep their
 * status and code (a task it does not know is the caller's mistake), a node that does not answer is
 * 502. Anything else is left to the shared handler: fastify's refusals of a request (bad URL, body,
 * headers) keep their 4xx in our shape, and only the rest is a 500.
 */
function domainAnswer(e: unknown): { status: number; code: string; message: string } | undefined {
  if (e instanceof AdminError && e.status) return { status: e.status, code: e.code, message: e.message };
  if (e instanceof NodeApiError) {
    if (e.status >= 400 && e.status < 500) return { status: e.status, code: e.code, message: e.message };
    return { status: 502, code: 'NODE_UNAVAILABLE', message: `the worker's node did not answer: ${e.message}` };
  }
  return undefined;
}

export function buildAdminApp(token: string, home: string, routes: AdminRoutes): FastifyInstance {
  // Refusals of fastify and Node's parser (unknown routes, bad %-escapes, huge headers) in the project's format too.
  const errors = jsonErrors({
    toError: (e) => {
      const a = domainAnswer(e);
      return a ? new HttpError(a.status, a.code, a.message) : undefined;
    },
    internalMessage: (e) => (e as Error).message,
    notFoundMessage: (method, path) => `the worker's admin endpoint has no ${method} ${path}; it answers ${ROUTES}`,
  });
  const app = Fastify({
    logger: false,
    // Room for a task id that is too long, so it is refused as one (400) rather than as no route.
    routerOptions: { maxParamLength: 2048 },
    ...errors.serverOptions,
  });
  errors.install(app);
  const expected = Buffer.from(token);
  app.addHook('onRequest', async (req, reply) => {
    if (POSTER_ROUTE.test(req.url.split('?')[0])) return undefined;
    const h = req.headers.authorization;
    if (!h?.startsWith('Bearer '))
      return refuse(
        reply,
        401,
        'ADMIN_TOKEN_REQUIRED',
        `this worker's admin endpoint needs its token (Authorization: Bearer <the contents of ${adminPaths(home).token}>); \`zeus worker status --home ${home}\` sends it`,
      );
    const got = Buffer.from(h.slice(7).trim());
    if (got.length !== expected.length || !timingSafeEqual(got, expected)) {
      return refuse(
        reply,
        401,
        'ADMIN_TOKEN_INVALID',
        `the admin token does not match the one in ${adminPaths(home).token}; read it from that file (it changes only when the file is deleted)`,
      );
    }
    return undefined;
  });
  let logReads = 0;
  /** Runs a log read unless MAX_LOG_READS are under way; then the answer is 429. */
  const oneLogRead = async (reply: FastifyReply, read: () => Promise<FastifyReply>): Promise<FastifyReply> => {
    if (logReads >= MAX_LOG_READS)
      return refuse(reply.header('retry-after', '1'), 429, 'BUSY', `the worker is reading ${logReads} logs already; ask again in a second`);
    logReads += 1;
    try {
      return await read();
    } finally {
      logReads -= 1;
    }
  };
  app.get('/status', async () => routes.status());
  const metrics = routes.metrics;
  if (metrics) {
    app.get('/metrics', async (_req, reply) => {
      const m = await metrics();
      return reply.type(m.contentType).send(m.text);
    });
  }
  app.get('/leases/:task/:lease/logs', async (req, reply) => {
    const p = leaseParams(req.params);
    if ('code' in p) return refuse(reply, 400, p.code, p.message);
    return oneLogRead(reply, async () => {
      const log = await routes.leaseLog(p.task, p.lease);
      if (!log)
        return refuse(
          reply,
          404,
          'UNKNOWN_LEASE',
          `this worker has no logs of lease ${p.lease} of task ${p.task}: it did not run that lease, or has not started it yet`,
        );
      return reply.type('text/plain; charset=utf-8').send(Buffer.from(log.buffer, log.byteOffset, log.byteLength));
    });
  });
  app.get('/leases/:task/:lease/sealed-logs', async (req, reply) => {
    const p = leaseParams(req.params);
    if ('code' in p) return refuse(reply, 400, p.code, p.message);
    const h = req.headers.authorization;
    if (!h?.startsWith('Bearer '))
      return refuse(
        reply,
        401,
        'POSTER_TOKEN_REQUIRED',
        "live logs are for the task's poster: send a token its key signed for this lease (`zeus task logs TASK --live URL` does)",
      );
    return oneLogRead(reply, async () => {
      const sealed = await routes.posterLog(p.task, p.lease, h.slice(7).trim());
      return reply.type('application/octet-stream').send(Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength));
    });
  });
  return app;
}

/** Listens on 127.0.0.1:`port` (0: any free port) and records where in HOME/worker/admin.json. */
export async function startAdminServer(o: { home: string; port: number; worker: string; routes: AdminRoutes }): Promise<AdminServer> {
  const app = buildAdminApp(adminToken(o.home), o.home, o.routes);
  await app.listen({ host: '127.0.0.1', port: o.port });
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : o.port;
  const info: AdminInfo = { url: `http://127.0.0.1:${port}`, port, pid: process.pid, worker: o.worker, startedAt: new Date().toISOString() };
  const { info: file } = adminPaths(o.home);
  writeFileSync(`${file}.tmp`, `${JSON.stringify(info, null, 2)}\n`);
  renameSync(`${file}.tmp`, file);
  return {
    info,
    close: async () => {
      await app.close();
      // Only our own record: another agent may have started on this home since.
      if (readAdminInfo(o.home)?.pid === process.pid) rmSync(file, { force: true });
    },
  };
}

function readAdminInfo(home: string): AdminInfo | undefined {
  const { info } = adminPaths(home);
  if (!existsSync(info)) return undefined;
  const parsed = AdminInfoSchema.safeParse(JSON.parse(readFileSync(info, 'utf8')));
  return parsed.success ? parsed.data : undefined;
}

/** A refusal or failure of the admin endpoint, with a message that says what to do. */
export class AdminError extends Error {
  override name = 'AdminError';
  readonly code: string;
  /** The HTTP status the endpoint answers with, when the endpoint throws it. */
  readonly status?: number;
  constructor(code: string, message: string, status?: number) {
    super(message);
    this.code = code;
    this.status = status;
  }
}

/** GET `path` from the worker agent running on `home`, with the token from its home unless one is given. */
export async function adminRequest(home: string, path: string, token?: string): Promise<Response> {
  const { info: file, token: tokenFile } = adminPaths(home);
  const info = readAdminInfo(home);
  if (!info)
    throw new AdminError(
      'NO_WORKER',
      `no worker agent runs on home ${home}: ${file} ${existsSync(file) ? 'is not a valid admin record' : 'does not exist'}; start one with \`zeus worker start --home ${home}\``,
    );
  const t = token ?? (existsSync(tokenFile) ? readFileSync(tokenFile, 'utf8').trim() : undefined);
  if (t === undefined)
    throw new AdminError('NO_TOKEN', `${tokenFile} does not exist (the worker makes it at its first start); pass --token or start the worker`);
  let res: Response;
  try {
    res = await fetch(`${info.url}${path}`, { headers: { authorization: `Bearer ${t}` }, signal: AbortSignal.timeout(30_000) });
  } catch (e) {
    throw new AdminError(
      'NO_WORKER',
      `no worker agent answers on home ${home}: the one started at ${info.startedAt} (pid ${info.pid}) listened at ${info.url} and is gone (${(e as Error).cause ?? (e as Error).message}); start one with \`zeus worker start --home ${home}\``,
    );
  }
  if (!res.ok) {
    const body = (await res.json().catch(() => ({}))) as { error?: { code?: string; message?: string } };
    throw new AdminError(
      body.error?.code ?? `HTTP_${res.status}`,
      `the worker's admin endpoint refused ${path} (HTTP ${res.status}): ${body.error?.message ?? res.statusText}`,
    );
  }
  return res;
}
