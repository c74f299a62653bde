// Open TCP connections to a node's API, per client and in total.
//
// An idle connection costs its client nothing, yet holds one of the node's file descriptors until
// Node's timeouts close it (60 s without headers, 72 s idle between requests), and a client can
// open them far faster than that. A node out of descriptors accepts no peer and opens no file of
// its store. So a client (clientKey: an IPv4 address or an IPv6 /64) may hold at most `perClient`
// open connections, and all clients together at most `total`; a connection past either is closed
// as soon as it is accepted, before anything is read from it.

import { readFileSync } from 'node:fs';
import type { Server, Socket } from 'node:net';
import { clientKey } from './clients.ts';

export interface ConnectionLimits {
  perClient: number;
  total: number;
}

export class ClientConnections {
  readonly limits: ConnectionLimits;
  private readonly perClient = new Map<string, number>();
  private count = 0;
  /** Connections closed at accept, per reason (metrics, tests). */
  readonly refused = { client: 0, total: 0 };

  constructor(limits: ConnectionLimits) {
    this.limits = limits;
  }

  /** Open connections (of one client, or of all). */
  open(client?: string): number {
    return client === undefined ? this.count : (this.perClient.get(client) ?? 0);
  }

  /** Counts a new connection of `client`; undefined when it must be closed, else its release. */
  admit(client: string): (() => void) | undefined {
    const n = this.perClient.get(client) ?? 0;
    if (n >= this.limits.perClient) {
      this.refused.client++;
      return undefined;
    }
    if (this.count >= this.limits.total) {
      this.refused.total++;
      return undefined;
    }
    this.perClient.set(client, n + 1);
    this.count++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.count--;
      const left = (this.perClient.get(client) ?? 1) - 1;
      if (left > 0) this.perClient.set(client, left);
      else this.perClient.delete(client);
    };
  }

  /** Applies the limits to every connection `server` accepts from now on. */
  watch(server: Server): void {
    server.on('connection', (socket: Socket) => {
      const release = this.admit(clientKey(socket.remoteAddress ?? ''));
      if (!release) {
        socket.destroy();
        return;
      }
      socket.once('close', release);
    });
  }
}

/**
 * The default cap on the API's open connections: half of the process's soft limit of open files
 * (the store, the peers and the registry's files need the rest), at most 8,192.
 */
export function defaultMaxConnections(limits: string = readProcLimits()): number {
  const m = /^Max open files\s+(\d+|unlimited)/m.exec(limits);
  const soft = m && m[1] !== 'unlimited' ? Number(m[1]) : Number.POSITIVE_INFINITY;
  return Math.max(64, Math.min(8192, Math.floor(soft / 2)));
}

function readProcLimits(): string {
  try {
    return readFileSync('/proc/self/limits', 'utf8');
  } catch {
    // Not Linux: no way to know from Node; the cap alone stands.
    return '';
  }
}
