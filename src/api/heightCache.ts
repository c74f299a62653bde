// Answers that read the whole of something (every account for /supply, every task for /tasks)
// change only when a height commits. Many clients polling the same list (consoles, dashboards)
// then cost one computation per height, not one each; a new height empties the cache.
//
// A query nobody asked at this height is still computed, on the node's main thread, in time that
// grows with the collection; one client varying its queries (a new owner each time) could keep
// the node computing. So each client (clientKey) has a budget of computing time: it is charged
// what its uncached answers took, refilled at `msPerSecond` up to `burstMs`, and a client over
// it is refused 429 TOO_MANY_SCANS (with how long to wait) until it is back above zero. Answers
// from the cache cost nothing. An honest client's answers take well under a millisecond each on
// a small chain, and at most a few per height on a large one.

import { ApiError } from './errors.ts';

export interface ScanBudget {
  /** Computing time a client may spend at once (ms). */
  burstMs: number;
  /** Computing time a client gets back per second (ms). */
  msPerSecond: number;
}

export const DEFAULT_SCAN_BUDGET: ScanBudget = { burstMs: 500, msPerSecond: 250 };
/** Clients tracked at once; beyond it the one seen longest ago is forgotten. */
const CLIENTS_KEPT = 10_000;

export class HeightCache {
  private height = -1;
  private readonly answers = new Map<string, unknown>();
  private readonly max: number;
  private readonly budget: ScanBudget;
  private readonly now: () => number;
  private readonly clients = new Map<string, { left: number; at: number }>();
  /** Answers computed, answered from the cache, and refused for a spent budget (tests, metrics). */
  computed = 0;
  hits = 0;
  refused = 0;

  constructor(o: { max?: number; budget?: ScanBudget; now?: () => number } = {}) {
    this.max = o.max ?? 256;
    this.budget = o.budget ?? DEFAULT_SCAN_BUDGET;
    this.now = o.now ?? performance.now.bind(performance);
  }

  /**
   * The answer for `key` at `height`: the one computed earlier at this height, else `compute()`'s,
   * charged to `client`'s budget (ApiError 429 TOO_MANY_SCANS when it is spent).
   */
  get<T>(height: number, key: string, compute: () => T, client = ''): T {
    if (height !== this.height) {
      this.answers.clear();
      this.height = height;
    }
    if (this.answers.has(key)) {
      this.hits++;
      return this.answers.get(key) as T;
    }
    const account = this.account(client);
    if (account.left <= 0) {
      this.refused++;
      const waitS = Math.ceil((-account.left + 1) / this.budget.msPerSecond);
      throw new ApiError(
        429,
        'TOO_MANY_SCANS',
        `this client (${client}) spent its time for answers that read whole collections (${this.budget.msPerSecond} ms a second); ` +
          `ask again in ${waitS} s, or ask what others ask (those answers are kept per height and cost nothing)`,
      );
    }
    const start = this.now();
    const answer = compute();
    account.left -= this.now() - start;
    this.computed++;
    // The oldest query goes first: distinct queries cannot grow the cache.
    if (this.answers.size >= this.max) this.answers.delete(this.answers.keys().next().value!);
    this.answers.set(key, answer);
    return answer;
  }

  /** `client`'s budget, refilled for the time since it was last seen. */
  private account(client: string): { left: number; at: number } {
    const now = this.now();
    let a = this.clients.get(client);
    if (!a) {
      if (this.clients.size >= CLIENTS_KEPT) this.clients.delete(this.clients.keys().next().value!);
      a = { left: this.budget.burstMs, at: now };
    } else this.clients.delete(client);
    // Re-inserted: the map's order is the order clients were last seen.
    this.clients.set(client, a);
    a.left = Math.min(this.budget.burstMs, a.left + ((now - a.at) / 1000) * this.budget.msPerSecond);
    a.at = now;
    return a;
  }
}
