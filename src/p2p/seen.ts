// Bounded, time-limited set of message ids already handled, so that the same bytes arriving from
// several peers (or echoed back to their publisher) are delivered and relayed once.

export class SeenCache {
  readonly #ttlMs: number;
  readonly #max: number;
  readonly #now: () => number;
  // Map keeps insertion order, so the oldest entries are at the front.
  readonly #ids = new Map<string, number>();

  constructor(ttlMs: number, max: number, now: () => number = Date.now) {
    this.#ttlMs = ttlMs;
    this.#max = max;
    this.#now = now;
  }

  get size(): number {
    return this.#ids.size;
  }

  /** Records the id; returns false if it was already there (a duplicate). */
  add(id: string): boolean {
    const now = this.#now();
    this.#expire(now);
    const at = this.#ids.get(id);
    if (at !== undefined && now - at < this.#ttlMs) return false;
    this.#ids.delete(id);
    this.#ids.set(id, now);
    while (this.#ids.size > this.#max) {
      const oldest = this.#ids.keys().next();
      if (oldest.done === true) break;
      this.#ids.delete(oldest.value);
    }
    return true;
  }

  /** Forgets the id: the same message arriving again is new. */
  forget(id: string): void {
    this.#ids.delete(id);
  }

  has(id: string): boolean {
    const at = this.#ids.get(id);
    return at !== undefined && this.#now() - at < this.#ttlMs;
  }

  #expire(now: number): void {
    for (const [id, at] of this.#ids) {
      if (now - at < this.#ttlMs) break;
      this.#ids.delete(id);
    }
  }
}
