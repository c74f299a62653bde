import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { NodeEvent, StateSyncAnswer } from '../sdk/index.ts';
import type { ZeusNode } from './zeusNode.ts';

// Prometheus metrics of one node, served at GET /metrics. Levels (height, mempool, round, peers,
// bytes delivered) are read from the node when scraped, so they cannot drift from what the node
// reports elsewhere; what happens (blocks, transactions, market events, refusals) is counted from
// the node's own event stream. A registry per node, not prom-client's global one, so two nodes in
// one process (tests, the simulator) keep their numbers apart.

/** Finality as seen here: a committed block's time (the proposer's clock) to its commit on this node. */
const COMMIT_BUCKETS_S = [0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10];

export interface MetricsSources {
  node: ZeusNode;
  /** Bytes and pieces this node's DDN served to peers, when it runs one. */
  ddnServed?: () => { bytes: number; pieces: number };
  /** The API's /ws sockets: open now, their unsent bytes, refused at a client's cap, cut off for not reading. */
  wsSockets?: () => { open: number; unsentBytes: number; refused: number; cut: number };
  /** The API's requests in progress: refused for a client's cap or for the bodies held, and the bytes of bodies held. */
  requests?: () => { tooMany: number; busy: number; bodyBytes: number };
  /** Answers that read a whole collection: computed, answered from the per-height cache, refused for a client's spent budget. */
  listings?: () => { computed: number; cached: number; refused: number };
  /** The API's open connections, and those closed at accept for a client's cap or the node's. */
  connections?: () => { open: number; refusedClient: number; refusedFull: number };
}

/** A counter that follows a count kept elsewhere (it only ever grows there), read when scraped. */
function groupCounter(r: Registry, name: string, help: string, read: () => number | undefined): void {
  let seen = 0;
  new Counter({
    name,
    help,
    registers: [r],
    collect() {
      const v = read();
      if (v !== undefined && v > seen) {
        this.inc(v - seen);
        seen = v;
      }
    },
  });
}

export class NodeMetrics {
  readonly registry = new Registry();

