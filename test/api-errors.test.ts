import { mkdtempSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ErrorAnswer } from '../src/sdk/wire.ts';
import { adminToken, startAdminServer, type AdminServer } from '../src/worker/index.ts';
import { cleanup, initDevHome, startNode } from './helpers/processes.ts';

// Requests no client library would send, written byte for byte to a real node's socket (and to a
// worker's admin endpoint): headers over Node's 16 KiB limit, bytes that are not HTTP, broken
// %-escapes, bad JSON, bodies too large or of the wrong type, routes that do not exist. Whatever
// layer refuses them (Node's HTTP parser, fastify's router or body parser, a route), the answer
// is the project's `{"error":{"code","message"}}` with a code of ours — never fastify's own body or
// an FST_ERR_ code — and under /v2/ the OCI distribution spec's `{"errors":[…]}`.

interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  text: string;
  /** The parsed body, or undefined when it is not JSON. */
  json: unknown;
}

/** The OCI distribution spec's refusal, which the registry (/v2/) answers. */
interface OciErrorAnswer {
  errors: { code: string; message: string }[];
}

/** Writes `request` as is to host:port and reads the answer until the server closes the connection. */
function rawHttp(port: number, request: string | Buffer): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => socket.destroy(new Error(`no answer within 10 s to ${String(request).slice(0, 80)}`)), 10_000);
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', (e: NodeJS.ErrnoException) => {
      // The server may reset after answering (it destroys the socket on a parse error): keep what came.
      if (e.code !== 'ECONNRESET' && e.code !== 'EPIPE') {
        clearTimeout(timer);
        reject(e);
      }
    });
    socket.on('close', () => {
      clearTimeout(timer);
      const all = Buffer.concat(chunks).toString('latin1');
      const end = all.indexOf('\r\n\r\n');
      if (end < 0) return reject(new Error(`no HTTP answer: ${JSON.stringify(all.slice(0, 200))}`));
      const [statusLine, ...lines] = all.slice(0, end).split('\r\n');
      const headers: Record<string, string> = {};
      for (const l of lines) {
        const i = l.indexOf(':');
        headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
      }
      let body = all.slice(end + 4);
      if (headers['transfer-encoding'] === 'chunked') {
        let out = '';
        for (let at = 0; ; ) {
          const nl = body.indexOf('\r\n', at);
          const n = parseInt(body.slice(at, nl), 16);
          if (!n) break;
          out += body.slice(nl + 2, nl + 2 + n);
          at = nl + 2 + n + 2;
        }
        body = out;
      } else if (headers['content-length'] !== undefined) {
        body = body.slice(0, Number(headers['content-length']));
      }
      const text = Buffer.from(body, 'latin1').toString('utf8');
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
      resolve({ status: Number(statusLine.split(' ')[1]), headers, text, json });
    });
    socket.write(request);
  });
}

/** A request head (and body) with the headers every client sends, closing the connection after. */
const req = (method: string, path: string, o: { headers?: Record<string, string>; body?: string } = {}): string => {
  const h: Record<string, string> = { host: '127.0.0.1', connection: 'close', ...o.headers };
  if (o.body !== undefined && h['content-length'] === undefined) h['content-length'] = String(Buffer.byteLength(o.body));
  return `${method} ${path} HTTP/1.1\r\n${Object.entries(h)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('')}\r\n${o.body ?? ''}`;
};

const BIG = 'a'.repeat(20 * 1024); // over Node's 16 KiB header limit
const OCI_CODES = [
  'BLOB_UNKNOWN',
  'BLOB_UPLOAD_INVALID',
  'BLOB_UPLOAD_UNKNOWN',
  'DIGEST_INVALID',
  'MANIFEST_BLOB_UNKNOWN',
  'MANIFEST_INVALID',
  'MANIFEST_UNKNOWN',
  'NAME_INVALID',
  'NAME_UNKNOWN',
  'SIZE_INVALID',
  'TAG_INVALID',
  'UNAUTHORIZED',
  'DENIED',
  'UNSUPPORTED',
  'TOOMANYREQUESTS',
];

