import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { HttpClient, TransportError } from './http.ts';

// The fetcher's client against a raw TCP server that misbehaves in the ways a dying peer does.

let server: Server | undefined;
const sockets = new Set<Socket>();

async function serve(onRequest: (socket: Socket) => void): Promise<string> {
  server = createServer((socket) => {
    sockets.add(socket);
    socket.once('data', () => onRequest(socket));
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as { port: number }).port}/piece`;
}

afterEach(async () => {
  for (const s of sockets) s.destroy();
  sockets.clear();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

const head = (length: number): string => `HTTP/1.1 200 OK\r\nContent-Length: ${length}\r\nContent-Type: application/octet-stream\r\n\r\n`;

describe('HttpClient', () => {
  it('reads a whole answer', async () => {
    const url = await serve((s) => s.end(`${head(5)}hello`));
    const client = new HttpClient({ connectionsPerHost: 2 });
    const r = await client.get(url, { maxBytes: 100, timeoutMs: 5_000 });
    expect(r.body.toString()).toBe('hello');
    client.close();
  });

  // A peer killed mid-body: its connection ends (or is reset) before the declared length. The
  // request must fail at once, not after its deadline — a fetch waited out a 30 s piece timeout
  // for every piece it had in flight from the killed peer.
  for (const [how, cut] of [
    ['closed', (s: Socket) => s.end()],
    ['reset', (s: Socket) => s.resetAndDestroy()],
  ] as const) {
    it(`fails at once when the connection is ${how} in the middle of the body`, async () => {
      const url = await serve((s) => {
        s.write(`${head(1000)}${'x'.repeat(300)}`);
        setTimeout(() => cut(s), 50);
      });
      const client = new HttpClient({ connectionsPerHost: 2 });
      const started = Date.now();
      const e = await client.get(url, { maxBytes: 10_000, timeoutMs: 10_000 }).catch((err: unknown) => err);
      expect(e).toBeInstanceOf(TransportError);
      expect((e as TransportError).code).not.toBe('TIMEOUT');
      expect(Date.now() - started).toBeLessThan(3_000);
      client.close();
    });
  }

  it('fails with TIMEOUT when the answer stalls', async () => {
    const url = await serve((s) => s.write(`${head(1000)}abc`));
    const client = new HttpClient({ connectionsPerHost: 2 });
    const e = await client.get(url, { maxBytes: 10_000, timeoutMs: 300 }).catch((err: unknown) => err);
    expect((e as TransportError).code).toBe('TIMEOUT');
    client.close();
  });
});
