// The P2P node: js-libp2p (TCP + Noise + Yamux) with two stream protocols of our own:
//
//   /zeusnet/<chainId>/gossip/1.0.0  one long-lived stream per direction per peer, carrying
//                                    frames [u32 length][u8 topic][data]; flooded to every
//                                    connected peer, deduplicated by sha256(topic || data).
//   /zeusnet/<chainId>/blocks/1.0.0  one stream per request: [u32 12][u64 from][u32 count] →
//                                    zero or more [u32 length][record] frames, then close.
//   /zeusnet/<chainId>/peers/1.0.0   peer exchange (peerExchange.ts): the peers a node is
//                                    connected to, their announced addresses and API URLs.
//
// Connections: the bootstrap peers and the peers `keepConnected` names (the bookkeepers of the
// current set) are dialed and redialed for as long as they are away; other peers learned by peer
// exchange are dialed while fewer than `targetPeers` of them are connected, with a longer backoff,
// and forgotten after many failures. A peer whose identify shows it does not speak this chain's
// gossip protocol (another chain, or no ZeusNet node at all) is told in the log and hung up on.
//
// See index.ts for why flooding over direct streams rather than gossipsub.
import { createHash, randomBytes } from 'node:crypto';
import { generateKeyPair, privateKeyFromProtobuf, privateKeyFromRaw, publicKeyFromRaw } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey, peerIdFromPublicKey, peerIdFromString } from '@libp2p/peer-id';
import { multiaddr } from '@multiformats/multiaddr';
import type { Multiaddr } from '@multiformats/multiaddr';
import type { Connection, Libp2p, PeerId, PrivateKey, Stream } from '@libp2p/interface';
import { Uint8ArrayList } from 'uint8arraylist';
import { concatBytes, keyPairFromSeed } from '../crypto/portable.ts';
import { coalescingTransport } from './coalesce.ts';
import { encodeFrame, FRAME_HEADER_BYTES, FrameDecoder, FrameTooLargeError } from './frames.ts';
import { ScoreBook } from './scores.ts';
import type { PenaltyKind } from './scores.ts';
import { SeenCache } from './seen.ts';
import {
  decodePeerRecord,
  dialableAddrs,
  encodePeerRecord,
  isLoopbackAddr,
  learnedPeers,
  PEX_MAX_BYTES,
  PEX_MAX_PEERS,
  type PeerRecord,
} from './peerExchange.ts';

export type Topic = 'txs' | 'proposals' | 'votes';
/**
 * What a handler made of a message: 'accept' (valid: relay it), 'keep' (valid, but every peer
 * that needs it has it already: do not relay), 'ignore' (not useful, not the sender's fault),
 * 'later' (not usable yet, e.g. for a later height: do not relay, and hand a copy that comes
 * again to the handler instead of dropping it as seen), 'reject' (invalid in itself: scores the
 * sender down).
 */
export type Verdict = 'accept' | 'keep' | 'ignore' | 'later' | 'reject';
export type TopicHandler = (data: Uint8Array, from: string) => Verdict | Promise<Verdict>;

export interface P2POptions {
  /** Multiaddr to listen on (bind), e.g. '/ip4/127.0.0.1/tcp/0'. */
  listen: string;
  /**
   * Multiaddrs other nodes should dial (behind NAT or a load balancer), advertised by identify and
   * peer exchange instead of the bound addresses; none: the bound addresses are advertised.
   */
  announce?: string[];
  /** Multiaddrs ending in /p2p/<peerId> of peers to dial at start and redial while disconnected. */
  bootstrap: string[];
  /** This node's API URL, told to peers by peer exchange (the DDN fetches from peers' APIs). */
  apiUrl?: string;
  /** Peers to stay connected to whatever `targetPeers` says (the bookkeepers of the current set). */
  keepConnected?: () => ReadonlySet<string>;
  /** How many peers learned by peer exchange (besides bootstrap and kept ones) to keep connected (default 16). */
  targetPeers?: number;
  /** How often each connected peer is asked for its peers (default 3 s). */
  peerExchangeMs?: number;
  /** Operator-facing warnings (an unreachable bootstrap peer, a peer of another chain). */
  warn?: (msg: string) => void;
  /**
   * The node's libp2p identity, so its peer id survives restarts: either a 32-byte Ed25519 seed
   * (see generatePeerKey) or a protobuf-marshalled libp2p private key. A fresh random identity when
   * omitted.
   */
  privateKey?: Uint8Array;
  /** Largest gossip message or sync record accepted (default 4 MiB). A bigger one bans the sender. */
  maxMessageBytes?: number;
  /** Serves sync requests: encoded block+certificate records for heights from .. from+count-1. */
  serveBlocks: (from: number, count: number) => Promise<Uint8Array[]>;
  /** Part of every protocol id, so nodes of two networks never exchange messages. [A-Za-z0-9._-]. */
  chainId: string;
  /** How long a peer whose score fell to the ban threshold is refused (default 10 minutes). */
  banMs?: number;
  /** Time limit of one fetchBlocks call (default 10 s). */
  fetchTimeoutMs?: number;
  /** Request-response protocols of other parts (e.g. state sync's snapshots), served on every connection. */
  protocols?: RequestProtocol[];
}

/**
 * A request-response stream protocol /zeusnet/<chainId>/<name>: one request frame, one response
 * frame, then the stream closes. Both sides check the sizes before buffering a body; a peer that
 * sends an oversized or malformed frame is scored down like on the blocks protocol.
 */
export interface RequestProtocol {
  /** E.g. 'snapshots/1.0.0'. [A-Za-z0-9._/-]. */
  readonly name: string;
  readonly maxRequestBytes: number;
  readonly maxResponseBytes: number;
  /** The answer to a peer's request (non-empty); throwing closes the stream without one. */
  serve(request: Uint8Array, peer: string): Promise<Uint8Array>;
}

export interface PeerInfo {
  id: string;
  /** 0 for a well-behaved peer; negative after penalties, recovering slowly towards 0. */
  score: number;
  /** Listen addresses it announced (identify), or the addresses of our connections to it. */
  addresses: string[];
  /** The API URL it told us by peer exchange. */
  api?: string;
  connected: boolean;
  banned: boolean;
}