interface Case {
  name: string;
  /** Which server: the node's API or the worker's admin endpoint. */
  to: 'node' | 'admin';
  request: string;
  status: number;
  /** The project's error code, or an OCI code under /v2/. */
  code: string;
  format?: 'api' | 'oci';
}

const json = { 'content-type': 'application/json' };
const CASES: Case[] = [
  // Node's HTTP parser refuses these before fastify sees a request.
  { name: 'a header over 16 KiB', to: 'node', request: req('GET', '/status', { headers: { 'x-big': BIG } }), status: 431, code: 'HEADERS_TOO_LARGE' },
  { name: 'a URL over 16 KiB', to: 'node', request: req('GET', `/status?q=${BIG}`), status: 431, code: 'HEADERS_TOO_LARGE' },
  { name: 'a control byte in the URL', to: 'node', request: req('GET', '/sta\x01tus'), status: 400, code: 'MALFORMED_REQUEST' },
  { name: 'bytes that are not HTTP', to: 'node', request: 'hello there\r\n\r\n', status: 400, code: 'MALFORMED_REQUEST' },
  { name: 'a method HTTP does not have', to: 'node', request: req('BREW', '/status'), status: 400, code: 'MALFORMED_REQUEST' },
  {
    name: 'a Content-Length that is not a number',
    to: 'node',
    request: req('POST', '/txs', { headers: { ...json, 'content-length': 'abc' }, body: '{}' }),
    status: 400,
    code: 'MALFORMED_REQUEST',
  },
  {
    name: 'both Content-Length and Transfer-Encoding',
    to: 'node',
    request: req('POST', '/txs', { headers: { ...json, 'content-length': '2', 'transfer-encoding': 'chunked' }, body: '2\r\n{}\r\n0\r\n\r\n' }),
    status: 400,
    code: 'MALFORMED_REQUEST',
  },
  // fastify's router and body parsers.
  { name: 'a malformed %-escape in a path parameter', to: 'node', request: req('GET', '/accounts/%zz'), status: 400, code: 'BAD_URL' },
  { name: 'a malformed %-escape under /ddn', to: 'node', request: req('GET', '/ddn/blobs/%zz/have'), status: 400, code: 'BAD_URL' },
  { name: 'JSON cut off', to: 'node', request: req('POST', '/txs', { headers: json, body: '{"tx": "ab' }), status: 400, code: 'INVALID_JSON' },
  { name: 'an empty JSON body', to: 'node', request: req('POST', '/txs', { headers: { ...json, 'content-length': '0' } }), status: 400, code: 'INVALID_JSON' },
  {
    name: 'JSON with a __proto__ key',
    to: 'node',
    request: req('POST', '/txs', { headers: json, body: '{"__proto__": {"tx": "00"}}' }),
    status: 400,
    code: 'INVALID_JSON',
  },
  {
    name: 'a body over the 16 MiB limit',
    to: 'node',
    request: req('POST', '/txs', { headers: { ...json, 'content-length': String(17 * 1024 * 1024) } }),
    status: 413,
    code: 'BODY_TOO_LARGE',
  },
  {
    name: 'a media type no route takes',
    to: 'node',
    request: req('POST', '/txs', { headers: { 'content-type': 'application/xml' }, body: '<tx/>' }),
    status: 415,
    code: 'UNSUPPORTED_MEDIA_TYPE',
  },
  {
    name: 'a Content-Type that does not parse',
    to: 'node',
    request: req('POST', '/txs', { headers: { 'content-type': ';;;' }, body: '{}' }),
    status: 415,
    code: 'UNSUPPORTED_MEDIA_TYPE',
  },
  { name: 'a query that fails the schema', to: 'node', request: req('GET', '/blocks?limit=abc'), status: 400, code: 'INVALID_REQUEST' },
  { name: 'a route that does not exist', to: 'node', request: req('GET', '/no/such/route'), status: 404, code: 'NOT_FOUND' },
  { name: 'a method a route does not take', to: 'node', request: req('DELETE', '/status'), status: 404, code: 'NOT_FOUND' },
  { name: 'a DDN digest that is not one', to: 'node', request: req('GET', '/ddn/blobs/xyz/have'), status: 400, code: 'INVALID_REQUEST' },
  // Under /v2/ the same refusals speak the OCI distribution spec's error format.
  {
    name: 'registry: a header over 16 KiB',
    to: 'node',
    request: req('GET', '/v2/', { headers: { 'x-big': BIG } }),
    status: 431,
    code: 'UNSUPPORTED',
    format: 'oci',
  },
  { name: 'registry: a control byte in the name', to: 'node', request: req('GET', '/v2/ali\x01ce/tags/list'), status: 400, code: 'UNSUPPORTED', format: 'oci' },
  { name: 'registry: a malformed %-escape', to: 'node', request: req('GET', '/v2/alice/a%zz/manifests/v1'), status: 400, code: 'NAME_INVALID', format: 'oci' },
  { name: 'registry: OPTIONS', to: 'node', request: req('OPTIONS', '/v2/'), status: 405, code: 'UNSUPPORTED', format: 'oci' },
  { name: 'registry: no such endpoint', to: 'node', request: req('GET', '/v2/alice/app/nothing'), status: 404, code: 'NAME_UNKNOWN', format: 'oci' },
  // The worker's admin endpoint (the token is added below).
  { name: 'admin: a route that does not exist', to: 'admin', request: '', status: 404, code: 'NOT_FOUND' },
  { name: 'admin: a malformed %-escape', to: 'admin', request: '', status: 400, code: 'BAD_URL' },
  { name: 'admin: a header over 16 KiB', to: 'admin', request: req('GET', '/status', { headers: { 'x-big': BIG } }), status: 431, code: 'HEADERS_TOO_LARGE' },
  { name: 'admin: bytes that are not HTTP', to: 'admin', request: 'hello there\r\n\r\n', status: 400, code: 'MALFORMED_REQUEST' },
];

