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

/** A WebSocket handshake on a raw socket, which then reads nothing (its kernel buffer fills, then the node's). */
async function silentSubscriber(): Promise<{ socket: Socket; closedByNode: Promise<void> }> {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  socket.write(
    `GET /ws?events=block,tx HTTP/1.1\r\nHost: ${hostname}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
  );
  await new Promise<void>((resolve) => {
    socket.once('data', (d: Buffer) => {
      expect(d.toString('latin1')).toMatch(/^HTTP\/1\.1 101/);
      resolve();
    });
  });
  socket.pause();
  // Seen once the test reads again: the node's end of the stream (or a reset).
  const closedByNode = new Promise<void>((resolve) => {
    socket.once('end', resolve);
    socket.once('close', () => resolve());
  });
  return { socket, closedByNode };
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