export interface P2PNode {
  /** This node's libp2p peer id (base58, '12D3KooW…'), fixed by privateKey. */
  readonly peerId: string;
  /** Full listen multiaddrs including /p2p/<peerId>, for other nodes' bootstrap lists (after start). */
  addresses(): string[];
  /** Listens, then dials the bootstrap peers and keeps redialing them while disconnected. */
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Sends to every connected peer; resolves once queued (throws RangeError over maxMessageBytes). */
  publish(topic: Topic, data: Uint8Array): Promise<void>;
  /** Sets the topic's handler; its verdict decides relaying ('accept') and penalties ('reject'). */
  subscribe(topic: Topic, handler: TopicHandler): void;
  /**
   * Asks a peer (peer id, or multiaddr with /p2p/) for records from height `from`: at most
   * min(count, MAX_SYNC_COUNT), fewer past its tip or its size cap; [] when it has none.
   */
  fetchBlocks(peer: string, from: number, count: number): Promise<Uint8Array[]>;
  /** Connected peers, and penalized or banned ones, with their scores. */
  peers(): PeerInfo[];
  /** API URLs the connected peers told us by peer exchange. */
  apiUrls(): string[];
  /** Reports a peer found bad later (e.g. a synced block failing verification): score -20. */
  penalize(peer: string, reason: string): void;
  /**
   * Sends one request on protocol `name` (one of some node's P2POptions.protocols) and returns the
   * answer; throws on a timeout (default fetchTimeoutMs), a refused protocol or an answer over `maxResponseBytes`.
   */
  request(peer: string, name: string, request: Uint8Array, o: { maxResponseBytes: number; timeoutMs?: number }): Promise<Uint8Array>;
}

export const DEFAULT_MAX_MESSAGE_BYTES = 4 * 1024 * 1024;
export const DEFAULT_BAN_MS = 10 * 60_000;
export const DEFAULT_FETCH_TIMEOUT_MS = 10_000;
/** Most records one sync response carries; ask again from where it stopped. */
export const MAX_SYNC_COUNT = 256;
/** A server stops adding records past this many bytes (it always sends at least one). */
export const SYNC_RESPONSE_SOFT_CAP = 32 * 1024 * 1024;

const TOPIC_CODES: Record<Topic, number> = { txs: 1, proposals: 2, votes: 3 };
const CODE_TOPICS: ReadonlyMap<number, Topic> = new Map((Object.keys(TOPIC_CODES) as Topic[]).map((t) => [TOPIC_CODES[t], t]));
const SYNC_REQUEST_BYTES = 12;
const SEEN_TTL_MS = 5 * 60_000;
const SEEN_MAX = 200_000;
/** A peer whose outbound buffer is this full is too slow: messages to it are dropped. */
const MAX_PENDING_WRITE_BYTES = 64 * 1024 * 1024;
/** Bytes of received frames waiting for handlers, per stream, before reading pauses. */
const INBOUND_QUEUE_BYTES = 16 * 1024 * 1024;
const REDIAL_TICK_MS = 500;
const REDIAL_MAX_BACKOFF_MS = 5_000;
const DIAL_TIMEOUT_MS = 5_000;
const STREAM_RETRY_MS = 2_000;
export const DEFAULT_TARGET_PEERS = 16;
const PEX_INTERVAL_MS = 3_000;
const PEX_TIMEOUT_MS = 5_000;
/** A learned peer (neither bootstrap nor kept) is retried at most this often, and forgotten after this many failures. */
const LEARNED_MAX_BACKOFF_MS = 60_000;
const LEARNED_MAX_FAILURES = 30;
/** Bound on the peers remembered from peer exchange. */
const MAX_KNOWN_PEERS = 1_000;
/** A peer found not to speak our chain is not dialed again for this long. */
const FOREIGN_RETRY_MS = 30_000;
const WARN_EVERY_MS = 60_000;
/** A peer exchange request: the record version asked for. */
const PEX_REQUEST = Uint8Array.of(1);

/** A fresh 32-byte Ed25519 seed to persist and pass as P2POptions.privateKey. */
export function generatePeerKey(): Uint8Array {
  return new Uint8Array(randomBytes(32));
}

async function decodePrivateKey(key: Uint8Array): Promise<PrivateKey> {
  // An Ed25519 seed: its public key from node:crypto, then the 64-byte raw form. libp2p's own
  // derivation from a seed runs @noble in JavaScript, whose first call costs a start ~60 ms.
  if (key.byteLength === 32) return privateKeyFromRaw(concatBytes(key, keyPairFromSeed(key).publicKey));
  return privateKeyFromProtobuf(key);
}

/** The peer id of a raw 32-byte Ed25519 public key (a node whose libp2p key is that key pair). */
export function peerIdFromEd25519PublicKey(publicKey: Uint8Array): string {
  return peerIdFromPublicKey(publicKeyFromRaw(publicKey)).toString();
}

/** The peer id string a privateKey (seed or protobuf) yields, e.g. to write bootstrap lists. */
export async function peerIdFromKey(key: Uint8Array): Promise<string> {
  return peerIdFromPrivateKey(await decodePrivateKey(key)).toString();
}

/** A multiaddr from the node's options, or an error naming which option it came from. */
function parseAddr(s: string, what: 'bootstrap' | 'announce'): Multiaddr {
  try {
    return multiaddr(s);
  } catch (e) {
    throw new Error(`${what} address ${s} is not a multiaddr: ${(e as Error).message}`);
  }
}

/** The peer id an address names (its last /p2p/ part), if any. */
const namedPeer = (a: Multiaddr): string | undefined => a.getComponents().findLast((c) => c.name === 'p2p')?.value;

/** The host of a URL as a multiaddr would spell it (IPv6 without brackets), or '' if it is not one. */
function urlHost(url: string): string {
  try {
    return new URL(url).hostname.replace(/^\[|\]$/g, '');
  } catch {
    return '';
  }
}

/** The IP of a connection's remote multiaddr (/ip4/H/tcp/P or /ip6/H/tcp/P). */
function remoteHost(addr: string): string {
  return /^\/ip[46]\/([^/]+)\//.exec(addr)?.[1] ?? '';
}

function messageId(frame: Uint8Array): string {
  return createHash('sha256').update(frame).digest('base64');
}

function isVerdict(v: unknown): v is Verdict {
  return v === 'accept' || v === 'keep' || v === 'ignore' || v === 'later' || v === 'reject';
}

