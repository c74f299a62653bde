// Answers that read the whole of something (every account for /supply, every task for /tasks)
// change only when a height commits. Many clients polling the same list (consoles, dashboards)
// then cost one computation per height, not one each; a new height empties the cache.

export class HeightCache {
  private height = -1;
  private readonly answers = new Map<string, unknown>();
  private readonly max: number;
  /** Answers computed, and answered from the cache (tests, metrics). */
  computed = 0;
  hits = 0;

  constructor(max = 256) {
    this.max = max;
  }

  /** The answer for `key` at `height`: the one computed earlier at this height, else `compute()`'s. */
  get<T>(height: number, key: string, compute: () => T): T {
    if (height !== this.height) {
      this.answers.clear();
      this.height = height;
    }
    if (this.answers.has(key)) {
      this.hits++;
      return this.answers.get(key) as T;
    }
    const answer = compute();
    this.computed++;
    // The oldest query goes first: distinct queries cannot grow the cache.
    if (this.answers.size >= this.max) this.answers.delete(this.answers.keys().next().value!);
    this.answers.set(key, answer);
    return answer;
  }
}
