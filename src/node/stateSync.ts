import { join } from 'node:path';
import { bytesEqual, fromHex, toHex } from '../crypto/index.ts';
import {
  blockHash,
  certificateError,
  decodeCommittedBlock,
  encodeCommittedBlock,
  type Certificate,
  type CommittedBlock,
  type Genesis,
  type UpgradeHandlers,
} from '../ledger/index.ts';
import { createP2PNode, snapshotProtocol, SnapshotClient, type P2PNode, type RequestProtocol, type SnapshotSource } from '../p2p/index.ts';
import {
  buildSnapshot,
  captureState,
  chunkError,
  decodeManifest,
  manifestHash,
  restoreSnapshot,
  SnapshotError,
  snapshotLabel,
  SnapshotStore,
  SNAPSHOT_CHUNK_BYTES,
  type ChainStore,
  type SnapshotManifest,
} from '../store/index.ts';
import type { StateSyncAnswer } from '../sdk/index.ts';
import type { NodeLogger } from './log.ts';
import type { ZeusNode } from './zeusNode.ts';

// State sync for late joiners (docs/STATE_SYNC.md), the node's side:
//  - Snapshotter: a running node takes a snapshot of its state every `interval` heights (captured
//    at the commit, encoded and written in the background), serves its kept snapshots to peers on
//    /zeusnet/<chainId>/snapshots/1.0.0, and prunes old blocks when asked to.
//  - joinByStateSync: a node with an empty store and a trust point (height H, block hash) fetches
//    a snapshot at S ≤ H from the peers that offer it, links it to the trusted hash through block
//    records S..H, restores it, and executes S+1..H, instead of replaying from genesis.

export interface TrustPoint {
  height: number;
  hash: Uint8Array;
}

export class StateSyncError extends Error {
  override name = 'StateSyncError';
}

export const parseTrustHash = (s: string): Uint8Array => {
  if (!/^[0-9a-fA-F]{64}$/.test(s)) throw new StateSyncError(`--trust-hash must be a block hash of 64 hex digits, got "${s}"`);
  return fromHex(s.toLowerCase());
};

// ---------------------------------------------------------------------------------------------
// Taking, keeping and serving snapshots; pruning blocks.

export interface SnapshotterOptions {
  /** Heights between snapshots; 0 takes none. */
  interval: number;
  keep: number;
  chunkBytes?: number;
  /** Delete block records older than tip − N (archive node: undefined). */
  pruneKeepBlocks?: number;
  /** TEST ONLY: serve the first N chunks with a flipped byte (a lying peer). */
  testCorruptChunks?: number;
  /** TEST ONLY: snapshots of a wrong state (one entry left out): consistent chunks, a root no block has. */
  testLieState?: boolean;
}

export class Snapshotter {
  readonly store: SnapshotStore;
  private readonly node: ZeusNode;
  private readonly o: SnapshotterOptions;
  private building: Promise<void> = Promise.resolve();
  private busy = false;
  private pruning = false;
  private corruptLeft: number;
  taken = 0;
  chunksServed = 0;
  lastBuildMs = 0;

  constructor(node: ZeusNode, home: string, o: SnapshotterOptions) {
    this.node = node;
    this.o = o;
    this.corruptLeft = o.testCorruptChunks ?? 0;
    this.store = SnapshotStore.open(join(home, 'snapshots'));
    node.events.on('event', (e) => {
      if (e.type !== 'block') return;
      if (o.interval > 0 && e.height % o.interval === 0) this.take();
      if (o.pruneKeepBlocks !== undefined) this.prune();
    });
  }

