import { Socket } from 'node:net';
import { identify } from '@libp2p/identify';
import { noise } from '@libp2p/noise';
import { tcp } from '@libp2p/tcp';
import { yamux } from '@libp2p/yamux';
import type { Libp2p } from '@libp2p/interface';
import { createLibp2p } from 'libp2p';
import { afterEach, describe, expect, it } from 'vitest';
import { coalescingTransport } from './coalesce.ts';

const PROTO = '/zeus-test/coalesce/1';
const nodes: Libp2p[] = [];
afterEach(async () => {
  await Promise.all(nodes.splice(0).map((n) => n.stop()));
});

async function node(coalesce: boolean): Promise<Libp2p> {
  const n = await createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [coalesce ? coalescingTransport(tcp()) : tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: { identify: identify() },
  });
  nodes.push(n);
  return n;
}

/** Sends `count` small messages in one turn of the event loop; returns the socket writes they took and what arrived. */
async function burst(coalesce: boolean, count: number): Promise<{ writes: number; received: number }> {
  const [a, b] = await Promise.all([node(coalesce), node(coalesce)]);
  let received = 0;
  let done!: () => void;
  const all = new Promise<void>((r) => (done = r));
  await b.handle(PROTO, (stream) => {
    stream.addEventListener('message', (evt) => {
      received += evt.data.byteLength;
      if (received >= count * 8) done();
    });
  });
  const stream = await a.dialProtocol(b.getMultiaddrs()[0], PROTO);
  // Let the connection settle (identify, window updates) before counting.
  await new Promise((r) => setTimeout(r, 200));
  const proto = Socket.prototype as unknown as { _write: (...a: unknown[]) => unknown; _writev: (...a: unknown[]) => unknown };
  const [write, writev] = [proto._write, proto._writev];
  let writes = 0;
  proto._write = function (this: unknown, ...args: unknown[]) {
    writes++;
    return write.apply(this, args);
  };
  proto._writev = function (this: unknown, ...args: unknown[]) {
    writes++;
    return writev.apply(this, args);
  };
  try {
    for (let i = 0; i < count; i++) stream.send(new Uint8Array(8).fill(i));
    await all;
  } finally {
    proto._write = write;
    proto._writev = writev;
  }
  return { writes, received };
}

describe('socket writes of a libp2p connection', () => {
  it('leave in one system call per turn of the event loop, not one per chunk', async () => {
    const plain = await burst(false, 50);
    const coalesced = await burst(true, 50);
    expect(plain.received).toBe(400);
    expect(coalesced.received).toBe(400);
    // @libp2p/tcp alone: each Yamux frame is a Noise message, written as length prefix and ciphertext.
    expect(plain.writes).toBeGreaterThanOrEqual(50);
    // Both directions' writes counted (the receiver's window updates too): a few in all.
    expect(coalesced.writes).toBeLessThanOrEqual(6);
  }, 30_000);
});
