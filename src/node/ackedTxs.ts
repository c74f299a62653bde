import type { Tx } from '../ledger/index.ts';
import type { KvOp, KvStore } from '../store/index.ts';

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
  /** Records waiting for the synced write in flight to finish; they then go to disk together. */
  private next: { ops: KvOp[]; written: Promise<void> } | undefined;
  /** The last synced write started (settled or not). */
  private inFlight: Promise<void> = Promise.resolve();

  constructor(kv: KvStore, now: number) {
    this.kv = kv;
    // Past whatever an earlier run wrote (its keys began at its own start time).
    this.seq = now * 1000;
  }

  get size(): number {
    return this.held.size;
  }

  /**
   * Writes them to disk and returns once they are there (synced): only then may they be
   * acknowledged. A client's submissions arrive a few at a time, and each synced write costs a
   * flush of the disk's journal: records that arrive while one write is under way wait for it and
   * then go to disk together, in one synced write (a group commit), still in arrival order.
   */
  async record(txs: readonly Tx[]): Promise<void> {
    if (txs.length === 0) return;
    const keyed = txs.map((t) => ({ tx: t, key: `${PREFIX}${String(this.seq++).padStart(20, '0')}` }));
    let batch = this.next;
    if (!batch) {
      const ops: KvOp[] = [];
      const written = this.inFlight.then(() => {
        // From here on, new records form the next batch.
        if (this.next === batch) this.next = undefined;
        return this.kv.write(ops, true);
      });
      batch = this.next = { ops, written };
      this.inFlight = written.catch(() => undefined);
    }
    for (const k of keyed) batch.ops.push({ key: k.key, value: k.tx.bytes });
    await batch.written;
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