  /** Captures the state now (at a commit) and encodes and writes it in the background. */
  private take(): void {
    if (this.busy) {
      this.node.logger.warn({ height: this.node.ledger.height }, 'snapshot skipped: the previous one is still being written');
      return;
    }
    let capture = captureState(this.node.ledger);
    if (this.o.testLieState) {
      capture = { ...capture, chains: capture.chains.map((pairs, i) => (i === 0 ? pairs.slice(1) : pairs)) };
      this.node.logger.warn({ height: capture.height }, 'TEST: this snapshot leaves an entry out (--test-lie-snapshot-state)');
    }
    this.busy = true;
    const started = Date.now();
    this.building = buildSnapshot(capture, { chunkBytes: this.o.chunkBytes, pause: () => new Promise((r) => setImmediate(r)) })
      .then((built) => this.store.save(built, this.o.keep))
      .then((s) => {
        this.taken++;
        this.lastBuildMs = Date.now() - started;
        this.node.logger.info(
          { height: s.height, chunks: s.manifest.chunks.length, bytes: s.manifest.totalBytes, entries: s.manifest.entries, ms: this.lastBuildMs },
          `snapshot ${snapshotLabel(s.height, s.hash)} taken`,
        );
      })
      .catch((e: unknown) => this.node.logger.error({ err: e, height: capture.height }, `snapshot at height ${capture.height} failed: ${(e as Error).message}`))
      .finally(() => {
        this.busy = false;
      });
  }

  /**
   * Deletes blocks older than tip − N, but never below the oldest snapshot kept: a joiner that
   * restores one needs its block S and S+1.. to link it to its trusted hash, and the peers that
   * offer a snapshot are the ones it asks for them.
   */
  private prune(): void {
    if (this.pruning || this.o.pruneKeepBlocks === undefined) return;
    let below = this.node.ledger.height - this.o.pruneKeepBlocks;
    const kept = this.store.list();
    if (kept.length > 0) below = Math.min(below, kept[kept.length - 1].height);
    if (below <= 1) return;
    this.pruning = true;
    void this.node.store
      .pruneBelow(below)
      .then((n) => n > 0 && this.node.logger.debug({ pruned: n, below }, 'pruned old blocks'))
      .catch((e: unknown) => this.node.logger.error({ err: e }, `pruning blocks failed: ${(e as Error).message}`))
      .finally(() => {
        this.pruning = false;
      });
  }

  /** What /status shows. */
  async status(): Promise<StateSyncAnswer> {
    const joined = await this.node.store.stateSyncInfo();
    const kept = this.store.list();
    return {
      joined: joined ? 'snapshot' : 'genesis',
      ...(joined
        ? {
            restoredFrom: joined.snapshotHeight,
            trustHeight: joined.trustHeight,
            blocksExecuted: joined.blocksExecuted,
            restoreMs: joined.restoreMs,
            penalizedPeers: joined.penalizedPeers,
          }
        : {}),
      lowestBlock: await this.node.store.base(),
      ...(kept.length > 0 ? { snapshotHeight: kept[0].height } : {}),
      snapshots: kept.map((k) => k.height),
      snapshotsTaken: this.taken,
      chunksServed: this.chunksServed,
      ...(this.o.pruneKeepBlocks !== undefined ? { pruneKeepBlocks: this.o.pruneKeepBlocks } : {}),
    };
  }

  /** Waits for a snapshot being written (tests, shutdown). */
  settled(): Promise<void> {
    return this.building;
  }

  /** What peers are served. */
  source(): SnapshotSource {
    return {
      list: () => this.store.list().map((s) => ({ height: s.height, hash: s.hash })),
      manifest: (height) => this.store.get(height)?.manifestBytes,
      chunk: async (height, index) => {
        const c = await this.store.chunk(height, index);
        if (!c) return undefined;
        this.chunksServed++;
        if (this.corruptLeft > 0) {
          this.corruptLeft--;
          const bad = c.slice();
          bad[bad.length >> 1] ^= 0xff;
          this.node.logger.warn({ height, index }, 'TEST: served a corrupted snapshot chunk (--test-corrupt-snapshot-chunks)');
          return bad;
        }
        return c;
      },
    };
  }

