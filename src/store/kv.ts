import { ClassicLevel } from 'classic-level';

/** One write: a value to put, or null to delete. */
export interface KvOp {
  readonly key: string;
  readonly value: Uint8Array | null;
}

/** The storage a node needs: point reads, atomic batches, ordered prefix scans. */
export interface KvStore {
  get(key: string): Promise<Uint8Array | undefined>;
  /** Applies all ops atomically; with `sync` it returns only once they are on disk. */
  write(ops: readonly KvOp[], sync?: boolean): Promise<void>;
  entries(prefix: string): AsyncIterable<[string, Uint8Array]>;
  close(): Promise<void>;
}

/**
 * The store holds bytes that are not what was written, or that contradict each other: a disk or
 * filesystem damaged them. Nothing read from it can be trusted.
 */
export class StoreCorruptError extends Error {
  override name = 'StoreCorruptError';
}

/**
 * A failed read as a StoreCorruptError: LevelDB's own finding of damage (a block that fails to
 * decompress or parse), or an I/O error reading a file the store holds (a table cut short answers
 * "Invalid argument"; a failing disk EIO). Either way what was written can no longer be read back.
 */
function readError(e: unknown): unknown {
  const code = (e as { code?: string }).code;
  return code === 'LEVEL_CORRUPTION' || code === 'LEVEL_IO_ERROR' ? new StoreCorruptError(`LevelDB: ${(e as Error).message}`, { cause: e }) : e;
}

/** What a full read of a store found (see LevelKvStore.check). */
export interface StoreCheck {
  readonly entries: number;
  readonly bytes: number;
  readonly ms: number;
}

/** LevelDB through classic-level (prebuilt N-API binaries, no install scripts needed). */
export class LevelKvStore implements KvStore {
  private readonly db: ClassicLevel<string, Uint8Array>;
  /**
   * Told of every read that failed as StoreCorruptError, whoever made it (a client's query, a peer's
   * block request): the store itself failed, so its owner stops rather than answer around it.
   */
  onReadFailure: ((e: StoreCorruptError) => void) | undefined;

  private constructor(db: ClassicLevel<string, Uint8Array>) {
    this.db = db;
  }

  static async open(dir: string): Promise<LevelKvStore> {
    const db = new ClassicLevel<string, Uint8Array>(dir, { keyEncoding: 'utf8', valueEncoding: 'view' });
    await db.open();
    return new LevelKvStore(db);
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    try {
      return (await this.db.get(key)) ?? undefined;
    } catch (e) {
      throw this.failed(e);
    }
  }

  private failed(e: unknown): unknown {
    const err = readError(e);
    if (err instanceof StoreCorruptError) this.onReadFailure?.(err);
    return err;
  }

  async write(ops: readonly KvOp[], sync = true): Promise<void> {
    const batch = ops.map((op) => (op.value === null ? { type: 'del' as const, key: op.key } : { type: 'put' as const, key: op.key, value: op.value }));
    await this.db.batch(batch, { sync });
  }

  async *entries(prefix: string): AsyncIterable<[string, Uint8Array]> {
    // '\xff' sorts after every character used in our keys.
    try {
      for await (const [k, v] of this.db.iterator({ gte: prefix, lt: `${prefix}\xff` })) yield [k, v];
    } catch (e) {
      throw this.failed(e);
    }
  }

  /**
   * Reads every entry once. LevelDB opens a table file only when a read first needs it, so a table
   * cut short or unreadable lets the store open and fails a read minutes later; read through at
   * start, the damage stops the node before it takes part in anything (throws StoreCorruptError).
   * A byte flipped inside a value is not seen here (classic-level reads without checksums): the
   * chain store checks each block it reads against its hashes instead.
   */
  async check(progress?: (done: StoreCheck) => void, everyMs = 5_000): Promise<StoreCheck> {
    const t0 = performance.now();
    let entries = 0;
    let bytes = 0;
    let reported = t0;
    try {
      for await (const [k, v] of this.db.iterator({ fillCache: false })) {
        entries++;
        bytes += k.length + v.byteLength;
        if (progress && (entries & 1023) === 0 && performance.now() - reported >= everyMs) {
          reported = performance.now();
          progress({ entries, bytes, ms: Math.round(reported - t0) });
        }
      }
    } catch (e) {
      throw readError(e);
    }
    return { entries, bytes, ms: Math.round(performance.now() - t0) };
  }

  async close(): Promise<void> {
    await this.db.close();
  }
}

/** In-memory store for tests and simulations. */
export class MemoryKvStore implements KvStore {
  readonly data = new Map<string, Uint8Array>();

  async get(key: string): Promise<Uint8Array | undefined> {
    return this.data.get(key);
  }

  async write(ops: readonly KvOp[]): Promise<void> {
    for (const op of ops) {
      if (op.value === null) this.data.delete(op.key);
      else this.data.set(op.key, op.value);
    }
  }

  async *entries(prefix: string): AsyncIterable<[string, Uint8Array]> {
    const keys = [...this.data.keys()].filter((k) => k.startsWith(prefix)).sort();
    for (const k of keys) yield [k, this.data.get(k)!];
  }

  async close(): Promise<void> {}
}