let nodePort = 0;
let admin: AdminServer;

beforeAll(async () => {
  const h = await initDevHome({ prefix: 'zeus-api-errors-' });
  const { url } = await startNode(h.home);
  nodePort = Number(new URL(url).port);
  const home = mkdtempSync(join(tmpdir(), 'zeus-api-errors-admin-'));
  admin = await startAdminServer({
    home,
    port: 0,
    worker: 'znc1test',
    routes: { status: async () => ({}), leaseLog: async () => undefined, posterLog: async () => new Uint8Array() },
  });
  const auth = { authorization: `Bearer ${adminToken(home)}` };
  CASES.find((c) => c.name === 'admin: a route that does not exist')!.request = req('GET', '/no/such/route', { headers: auth });
  CASES.find((c) => c.name === 'admin: a malformed %-escape')!.request = req('GET', `/leases/%zz/0/logs`, { headers: auth });
});

afterAll(async () => {
  await admin?.close();
  await cleanup();
});

describe("every refusal in the project's error format", () => {
  it.each(CASES.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const a = await rawHttp(c.to === 'node' ? nodePort : admin.info.port, c.request);
    const what = `${c.status} ${c.code} expected, got ${a.status}: ${a.text.slice(0, 300)}`;
    expect(a.status, what).toBe(c.status);
    expect(a.headers['content-type'], what).toMatch(/^application\/json/);
    expect(a.text, what).not.toMatch(/FST_|"statusCode"/);
    if (c.format === 'oci') {
      expect(Object.keys(a.json ?? {}), what).toEqual(['errors']);
      const { errors } = a.json as OciErrorAnswer;
      expect(OCI_CODES, what).toContain(errors[0].code);
      expect(errors[0].code, what).toBe(c.code);
      expect(errors[0].message.length, what).toBeGreaterThan(0);
    } else {
      expect(Object.keys(a.json ?? {}), what).toEqual(['error']);
      const { error } = a.json as ErrorAnswer;
      expect(Object.keys(error).sort(), what).toEqual(['code', 'message']);
      expect(error.code, what).toBe(c.code);
      expect(typeof error.message, what).toBe('string');
      expect(error.message.length, what).toBeGreaterThan(0);
    }
  });
});