  protocol(): RequestProtocol {
    return snapshotProtocol(this.source());
  }
}

// ---------------------------------------------------------------------------------------------
// Joining.

/** The network as the join uses it (a p2p node of its own, see openJoinNetwork). */
export interface JoinNetwork {
  /** Connected peers. */
  peers(): string[];
  fetchBlocks(peer: string, from: number, count: number): Promise<Uint8Array[]>;
  penalize(peer: string, reason: string): void;
  readonly snapshots: Pick<SnapshotClient, 'list' | 'manifest' | 'chunk'>;
}

export interface JoinResult {
  snapshotHeight: number;
  trustHeight: number;
  manifest: string;
  blocksExecuted: number;
  chunks: number;
  bytes: number;
  restoreMs: number;
  penalized: { peer: string; reason: string }[];
}

const BLOCK_BATCH = 256;

interface Candidate {
  height: number;
  hash: Uint8Array;
  offerers: string[];
}

/**
 * Restores the state at a snapshot height S ≤ trust.height into an empty `store` and executes
 * the blocks S+1..H; on return the store holds a chain at H that starts like any other.
 * Throws StateSyncError with what failed (a trust hash no peer's block has, no snapshot offered…).
 */
export async function joinByStateSync(
  store: ChainStore,
  genesis: Genesis,
  trust: TrustPoint,
  net: JoinNetwork,
  log: NodeLogger,
  o: { parallel?: number; upgrades?: UpgradeHandlers } = {},
): Promise<JoinResult> {
  const started = Date.now();
  const H = trust.height;
  const trustHex = toHex(trust.hash);
  const penalized: { peer: string; reason: string }[] = [];
  const penalize = (peer: string, reason: string): void => {
    penalized.push({ peer, reason });
    log.warn({ peer, reason }, `state sync: peer ${peer} penalized: ${reason}`);
    net.penalize(peer, reason);
  };
  const bad = new Set<string>();

  // 1. Which peers hold the trusted block at H.
  const peers = net.peers();
  const atH = await Promise.all(
    peers.map(async (peer) => {
      try {
        const [rec] = await net.fetchBlocks(peer, H, 1);
        if (!rec) return { peer, hash: undefined };
        const cb = decodeCommittedBlock(rec);
        return { peer, hash: Number(cb.block.header.height) === H ? toHex(blockHash(cb.block.header)) : 'wrong height' };
      } catch (e) {
        return { peer, hash: undefined, error: (e as Error).message };
      }
    }),
  );
  const trusted = atH.filter((a) => a.hash === trustHex).map((a) => a.peer);
  const differing = atH.filter((a) => a.hash !== undefined && a.hash !== trustHex);
  if (trusted.length === 0) {
    if (differing.length === 0) {
      throw new StateSyncError(
        `no peer has block ${H} yet (asked ${peers.length} peer(s)): the network has not reached the trust height; wait, or give a lower --trust-height`,
      );
    }
    throw new StateSyncError(
      `the trust hash ${trustHex} matches no peer's block at height ${H} (${differing.map((d) => `${d.peer} has ${d.hash}`).join('; ')}): check --trust-hash against a node you trust (GET /blocks/${H}) and that the home's genesis is this network's`,
    );
  }
  for (const d of differing) {
    bad.add(d.peer);
    penalize(d.peer, `served block ${H} with hash ${d.hash}, not the trusted ${trustHex}`);
  }
  log.info({ trustHeight: H, peers: trusted.length }, `state sync: ${trusted.length} peer(s) hold the trusted block ${H}`);

  // 2. The snapshots on offer at or below H.
  const offers = await Promise.all(
    peers
      .filter((p) => !bad.has(p))
      .map(async (peer) => {
        try {
          return { peer, list: await net.snapshots.list(peer) };
        } catch {
          return { peer, list: [] };
        }
      }),
  );
  const byManifest = new Map<string, Candidate>();
  for (const { peer, list } of offers) {
    for (const s of list) {
      if (s.height > H || s.height < 1) continue;
      const k = `${s.height}/${toHex(s.hash)}`;
      const c = byManifest.get(k) ?? { height: s.height, hash: s.hash, offerers: [] };
      c.offerers.push(peer);
      byManifest.set(k, c);
    }
  }
  const candidates = [...byManifest.values()].sort((a, b) => b.height - a.height || b.offerers.length - a.offerers.length);
  if (candidates.length === 0) {
    const all = [...new Set(offers.flatMap((x) => x.list.map((s) => s.height)))].sort((a, b) => a - b);
    throw new StateSyncError(
      `no peer offers a snapshot at or below the trust height ${H} (offered: ${all.length ? all.join(', ') : 'none'}): give a trust point at or above a snapshot height, or start without one to replay from genesis`,
    );
  }

  const failures: string[] = [];
  for (const cand of candidates) {
    const label = snapshotLabel(cand.height, cand.hash);
    const offerers = cand.offerers.filter((p) => !bad.has(p));
    if (offerers.length === 0) continue;
    // 3. The manifest, from any offerer (it must hash to what they listed).
    let manifest: SnapshotManifest | undefined;
    for (const peer of offerers) {
      try {
        const bytes = await net.snapshots.manifest(peer, cand.height);
        if (!bytes) continue;
        if (!bytesEqual(manifestHash(bytes), cand.hash)) {
          penalize(peer, `snapshot ${label}: served a manifest that does not hash to the one it listed`);
          continue;
        }
        manifest = decodeManifest(bytes);
        break;
      } catch (e) {
        if (e instanceof SnapshotError || (e as Error).name === 'CodecError') penalize(peer, `snapshot ${label}: malformed manifest: ${(e as Error).message}`);
      }
    }
    if (!manifest) {
      failures.push(`${label}: no offerer served its manifest`);
      continue;
    }
    // 4. Blocks S..H, linked by prevHash from the trusted hash at H down to S.
    const S = cand.height;
    const records = await linkedRecords(S, H, trust.hash, trusted, bad, net, penalize);
    const header = records[0].block.header;
    if (manifest.height !== S || !bytesEqual(manifest.blockHash, blockHash(header))) {
      for (const p of offerers) {
        bad.add(p);
        penalize(p, `snapshot ${label}: manifest is not for block ${S} of the trusted chain`);
      }
      failures.push(`${label}: manifest does not match block ${S}`);
      continue;
    }
    // 5. The chunks, in parallel from the offerers, each checked against the manifest.
    log.info(
      { snapshotHeight: S, trustHeight: H, chunks: manifest.chunks.length, bytes: manifest.totalBytes, peers: offerers.length },
      `state sync: fetching snapshot ${label} (${manifest.chunks.length} chunks, ${manifest.totalBytes} bytes) from ${offerers.length} peer(s)`,
    );
    let chunks: Uint8Array[];
    try {
      chunks = await fetchChunks(manifest, label, offerers, bad, net, penalize, log, o.parallel ?? 4);
    } catch (e) {
      failures.push(`${label}: ${(e as Error).message}`);
      continue;
    }
    // 6. Restore and check the roots of block S.
    let restored;
    try {
      restored = restoreSnapshot(genesis, manifest, chunks, header);
    } catch (e) {
      if (!(e instanceof SnapshotError)) throw e;
      for (const p of offerers) {
        bad.add(p);
        penalize(p, `snapshot ${label} does not match block ${S}: ${e.message}`);
      }
      failures.push(`${label}: ${e.message}`);
      continue;
    }
    const ledger = restored.ledger;
    // Blocks after the snapshot may cross an upgrade's height: the handlers the node was started with run there.
    if (o.upgrades) ledger.upgrades = o.upgrades;
    // The certificate of S: block S+1 carries one (hash-linked); at H itself, the record's, checked.
    const certS = await certificateFor(S, records, ledger.bookkeepersAt(S), genesis.chainId, trusted, bad, net, penalize);
    ledger.lastCommit = certS;
    await store.restoreSnapshot(ledger, restored.entries, encodeCommittedBlock({ block: records[0].block, certificate: certS }), {
      snapshotHeight: S,
      trustHeight: H,
      manifest: toHex(cand.hash),
    });
    log.info({ snapshotHeight: S, entries: manifest.entries }, `state sync: restored the state at height ${S}; executing blocks ${S + 1}..${H}`);
    // 7. S+1..H: executed and committed like synced blocks (re-execution checks every root).
    let executed = 0;
    for (let i = 1; i < records.length; i++) {
      const { block } = records[i];
      const h = S + i;
      // Block h+1 carries a certificate of h (hash-linked); the record's own is the peer's word.
      const options = [...(i + 1 < records.length ? [records[i + 1].block.lastCommit] : []), records[i].certificate];
      const cert = options.find((c) => Number(c.height) === h && !certificateError(genesis.chainId, c, ledger.bookkeepersAt(h), blockHash(block.header)));
      // None valid (only possible at H): left to the ordinary catch-up, which asks other peers.
      if (!cert) break;
      // A planned upgrade this software lacks: stop before it; the node starts and halts there, saying why.
      const needed = ledger.upgradeNeeded();
      if (needed) {
        log.error({ upgrade: needed.upgrade, height: needed.height }, `state sync: ${needed.message}; stopping the join at height ${h - 1}`);
        break;
      }
      const ex = ledger.executeBlock(block, true);
      await store.commit(block, cert, ex);
      ledger.commit(ex, block.header, cert);
      executed++;
      if (executed % 100 === 0) log.info({ height: h }, `state sync: executed ${executed}/${records.length - 1} blocks after the snapshot`);
    }
    const result: JoinResult = {
      snapshotHeight: S,
      trustHeight: H,
      manifest: toHex(cand.hash),
      blocksExecuted: executed,
      chunks: manifest.chunks.length,
      bytes: manifest.totalBytes,
      restoreMs: Date.now() - started,
      penalized,
    };
    await store.setStateSyncInfo({
      snapshotHeight: S,
      trustHeight: H,
      manifest: result.manifest,
      blocksExecuted: executed,
      restoreMs: result.restoreMs,
      penalizedPeers: [...new Set(penalized.map((p) => p.peer))],
    });
    log.info(result, `state sync: joined at height ${S + executed} from snapshot ${label}, ${executed} block(s) executed, in ${result.restoreMs} ms`);
    return result;
  }
  throw new StateSyncError(`no snapshot at or below height ${H} could be restored: ${failures.join('; ')}`);
}

