import { maxHeaderSize, STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyInstance, FastifyReply, FastifyServerOptions } from 'fastify';

// One error format for every HTTP server of the project: `{"error":{"code","message"}}` with a
// code of ours and a message that says what to do. Fastify and Node answer some requests
// themselves, each in its own format: Node's HTTP parser refuses what is not HTTP or has headers
// over 16 KiB before fastify sees a request (the server's 'clientError' event), fastify's router
// refuses a malformed %-escape (`frameworkErrors`), its body parsers bad JSON, large bodies and
// unknown media types (the error handler, with FST_ERR_* codes), its 404 unknown routes, and it
// answers 503 itself while closing. `jsonErrors` takes each of these over. A part of the URL space
// may speak another dialect (the registry under /v2/ speaks the OCI distribution spec's).

export interface ErrorBody {
  error: { code: string; message: string };
}

/** A refusal with its HTTP status, a stable code and a message telling the client what to do. */
export class HttpError extends Error {
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** Fastify's own error codes, in ours. */
const FRAMEWORK: Record<string, { status: number; code: string; message?: string }> = {
  FST_ERR_BAD_URL: { status: 400, code: 'BAD_URL', message: 'has a malformed %-escape: "%" must start two hex digits (send "%" itself as %25)' },
  FST_ERR_MAX_PARAM_LENGTH: { status: 414, code: 'URL_TOO_LONG' },
  FST_ERR_CTP_INVALID_JSON_BODY: {
    status: 400,
    code: 'INVALID_JSON',
    message: 'the body is not valid JSON (or names __proto__ or constructor.prototype), but Content-Type says application/json',
  },
  FST_ERR_CTP_EMPTY_JSON_BODY: {
    status: 400,
    code: 'INVALID_JSON',
    message: 'the body is empty, but Content-Type says application/json: send a JSON value or no Content-Type',
  },
  FST_ERR_CTP_BODY_TOO_LARGE: { status: 413, code: 'BODY_TOO_LARGE' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { status: 400, code: 'BAD_CONTENT_LENGTH', message: 'the body is not as long as Content-Length says' },
  FST_ERR_CTP_INVALID_TYPE: { status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
  FST_ERR_CTP_EMPTY_TYPE: { status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
  FST_ERR_VALIDATION: { status: 400, code: 'INVALID_REQUEST' },
  FST_ERR_NOT_FOUND: { status: 404, code: 'NOT_FOUND' },
};

/** A code for a 4xx status when nothing more specific is known. */
const BY_STATUS: Record<number, string> = {
  400: 'BAD_REQUEST',
  401: 'UNAUTHORIZED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  406: 'NOT_ACCEPTABLE',
  408: 'REQUEST_TIMEOUT',
  409: 'CONFLICT',
  411: 'LENGTH_REQUIRED',
  413: 'BODY_TOO_LARGE',
  414: 'URL_TOO_LONG',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  429: 'TOO_MANY_REQUESTS',
  431: 'HEADERS_TOO_LARGE',
};

/**
 * A refusal fastify (or a plugin built on it) raised, in the project's words; undefined when `e` is
 * not a client error (a bug, a failed disk: the caller answers 500). Codes of other libraries
 * never pass through: only the status, or our table, decides the code.
 */
export function frameworkRefusal(e: unknown): HttpError | undefined {
  if (e instanceof HttpError) return e;
  const fe = e as { statusCode?: unknown; code?: unknown; message?: unknown; validation?: unknown } | null;
  if (fe === null || typeof fe !== 'object') return undefined;
  const message = typeof fe.message === 'string' && fe.message !== '' ? fe.message : undefined;
  if (fe.validation) return new HttpError(400, 'INVALID_REQUEST', message ?? "the request does not match the route's schema");
  const known = typeof fe.code === 'string' ? FRAMEWORK[fe.code] : undefined;
  if (known) {
    // The URL fastify names is worth keeping: it says which request was meant.
    const text =
      known.code === 'BAD_URL' && message
        ? `${message.replace(/ is not a valid url component$/, '')} ${known.message}`
        : (known.message ?? message ?? known.code);
    return new HttpError(known.status, known.code, text);
  }
  const status = typeof fe.statusCode === 'number' ? fe.statusCode : 0;
  if (status >= 400 && status < 500) return new HttpError(status, BY_STATUS[status] ?? 'BAD_REQUEST', message ?? 'bad request');
  return undefined;
}

/** What Node's HTTP parser refused (a server's 'clientError'), as a refusal. */
export function parserRefusal(err: NodeJS.ErrnoException & { reason?: string }, maxHeaderBytes = maxHeaderSize): HttpError {
  if (err.code === 'HPE_HEADER_OVERFLOW') {
    return new HttpError(
      431,
      'HEADERS_TOO_LARGE',
      `the request line and headers exceed the ${maxHeaderBytes} bytes this server reads: send a shorter URL or fewer, shorter headers`,
    );
  }
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') return new HttpError(408, 'REQUEST_TIMEOUT', 'the request took too long to arrive');
  const why = typeof err.reason === 'string' && err.reason !== '' ? err.reason : (err.code ?? 'unreadable');
  return new HttpError(400, 'MALFORMED_REQUEST', `not a valid HTTP/1.1 request (${why})`);
}

/** A part of the URL space that writes its refusals in another format (the registry: the OCI one). */
export interface ErrorDialect {
  /** Whether this dialect answers for the request target `url` (path and query, as sent). */
  owns(url: string): boolean;
  /** The body (JSON text) and any headers of a refusal; the status stays the refusal's unless given. */
  render(e: HttpError): { body: string; status?: number; headers?: Record<string, string> };
}

export interface JsonErrorOptions {
  /** Domain errors the server's routes throw, as refusals (checked before fastify's own). */
  toError?: (e: unknown) => HttpError | undefined;
  /** The message of a 500 (default: a generic one; the error is logged). */
  internalMessage?: (e: unknown) => string;
  /** The message of a 404 for a route the server does not have (default: names the route). */
  notFoundMessage?: (method: string, path: string) => string;
  dialects?: readonly ErrorDialect[];
}

interface Rendered {
  status: number;
  headers: Record<string, string>;
  body: string;
}

function render(dialects: readonly ErrorDialect[], url: string | undefined, e: HttpError): Rendered {
  const d = url === undefined ? undefined : dialects.find((x) => x.owns(url));
  if (d) {
    const r = d.render(e);
    return { status: r.status ?? e.status, headers: r.headers ?? {}, body: r.body };
  }
  return { status: e.status, headers: {}, body: JSON.stringify({ error: { code: e.code, message: e.message } } satisfies ErrorBody) };
}

function send(reply: FastifyReply, r: Rendered): void {
  for (const [k, v] of Object.entries(r.headers)) reply.header(k, v);
  void reply.status(r.status).header('content-type', 'application/json; charset=utf-8').send(r.body);
}

/** The request target of the first line a client sent, when the parser kept it. */
function targetOf(rawPacket: unknown): string | undefined {
  if (!Buffer.isBuffer(rawPacket)) return undefined;
  const line = rawPacket.subarray(0, Math.min(rawPacket.length, 8192)).toString('latin1').split('\r\n', 1)[0];
  const m = /^[A-Z]{1,20} (\S+) HTTP\/\d\.\d$/.exec(line) ?? /^[A-Z]{1,20} (\S+)/.exec(line);
  return m?.[1];
}

/**
 * Server options and hooks that make every refusal a server sends — its routes', fastify's and
 * Node's — one of ours. Spread `serverOptions` into `Fastify({...})`, then call `install(app)`
 * before registering routes.
 */
export function jsonErrors(o: JsonErrorOptions = {}): {
  serverOptions: Pick<FastifyServerOptions, 'frameworkErrors' | 'clientErrorHandler' | 'return503OnClosing'>;
  install: (app: FastifyInstance) => void;
} {
  const dialects = o.dialects ?? [];
  const internal = (e: unknown): HttpError => new HttpError(500, 'INTERNAL', o.internalMessage?.(e) ?? 'internal error: the server logged it');
  const refusal = (e: unknown): HttpError => o.toError?.(e) ?? frameworkRefusal(e) ?? internal(e);
  let closing = false;
  return {
    serverOptions: {
      // Our own 503 while closing, below: fastify's is written straight to the socket in its format.
      return503OnClosing: false,
      frameworkErrors: (err, req, reply) => send(reply as FastifyReply, render(dialects, req.raw.url, refusal(err))),
      clientErrorHandler(err: NodeJS.ErrnoException & { rawPacket?: unknown }, socket: Socket) {
        if (err.code === 'ECONNRESET' || socket.destroyed) return;
        const r = render(dialects, targetOf(err.rawPacket), parserRefusal(err));
        if (socket.writable) {
          const head = [
            `HTTP/1.1 ${r.status} ${STATUS_CODES[r.status] ?? 'Error'}`,
            'content-type: application/json; charset=utf-8',
            `content-length: ${Buffer.byteLength(r.body)}`,
            'connection: close',
            ...Object.entries(r.headers).map(([k, v]) => `${k}: ${v}`),
          ];
          socket.end(`${head.join('\r\n')}\r\n\r\n${r.body}`);
        }
        // What follows on this connection cannot be framed: it is closed once the answer is out.
        socket.destroySoon();
      },
    },
    install(app: FastifyInstance) {
      app.addHook('preClose', async () => {
        closing = true;
      });
      app.addHook('onRequest', async (req, reply) => {
        if (!closing) return;
        reply.header('connection', 'close');
        throw new HttpError(
          503,
          'SHUTTING_DOWN',
          `this server is shutting down: send ${req.method} ${req.url.slice(0, 200)} again in a moment, or to another server`,
        );
      });
      app.setErrorHandler((err, req, reply) => {
        const e = refusal(err);
        if (e.status >= 500 && e.code === 'INTERNAL') req.log.error(err);
        send(reply, render(dialects, req.raw.url, e));
      });
      app.setNotFoundHandler((req, reply) => {
        const path = (req.raw.url ?? '').split('?')[0].slice(0, 200);
        send(reply, render(dialects, req.raw.url, new HttpError(404, 'NOT_FOUND', o.notFoundMessage?.(req.method, path) ?? `no route ${req.method} ${path}`)));
      });
    },
  };
}
