import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeTxFrame } from '../src/sdk/index.ts';
import {
  api,
  cleanup,
  initDevHome,
  loadDevKeys,
  nextNonce,
  nextTransfers,
  signTransfer,
  startNode,
  waitFor,
  type DevHome,
  type NamedKey,
  type ZeusProcess,
} from './helpers/processes.ts';

// A /ws client that never reads what the node sends it (events, answers to its frames), against a
// real node process: the node used to queue all of it in memory, without end (a way to exhaust a
// public node's memory at no cost). Past `api.wsMaxBufferedBytes` unsent (64 KiB here, 8 MiB by
// default) the node closes that socket and says so in its log; a client that reads is served on.

let h: DevHome;
let url: string;
let node: ZeusProcess;
let k: Record<string, NamedKey>;

beforeAll(async () => {
  h = await initDevHome({ blockTimeMs: 100, prefix: 'zeus-wsslow-' });
  const configFile = join(h.home, 'config.json');
  const config = JSON.parse(readFileSync(configFile, 'utf8')) as { api: Record<string, unknown> };
  config.api.wsMaxBufferedBytes = 64 * 1024;
  config.api.wsMaxSocketsPerClient = 4;
  writeFileSync(configFile, JSON.stringify(config, null, 2));
  ({ node, url } = await startNode(h.home));
  k = loadDevKeys(h.home, ['alice', 'dave']);
}, 60_000);

afterAll(async () => {
  await cleanup();
});

/** A binary WebSocket frame as a client sends it (masked). */
function wsClientFrame(payload: Uint8Array): Buffer {
  const mask = randomBytes(4);
  const n = payload.length;
  const head = n < 126 ? Buffer.from([0x82, 0x80 | n]) : n < 65_536 ? Buffer.from([0x82, 0x80 | 126, n >> 8, n & 255]) : Buffer.alloc(10);
  if (n >= 65_536) {
    head[0] = 0x82;
    head[1] = 0x80 | 127;
    head.writeBigUInt64BE(BigInt(n), 2);
  }
  const body = Buffer.from(payload);
  for (let i = 0; i < n; i++) body[i] ^= mask[i & 3];
  return Buffer.concat([head, mask, body]);
}