/** Records S..H from one of the peers holding the trusted block, checked to form the chain ending in the trusted hash. */
async function linkedRecords(
  S: number,
  H: number,
  trusted: Uint8Array,
  peers: string[],
  bad: Set<string>,
  net: JoinNetwork,
  penalize: (peer: string, reason: string) => void,
): Promise<CommittedBlock[]> {
  const why: string[] = [];
  for (const peer of peers) {
    if (bad.has(peer)) continue;
    try {
      const out: CommittedBlock[] = [];
      for (let h = S; h <= H; ) {
        const recs = await net.fetchBlocks(peer, h, Math.min(BLOCK_BATCH, H - h + 1));
        if (recs.length === 0) throw new Error(`has no block ${h} (pruned?)`);
        for (const r of recs) {
          const cb = decodeCommittedBlock(r);
          if (Number(cb.block.header.height) !== h) throw new StateSyncError(`served block ${cb.block.header.height} for ${h}`);
          out.push(cb);
          h++;
        }
      }
      let expect = trusted;
      for (let i = out.length - 1; i >= 0; i--) {
        if (!bytesEqual(blockHash(out[i].block.header), expect)) throw new StateSyncError(`block ${S + i} does not link to the trusted block ${H}`);
        expect = out[i].block.header.prevHash;
      }
      return out;
    } catch (e) {
      if (e instanceof StateSyncError || (e as Error).name === 'CodecError') {
        bad.add(peer);
        penalize(peer, `block sync for state sync: ${(e as Error).message}`);
      }
      why.push(`${peer}: ${(e as Error).message}`);
    }
  }
  throw new StateSyncError(`could not fetch blocks ${S}..${H} linked to the trusted hash from any peer (${why.join('; ')})`);
}

