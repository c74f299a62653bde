import { LedgerError, type HeightExecution, type Ledger, type Tx } from '../ledger/index.ts';

const SPEC_MAX_AGE_MS = 1000;

export interface MempoolOptions {
  /** Most transactions waiting at once; past it new ones are refused, never silently dropped. */
  maxSize: number;
  now: () => number;
  /** Told of pending transactions that a fresh check no longer admits. */
  onDrop?: (tx: Tx, err: LedgerError) => void;
}

/**
 * Pending transactions, each checked against a speculative execution of the next height so
 * that nonces, balances, vesting and quota are judged with everything already pending.
 *
 * Re-executing every pending transaction after every commit costs O(pending) per height, which
 * under a backlog is most of a node's time. So when a committed height included only
 * transactions this mempool already held, the speculative state (committed state + everything
 * pending, in arrival order) still holds: it is kept, marked stale. A stale state may miss what
 * the height did besides those transactions (receipts credited from other chains, rewards, a
 * later block time for jail and vesting). So a refusal on stale state is never final — the state is rebuilt once
 * and the transaction judged again — and anything admitted optimistically is still checked when
 * a block is built and executed.
 */
export class Mempool {
  private readonly ledger: Ledger;
  private readonly opts: MempoolOptions;
  private pending = new Map<string, Tx>();
  /**
   * The speculative next height; a LedgerError UPGRADE_NEEDED instead when that height is an
   * upgrade this software lacks: nothing can be judged (or will commit), so everything is refused.
   */
  private spec: HeightExecution | LedgerError;
  /** The speculative state was kept across a commit instead of rebuilt. */
  private stale = false;

  constructor(ledger: Ledger, opts: MempoolOptions) {
    this.ledger = ledger;
    this.opts = opts;
    this.spec = this.begin();
  }

  private begin(): HeightExecution | LedgerError {
    const needed = this.ledger.upgradeNeeded();
    if (needed) return new LedgerError('UPGRADE_NEEDED', `${needed.message}; this node takes no transactions until then`);
    return this.ledger.begin(this.opts.now(), true);
  }

  get size(): number {
    return this.pending.size;
  }

  has(hashHex: string): boolean {
    return this.pending.has(hashHex);
  }

  get(hashHex: string): Tx | undefined {
    return this.pending.get(hashHex);
  }

  /** Admits a signature-checked transaction or throws a LedgerError saying why not. */
  add(tx: Tx): void {
    if (this.pending.has(tx.hashHex)) throw new LedgerError('DUPLICATE_TX', `transaction ${tx.hashHex} is already pending`);
    if (this.pending.size >= this.opts.maxSize) {
      throw new LedgerError('MEMPOOL_FULL', `the node holds ${this.opts.maxSize} pending transactions; retry shortly`);
    }
    if (this.spec instanceof LedgerError) throw this.spec;
    // Vesting releases and quota windows follow block time: judge by a recent clock.
    if (this.opts.now() - this.spec.time > SPEC_MAX_AGE_MS) {
      for (const [t, e] of this.rebuild().values()) this.opts.onDrop?.(t, e);
    }
    let err = this.tryApply(tx);
    // At most one rebuild per commit: afterwards the state is fresh until the next one.
    if (err && this.stale) {
      for (const [t, e] of this.rebuild().values()) this.opts.onDrop?.(t, e);
      err = this.tryApply(tx);
    }
    if (err) throw err;
    this.pending.set(tx.hashHex, tx);
  }

  /** Pending transactions in arrival order. */
  list(): Tx[] {
    return [...this.pending.values()];
  }

  /**
   * After a height commits: drop what it included and what a build refused, re-check the rest
   * on the new state (unless the kept state still holds, see above) and return those that no
   * longer apply, with the reason.
   */
  onCommit(included: Iterable<string>, refused: Iterable<string> = []): Map<string, [Tx, LedgerError]> {
    let allPending = true;
    for (const h of included) if (!this.pending.delete(h)) allPending = false;
    let anyRefused = false;
    for (const h of refused) anyRefused = this.pending.delete(h) || anyRefused;
    if (allPending && !anyRefused && !(this.spec instanceof LedgerError) && this.opts.now() - this.spec.time <= SPEC_MAX_AGE_MS) {
      this.stale = true;
      return new Map();
    }
    return this.rebuild();
  }

  private tryApply(tx: Tx): LedgerError | null {
    return this.spec instanceof LedgerError ? this.spec : this.spec.tryApply(tx);
  }

  private rebuild(): Map<string, [Tx, LedgerError]> {
    this.spec = this.begin();
    this.stale = false;
    const dropped = new Map<string, [Tx, LedgerError]>();
    // Pending transactions are not wrong for a halt: they stay (and, acknowledged, on disk for the restart).
    if (this.spec instanceof LedgerError) return dropped;
    for (const tx of this.pending.values()) {
      const err = this.spec.tryApply(tx);
      if (err) dropped.set(tx.hashHex, [tx, err]);
    }
    for (const h of dropped.keys()) this.pending.delete(h);
    return dropped;
  }
}
