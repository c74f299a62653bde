// /zeusnet/<chainId>/snapshots/1.0.0: how a joining node learns which state snapshots a peer
// keeps and fetches them (docs/STATE_SYNC.md). A request-response protocol on the p2p node's
// generic hook (P2POptions.protocols): one request frame, one answer frame.
//
//   request  [u8 1]                          list      → [u8 0][u32 n] n × ([u64 height][32-byte manifest hash])
//            [u8 2][u64 height]              manifest  → [u8 0][manifest bytes]  or [u8 1] (none)
//            [u8 3][u64 height][u32 index]   chunk     → [u8 0][chunk bytes]     or [u8 1] (none)
//
// The bytes are opaque here: what a manifest and a chunk are, and how they are checked, is the
// store's business (src/store/snapshots.ts); the joiner checks every answer it gets.
import type { P2PNode, RequestProtocol } from './p2pNode.ts';

export const SNAPSHOT_PROTOCOL = 'snapshots/1.0.0';
/** A list names at most this many snapshots (a node keeps a few). */
export const MAX_LISTED_SNAPSHOTS = 64;
/** The largest chunk accepted: the format's chunks are 1 MiB; room for a bigger chunk size later. */
export const MAX_SNAPSHOT_CHUNK_BYTES = 16 * 1024 * 1024;
/** The largest manifest accepted (32 bytes a chunk hash: 64 Ki chunks and change). */
export const MAX_SNAPSHOT_MANIFEST_BYTES = 4 * 1024 * 1024;

const OP_LIST = 1;
const OP_MANIFEST = 2;
const OP_CHUNK = 3;
const OK = 0;
const NONE = 1;

export interface SnapshotOffer {
  readonly height: number;
  readonly hash: Uint8Array;
}

/** What a node serves: its kept snapshots. */
export interface SnapshotSource {
  list(): SnapshotOffer[];
  manifest(height: number): Uint8Array | undefined;
  chunk(height: number, index: number): Promise<Uint8Array | undefined>;
}

const answer = (status: number, body?: Uint8Array): Uint8Array => {
  const out = new Uint8Array(1 + (body?.byteLength ?? 0));
  out[0] = status;
  if (body) out.set(body, 1);
  return out;
};

/** The protocol to pass in P2POptions.protocols; `onServed` hears of every chunk sent. */
export function snapshotProtocol(src: SnapshotSource, onServed?: (kind: 'list' | 'manifest' | 'chunk', peer: string) => void): RequestProtocol {
  return {
    name: SNAPSHOT_PROTOCOL,
    maxRequestBytes: 13,
    maxResponseBytes: 1 + Math.max(MAX_SNAPSHOT_CHUNK_BYTES, MAX_SNAPSHOT_MANIFEST_BYTES),
    async serve(req, peer) {
      const view = new DataView(req.buffer, req.byteOffset, req.byteLength);
      const op = req[0];
      if (op === OP_LIST && req.byteLength === 1) {
        const offers = src.list().slice(0, MAX_LISTED_SNAPSHOTS);
        const body = new Uint8Array(4 + offers.length * 40);
        const bv = new DataView(body.buffer);
        bv.setUint32(0, offers.length);
        offers.forEach((o, i) => {
          bv.setBigUint64(4 + i * 40, BigInt(o.height));
          body.set(o.hash, 12 + i * 40);
        });
        onServed?.('list', peer);
        return answer(OK, body);
      }
      if (op === OP_MANIFEST && req.byteLength === 9) {
        const m = src.manifest(Number(view.getBigUint64(1)));
        if (m) onServed?.('manifest', peer);
        return m ? answer(OK, m) : answer(NONE);
      }
      if (op === OP_CHUNK && req.byteLength === 13) {
        const c = await src.chunk(Number(view.getBigUint64(1)), view.getUint32(9));
        if (c) onServed?.('chunk', peer);
        return c ? answer(OK, c) : answer(NONE);
      }
      throw new Error(`malformed snapshots request (op ${op}, ${req.byteLength} bytes)`);
    },
  };
}

/** Asks peers for their snapshots; answers are unchecked bytes (the caller verifies them). */
export class SnapshotClient {
  private readonly p2p: Pick<P2PNode, 'request'>;
  private readonly timeoutMs: number | undefined;

  constructor(p2p: Pick<P2PNode, 'request'>, timeoutMs?: number) {
    this.p2p = p2p;
    this.timeoutMs = timeoutMs;
  }

  async list(peer: string): Promise<SnapshotOffer[]> {
    const a = await this.p2p.request(peer, SNAPSHOT_PROTOCOL, new Uint8Array([OP_LIST]), {
      maxResponseBytes: 5 + MAX_LISTED_SNAPSHOTS * 40,
      timeoutMs: this.timeoutMs,
    });
    const view = new DataView(a.buffer, a.byteOffset, a.byteLength);
    if (a[0] !== OK || a.byteLength < 5) throw new Error(`peer ${peer} sent a malformed snapshot list`);
    const n = view.getUint32(1);
    if (n > MAX_LISTED_SNAPSHOTS || a.byteLength !== 5 + n * 40) throw new Error(`peer ${peer} sent a malformed snapshot list`);
    return Array.from({ length: n }, (_, i) => ({ height: Number(view.getBigUint64(5 + i * 40)), hash: a.slice(13 + i * 40, 45 + i * 40) }));
  }

  async manifest(peer: string, height: number): Promise<Uint8Array | undefined> {
    const req = new Uint8Array(9);
    req[0] = OP_MANIFEST;
    new DataView(req.buffer).setBigUint64(1, BigInt(height));
    return this.body(
      peer,
      await this.p2p.request(peer, SNAPSHOT_PROTOCOL, req, { maxResponseBytes: 1 + MAX_SNAPSHOT_MANIFEST_BYTES, timeoutMs: this.timeoutMs }),
    );
  }

  async chunk(peer: string, height: number, index: number): Promise<Uint8Array | undefined> {
    const req = new Uint8Array(13);
    req[0] = OP_CHUNK;
    const v = new DataView(req.buffer);
    v.setBigUint64(1, BigInt(height));
    v.setUint32(9, index);
    return this.body(peer, await this.p2p.request(peer, SNAPSHOT_PROTOCOL, req, { maxResponseBytes: 1 + MAX_SNAPSHOT_CHUNK_BYTES, timeoutMs: this.timeoutMs }));
  }

  private body(peer: string, a: Uint8Array): Uint8Array | undefined {
    if (a[0] === NONE && a.byteLength === 1) return undefined;
    if (a[0] !== OK) throw new Error(`peer ${peer} sent a malformed snapshots answer`);
    return a.subarray(1);
  }
}