/** A valid certificate of block S: block S+1's (hash-linked), else a record's from a peer, checked against S's bookkeepers. */
async function certificateFor(
  S: number,
  records: CommittedBlock[],
  bookkeepers: Uint8Array[],
  chainId: string,
  peers: string[],
  bad: Set<string>,
  net: JoinNetwork,
  penalize: (peer: string, reason: string) => void,
): Promise<Certificate> {
  const hash = blockHash(records[0].block.header);
  const tried = [...(records.length > 1 ? [records[1].block.lastCommit] : []), records[0].certificate];
  for (const c of tried) if (Number(c.height) === S && !certificateError(chainId, c, bookkeepers, hash)) return c;
  for (const peer of peers) {
    if (bad.has(peer)) continue;
    const [rec] = await net.fetchBlocks(peer, S, 1).catch(() => []);
    if (!rec) continue;
    const c = decodeCommittedBlock(rec).certificate;
    const why = certificateError(chainId, c, bookkeepers, hash);
    if (!why && Number(c.height) === S) return c;
    penalize(peer, `certificate of block ${S}: ${why ?? 'wrong height'}`);
  }
  throw new StateSyncError(`no valid certificate of block ${S} from any peer`);
}

async function fetchChunks(
  m: SnapshotManifest,
  label: string,
  offerers: string[],
  bad: Set<string>,
  net: JoinNetwork,
  penalize: (peer: string, reason: string) => void,
  log: NodeLogger,
  parallel: number,
): Promise<Uint8Array[]> {
  const n = m.chunks.length;
  const out: Uint8Array[] = new Array(n);
  let next = 0;
  let done = 0;
  const step = Math.max(1, Math.floor(n / 10));
  const one = async (i: number): Promise<void> => {
    // Each chunk starts at another offerer, so that the load is spread; the next one on failure.
    for (let k = 0; k < offerers.length; k++) {
      const peer = offerers[(i + k) % offerers.length];
      if (bad.has(peer)) continue;
      let bytes: Uint8Array | undefined;
      try {
        bytes = await net.snapshots.chunk(peer, m.height, i);
      } catch {
        continue; // a timeout or a closed stream is not a lie
      }
      if (!bytes) continue;
      const why = chunkError(m, i, bytes);
      if (why) {
        bad.add(peer);
        penalize(peer, `snapshot ${label}: ${why}`);
        continue;
      }
      out[i] = bytes;
      done++;
      if (done % step === 0 || done === n) log.info({ snapshot: label, chunks: `${done}/${n}` }, `state sync: chunks ${done}/${n}`);
      return;
    }
    throw new Error(`no offerer served chunk ${i} intact`);
  };
  const worker = async (): Promise<void> => {
    while (next < n) await one(next++);
  };
  await Promise.all(Array.from({ length: Math.min(parallel, n) }, worker));
  return out;
}

