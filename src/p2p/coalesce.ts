// One socket write per turn of the event loop instead of one per chunk.
//
// @libp2p/tcp writes every chunk it is given with its own `socket.write`, and the stack above it
// hands it many small chunks: Noise's 2-byte length prefix apart from its ciphertext, Yamux's
// 12-byte headers (window updates, stream opens) as separate messages. On an idle socket each
// write is a system call, and on loopback the kernel delivers it to the reader within that call.
// Under load a bookkeeper made ~150 writes a second per peer, most of them 2 to 28 bytes.
//
// Corking the socket at the first chunk of a turn and uncorking it once the turn is done lets Node
// send everything written in between as one `writev`. Nothing waits longer than the current turn:
// the data leaves before the event loop polls for I/O again.
import type { Transport, Upgrader } from '@libp2p/interface';
import type { Socket } from 'node:net';

/** What we rely on of @libp2p/tcp's connection object (its `socket` field and `sendData`). */
interface SocketConnection {
  socket?: Socket;
  sendData?: (data: Iterable<Uint8Array>) => unknown;
}

/** Makes a connection's writes within one turn of the event loop leave as one system call. */
export function coalesceWrites(maConn: unknown): void {
  const conn = maConn as SocketConnection;
  const socket = conn.socket;
  const send = conn.sendData;
  // Another transport (or a later @libp2p/tcp without these): leave it as it is.
  if (!socket || typeof socket.cork !== 'function' || typeof send !== 'function') return;
  let corked = false;
  const uncork = (): void => {
    corked = false;
    if (!socket.destroyed) socket.uncork();
  };
  conn.sendData = function (this: unknown, data: Iterable<Uint8Array>) {
    if (!corked && !socket.destroyed) {
      corked = true;
      socket.cork();
      setImmediate(uncork);
    }
    return send.call(this, data);
  };
}

function coalescingUpgrader(upgrader: Upgrader): Upgrader {
  return new Proxy(upgrader, {
    get(target, prop) {
      if (prop === 'upgradeInbound' || prop === 'upgradeOutbound') {
        const upgrade = target[prop].bind(target) as (maConn: unknown, opts: unknown) => Promise<unknown>;
        return (maConn: unknown, opts: unknown) => {
          coalesceWrites(maConn);
          return upgrade(maConn, opts);
        };
      }
      const v: unknown = Reflect.get(target, prop, target);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}

/**
 * A libp2p transport factory whose connections coalesce their writes (see above): the transport's
 * dial and listener are given an upgrader that adjusts each raw connection before upgrading it.
 */
export function coalescingTransport<C>(factory: (components: C) => Transport): (components: C) => Transport {
  return (components) => {
    const transport = factory(components);
    return new Proxy(transport, {
      get(target, prop) {
        if (prop === 'dial') {
          return (ma: Parameters<Transport['dial']>[0], opts: Parameters<Transport['dial']>[1]) =>
            target.dial(ma, { ...opts, upgrader: coalescingUpgrader(opts.upgrader) });
        }
        if (prop === 'createListener') {
          return (opts: Parameters<Transport['createListener']>[0]) => target.createListener({ ...opts, upgrader: coalescingUpgrader(opts.upgrader) });
        }
        const v: unknown = Reflect.get(target, prop, target);
        return typeof v === 'function' ? v.bind(target) : v;
      },
    });
  };
}
