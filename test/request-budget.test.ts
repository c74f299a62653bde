import { readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, cleanup, initDevHome, startNode, waitFor, type DevHome } from './helpers/processes.ts';

// Requests in progress, against a real node process. A body is read into memory before its handler
// runs (up to 16 MiB), and opening requests costs a client nothing: uploads opened by the thousand,
// or trickled byte by byte, would hold the node's memory. One client (an IPv4 address, an IPv6 /64)
// may have at most `api.maxRequestsPerClient` requests in progress (4 here, 64 by default), and
// the bodies of all requests in progress may announce at most `api.maxBodyBytesInProgress` bytes
// (1 MiB here, 256 MiB by default). Past either a request is answered at once, before its body is
// read: 429 TOO_MANY_REQUESTS or 503 SERVER_BUSY, with Retry-After. Other clients are served on.

let h: DevHome;
let url: string;

beforeAll(async () => {
  h = await initDevHome({ blockTimeMs: 200, prefix: 'zeus-requests-' });
  const configFile = join(h.home, 'config.json');
  const config = JSON.parse(readFileSync(configFile, 'utf8')) as { api: Record<string, unknown> };
  config.api.maxRequestsPerClient = 4;
  config.api.maxBodyBytesInProgress = 1024 * 1024;
  writeFileSync(configFile, JSON.stringify(config, null, 2));
  ({ url } = await startNode(h.home));
}, 60_000);

afterAll(async () => {
  await cleanup();
});

interface Held {
  socket: Socket;
  /** The node's first answer, if it answered before the body came. */
  answer: Promise<string>;
}

/** A POST /txs from `localAddress` announcing `length` bytes of body, of which it sends none yet. */
async function heldUpload(localAddress: string, length: number): Promise<Held> {
  const { hostname, port } = new URL(url);
  const socket = connect({ port: Number(port), host: hostname, localAddress });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const answer = new Promise<string>((resolve) => {
    let text = '';
    socket.on('data', (d: Buffer) => {
      text += d.toString('latin1');
      if (text.includes('\r\n\r\n')) resolve(text);
    });
    socket.once('close', () => resolve(text));
  });
  socket.write(`POST /txs HTTP/1.1\r\nHost: ${hostname}:${port}\r\nContent-Type: application/octet-stream\r\nContent-Length: ${length}\r\n\r\n`);
  return { socket, answer };
}

/** Whether the node answered within `ms` (a request in progress has not). */
const answeredWithin = (held: Held, ms: number): Promise<string | undefined> =>
  Promise.race([held.answer, new Promise<undefined>((r) => setTimeout(() => r(undefined), ms))]);

/** A value of the node's metrics, asked from `localAddress`. */
async function metric(name: string, localAddress = '127.0.0.1'): Promise<number> {
  const { hostname, port } = new URL(url);
  const text = await new Promise<string>((resolve, reject) => {
    const req = request({ host: hostname, port, path: '/metrics', localAddress }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    });
    req.on('error', reject);
    req.end();
  });
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.split(' ')[1]) : 0;
}

describe('requests in progress', () => {
  it('one client has at most 4 at once: the 5th is refused 429 before its body, others are served, a finished one frees a place', async () => {
    const held = await Promise.all([1, 2, 3, 4].map(() => heldUpload('127.0.0.11', 100)));
    for (const x of held) expect(await answeredWithin(x, 200)).toBeUndefined();
    const fifth = await heldUpload('127.0.0.11', 100);
    const refused = await answeredWithin(fifth, 5_000);
    expect(refused).toMatch(/^HTTP\/1\.1 429/);
    expect(refused).toMatch(/retry-after: 1/i);
    fifth.socket.destroy();
    // Another client is served.
    expect((await api(url, 'GET', '/status')).status).toBe(200);
    expect(await metric('zeus_api_requests_refused_client_total')).toBe(1);
    // One held request sends its body (undecodable bytes: refused on its merits) and is answered: a place is free.
    held[0].socket.write(Buffer.alloc(100, 7));
    expect(await answeredWithin(held[0], 5_000)).toMatch(/^HTTP\/1\.1 400/);
    const again = await heldUpload('127.0.0.11', 100);
    expect(await answeredWithin(again, 200)).toBeUndefined();
    for (const x of [...held, again]) x.socket.destroy();
  }, 60_000);

  it('the bodies in progress announce at most 1 MiB in all: past it a request is refused 503 SERVER_BUSY, one without a body is not', async () => {
    await waitFor(async () => (await metric('zeus_api_request_body_bytes')) === 0, 10_000, 'the earlier requests released');
    const big = await heldUpload('127.0.0.13', 800 * 1024);
    expect(await answeredWithin(big, 200)).toBeUndefined();
    expect(await metric('zeus_api_request_body_bytes')).toBe(800 * 1024);
    const second = await heldUpload('127.0.0.14', 400 * 1024);
    const refused = await answeredWithin(second, 5_000);
    expect(refused).toMatch(/^HTTP\/1\.1 503/);
    expect(refused).toMatch(/retry-after: 1/i);
    second.socket.destroy();
    expect((await api(url, 'GET', '/status')).status).toBe(200);
    expect(await metric('zeus_api_requests_refused_busy_total')).toBe(1);
    // The first upload's connection goes away: its bytes are released and the same upload is taken.
    big.socket.destroy();
    await waitFor(async () => (await metric('zeus_api_request_body_bytes')) === 0, 10_000, 'the held body released');
    const later = await heldUpload('127.0.0.14', 400 * 1024);
    expect(await answeredWithin(later, 200)).toBeUndefined();
    later.socket.destroy();
  }, 60_000);

  it("the SDK sends a request refused TOO_MANY_REQUESTS again after the node's Retry-After", async () => {
    // 127.0.0.1 is the SDK's address; the test reads the metrics from another one meanwhile.
    const held = await Promise.all([1, 2, 3, 4].map(() => heldUpload('127.0.0.1', 100)));
    const before = await metric('zeus_api_requests_refused_client_total', '127.0.0.15');
    const { ZeusClient } = await import('../src/sdk/index.ts');
    const status = new ZeusClient(url).status();
    // Its first attempt is refused; then a place frees, before the next (0.5–1 s after the refusal).
    await waitFor(async () => (await metric('zeus_api_requests_refused_client_total', '127.0.0.15')) > before, 10_000, "the SDK's first attempt refused", 20);
    held[0].socket.destroy();
    await expect(status).resolves.toMatchObject({ chainId: h.chainId });
    for (const x of held) x.socket.destroy();
  }, 60_000);
});