/** Peer exchange asks a new peer within a redial tick (0.5 s) and dials what it learns at the next. */
const JOIN_PEERS_SETTLE_MS = 1_500;
const JOIN_PEERS_MAX_MS = 6_000;

/**
 * The join's own libp2p node: a fresh identity (it only asks; the node's own identity comes up
 * with consensus once the store holds the chain), dialing the home's bootstrap peers and the peers
 * they name by peer exchange.
 */
export async function openJoinNetwork(o: {
  listen: string;
  bootstrap: string[];
  chainId: string;
  log: NodeLogger;
  /** How long to wait for a first peer (default 30 s). */
  waitMs?: number;
  /** After the first peer: done once no new one connected for this long (default 1.5 s)… */
  peersSettleMs?: number;
  /** …or this long after the first (default 6 s). */
  peersMaxMs?: number;
}): Promise<JoinNetwork & { stop(): Promise<void> }> {
  const p2p: P2PNode = await createP2PNode({
    listen: o.listen.replace(/\/tcp\/\d+/, '/tcp/0'),
    bootstrap: o.bootstrap,
    chainId: o.chainId,
    serveBlocks: async () => [],
  });
  await p2p.start();
  const connected = (): string[] =>
    p2p
      .peers()
      .filter((p) => p.connected && !p.banned)
      .map((p) => p.id);
  // The first peer within the wait; then a moment for the others, so the chunks spread over several.
  const deadline = Date.now() + (o.waitMs ?? 30_000);
  while (connected().length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  if (connected().length === 0) {
    await p2p.stop();
    throw new StateSyncError(`state sync: no peer reachable within ${(o.waitMs ?? 30_000) / 1000} s (bootstrap: ${o.bootstrap.join(', ') || 'none'})`);
  }
  // Then the others: the rest of the bootstrap list, and the peers the connected ones name by peer
  // exchange (a joiner given one bootstrap peer learns the network from it), so that the trusted
  // block is checked with, and the chunks fetched from, several. Done once no new peer came for a
  // while, or at the latest a few seconds after the first.
  const first = Date.now();
  let count = connected().length;
  let grew = first;
  while (Date.now() - first < (o.peersMaxMs ?? JOIN_PEERS_MAX_MS)) {
    await new Promise((r) => setTimeout(r, 100));
    const n = connected().length;
    if (n > count) [count, grew] = [n, Date.now()];
    if (n >= o.bootstrap.length && Date.now() - grew >= (o.peersSettleMs ?? JOIN_PEERS_SETTLE_MS)) break;
  }
  o.log.info({ peers: connected().length }, `state sync: connected to ${connected().length} peer(s)`);
  const client = new SnapshotClient(p2p);
  return {
    peers: connected,
    fetchBlocks: (peer, from, count) => p2p.fetchBlocks(peer, from, count),
    penalize: (peer, reason) => p2p.penalize(peer, reason),
    snapshots: client,
    stop: () => p2p.stop(),
  };
}

export const SNAPSHOT_DEFAULTS = { interval: 1000, keep: 2, chunkBytes: SNAPSHOT_CHUNK_BYTES } as const;

/**
 * ZeusNode's `join` hook for a home with a trust point: opens a network of its own, restores a
 * snapshot linked to the trust point, executes up to it, and closes the network again (the node's
 * consensus opens its own). Nothing is written before the restore's single atomic batch.
 */
export function trustPointJoiner(o: {
  trust: TrustPoint;
  p2p: { listen: string; bootstrap: string[] };
  chainId: string;
  log: NodeLogger;
  /** The upgrades the node's software knows (its --upgrade-module handlers). */
  upgrades?: UpgradeHandlers;
}): (store: ChainStore, genesis: Genesis) => Promise<boolean> {
  return async (store, genesis) => {
    o.log.info(
      { trustHeight: o.trust.height, trustHash: toHex(o.trust.hash) },
      `state sync: joining from trust point ${o.trust.height}/${toHex(o.trust.hash)}`,
    );
    const net = await openJoinNetwork({ ...o.p2p, chainId: o.chainId, log: o.log });
    try {
      await joinByStateSync(store, genesis, o.trust, net, o.log, { upgrades: o.upgrades });
    } finally {
      await net.stop();
    }
    return true;
  };
}