  constructor(s: MetricsSources) {
    const { node } = s;
    const r = this.registry;
    collectDefaultMetrics({ register: r, prefix: 'zeus_' });
    const ws = s.wsSockets;
    if (ws) {
      new Gauge({
        name: 'zeus_api_ws_sockets',
        help: 'Open /ws sockets of all clients',
        registers: [r],
        collect() {
          this.set(ws().open);
        },
      });
      new Gauge({
        name: 'zeus_api_ws_unsent_bytes',
        help: 'Bytes the node holds for its /ws sockets, not yet taken by the kernel',
        registers: [r],
        collect() {
          this.set(ws().unsentBytes);
        },
      });
      groupCounter(r, 'zeus_api_ws_refused_total', 'WebSocket upgrades refused because the client held its cap of open sockets', () => ws().refused);
      groupCounter(r, 'zeus_api_ws_cut_off_total', '/ws sockets closed because they left too much unread', () => ws().cut);
    }
    const listings = s.listings;
    if (listings) {
      groupCounter(
        r,
        'zeus_api_listings_computed_total',
        'Whole-collection answers (supply, task, lease, worker and app lists) computed',
        () => listings().computed,
      );
      groupCounter(r, 'zeus_api_listings_cached_total', 'Whole-collection answers served from the per-height cache', () => listings().cached);
      groupCounter(
        r,
        'zeus_api_listings_refused_total',
        "Whole-collection answers refused 429 TOO_MANY_SCANS: the client's computing budget was spent",
        () => listings().refused,
      );
    }
    const connections = s.connections;
    if (connections) {
      new Gauge({
        name: 'zeus_api_connections',
        help: 'Open connections to the API',
        registers: [r],
        collect() {
          this.set(connections().open);
        },
      });
      groupCounter(
        r,
        'zeus_api_connections_refused_client_total',
        'Connections closed at accept: the client held its most open connections (api.maxConnectionsPerClient)',
        () => connections().refusedClient,
      );
      groupCounter(
        r,
        'zeus_api_connections_refused_full_total',
        'Connections closed at accept: the node held its most open connections (api.maxConnections)',
        () => connections().refusedFull,
      );
    }
    const requests = s.requests;
    if (requests) {
      groupCounter(r, 'zeus_api_requests_refused_busy_total', 'Requests refused 503 SERVER_BUSY: the bodies in progress held too much', () => requests().busy);
      groupCounter(
        r,
        'zeus_api_requests_refused_client_total',
        'Requests refused 429 TOO_MANY_REQUESTS: the client had its most requests in progress',
        () => requests().tooMany,
      );
      new Gauge({
        name: 'zeus_api_request_body_bytes',
        help: 'Bytes the bodies of the requests in progress announced',
        registers: [r],
        collect() {
          this.set(requests().bodyBytes);
        },
      });
    }
    new Gauge({
      name: 'zeus_height',
      help: 'Last committed height',
      registers: [r],
      collect() {
        this.set(node.ledger.height);
      },
    });
    new Gauge({
      name: 'zeus_mempool_transactions',
      help: 'Transactions waiting in the mempool',
      registers: [r],
      collect() {
        this.set(node.mempool.size);
      },
    });
    new Gauge({
      name: 'zeus_mempool_free_transactions',
      help: 'Transactions waiting in the mempool from senders without priority (no stake unit staked): at most mempoolFreeMax',
      registers: [r],
      collect() {
        this.set(node.mempool.freeSize);
      },
    });
    new Gauge({
      name: 'zeus_consensus_round',
      help: 'Round of the height being decided (0 is the first); absent on a solo node',
      registers: [r],
      collect() {
        const c = node.consensusStatus();
        if (c) this.set(c.round);
      },
    });
    new Gauge({
      name: 'zeus_consensus_halted',
      help: "1 once this node's block production (consensus or solo) has stopped on an error and it commits no more blocks; 0 while it runs",
      registers: [r],
      collect() {
        this.set(node.halted ? 1 : 0);
      },
    });
    new Gauge({
      name: 'zeus_ledger_internal_errors',
      help: 'Transactions the ledger failed on since the node started (refused as INTERNAL_ERROR; each is a bug, logged with its hash)',
      registers: [r],
      collect() {
        this.set(node.internalErrors);
      },
    });
    new Gauge({
      name: 'zeus_peers',
      help: 'Connected consensus peers',
      registers: [r],
      collect() {
        this.set(node.consensusStatus()?.peers.length ?? 0);
      },
    });
    if (s.ddnServed) {
      const served = s.ddnServed;
      new Gauge({
        name: 'zeus_ddn_served_bytes',
        help: 'Bytes of verified pieces this node delivered to peers since it started',
        registers: [r],
        collect() {
          this.set(served().bytes);
        },
      });
      new Gauge({
        name: 'zeus_ddn_served_pieces',
        help: 'Pieces this node delivered to peers since it started',
        registers: [r],
        collect() {
          this.set(served().pieces);
        },
      });
    }
    // State sync (docs/STATE_SYNC.md): read from the node's snapshotter when scraped.
    const syncGauge = (name: string, help: string, pick: (st: StateSyncAnswer) => number | undefined): void => {
      new Gauge({
        name,
        help,
        registers: [r],
        async collect() {
          const st = await node.stateSync?.status();
          const v = st && pick(st);
          if (v !== undefined) this.set(v);
        },
      });
    };
    syncGauge('zeus_snapshots_taken_total', 'State snapshots this node took since it started', (st) => st.snapshotsTaken);
    syncGauge('zeus_snapshot_chunks_served_total', 'Snapshot chunks this node served to joining peers since it started', (st) => st.chunksServed);
    syncGauge('zeus_snapshot_height', 'Height of the newest snapshot this node keeps and offers', (st) => st.snapshotHeight);
    syncGauge('zeus_lowest_block', 'Lowest height whose block this node holds (above 1: pruned, or joined by state sync)', (st) => st.lowestBlock);
    syncGauge('zeus_state_sync_restore_seconds', 'How long this node took to join by state sync (absent: it replayed from genesis)', (st) =>
      st.restoreMs === undefined ? undefined : st.restoreMs / 1000,
    );
    syncGauge('zeus_state_sync_blocks_executed', 'Blocks executed after the restored snapshot during the join', (st) => st.blocksExecuted);
    // A seat kept by a group (docs/OPERATORS.md): present on its members only.
    if (node.config.signerGroup) {
      new Gauge({
        name: 'zeus_signer_group_active',
        help: "1 while this member is its seat group's active member (the one that signs), 0 while it follows",
        registers: [r],
        collect() {
          const g = node.signerGroupStatus();
          if (g) this.set(g.active ? 1 : 0);
        },
      });
      groupCounter(
        r,
        'zeus_signer_group_failovers_total',
        'Times this member took its seat over from another member',
        () => node.signerGroupStatus()?.failovers,
      );
      groupCounter(
        r,
        'zeus_signer_group_refused_cas_total',
        "Signatures this member's group refused at etcd: the compare-and-swap of the group's mark failed, the mark forbade it, or etcd did not answer (no quorum)",
        () => node.signerGroupStatus()?.refusedCas,
      );
    }
    groupCounter(
      r,
      'zeus_tx_signature_checks_total',
      'Transaction signatures this node checked (submitted, gossiped and in blocks); against zeus_transactions_committed_total it shows checks repeated for one transaction',
      () => node.signatureChecks,
    );
    const blocks = new Counter({ name: 'zeus_blocks_committed_total', help: 'Blocks committed by this node', registers: [r] });
    const rounds = new Counter({
      name: 'zeus_rounds_beyond_first_total',
      help: 'Extra rounds the committed blocks needed (a silent or late proposer)',
      registers: [r],
    });
    const txs = new Counter({
      name: 'zeus_transactions_committed_total',
      help: 'Transactions committed, by chain (0 main, 1..9 inner)',
      labelNames: ['chain'],
      registers: [r],
    });
    const refused = new Counter({
      name: 'zeus_transactions_rejected_total',
      help: 'Transactions refused after admission, by error code',
      labelNames: ['code'],
      registers: [r],
    });
    const market = new Counter({
      name: 'zeus_market_events_total',
      help: 'Market happenings on the chain, by kind (task-posted, lease-matched, lease-ended, …)',
      labelNames: ['kind'],
      registers: [r],
    });
    const commit = new Histogram({
      name: 'zeus_commit_latency_seconds',
      help: "From a block's time to its commit on this node",
      buckets: COMMIT_BUCKETS_S,
      registers: [r],
    });
    node.events.on('event', (e: NodeEvent) => {
      if (e.type === 'block') {
        blocks.inc();
        if (e.round > 0) rounds.inc(e.round);
        e.txCounts.forEach((n, chain) => {
          if (n > 0) txs.inc({ chain: String(chain) }, n);
        });
        commit.observe(Math.max(0, Date.now() - e.time) / 1000);
      } else if (e.type === 'tx' && e.status === 'rejected') refused.inc({ code: e.error?.code ?? 'UNKNOWN' });
      else if (e.type === 'market') market.inc({ kind: e.kind });
    });
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