/** A peer we may dial: from the bootstrap list or learned by peer exchange. */
interface Known {
  peer: string;
  peerId: PeerId;
  addrs: Multiaddr[];
  bootstrap: boolean;
  dialing: boolean;
  failures: number;
  nextAttempt: number;
  /** Last warning logged about it, and when (so a dead bootstrap peer does not flood the log). */
  warned?: { msg: string; at: number };
}

interface Outbound {
  stream?: Stream;
  opening?: Promise<Stream | undefined>;
  failedAt?: number;
  /** Frames waiting for the next flush: everything sent in one event-loop turn goes out in one write. */
  queue: Uint8Array[];
  queuedBytes: number;
  flushScheduled: boolean;
}

export async function createP2PNode(opts: P2POptions): Promise<P2PNode> {
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(opts.chainId)) throw new Error(`invalid chainId ${JSON.stringify(opts.chainId)}`);
  const maxMessageBytes = opts.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  if (!Number.isSafeInteger(maxMessageBytes) || maxMessageBytes < 1 || maxMessageBytes > 0xffff_fff0) {
    throw new Error(`invalid maxMessageBytes ${maxMessageBytes}`);
  }
  const privateKey = opts.privateKey !== undefined ? await decodePrivateKey(opts.privateKey) : await generateKeyPair('Ed25519');
  const self = peerIdFromPrivateKey(privateKey).toString();
  const bootstrap = new Map<string, Known>();
  for (const s of opts.bootstrap) {
    const addr = parseAddr(s, 'bootstrap');
    const peer = namedPeer(addr);
    if (peer === undefined) throw new Error(`bootstrap address ${s} lacks /p2p/<peerId>`);
    if (peer === self) continue; // a shared bootstrap list may name ourselves
    const known = bootstrap.get(peer);
    if (known) known.addrs.push(addr);
    else bootstrap.set(peer, { addrs: [addr], peer, peerId: peerIdFromString(peer), bootstrap: true, dialing: false, failures: 0, nextAttempt: 0 });
  }
  const announce = (opts.announce ?? []).map((s) => {
    const named = namedPeer(parseAddr(s, 'announce'));
    if (named !== undefined && named !== self) throw new Error(`announce address ${s} names peer ${named}, but this node is ${self}`);
    return named === undefined ? s : s.slice(0, s.lastIndexOf('/p2p/'));
  });
  return new Node({ ...opts, announce }, privateKey, maxMessageBytes, bootstrap);
}

class Node implements P2PNode {
  readonly peerId: string;
  readonly #opts: P2POptions;
  readonly #maxMessageBytes: number;
  readonly #fetchTimeoutMs: number;
  readonly #gossipProto: string;
  readonly #syncProto: string;
  readonly #pexProto: string;
  readonly #privateKey: PrivateKey;
  /** Peers to dial: the bootstrap list, then those learned by peer exchange. */
  readonly #known: Map<string, Known>;
  /** Peers whose identify showed they speak this chain's gossip protocol. */
  readonly #zeusPeers = new Set<string>();
  /** API URLs peers told us by peer exchange. */
  readonly #apiUrls = new Map<string, string>();
  /** When each connected peer was last asked for its peers (or is being asked: Infinity). */
  readonly #pexAsked = new Map<string, number>();
  readonly #scores: ScoreBook;
  readonly #seen = new SeenCache(SEEN_TTL_MS, SEEN_MAX);
  readonly #handlers = new Map<Topic, TopicHandler>();
  readonly #out = new Map<string, Outbound>();
  readonly #listenAddrs = new Map<string, string[]>();
  /** Connected peers by id string (PeerId.toString() is a base58 encoding: too slow per message). */
  readonly #connected = new Map<string, PeerId>();
  #libp2p: Libp2p | undefined;
  #timer: NodeJS.Timeout | undefined;
  #state: 'new' | 'started' | 'stopped' = 'new';

  constructor(opts: P2POptions, privateKey: PrivateKey, maxMessageBytes: number, bootstrap: Map<string, Known>) {
    this.#opts = opts;
    this.#privateKey = privateKey;
    this.peerId = peerIdFromPrivateKey(privateKey).toString();
    this.#maxMessageBytes = maxMessageBytes;
    this.#fetchTimeoutMs = opts.fetchTimeoutMs ?? DEFAULT_FETCH_TIMEOUT_MS;
    this.#gossipProto = `/zeusnet/${opts.chainId}/gossip/1.0.0`;
    this.#syncProto = `/zeusnet/${opts.chainId}/blocks/1.0.0`;
    this.#pexProto = `/zeusnet/${opts.chainId}/peers/1.0.0`;
    this.#known = bootstrap;
    this.#scores = new ScoreBook({ banMs: opts.banMs ?? DEFAULT_BAN_MS, onBan: (peer) => this.#disconnect(peer) });
  }

