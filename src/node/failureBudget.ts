// A source of transactions (an API client, a gossiping peer) whose transactions keep failing is
// refused unchecked for a while.
//
// Checking a signature costs a node ~80 µs; making up a transaction that fails the check costs its
// sender nothing (no key, no signing: any bytes in the right shape). One connection sending
// batches of them would keep a node's verifier threads busy for free, and every honest client
// of that node waits behind it. An honest client's transactions fail the check only by a bug, so
// a small budget of failures per client and window costs honest clients nothing.

import { LedgerError } from '../ledger/index.ts';

export const BAD_SIGNATURES_PER_WINDOW = 100;
export const BAD_SIGNATURE_WINDOW_MS = 10_000;
/**
 * The same for transactions refused after their signature was checked (a nonce gap, no funds, an
 * invalid argument, over quota): each cost the node a check and a dry run, and a sender can sign
 * as many as it likes with fresh keys. Honest clients meet these now and then (a race between two
 * of their own submissions, say), so their budget is ten times larger: 100 a second at most, about
 * 1 % of one core per client for the node.
 */
export const REFUSALS_PER_WINDOW = 1_000;
/** Clients tracked at once; beyond it the oldest record goes (an attacker's many addresses cannot grow memory). */
const CLIENTS_KEPT = 10_000;

/** Failures per source and window (BAD_SIGNATURE_WINDOW_MS); a source at `perWindow` waits out its window. */
export class FailureBudget {
  private readonly now: () => number;
  private readonly perWindow: number;
  private readonly spent = new Map<string, { since: number; count: number }>();

  constructor(now: () => number = Date.now, perWindow = BAD_SIGNATURES_PER_WINDOW) {
    this.now = now;
    this.perWindow = perWindow;
  }

  /** How long (ms) `client` must wait before its submissions are checked again; 0: they are now. */
  waitMs(client: string): number {
    const s = this.spent.get(client);
    if (!s) return 0;
    const left = s.since + BAD_SIGNATURE_WINDOW_MS - this.now();
    if (left <= 0) {
      this.spent.delete(client);
      return 0;
    }
    return s.count >= this.perWindow ? left : 0;
  }

  /** Counts `failed` signature checks against `client`'s budget of its current window. */
  charge(client: string, failed: number): void {
    if (failed <= 0) return;
    const now = this.now();
    let s = this.spent.get(client);
    if (!s || s.since + BAD_SIGNATURE_WINDOW_MS <= now) {
      this.spent.delete(client);
      if (this.spent.size >= CLIENTS_KEPT) this.spent.delete(this.spent.keys().next().value!);
      s = { since: now, count: 0 };
      this.spent.set(client, s);
    }
    s.count += failed;
  }
}

/**
 * Refusals not charged to a source's budget of refusals: made before the signature check (so they
 * cost the node next to nothing), for the node's own state (a full pool, a halt), or charged to
 * the budget of failed signature checks instead.
 */
const UNCHARGED_REFUSALS = new Set([
  'BAD_SIGNATURE',
  'BAD_ENCODING',
  'TX_TOO_LARGE',
  'WRONG_CHAIN_ID',
  'DUPLICATE_TX',
  'NONCE_REPLAYED',
  'MEMPOOL_FULL',
  'UPGRADE_NEEDED',
]);

/** Of a submission's results, the failed signature checks and the refusals after a check (REFUSALS_PER_WINDOW). */
export function failuresOf(results: readonly unknown[]): { badSignatures: number; refusals: number } {
  let badSignatures = 0;
  let refusals = 0;
  for (const r of results) {
    if (!(r instanceof LedgerError)) continue;
    if (r.code === 'BAD_SIGNATURE') badSignatures++;
    else if (!UNCHARGED_REFUSALS.has(r.code)) refusals++;
  }
  return { badSignatures, refusals };
}
