import { useSyncExternalStore } from 'react';
import { client } from './client.ts';
import type { GovNodeEvent, NodeEvent } from './sdk.ts';

// The node's event stream (/ws?events=block,tx,market,gov) kept in one place: the pages re-read
// what they show when a block commits, the market and governance pages list their happenings as
// they come, and the charts take committed transactions per second and finality latency from here.

export interface LiveBlock {
  height: number;
  hash: string;
  /** Block time (ms), set by its proposer. */
  time: number;
  /** When this page heard of its commit (ms, this machine's clock). */
  receivedAt: number;
  round: number;
  txCounts: number[];
}

export interface LiveMarketEvent {
  /** This page's count of market events heard, a stable key for the list (events carry no id). */
  seq: number;
  kind: string;
  task: string;
  lease?: number;
  /** Worker address as hex (the stream's form); see workerAddress(). */
  worker?: string;
  detail?: string;
  height: number;
  chain: number;
  receivedAt: number;
}

export interface LiveGovEvent extends GovNodeEvent {
  /** This page's count of governance events heard, a stable key for the list. */
  seq: number;
  receivedAt: number;
}

export interface FinalitySample {
  at: number;
  /** From the node accepting the transaction into its mempool to its commit, as this page saw both. */
  ms: number;
}

export type FeedState = 'connecting' | 'live' | 'reconnecting';

const MAX_BLOCKS = 1200;
const MAX_MARKET = 300;
const MAX_GOV = 200;
const MAX_FINALITY = 600;

class LiveFeed {
  state: FeedState = 'connecting';
  blocks: LiveBlock[] = [];
  market: LiveMarketEvent[] = [];
  /** Newest first. */
  gov: LiveGovEvent[] = [];
  finality: FinalitySample[] = [];
  /** Bumped on every change: what useSyncExternalStore compares. */
  version = 0;
  private pending = new Map<string, number>();
  private listeners = new Set<() => void>();
  private started = false;
  private notifyQueued = false;
  private marketSeq = 0;
  private govSeq = 0;

  start(): void {
    if (this.started) return;
    this.started = true;
    // The SDK's subscription reconnects by itself (with backoff) after a drop.
    client.subscribe({
      onEvent: (e) => this.take(e),
      onState: (s) => this.setState(s === 'open' ? 'live' : s === 'reconnecting' ? 'reconnecting' : 'connecting'),
    });
    void this.backfill();
  }

  /** The blocks committed before this page opened, so the charts start with some history. */
  private async backfill(): Promise<void> {
    try {
      const { blocks } = await client.blocks({ limit: 60 });
      const known = new Set(this.blocks.map((b) => b.height));
      for (const b of blocks) {
        if (known.has(b.height)) continue;
        // Heard of before this page opened: no arrival time, so no commit latency for them.
        this.blocks.push({ height: b.height, hash: b.hash, time: b.time, receivedAt: NaN, round: NaN, txCounts: b.segments.map((x) => x.txCount) });
      }
      this.blocks.sort((a, b) => a.height - b.height);
      this.notify();
    } catch {
      // the pages show the node's error themselves
    }
  }

  private take(e: NodeEvent): void {
    const now = Date.now();
    if (e.type === 'block') {
      if (this.blocks.length && this.blocks[this.blocks.length - 1].height >= e.height) return;
      this.blocks.push({ height: e.height, hash: e.hash, time: e.time, round: e.round, txCounts: e.txCounts, receivedAt: now });
      if (this.blocks.length > MAX_BLOCKS) this.blocks.splice(0, this.blocks.length - MAX_BLOCKS);
    } else if (e.type === 'tx') {
      const hash = e.hash;
      if (e.status === 'pending') {
        this.pending.set(hash, now);
        if (this.pending.size > 20_000) this.pending.clear();
        return; // nothing shown changes
      }
      const t0 = this.pending.get(hash);
      this.pending.delete(hash);
      if (e.status === 'committed' && t0 !== undefined) {
        this.finality.push({ at: now, ms: now - t0 });
        if (this.finality.length > MAX_FINALITY) this.finality.splice(0, this.finality.length - MAX_FINALITY);
      }
    } else if (e.type === 'market') {
      this.market.unshift({ ...e, seq: ++this.marketSeq, receivedAt: now });
      if (this.market.length > MAX_MARKET) this.market.length = MAX_MARKET;
    } else if (e.type === 'gov') {
      this.gov.unshift({ ...e, seq: ++this.govSeq, receivedAt: now });
      if (this.gov.length > MAX_GOV) this.gov.length = MAX_GOV;
    } else return;
    this.notify();
  }

  private setState(s: FeedState): void {
    this.state = s;
    this.notify();
  }

  /** Listeners run once per animation frame at most, however fast blocks come. */
  private notify(): void {
    this.version++;
    if (this.notifyQueued) return;
    this.notifyQueued = true;
    const run = (): void => {
      this.notifyQueued = false;
      for (const l of this.listeners) l();
    };
    if (typeof requestAnimationFrame === 'function' && document.visibilityState === 'visible') requestAnimationFrame(run);
    else setTimeout(run, 100);
  }

  subscribe = (l: () => void): (() => void) => {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  };

  get height(): number {
    return this.blocks.length ? this.blocks[this.blocks.length - 1].height : 0;
  }
}

export const feed = new LiveFeed();

/** Re-renders on every change of the feed; returns it. */
export function useFeed(): LiveFeed {
  feed.start();
  useSyncExternalStore(feed.subscribe, () => feed.version);
  return feed;
}

/** The latest committed height (re-renders once per block). */
export function useHeight(): number {
  feed.start();
  return useSyncExternalStore(feed.subscribe, () => feed.height);
}

/**
 * How many governance events this page has heard (of one proposal, when given): a value that
 * changes when a proposal moves, for the governance pages to re-read on.
 */
export function useGovSeq(proposal?: string): number {
  feed.start();
  return useSyncExternalStore(feed.subscribe, () => (proposal === undefined ? feed.gov : feed.gov.filter((e) => e.proposal === proposal))[0]?.seq ?? 0);
}

/** Committed transactions per second over a sliding window of block times, one point per block. */
export function tpsSeries(blocks: LiveBlock[], windowMs = 5000): { t: number; v: number }[] {
  const out: { t: number; v: number }[] = [];
  let lo = 0;
  let sum = 0;
  for (let i = 0; i < blocks.length; i++) {
    sum += blocks[i].txCounts.reduce((a, b) => a + b, 0);
    while (blocks[lo].time < blocks[i].time - windowMs) {
      sum -= blocks[lo].txCounts.reduce((a, b) => a + b, 0);
      lo++;
    }
    // A full window once there is that much history; before that, the history there is.
    const span = Math.min(windowMs, Math.max(blocks[i].time - blocks[0].time, 1000));
    if (i > 0) out.push({ t: blocks[i].time, v: (sum * 1000) / span });
  }
  return out;
}
