import type { Tx } from '../ledger/index.ts';
import type { KvStore } from '../store/index.ts';

// Transactions this node acknowledged to a client (202) and has not yet seen committed or
// refused, on disk before the acknowledgement goes out. A node passes transactions on to its
// peers in batches (every ~50 ms), so one killed right after answering 202 took them along and
// told no one. With this record it admits and gossips them again when it starts: an acknowledged
// transaction is lost only if its node never comes back (which clients cover by resubmitting the
// same bytes elsewhere: the SDK's submitUntilFinal).

const PREFIX = 'mempool/acked/';

export interface AckedTx {
  key: string;
  bytes: Uint8Array;
}

export class AckedTxJournal {
  private readonly kv: KvStore;
  /** Transaction hash → its key, for those recorded by this process. */
  private readonly held = new Map<string, string>();
  /** Keys sort in arrival order (a sender's nonces must be admitted again in order). */
  private seq: number;

  constructor(kv: KvStore, now: number) {
    this.kv = kv;
    // Past whatever an earlier run wrote (its keys began at its own start time).
    this.seq = now * 1000;
  }

  get size(): number {
    return this.held.size;
  }

  /** Writes them to disk and returns once they are there (synced): only then may they be acknowledged. */
  async record(txs: readonly Tx[]): Promise<void> {
    if (txs.length === 0) return;
    const keyed = txs.map((t) => ({ tx: t, key: `${PREFIX}${String(this.seq++).padStart(20, '0')}` }));
    await this.kv.write(
      keyed.map((k) => ({ key: k.key, value: k.tx.bytes })),
      true,
    );
    for (const k of keyed) this.held.set(k.tx.hashHex, k.key);
  }

  /**
   * Committed or refused: nothing to resend. Not synced: an entry a crash leaves behind is sent
   * again at the next start, refused there (its nonce is used) and forgotten then.
   */
  forget(hashes: Iterable<string>): void {
    const keys: string[] = [];
    for (const h of hashes) {
      const k = this.held.get(h);
      if (k === undefined) continue;
      this.held.delete(h);
      keys.push(k);
    }
    this.drop(keys);
  }

  /** What an earlier run acknowledged and did not see to its end, in arrival order. */
  async load(): Promise<AckedTx[]> {
    const out: AckedTx[] = [];
    for await (const [key, bytes] of this.kv.entries(PREFIX)) out.push({ key, bytes });
    return out;
  }

  drop(keys: readonly string[]): void {
    if (keys.length === 0) return;
    // A write that fails (store closing) leaves entries that the next start resends and forgets.
    this.kv
      .write(
        keys.map((key) => ({ key, value: null })),
        false,
      )
      .catch(() => undefined);
  }
}