/** A WebSocket handshake on a raw socket from `localAddress`: the node's first answer, and the socket. */
async function handshake(localAddress = '127.0.0.1'): Promise<{ socket: Socket; answer: string }> {
  const { hostname, port } = new URL(url);
  const socket = connect({ port: Number(port), host: hostname, localAddress });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  socket.write(
    `GET /ws?events=block,tx HTTP/1.1\r\nHost: ${hostname}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
  );
  const answer = await new Promise<string>((resolve) => socket.once('data', (d: Buffer) => resolve(d.toString('latin1'))));
  return { socket, answer };
}

/** A WebSocket handshake on a raw socket, which then reads nothing (its kernel buffer fills, then the node's). */
async function silentSubscriber(): Promise<{ socket: Socket; closedByNode: Promise<void> }> {
  const { socket, answer } = await handshake();
  expect(answer).toMatch(/^HTTP\/1\.1 101/);
  socket.pause();
  // Seen once the test reads again: the node's end of the stream (or a reset).
  const closedByNode = new Promise<void>((resolve) => {
    socket.once('end', resolve);
    socket.once('close', () => resolve());
  });
  return { socket, closedByNode };
}

/** A value of the node's Prometheus metrics (0 when absent). */
async function metric(name: string): Promise<number> {
  const text = (await api(url, 'GET', '/metrics')).text;
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.split(' ')[1]) : 0;
}

describe('a /ws client that does not read', () => {
  it('is cut off once the node holds more than its cap for it; a reading subscriber is served on', async () => {
    const { socket, closedByNode } = await silentSubscriber();
    const reader = new WebSocket(`${url.replace('http', 'ws')}/ws?events=block`);
    let blocksSeen = 0;
    reader.addEventListener('message', () => blocksSeen++);
    await new Promise<void>((resolve) => reader.addEventListener('open', () => resolve(), { once: true }));

    // Answers for it: frames of 10,000 undecodable transactions, each answered with its own error
    // (~1.5 MB of answer per 30 KB frame, cheap for the node to make). The kernel takes the first
    // few MiB (the node's send buffer grows to 4 MiB on loopback), then the node holds the rest.
    const frame = (seq: number): Buffer =>
      wsClientFrame(
        encodeTxFrame(
          seq,
          Array.from({ length: 10_000 }, () => Uint8Array.of(1, 2, 3)),
        ),
      );
    let cut = false;
    let frames = 0;
    for (; frames < 40 && !cut; frames++) {
      if (socket.destroyed) break;
      socket.write(frame(frames));
      await new Promise((r) => setTimeout(r, 100));
      cut = (node.stdout + node.stderr).includes('left more than 65536 bytes unread');
    }
    expect(cut, 'the node never cut the silent subscriber off').toBe(true);
    // Reading again, the client finds its stream ended by the node.
    socket.resume();
    socket.on('data', () => {});
    await Promise.race([closedByNode, new Promise((_, reject) => setTimeout(() => reject(new Error('the node did not close the socket')), 10_000))]);

    // The reading subscriber was not cut off: the block of a new transfer reaches it.
    const before = blocksSeen;
    const probe = signTransfer(k.alice, { chainId: h.chainId, to: k.dave.address, amount: 1n, nonce: 0n });
    const t = signTransfer(k.alice, { chainId: h.chainId, to: k.dave.address, amount: 1n, nonce: await nextNonce(url, k.alice.address, probe.chain) });
    expect((await api(url, 'POST', '/txs', { tx: t.hex })).status).toBe(202);
    await waitFor(() => blocksSeen > before, 10_000, 'a block on the reading socket');
    expect(reader.readyState).toBe(WebSocket.OPEN);
    reader.close();
  }, 120_000);
});

// Opening sockets costs a client nothing, and each may hold up to the per-socket cap unsent: one
// client (an IPv4 address, an IPv6 /64) may hold at most `api.wsMaxSocketsPerClient` (4 here, 64 by
// default); another client is not held back by it. The SDK shares one socket between the
// transactions it waits for, so an SDK client stays far under the cap.
describe('open /ws sockets per client', () => {
  it('a client at its cap is refused 429 TOO_MANY_SOCKETS before the upgrade; others are not; a closed socket frees a place', async () => {
    const refusedBefore = await metric('zeus_api_ws_refused_total');
    const own = await Promise.all([1, 2, 3, 4].map(() => handshake('127.0.0.5')));
    for (const o of own) expect(o.answer).toMatch(/^HTTP\/1\.1 101/);
    const fifth = await handshake('127.0.0.5');
    expect(fifth.answer).toMatch(/^HTTP\/1\.1 429/);
    expect(fifth.answer).toContain('TOO_MANY_SOCKETS');
    fifth.socket.destroy();
    const other = await handshake('127.0.0.6');
    expect(other.answer).toMatch(/^HTTP\/1\.1 101/);
    expect(await metric('zeus_api_ws_refused_total')).toBe(refusedBefore + 1);
    expect(await metric('zeus_api_ws_sockets')).toBeGreaterThanOrEqual(5);

    own[0]!.socket.destroy();
    await waitFor(
      async () => {
        const again = await handshake('127.0.0.5');
        again.socket.destroy();
        return again.answer.startsWith('HTTP/1.1 101');
      },
      10_000,
      'a place freed',
    );
    for (const o of [...own, other]) o.socket.destroy();
  }, 60_000);

  it("the SDK's waits for finality share one socket: 12 at once from one client stay under its cap of 4", async () => {
    const { ZeusClient } = await import('../src/sdk/index.ts');
    const client = new ZeusClient(url);
    await waitFor(async () => (await metric('zeus_api_ws_sockets')) === 0, 10_000, 'the earlier sockets closed');
    const refusedBefore = await metric('zeus_api_ws_refused_total');
    const txs = await nextTransfers(url, h.chainId, k.alice, k.dave, 12);
    for (const t of txs) expect((await api(url, 'POST', '/txs', { tx: t.hex })).status).toBe(202);
    let most = 0;
    const watching = setInterval(() => void metric('zeus_api_ws_sockets').then((n) => (most = Math.max(most, n))), 20);
    try {
      const finals = await Promise.all(txs.map((t) => client.waitForFinality(t.hash, { timeoutMs: 30_000 })));
      expect(finals.map((f) => f.status)).toEqual(txs.map(() => 'committed'));
    } finally {
      clearInterval(watching);
    }
    expect(await metric('zeus_api_ws_refused_total')).toBe(refusedBefore);
    expect(most).toBeLessThanOrEqual(1);
    await waitFor(async () => (await metric('zeus_api_ws_sockets')) === 0, 10_000, 'the shared socket closed after the last wait');
  }, 60_000);
});
