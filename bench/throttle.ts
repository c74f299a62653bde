import { createConnection, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy on 127.0.0.1 that caps what the upstream sends to all clients together (the origin's
 * upload rate) with one shared token bucket, and counts the bytes it passed. Benchmarks put one in
 * front of each origin so that a central registry and a peer-to-peer origin get the same uplink.
 */
export interface Throttle {
  readonly port: number;
  /** Bytes sent from upstream to clients so far. */
  readonly bytesSent: () => number;
  resetCount(): void;
  close(): Promise<void>;
}

export async function startThrottle(upstreamPort: number, bytesPerSecond: number): Promise<Throttle> {
  let tokens = bytesPerSecond / 10;
  let sent = 0;
  const waiting: (() => void)[] = [];
  // Refill every 10 ms; wake the writers that wait for tokens in arrival order.
  const refill = setInterval(() => {
    tokens = Math.min(tokens + bytesPerSecond / 100, bytesPerSecond / 10);
    while (tokens > 0 && waiting.length > 0) waiting.shift()!();
  }, 10);
  refill.unref();
  const take = async (n: number): Promise<void> => {
    while (tokens <= 0) await new Promise<void>((r) => waiting.push(r));
    tokens -= n;
  };
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = createConnection({ host: '127.0.0.1', port: upstreamPort });
    sockets.add(client).add(upstream);
    client.pipe(upstream);
    // Chunks leave in order, each after its tokens; the end waits for the last one.
    let queue = Promise.resolve();
    upstream.on('data', (chunk: Buffer) => {
      upstream.pause();
      queue = queue.then(async () => {
        await take(chunk.length);
        sent += chunk.length;
        if (client.write(chunk)) upstream.resume();
        else client.once('drain', () => upstream.resume());
      });
    });
    upstream.on('end', () => void queue.then(() => client.end()));
    const closeBoth = (): void => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', closeBoth).on('close', closeBoth);
    upstream.on('error', closeBoth).on('close', () => void queue.then(closeBoth));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('throttle did not bind');
  return {
    port: address.port,
    bytesSent: () => sent,
    resetCount: () => void (sent = 0),
    close: async () => {
      clearInterval(refill);
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