  addresses(): string[] {
    if (this.#libp2p === undefined) return [];
    return this.#libp2p.getMultiaddrs().map((a) => {
      const s = a.toString();
      return s.includes('/p2p/') ? s : `${s}/p2p/${this.peerId}`;
    });
  }

  async start(): Promise<void> {
    if (this.#state !== 'new') throw new Error(`cannot start a node that is ${this.#state}`);
    this.#state = 'started';
    const banned = (peer: PeerId): boolean => this.#scores.isBanned(peer.toString());
    // The libp2p stack is loaded when a node starts, not when this module is: every `zeus`
    // command imports the node's entry point, and most never open a connection (~0.4 s each).
    const [{ createLibp2p }, { tcp }, { noise }, { yamux }, { identify }, { noiseCrypto }] = await Promise.all([
      import('libp2p'),
      import('@libp2p/tcp'),
      import('@libp2p/noise'),
      import('@libp2p/yamux'),
      import('@libp2p/identify'),
      import('./noiseCrypto.ts'),
    ]);
    const lp = await createLibp2p({
      privateKey: this.#privateKey,
      start: false,
      addresses: { listen: [this.#opts.listen], ...(this.#opts.announce?.length ? { announce: this.#opts.announce } : {}) },
      // Each turn's socket writes go out as one system call (see coalesce.ts).
      transports: [coalescingTransport(tcp())],
      connectionEncrypters: [noise({ crypto: noiseCrypto })],
      streamMuxers: [yamux()],
      connectionGater: {
        denyDialPeer: banned,
        denyInboundEncryptedConnection: banned,
        denyOutboundEncryptedConnection: banned,
      },
      connectionManager: {
        // A devnet runs every node on one host, and libp2p rate-limits inbound connections per IP.
        inboundConnectionThreshold: 100,
        maxIncomingPendingConnections: 64,
      },
      services: { identify: identify() },
    });
    this.#libp2p = lp;
    await lp.handle(this.#gossipProto, (stream, conn) => this.#onGossipStream(stream, conn), {
      maxInboundStreams: 4,
      maxOutboundStreams: 4,
    });
    await lp.handle(this.#syncProto, (stream, conn) => this.#onSyncStream(stream, conn), {
      maxInboundStreams: 8,
      maxOutboundStreams: 8,
    });
    for (const p of this.#opts.protocols ?? []) {
      await lp.handle(this.#protocolId(p.name), (stream, conn) => this.#onRequestStream(p, stream, conn), {
        maxInboundStreams: 16,
        maxOutboundStreams: 16,
      });
    }
    await lp.handle(this.#pexProto, (stream, conn) => this.#servePeers(stream, conn), { maxInboundStreams: 2, maxOutboundStreams: 2 });
    lp.addEventListener('connection:open', (evt) => {
      const remote = evt.detail.remotePeer;
      const peer = remote.toString();
      if (this.#scores.isBanned(peer)) {
        this.#disconnect(peer);
        return;
      }
      if (this.#connected.has(peer)) return;
      this.#connected.set(peer, remote);
      void this.#outbound(peer); // open the gossip stream now, so the first publish is not delayed
    });
    lp.addEventListener('peer:disconnect', (evt) => {
      const peer = evt.detail.toString();
      this.#connected.delete(peer);
      this.#pexAsked.delete(peer);
      this.#out.get(peer)?.stream?.abort(new Error('peer disconnected'));
      this.#out.delete(peer);
      // What only matters while connected; a peer we may dial again keeps its entry in #known.
      if (!this.#known.has(peer)) {
        this.#apiUrls.delete(peer);
        this.#zeusPeers.delete(peer);
        if (!this.#scores.known().includes(peer)) this.#listenAddrs.delete(peer);
      }
    });
    lp.addEventListener('peer:identify', (evt) => {
      const peer = evt.detail.peerId.toString();
      const addrs = evt.detail.listenAddrs.map((a) => {
        const s = a.toString();
        return s.includes('/p2p/') ? s : `${s}/p2p/${peer}`;
      });
      this.#listenAddrs.set(peer, addrs);
      this.#identified(peer, evt.detail.protocols, addrs, isLoopbackAddr(evt.detail.connection.remoteAddr.toString()));
    });
    await lp.start();
    this.#redial();
    this.#timer = setInterval(() => this.#redial(), REDIAL_TICK_MS);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    if (this.#state !== 'started') {
      this.#state = 'stopped';
      return;
    }
    this.#state = 'stopped';
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    for (const o of this.#out.values()) o.stream?.abort(new Error('node stopping'));
    this.#out.clear();
    await this.#libp2p?.stop();
    this.#connected.clear();
  }

  subscribe(topic: Topic, handler: TopicHandler): void {
    if (!(topic in TOPIC_CODES)) throw new Error(`unknown topic ${String(topic)}`);
    this.#handlers.set(topic, handler);
  }

  async publish(topic: Topic, data: Uint8Array): Promise<void> {
    if (this.#state === 'new') throw new Error('p2p node is not started');
    const code = TOPIC_CODES[topic];
    if (code === undefined) throw new Error(`unknown topic ${String(topic)}`);
    if (data.byteLength > this.#maxMessageBytes) {
      throw new RangeError(`message of ${data.byteLength} bytes exceeds maxMessageBytes ${this.#maxMessageBytes}`);
    }
    const frame = new Uint8Array(1 + data.byteLength);
    frame[0] = code;
    frame.set(data, 1);
    this.#seen.add(messageId(frame)); // so echoes from peers are not delivered back to us
    await this.#broadcast(frame, undefined);
  }

  async fetchBlocks(peer: string, from: number, count: number): Promise<Uint8Array[]> {
    const lp = this.#running();
    if (!Number.isSafeInteger(from) || from < 0) throw new RangeError(`invalid from height ${from}`);
    if (!Number.isSafeInteger(count) || count < 0) throw new RangeError(`invalid count ${count}`);
    if (count === 0) return [];
    count = Math.min(count, MAX_SYNC_COUNT);
    let target: PeerId | Multiaddr;
    let remote: string;
    if (peer.startsWith('/')) {
      target = multiaddr(peer);
      const id = target.getComponents().findLast((c) => c.name === 'p2p')?.value;
      if (id === undefined) throw new Error(`address ${peer} lacks /p2p/<peerId>`);
      remote = id;
    } else {
      target = peerIdFromString(peer);
      remote = peer;
    }
    if (this.#scores.isBanned(remote)) throw new Error(`peer ${remote} is banned`);

    const signal = AbortSignal.timeout(this.#fetchTimeoutMs);
    const stream = await lp.dialProtocol(target, this.#syncProto, { signal });
    const onAbort = (): void => stream.abort(new Error(`fetchBlocks from ${remote} timed out`));
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      const req = new Uint8Array(SYNC_REQUEST_BYTES);
      const view = new DataView(req.buffer);
      view.setBigUint64(0, BigInt(from));
      view.setUint32(8, count);
      stream.send(encodeFrame(req));
      await stream.close({ signal });
      const decoder = new FrameDecoder(this.#maxMessageBytes);
      const hardCap = SYNC_RESPONSE_SOFT_CAP + this.#maxMessageBytes;
      const records: Uint8Array[] = [];
      for await (const chunk of stream) {
        let frames: Uint8Array[];
        try {
          frames = decoder.push(chunk);
        } catch (err) {
          this.#punish(remote, err instanceof FrameTooLargeError ? 'oversized' : 'malformed', `sync response: ${String(err)}`);
          throw err;
        }
        for (const f of frames) records.push(f);
        if (records.length > count) {
          this.#punish(remote, 'malformed', `sync response has more than the ${count} records asked for`);
          throw new Error(`peer ${remote} sent more records than asked for`);
        }
        if (decoder.bytesDecoded + decoder.pending > hardCap) {
          this.#punish(remote, 'malformed', 'sync response too large');
          throw new Error(`peer ${remote} sent a sync response over ${hardCap} bytes`);
        }
      }
      if (signal.aborted) throw new Error(`fetchBlocks from ${remote} timed out`);
      if (decoder.pending > 0) throw new Error(`sync response from ${remote} ended inside a frame`);
      return records;
    } catch (err) {
      stream.abort(err instanceof Error ? err : new Error(String(err)));
      throw err;
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }

  apiUrls(): string[] {
    const lp = this.#libp2p;
    if (lp === undefined) return [];
    return [...this.#connected.entries()].flatMap(([id, peerId]) => {
      const url = this.#apiUrls.get(id);
      if (url === undefined || this.#scores.isBanned(id)) return [];
      // Only a URL on the address we reach that peer at: the node fetches from these URLs, and a
      // peer must not be able to point it at a third party (another service, another network's
      // machine) by claiming any URL it likes. A URL by DNS name or behind another address is not
      // used for delivery (list such nodes in ddn.peers).
      const host = urlHost(url);
      return lp.getConnections(peerId).some((c) => remoteHost(c.remoteAddr.toString()) === host) ? [url] : [];
    });
  }

  peers(): PeerInfo[] {
    const lp = this.#libp2p;
    const connected = new Map<string, string[]>();
    if (lp !== undefined && this.#state === 'started') {
      for (const c of lp.getConnections()) {
        const id = c.remotePeer.toString();
        const list = connected.get(id) ?? [];
        list.push(c.remoteAddr.toString());
        connected.set(id, list);
      }
    }
    const ids = new Set<string>([...connected.keys(), ...this.#scores.known()]);
    return [...ids].sort().map((id) => ({
      id,
      score: this.#scores.score(id),
      addresses: this.#listenAddrs.get(id) ?? connected.get(id) ?? [],
      ...(this.#apiUrls.has(id) ? { api: this.#apiUrls.get(id) } : {}),
      connected: connected.has(id),
      banned: this.#scores.isBanned(id),
    }));
  }

  penalize(peer: string, reason: string): void {
    let id = peer;
    if (peer.startsWith('/')) {
      id =
        multiaddr(peer)
          .getComponents()
          .findLast((c) => c.name === 'p2p')?.value ?? '';
    }
    try {
      id = peerIdFromString(id).toString();
    } catch {
      throw new Error(`not a peer id: ${JSON.stringify(peer)}`);
    }
    this.#punish(id, 'reported', reason);
  }

  async request(peer: string, name: string, request: Uint8Array, o: { maxResponseBytes: number; timeoutMs?: number }): Promise<Uint8Array> {
    const lp = this.#running();
    if (this.#scores.isBanned(peer)) throw new Error(`peer ${peer} is banned`);
    const signal = AbortSignal.timeout(o.timeoutMs ?? this.#fetchTimeoutMs);
    const stream = await lp.dialProtocol(peerIdFromString(peer), this.#protocolId(name), { signal });
    const onAbort = (): void => stream.abort(new Error(`${name} request to ${peer} timed out`));
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      stream.send(encodeFrame(request));
      await stream.close({ signal });
      const decoder = new FrameDecoder(o.maxResponseBytes);
      let answer: Uint8Array | undefined;
      for await (const chunk of stream) {
        let frames: Uint8Array[];
        try {
          frames = decoder.push(chunk);
        } catch (err) {
          this.#punish(peer, err instanceof FrameTooLargeError ? 'oversized' : 'malformed', `${name} response: ${String(err)}`);
          throw err;
        }
        if (frames.length > 1 || (answer !== undefined && frames.length > 0)) {
          this.#punish(peer, 'malformed', `${name} response of more than one frame`);
          throw new Error(`peer ${peer} sent more than one ${name} response`);
        }
        answer ??= frames[0];
      }
      if (signal.aborted) throw new Error(`${name} request to ${peer} timed out`);
      if (answer === undefined) throw new Error(`peer ${peer} closed the ${name} stream without an answer`);
      return answer;
    } catch (err) {
      stream.abort(err instanceof Error ? err : new Error(String(err)));
      throw err;
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }

  // ---- internals ----

  #protocolId(name: string): string {
    if (!/^[A-Za-z0-9._/-]{1,64}$/.test(name)) throw new Error(`invalid protocol name ${JSON.stringify(name)}`);
    return `/zeusnet/${this.#opts.chainId}/${name}`;
  }

  #onRequestStream(p: RequestProtocol, stream: Stream, conn: Connection): void {
    const from = conn.remotePeer.toString();
    if (this.#scores.isBanned(from)) {
      stream.abort(new Error('peer banned'));
      return;
    }
    const signal = AbortSignal.timeout(this.#fetchTimeoutMs);
    const onAbort = (): void => stream.abort(new Error(`${p.name} request timed out`));
    signal.addEventListener('abort', onAbort, { once: true });
    const serve = async (): Promise<void> => {
      const decoder = new FrameDecoder(p.maxRequestBytes);
      let req: Uint8Array | undefined;
      for await (const chunk of stream) {
        let frames: Uint8Array[];
        try {
          frames = decoder.push(chunk);
        } catch (err) {
          this.#punish(from, err instanceof FrameTooLargeError ? 'oversized' : 'malformed', `${p.name} request: ${String(err)}`);
          throw err;
        }
        if (frames.length > 0) {
          req = frames[0];
          break;
        }
      }
      if (req === undefined) return;
      const answer = await p.serve(req, from);
      if (answer.byteLength === 0 || answer.byteLength > p.maxResponseBytes) throw new Error(`${p.name}: no answer fits`);
      if (!stream.send(encodeFrame(answer))) await stream.onDrain({ signal });
      await stream.close({ signal });
    };
    serve()
      .catch((err: unknown) => stream.abort(err instanceof Error ? err : new Error(String(err))))
      .finally(() => signal.removeEventListener('abort', onAbort));
  }

  #running(): Libp2p {
    if (this.#state !== 'started' || this.#libp2p === undefined) throw new Error('p2p node is not running');
    return this.#libp2p;
  }

  #punish(peer: string, kind: PenaltyKind, reason: string): void {
    this.#scores.penalize(peer, kind, reason);
  }

  #disconnect(peer: string): void {
    const o = this.#out.get(peer);
    this.#out.delete(peer);
    o?.stream?.abort(new Error('peer banned'));
    const lp = this.#libp2p;
    if (lp === undefined || this.#state !== 'started') return;
    void lp.hangUp(peerIdFromString(peer)).catch(() => undefined);
  }

  #warn(k: Known | undefined, msg: string): void {
    const now = Date.now();
    if (k !== undefined) {
      if (k.warned !== undefined && k.warned.msg === msg && now - k.warned.at < WARN_EVERY_MS) return;
      k.warned = { msg, at: now };
    }
    this.#opts.warn?.(msg);
  }

  #redial(): void {
    const lp = this.#libp2p;
    if (lp === undefined || this.#state !== 'started') return;
    const now = Date.now();
    const keep = this.#opts.keepConnected?.() ?? new Set<string>();
    const target = this.#opts.targetPeers ?? DEFAULT_TARGET_PEERS;
    let others = 0;
    for (const id of this.#connected.keys()) if (!keep.has(id) && !this.#known.get(id)?.bootstrap) others++;
    for (const k of this.#known.values()) {
      if (k.dialing || now < k.nextAttempt || k.peer === this.peerId || this.#scores.isBanned(k.peer)) continue;
      if (this.#connected.has(k.peer) || lp.getConnections(k.peerId).length > 0) {
        k.failures = 0;
        continue;
      }
      const must = k.bootstrap || keep.has(k.peer);
      if (!must && others >= target) continue;
      if (!must) others++;
      k.dialing = true;
      lp.dial(k.addrs, { signal: AbortSignal.timeout(DIAL_TIMEOUT_MS) })
        .then(
          () => {
            k.failures = 0;
          },
          (e: unknown) => {
            k.failures += 1;
            const cap = must ? REDIAL_MAX_BACKOFF_MS : LEARNED_MAX_BACKOFF_MS;
            k.nextAttempt = Date.now() + Math.min(cap, 250 * 2 ** k.failures);
            if (k.bootstrap) {
              const why = e instanceof Error ? e.message : String(e);
              this.#warn(k, `bootstrap peer ${k.addrs.join(' or ')} unreachable or not a ZeusNet node (${why}); still trying it and the other peers`);
            } else if (!keep.has(k.peer) && k.failures >= LEARNED_MAX_FAILURES && this.#known.get(k.peer) === k) this.#known.delete(k.peer);
          },
        )
        .finally(() => {
          k.dialing = false;
        });
    }
    this.#exchangePeers(now);
  }

  /** Identify told us what a peer speaks: a peer not of this chain is hung up on. */
  #identified(peer: string, protocols: readonly string[], addrs: string[], loopback: boolean): void {
    if (protocols.includes(this.#gossipProto)) {
      this.#zeusPeers.add(peer);
      // A peer that dialed us can be dialed back after churn: remember where it listens.
      const dialable = dialableAddrs(peer, addrs, loopback);
      const k = this.#known.get(peer);
      if (dialable.length > 0 && k !== undefined && !k.bootstrap) k.addrs = dialable.map((a) => multiaddr(a));
      else if (dialable.length > 0 && k === undefined && this.#known.size < MAX_KNOWN_PEERS) this.#learn({ id: peer, addrs: dialable });
      return;
    }
    this.#zeusPeers.delete(peer);
    const other = protocols.map((p) => /^\/zeusnet\/([^/]+)\/gossip\//.exec(p)?.[1]).find((c) => c !== undefined);
    const what =
      other !== undefined
        ? `a ZeusNet node of chain "${other}", not "${this.#opts.chainId}"`
        : `not a ZeusNet node (it speaks ${protocols.slice(0, 4).join(', ') || 'no protocol we know'})`;
    const k = this.#known.get(peer);
    if (k !== undefined) k.nextAttempt = Date.now() + FOREIGN_RETRY_MS;
    this.#warn(k ?? this.#foreignWarned(peer), `peer ${peer}${k?.bootstrap ? ` (bootstrap ${k.addrs.join(' or ')})` : ''} is ${what}: disconnecting`);
    this.#disconnect(peer);
  }

  /** A stand-in entry to rate-limit warnings about a foreign peer we never meant to dial. */
  readonly #foreignNotes = new Map<string, Known>();
  #foreignWarned(peer: string): Known {
    let k = this.#foreignNotes.get(peer);
    if (k === undefined) {
      if (this.#foreignNotes.size > 256) this.#foreignNotes.clear();
      k = { peer, peerId: peerIdFromString(peer), addrs: [], bootstrap: false, dialing: false, failures: 0, nextAttempt: 0 };
      this.#foreignNotes.set(peer, k);
    }
    return k;
  }

  #learn(p: { id: string; addrs: string[]; api?: string }): void {
    if (p.id === this.peerId) return;
    const k = this.#known.get(p.id);
    const addrs = p.addrs.map((a) => multiaddr(a));
    if (k === undefined) {
      if (this.#known.size >= MAX_KNOWN_PEERS) return;
      this.#known.set(p.id, { peer: p.id, peerId: peerIdFromString(p.id), addrs, bootstrap: false, dialing: false, failures: 0, nextAttempt: 0 });
    } else if (!k.bootstrap && !this.#connected.has(p.id)) k.addrs = addrs;
  }

  /** Asks connected peers of this chain for their peers, each at most every PEX interval. */
  #exchangePeers(now: number): void {
    const every = this.#opts.peerExchangeMs ?? PEX_INTERVAL_MS;
    for (const peer of this.#connected.keys()) {
      if (!this.#zeusPeers.has(peer) || this.#scores.isBanned(peer)) continue;
      const last = this.#pexAsked.get(peer);
      if (last !== undefined && now - last < every) continue;
      this.#pexAsked.set(peer, Number.POSITIVE_INFINITY);
      this.#askPeers(peer).then(
        () => this.#pexAsked.has(peer) && this.#pexAsked.set(peer, Date.now()),
        () => this.#pexAsked.has(peer) && this.#pexAsked.set(peer, Date.now()),
      );
    }
  }

  async #askPeers(peer: string): Promise<void> {
    const lp = this.#running();
    const signal = AbortSignal.timeout(PEX_TIMEOUT_MS);
    const stream = await lp.dialProtocol(this.#connected.get(peer) ?? peerIdFromString(peer), this.#pexProto, { signal });
    const onAbort = (): void => stream.abort(new Error('peer exchange timed out'));
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      // A request must carry a byte: protocol selection is lazy and completes with the first write.
      stream.send(encodeFrame(PEX_REQUEST));
      await stream.close({ signal });
      const decoder = new FrameDecoder(PEX_MAX_BYTES);
      const frames: Uint8Array[] = [];
      for await (const chunk of stream) {
        try {
          frames.push(...decoder.push(chunk));
        } catch (err) {
          this.#punish(peer, err instanceof FrameTooLargeError ? 'oversized' : 'malformed', `peer exchange: ${String(err)}`);
          throw err;
        }
      }
      if (frames.length !== 1) throw new Error(`peer exchange answer of ${frames.length} frames`);
      let record: PeerRecord;
      try {
        record = decodePeerRecord(frames[0]);
      } catch (err) {
        this.#punish(peer, 'malformed', `peer exchange: ${String(err)}`);
        throw err;
      }
      if (record.api !== undefined) this.#apiUrls.set(peer, record.api);
      const isPeerId = (id: string): boolean => {
        try {
          peerIdFromString(id);
          return true;
        } catch {
          return false;
        }
      };
      // A remote's loopback addresses are not ours, unless the remote itself is on our loopback.
      const loopback = this.#connected.has(peer) && lp.getConnections(this.#connected.get(peer)).some((c) => isLoopbackAddr(c.remoteAddr.toString()));
      for (const p of learnedPeers(record, this.peerId, isPeerId, loopback)) {
        this.#learn(p);
        if (p.api !== undefined && !this.#apiUrls.has(p.id)) this.#apiUrls.set(p.id, p.api);
      }
    } catch (err) {
      stream.abort(err instanceof Error ? err : new Error(String(err)));
      throw err;
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }

  #servePeers(stream: Stream, conn: Connection): void {
    const from = conn.remotePeer.toString();
    if (this.#scores.isBanned(from)) {
      stream.abort(new Error('peer banned'));
      return;
    }
    const peers: PeerRecord['peers'] = [];
    const loopback = isLoopbackAddr(conn.remoteAddr.toString());
    for (const id of this.#connected.keys()) {
      if (id === from || !this.#zeusPeers.has(id) || this.#scores.isBanned(id)) continue;
      const addrs = dialableAddrs(id, this.#listenAddrs.get(id) ?? [], loopback);
      if (addrs.length === 0) continue;
      const api = this.#apiUrls.get(id);
      peers.push({ id, addrs, ...(api !== undefined ? { api } : {}) });
      if (peers.length >= PEX_MAX_PEERS) break;
    }
    const record: PeerRecord = { v: 1, ...(this.#opts.apiUrl !== undefined ? { api: this.#opts.apiUrl } : {}), peers };
    const signal = AbortSignal.timeout(PEX_TIMEOUT_MS);
    const onAbort = (): void => stream.abort(new Error('peer exchange timed out'));
    signal.addEventListener('abort', onAbort, { once: true });
    (async () => {
      // The request (one small frame) is read first: a stream closes only once both sides are done.
      const decoder = new FrameDecoder(PEX_REQUEST.byteLength);
      for await (const chunk of stream) if (decoder.push(chunk).length > 0) break;
      if (!stream.send(encodeFrame(encodePeerRecord(record)))) await stream.onDrain({ signal });
      await stream.close({ signal });
    })()
      .catch((err: unknown) => stream.abort(err instanceof Error ? err : new Error(String(err))))
      .finally(() => signal.removeEventListener('abort', onAbort));
  }

  /** The open outbound gossip stream to a connected peer, opening it if needed. */
  #outbound(peer: string): Promise<Stream | undefined> {
    const lp = this.#libp2p;
    if (lp === undefined || this.#state !== 'started' || this.#scores.isBanned(peer)) return Promise.resolve(undefined);
    const o = this.#out.get(peer);
    if (o?.stream !== undefined && o.stream.status === 'open' && o.stream.writeStatus === 'writable') {
      return Promise.resolve(o.stream);
    }
    if (o?.opening !== undefined) return o.opening;
    if (o?.failedAt !== undefined && Date.now() - o.failedAt < STREAM_RETRY_MS) return Promise.resolve(undefined);
    const entry: Outbound = { queue: [], queuedBytes: 0, flushScheduled: false };
    const opening = lp
      .dialProtocol(this.#connected.get(peer) ?? peerIdFromString(peer), this.#gossipProto, { signal: AbortSignal.timeout(DIAL_TIMEOUT_MS) })
      .then(
        (stream) => {
          if (this.#out.get(peer) !== entry || this.#state !== 'started') {
            stream.abort(new Error('superseded'));
            return undefined;
          }
          entry.stream = stream;
          entry.opening = undefined;
          // Nothing is ever sent to us on our own outbound stream.
          void stream.closeRead().catch(() => undefined);
          stream.addEventListener('close', () => {
            if (this.#out.get(peer) === entry) this.#out.delete(peer);
          });
          return stream;
        },
        () => {
          entry.opening = undefined;
          entry.failedAt = Date.now();
          return undefined;
        },
      );
    entry.opening = opening;
    this.#out.set(peer, entry);
    return opening;
  }

  async #sendTo(peer: string, frame: Uint8Array): Promise<void> {
    const stream = await this.#outbound(peer);
    const entry = this.#out.get(peer);
    if (stream === undefined || entry?.stream !== stream || stream.status !== 'open') return;
    // A slow peer: drop rather than buffer without bound; it can catch up by sync.
    if (stream.writeBufferLength + entry.queuedBytes > MAX_PENDING_WRITE_BYTES) return;
    entry.queue.push(frame);
    entry.queuedBytes += frame.byteLength;
    if (!entry.flushScheduled) {
      entry.flushScheduled = true;
      setImmediate(() => this.#flush(peer, entry));
    }
  }

  #flush(peer: string, entry: Outbound): void {
    const frames = entry.queue;
    entry.queue = [];
    entry.queuedBytes = 0;
    entry.flushScheduled = false;
    const stream = entry.stream;
    if (stream === undefined || stream.status !== 'open' || frames.length === 0) return;
    const parts: Uint8Array[] = [];
    for (const f of frames) {
      const header = new Uint8Array(FRAME_HEADER_BYTES);
      new DataView(header.buffer).setUint32(0, f.byteLength);
      parts.push(header, f);
    }
    try {
      stream.send(new Uint8ArrayList(...parts));
    } catch {
      if (this.#out.get(peer) === entry) this.#out.delete(peer);
    }
  }

  /** Sends a gossip frame to every connected peer except `except`. */
  async #broadcast(frame: Uint8Array, except: string | undefined): Promise<void> {
    const lp = this.#libp2p;
    if (lp === undefined || this.#state !== 'started') return;
    const sends: Promise<void>[] = [];
    for (const peer of this.#connected.keys()) {
      if (peer === except || this.#scores.isBanned(peer)) continue;
      sends.push(this.#sendTo(peer, frame));
    }
    await Promise.all(sends);
  }

  #onGossipStream(stream: Stream, conn: Connection): void {
    const from = conn.remotePeer.toString();
    if (this.#scores.isBanned(from)) {
      stream.abort(new Error('peer banned'));
      return;
    }
    // Our side of an inbound stream never writes.
    void stream.close().catch(() => undefined);
    const decoder = new FrameDecoder(this.#maxMessageBytes + 1);
    // Frames of one stream are handled in order, one at a time. While more than a cap of bytes
    // waits for the handlers, reading pauses: Yamux then stops granting the sender window, and
    // the sender's own buffer fills up and drops (see #sendTo) instead of our memory.
    const queueCap = Math.max(INBOUND_QUEUE_BYTES, 2 * this.#maxMessageBytes);
    stream.maxReadBufferLength = Math.max(stream.maxReadBufferLength, queueCap + this.#maxMessageBytes);
    let chain: Promise<void> = Promise.resolve();
    let queued = 0;
    let paused = false;
    let dead = false;
    const done = (bytes: number): void => {
      queued -= bytes;
      if (paused && queued <= queueCap / 2 && stream.readStatus === 'paused') {
        paused = false;
        stream.resume();
      }
    };
    stream.addEventListener('message', (evt) => {
      if (dead) return;
      let frames: Uint8Array[];
      try {
        frames = decoder.push(evt.data);
      } catch (err) {
        dead = true;
        const oversized = err instanceof FrameTooLargeError;
        stream.abort(err instanceof Error ? err : new Error(String(err)));
        this.#punish(from, oversized ? 'oversized' : 'malformed', `gossip: ${String(err)}`);
        return;
      }
      for (const f of frames) {
        queued += f.byteLength;
        chain = chain.then(() => this.#onGossipFrame(f, from)).finally(() => done(f.byteLength));
      }
      if (!paused && queued > queueCap && stream.readStatus === 'readable') {
        paused = true;
        stream.pause();
      }
    });
  }

  async #onGossipFrame(frame: Uint8Array, from: string): Promise<void> {
    if (this.#state !== 'started' || this.#scores.isBanned(from)) return;
    const topic = CODE_TOPICS.get(frame[0]);
    if (topic === undefined) {
      this.#punish(from, 'malformed', `gossip: unknown topic code ${frame[0]}`);
      return;
    }
    const id = messageId(frame);
    if (!this.#seen.add(id)) return;
    const handler = this.#handlers.get(topic);
    let verdict: Verdict = 'accept'; // nothing to validate against: relay it
    if (handler !== undefined) {
      try {
        const v: unknown = await handler(frame.subarray(1), from);
        verdict = isVerdict(v) ? v : 'ignore';
      } catch {
        verdict = 'ignore'; // our handler's failure is not the peer's fault
      }
    }
    if (verdict === 'reject') {
      this.#punish(from, 'reject', `${topic} message rejected`);
      return;
    }
    // Peers re-send what a stuck height needs; a copy of this one must not be taken for a duplicate.
    if (verdict === 'later') this.#seen.forget(id);
    if (verdict === 'accept') void this.#broadcast(frame, from);
  }

  #onSyncStream(stream: Stream, conn: Connection): void {
    const from = conn.remotePeer.toString();
    if (this.#scores.isBanned(from)) {
      stream.abort(new Error('peer banned'));
      return;
    }
    this.#serveSync(stream, from).catch((err: unknown) => {
      stream.abort(err instanceof Error ? err : new Error(String(err)));
    });
  }

  async #serveSync(stream: Stream, peer: string): Promise<void> {
    const signal = AbortSignal.timeout(this.#fetchTimeoutMs);
    const onAbort = (): void => stream.abort(new Error('sync request timed out'));
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      const decoder = new FrameDecoder(SYNC_REQUEST_BYTES);
      let req: Uint8Array | undefined;
      for await (const chunk of stream) {
        let frames: Uint8Array[];
        try {
          frames = decoder.push(chunk);
        } catch (err) {
          this.#punish(peer, 'malformed', `sync request: ${String(err)}`);
          throw err;
        }
        if (frames.length > 0) {
          req = frames[0];
          break;
        }
      }
      if (req === undefined) return; // the peer went away
      if (req.byteLength !== SYNC_REQUEST_BYTES) {
        this.#punish(peer, 'malformed', `sync request of ${req.byteLength} bytes`);
        throw new Error('malformed sync request');
      }
      const view = new DataView(req.buffer, req.byteOffset, req.byteLength);
      const from = view.getBigUint64(0);
      const count = Math.min(view.getUint32(8), MAX_SYNC_COUNT);
      if (from > BigInt(Number.MAX_SAFE_INTEGER)) {
        this.#punish(peer, 'malformed', 'sync request height out of range');
        throw new Error('sync request height out of range');
      }
      const records = count === 0 ? [] : await this.#opts.serveBlocks(Number(from), count);
      let total = 0;
      for (const [i, rec] of records.entries()) {
        if (i >= count || !(rec instanceof Uint8Array) || rec.byteLength === 0) break;
        if (rec.byteLength > this.#maxMessageBytes) break; // peers would refuse it
        if (total > 0 && total + rec.byteLength > SYNC_RESPONSE_SOFT_CAP) break;
        total += rec.byteLength;
        if (!stream.send(encodeFrame(rec))) await stream.onDrain({ signal });
      }
      await stream.close({ signal });
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }
}
