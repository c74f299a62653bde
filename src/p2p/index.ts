// The network layer of a ZeusNet node: peer-to-peer gossip and block sync over js-libp2p.
//
// Transport: libp2p 3 with TCP, Noise (authenticated encryption, peer ids from Ed25519 keys) and
// Yamux. On top of it three stream protocols of our own, all namespaced by chainId so two networks
// never mix:
//   - gossip: topics 'txs', 'proposals', 'votes' are flooded to every connected peer over one
//     long-lived stream per peer, deduplicated by sha256(topic || data) in a seen-cache; a node
//     relays a message only after its own handler accepted it (or when it has no handler).
//   - blocks: request-response; fetchBlocks(peer, from, count) gets what the peer's serveBlocks
//     returns (at most MAX_SYNC_COUNT records, ~32 MiB); the caller verifies each record and calls
//     penalize() for a bad one.
//   - peers (peerExchange.ts): a connected peer's list of its own peers (ids, announced
//     addresses, API URLs). A node dials its bootstrap peers and `keepConnected` (the bookkeepers
//     of the set) always, other learned peers up to `targetPeers`, and hangs up on a peer whose
//     identify shows no gossip protocol of this chain (with a `warn` naming it). Why our own
//     protocol and not kad-dht: see peerExchange.ts. `announce` addresses are what identify and
//     peer exchange advertise; `listen` is what is bound.
// Other parts add request-response protocols of their own through P2POptions.protocols (one
// request frame, one answer frame, both capped; P2PNode.request asks): state sync's
// /zeusnet/<chainId>/snapshots/1.0.0 (snapshots.ts, docs/STATE_SYNC.md) is one.
// Frames are length-prefixed and the length is checked against maxMessageBytes before the body is
// buffered. Misbehaviour lowers a peer's score (reject 10, malformed 20, penalize() 20, oversized
// 100); at -30 it is disconnected and the connection gater refuses it for banMs. Scores recover by
// 1 point per 10 s.
//
// Why direct streams and not gossipsub: measured with `node bench/p2p.ts [--topology mesh]` on
// this 2-core machine, 4 nodes in one process on 127.0.0.1, latency from publish to delivery at each
// of the 3 other nodes (p50 / p99 ms; results in bench/results/p2p-*.json):
//                                   line 0-1-2-3                      full mesh
//                          vote 200B  burst 100x200B  block 1MiB  vote   burst   block
//   direct-stream flood    0.21/1.6   10.4/25.0       10.7/26.7   0.18/1.1  12.5/22.7  10.7/28.1
//   gossipsub, tuned*      0.24/1.5   15.9/38.3       10.1/28.3   0.28/0.8  19.3/41.3  13.8/39.7
//   gossipsub, defaults    0.85/4.1   47.9/157        15.2/44.5   0.94/2.4  96.8/234   24.4/178
//   (* StrictNoSign, sha256 message ids, 200 ms heartbeat; all deliveries arrived in every run.)
// @libp2p/gossipsub 17 is the line built for libp2p 3 (@chainsafe/libp2p-gossipsub 14 depends on
// libp2p 2's interfaces, the likely reason an earlier probe with libp2p 3 saw nothing delivered).
// Tuned, it ties with the flood for single votes and for blocks on a line, and is slower for bursts
// of votes and for blocks in a mesh; so this module floods.
// Flooding also makes validation-gated relaying, per-sender reject attribution and the size cap
// exact, which gossipsub's own scoring hides. It costs O(peers) sends per message per node, fine for
// a bookkeeper set of at most 21; a larger open network would want gossipsub's mesh instead.
//
// Usage:
//   const p2p = await createP2PNode({ listen: '/ip4/127.0.0.1/tcp/26656', bootstrap: [...],
//     privateKey: seed, chainId: 'zeus-devnet', serveBlocks: (from, n) => store.records(from, n) });
//   p2p.subscribe('votes', (bytes, from) => consensus.onVote(bytes) ? 'accept' : 'reject');
//   await p2p.start();
//   await p2p.publish('votes', bytes);
//   const records = await p2p.fetchBlocks(p2p.peers()[0].id, height, 64);
//
// Handlers: return 'keep' for a valid message that needs no relaying (e.g. transactions from a peer
// that reaches everyone itself); return 'reject' only for messages invalid in themselves (bad signature, malformed,
// wrong chain), since that scores the sender down; return 'ignore' for what may be valid elsewhere
// (stale round, unknown parent, nonce already used); return 'later' for what the node cannot use
// yet but will need (a message of a later height): it is not relayed, and the seen-cache forgets
// it, so that a copy a peer re-sends is handled again. `from` is the neighbour that handed the message
// over, not necessarily its author. Frames of one peer reach the handler in order, one at a time.
// Publishing does not deliver to the publisher's own handler. subscribe() sets the one handler of a
// topic (a later call replaces it). A message published while a connection is still being set up
// may miss that peer: gossip is best effort, and committed blocks are caught up with fetchBlocks.
// A stopped node cannot be started again: create a new one with the same privateKey.
export {
  createP2PNode,
  generatePeerKey,
  peerIdFromKey,
  peerIdFromEd25519PublicKey,
  DEFAULT_MAX_MESSAGE_BYTES,
  DEFAULT_BAN_MS,
  DEFAULT_TARGET_PEERS,
  MAX_SYNC_COUNT,
} from './p2pNode.ts';
export type { P2PNode, P2POptions, PeerInfo, RequestProtocol, Topic, TopicHandler, Verdict } from './p2pNode.ts';
export * from './snapshots.ts';
