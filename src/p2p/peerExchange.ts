// Peer exchange: how a node learns peers beyond its bootstrap list, and their API URLs.
//
//   /zeusnet/<chainId>/peers/1.0.0  one stream per request: the asking side sends nothing and
//                                   closes its write; the answering side sends one frame
//                                   [u32 length][JSON PeerRecord] and closes.
//
// Why our own protocol and not @libp2p/kad-dht: a DHT answers "who is close to key K" in a network
// of thousands; ours has at most 21 bookkeepers and some followers, and needs something a DHT does
// not carry: each peer's API URL (the DDN fetches images from peers' APIs) and a list it can bound
// and validate. Sharing connected peers' identify listen addresses (their announce addresses when
// set) every few seconds reaches every node of such a network in a couple of rounds, and the
// protocol id carries the chain id, so nodes of another chain never answer.
import { multiaddr } from '@multiformats/multiaddr';
import { z } from 'zod';

/** Most peers one answer lists; most addresses per peer; the largest answer accepted. */
export const PEX_MAX_PEERS = 64;
export const PEX_MAX_ADDRS = 8;
export const PEX_MAX_BYTES = 64 * 1024;

const ApiUrl = z
  .string()
  .max(256)
  .regex(/^https?:\/\/[^/\s]+$/);
const Addr = z.string().max(256);

const PeerRecordSchema = z.object({
  v: z.literal(1),
  /** The answering node's own API URL (absent when it announces none). */
  api: ApiUrl.optional(),
  /** Peers the answering node is connected to, with the addresses they announced. */
  peers: z.array(z.object({ id: z.string().max(128), addrs: z.array(Addr).max(PEX_MAX_ADDRS), api: ApiUrl.optional() })).max(PEX_MAX_PEERS),
});
export type PeerRecord = z.infer<typeof PeerRecordSchema>;

/** A peer another node told us of: dialable addresses (each ending in /p2p/<id>). */
export interface LearnedPeer {
  id: string;
  addrs: string[];
  api?: string;
}

export function encodePeerRecord(r: PeerRecord): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(r));
}

/** Parses an answer; throws on anything malformed (the caller scores the peer down). */
export function decodePeerRecord(bytes: Uint8Array): PeerRecord {
  if (bytes.byteLength > PEX_MAX_BYTES) throw new Error(`peer record of ${bytes.byteLength} bytes`);
  const parsed = PeerRecordSchema.safeParse(JSON.parse(new TextDecoder().decode(bytes)));
  if (!parsed.success) throw new Error(`malformed peer record: ${parsed.error.issues[0]?.message}`);
  return parsed.data;
}

/** A loopback multiaddr (127.0.0.0/8, ::1): meaningful only on the machine that holds it. */
export function isLoopbackAddr(s: string): boolean {
  return /^\/ip4\/127\./.test(s) || /^\/ip6\/::1\//.test(s) || /^\/dns[46]?\/localhost\//.test(s);
}

/**
 * The dialable addresses of a listed peer: TCP over IPv4/IPv6/DNS only, each ending in /p2p/<id>
 * (added when missing; an address naming another peer id is dropped), wildcards dropped, and
 * loopback ones unless `loopback` (they reach the peer only from its own machine: a node bound to
 * 0.0.0.0 without announce addresses advertises 127.0.0.1 too).
 */
export function dialableAddrs(id: string, addrs: readonly string[], loopback = true): string[] {
  const out: string[] = [];
  for (const s of addrs) {
    let ma;
    try {
      ma = multiaddr(s);
    } catch {
      continue;
    }
    const parts = ma.getComponents();
    const host = parts[0];
    if (!host || !['ip4', 'ip6', 'dns', 'dns4', 'dns6'].includes(host.name) || parts[1]?.name !== 'tcp') continue;
    if (host.value === '0.0.0.0' || host.value === '::' || (!loopback && isLoopbackAddr(s))) continue;
    const named = parts.findLast((c) => c.name === 'p2p')?.value;
    if (named !== undefined && named !== id) continue;
    const full = named === undefined ? `${s}/p2p/${id}` : s;
    if (!out.includes(full)) out.push(full);
  }
  return out.slice(0, PEX_MAX_ADDRS);
}

/** What a peer record tells of other peers, cleaned: not ourselves, dialable addresses only (`loopback`: see dialableAddrs). */
export function learnedPeers(record: PeerRecord, self: string, isPeerId: (id: string) => boolean, loopback = true): LearnedPeer[] {
  const out: LearnedPeer[] = [];
  for (const p of record.peers) {
    if (p.id === self || !isPeerId(p.id)) continue;
    const addrs = dialableAddrs(p.id, p.addrs, loopback);
    if (addrs.length === 0) continue;
    out.push({ id: p.id, addrs, ...(p.api ? { api: p.api } : {}) });
  }
  return out;
}
