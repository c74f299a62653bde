import { createServer, connect, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy on 127.0.0.1 that caps the bytes per second flowing from its target back to its
 * clients, over all connections together: an upload-rate cap in front of a server, so a test
 * can watch a transfer in progress, and a benchmark can give an origin a fixed upload capacity.
 * Counts the bytes it forwarded back.
 */
export class Throttle {
  readonly server: Server;
  readonly port: number;
  bytesPerSecond: number;
  bytes = 0;
  private nextFree = 0;
  private readonly sockets = new Set<Socket>();

  private constructor(server: Server, port: number, bytesPerSecond: number) {
    this.server = server;
    this.port = port;
    this.bytesPerSecond = bytesPerSecond;
  }

  static async start(targetPort: number, bytesPerSecond: number): Promise<Throttle> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const t = new Throttle(server, (server.address() as { port: number }).port, bytesPerSecond);
    server.on('connection', (client) => t.relay(client, targetPort));
    return t;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  private relay(client: Socket, targetPort: number): void {
    const upstream = connect(targetPort, '127.0.0.1');
    this.sockets.add(client).add(upstream);
    let pending = 0;
    let ended = false;
    const finish = (): void => {
      if (ended && pending === 0) client.end();
    };
    upstream.on('data', (chunk: Buffer) => {
      const now = Date.now();
      const start = Math.max(now, this.nextFree);
      this.nextFree = start + (chunk.length * 1000) / this.bytesPerSecond;
      upstream.pause();
      pending++;
      setTimeout(() => {
        pending--;
        this.bytes += chunk.length;
        if (!client.destroyed) client.write(chunk);
        upstream.resume();
        finish();
      }, this.nextFree - now);
    });
    upstream.on('end', () => {
      ended = true;
      finish();
    });
    client.on('data', (chunk: Buffer) => upstream.write(chunk));
    client.on('end', () => upstream.end());
    const destroyBoth = (): void => {
      client.destroy();
      upstream.destroy();
      this.sockets.delete(client);
      this.sockets.delete(upstream);
    };
    upstream.on('error', destroyBoth);
    client.on('error', destroyBoth);
    upstream.on('close', () => (pending === 0 ? destroyBoth() : undefined));
    client.on('close', destroyBoth);
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
