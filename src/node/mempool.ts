import {
  CHAIN_COUNT,
  encodeReceipts,
  HeightExecution,
  LedgerError,
  packSegments,
  receiptTarget,
  type Ledger,
  type SpecRefusal,
  type SpecTip,
  type Tx,
} from '../ledger/index.ts';

const SPEC_MAX_AGE_MS = 1000;

/**
 * Replicas of some inner chains that keep the mempool's speculative height for them (each a
 * `ChainPartition`, on a worker thread: src/node/parallelExec.ts). Calls to one partition are
 * carried out in the order they are made.
 */
export interface SpeculationHost {
  /** The inner chains of each partition: disjoint, never main. */
  readonly partitions: readonly (readonly number[])[];
  specBegin(partition: number, tip: SpecTip): Promise<[string, SpecRefusal][]>;
  specApply(partition: number, txs: Uint8Array): Promise<(SpecRefusal | null)[]>;
  specForget(partition: number, hashes: readonly string[]): void;
}

export interface MempoolOptions {
  /** Most transactions waiting at once; past it new ones are refused, never silently dropped. */
  maxSize: number;
  now: () => number;
  /** Told of pending transactions that a fresh check no longer admits. */
  onDrop?: (tx: Tx, err: LedgerError) => void;
  /** Told when the speculation host failed: the mempool then judges every chain on this thread. */
  onHostFailure?: (e: Error) => void;
  /**
   * Whether a transaction's sender has priority (see `Mempool`'s comment on priority); judged on
   * committed state, so it holds for all of one sender's transactions at once. Without it every
   * transaction has priority.
   */
  isPriority?: (tx: Tx) => boolean;
  /** Most transactions without priority waiting at once (default: all of `maxSize`). */
  maxFree?: number;
  /** Said when a transaction without priority finds their share full: how to get priority. */
  priorityHint?: () => string;
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
 *
 * A batch is judged as if its transactions came one at a time: in order, each slot of the pool
 * taken in order, a transaction repeated within the batch refused as a duplicate, and at the
 * first refusal on stale state the state rebuilt and the rest judged on it.
 *
 * With a speculation host, the chains of its partitions are judged there (on other threads) and
 * main with the remaining chains here, at once. A chain's judgement depends only on its own state,
 * main as committed and the receipts sent to it, so every decision is the one this thread would
 * have made alone (mempoolThreads.test.ts compares the two). Calls are taken one at a time, in
 * order, so that each chain's pending transactions stay in the order they were admitted: a block
 * is built in that order, and nonce n + 1 before n would fail.
 *
 * Priority: transactions cost no fee, and a new account's free quota costs nothing to get, so
 * anybody can make as many senders as they like and fill the pool. Senders with priority (a
 * stake, which is locked and unbonds slowly: `isPriority`) are therefore kept apart: those without
 * may hold at most `maxFree` of the pool, the rest stays for senders with priority, and a block
 * takes the transactions of senders with priority first (`inBlockOrder`). Free transactions from
 * however many accounts can then slow only each other.
 */
export class Mempool {
  private readonly ledger: Ledger;
  private readonly opts: MempoolOptions;
  private pending = new Map<string, Tx>();
  /** The pending transactions of senders without priority when they were admitted. */
  private freePending = new Set<string>();
  /**
   * The speculative next height (of main and this thread's chains, with a host); a LedgerError
   * UPGRADE_NEEDED instead when that height is an upgrade this software lacks: nothing can be
   * judged (or will commit), so everything is refused.
   */
  private spec: HeightExecution | LedgerError;
  /** The speculative state was kept across a commit instead of rebuilt. */
  private stale = false;
  private host: SpeculationHost | undefined;
  /** Each chain's partition on the host; -1: this thread. */
  private placeOf: number[] = new Array(CHAIN_COUNT).fill(-1);
  /** The calls so far, one after the other (see the class comment). */
  private turn: Promise<unknown> = Promise.resolve();

  constructor(ledger: Ledger, opts: MempoolOptions) {
    this.ledger = ledger;
    this.opts = opts;
    this.spec = this.begin();
  }

  private begin(): HeightExecution | LedgerError {
    const needed = this.ledger.upgradeNeeded();
    if (needed) return new LedgerError('UPGRADE_NEEDED', `${needed.message}; this node takes no transactions until then`);
    const time = Math.max(this.opts.now(), this.ledger.time + 1);
    const remote = new Set(this.host?.partitions.flat() ?? []);
    const here = remote.size ? new Set(Array.from({ length: CHAIN_COUNT }, (_, c) => c).filter((c) => !remote.has(c))) : undefined;
    return new HeightExecution(this.ledger, this.ledger.height + 1, time, true, this.ledger.lastCommit, here);
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

  /** Pending transactions in arrival order. */
  list(): Tx[] {
    return [...this.pending.values()];
  }

  /** Pending transactions of senders without priority. */
  get freeSize(): number {
    return this.freePending.size;
  }

  private priority(tx: Tx): boolean {
    return this.opts.isPriority?.(tx) ?? true;
  }

  private get maxFree(): number {
    return Math.min(this.opts.maxSize, this.opts.maxFree ?? this.opts.maxSize);
  }

  /**
   * The refusal a transaction would get now for want of room, if any: cheap, so that a node can
   * refuse before checking a signature. The judgement in `addMany` is the one that counts.
   */
  roomFor(tx: Tx): LedgerError | undefined {
    if (this.pending.size >= this.opts.maxSize) return this.fullError();
    if (this.freePending.size >= this.maxFree && !this.priority(tx)) return this.freeFullError();
    return undefined;
  }

  private fullError(): LedgerError {
    return new LedgerError('MEMPOOL_FULL', `the node holds ${this.opts.maxSize} pending transactions; retry shortly`);
  }

  private freeFullError(): LedgerError {
    const hint = this.opts.priorityHint ? `, or ${this.opts.priorityHint()}` : '';
    return new LedgerError('MEMPOOL_FULL', `the node holds ${this.maxFree} pending transactions from senders without priority, its most; retry shortly${hint}`);
  }

  /**
   * The order a block takes pending transactions in: those whose sender has priority now, in
   * arrival order, then the others in arrival order. Each sender's transactions stay in order.
   */
  inBlockOrder(): { priority: Tx[]; free: Tx[] } {
    if (!this.opts.isPriority) return { priority: this.list(), free: [] };
    const bySender = new Map<string, boolean>();
    const priority: Tx[] = [];
    const free: Tx[] = [];
    for (const tx of this.pending.values()) {
      let p = bySender.get(tx.fromHex);
      if (p === undefined) bySender.set(tx.fromHex, (p = this.priority(tx)));
      (p ? priority : free).push(tx);
    }
    return { priority, free };
  }

  private remove(hashHex: string): void {
    this.pending.delete(hashHex);
    this.freePending.delete(hashHex);
  }

  /** Judges the chains of `host`'s partitions there from now on (the pending ones move there). */
  attach(host: SpeculationHost): Promise<void> {
    return this.inTurn(async () => {
      this.host = host;
      this.placeOf = new Array(CHAIN_COUNT).fill(-1);
      host.partitions.forEach((chains, p) => {
        for (const c of chains) this.placeOf[c] = p;
      });
      for (const [t, e] of (await this.rebuild(true)).values()) this.opts.onDrop?.(t, e);
    });
  }

  /**
   * Admits signature-checked transactions; one result each, in order: null (pending now) or the
   * LedgerError that refused it.
   */
  addMany(txs: readonly Tx[]): Promise<(LedgerError | null)[]> {
    return this.inTurn(() => this.judge(txs));
  }

  /** Admits a signature-checked transaction or throws a LedgerError saying why not. */
  async add(tx: Tx): Promise<void> {
    const [err] = await this.addMany([tx]);
    if (err) throw err;
  }

  /**
   * After a height commits: drop what it included and what a build refused, re-check the rest
   * on the new state (unless the kept state still holds, see above) and return those that no
   * longer apply, with the reason. `commit`, when given, commits the height to the ledger first,
   * in this call's turn: a batch being judged on other threads meanwhile would otherwise see the
   * new state (a rebuild for it would find the height's transactions used, yet still pending).
   */
  onCommit(included: Iterable<string>, refused: Iterable<string> = [], commit?: () => void): Promise<Map<string, [Tx, LedgerError]>> {
    const inc = [...included];
    const ref = [...refused];
    return this.inTurn(async () => {
      commit?.();
      let allPending = true;
      const gone: Tx[] = [];
      for (const h of inc) {
        const tx = this.pending.get(h);
        if (tx) gone.push(tx);
        else allPending = false;
        this.remove(h);
      }
      let anyRefused = false;
      for (const h of ref) {
        const tx = this.pending.get(h);
        if (!tx) continue;
        gone.push(tx);
        anyRefused = true;
        this.remove(h);
      }
      this.forgetRemote(gone);
      if (allPending && !anyRefused && !(this.spec instanceof LedgerError) && this.opts.now() - this.spec.time <= SPEC_MAX_AGE_MS) {
        this.stale = true;
        return new Map();
      }
      return this.rebuild();
    });
  }

  private inTurn<T>(work: () => Promise<T>): Promise<T> {
    const next = this.turn.then(work);
    this.turn = next.catch(() => {});
    return next;
  }

  private async judge(txs: readonly Tx[]): Promise<(LedgerError | null)[]> {
    const out: (LedgerError | null)[] = new Array(txs.length).fill(null);
    // Vesting releases and quota windows follow block time: judge by a recent clock.
    if (!(this.spec instanceof LedgerError) && this.opts.now() - this.spec.time > SPEC_MAX_AGE_MS) {
      for (const [t, e] of (await this.rebuild()).values()) this.opts.onDrop?.(t, e);
    }
    const seen = new Set<string>();
    // Slots are taken in order, as if one came at a time; one refused later gives its slot back
    // only to the next call (a batch is not re-planned around it).
    let room = this.opts.maxSize - this.pending.size;
    let freeRoom = this.maxFree - this.freePending.size;
    const judged: number[] = [];
    const isFree: boolean[] = new Array(txs.length).fill(false);
    txs.forEach((tx, i) => {
      if (this.pending.has(tx.hashHex) || seen.has(tx.hashHex)) out[i] = new LedgerError('DUPLICATE_TX', `transaction ${tx.hashHex} is already pending`);
      else if (room <= 0) out[i] = this.fullError();
      else if (this.spec instanceof LedgerError) out[i] = this.spec;
      else {
        isFree[i] = !this.priority(tx);
        if (isFree[i] && freeRoom <= 0) {
          out[i] = this.freeFullError();
          return;
        }
        seen.add(tx.hashHex);
        room--;
        if (isFree[i]) freeRoom--;
        judged.push(i);
      }
    });
    if (judged.length === 0) return out;
    const first = await this.apply(judged.map((i) => txs[i]));
    // At most one rebuild per commit: afterwards the state is fresh until the next one.
    const cut = this.stale ? first.findIndex((e) => e !== null) : -1;
    const kept = cut < 0 ? first.length : cut;
    for (let k = 0; k < kept; k++) this.settle(txs[judged[k]], first[k], out, judged[k], isFree[judged[k]]);
    if (cut < 0) return out;
    // Admitted after the cut on stale state: taken back, and judged again after the rebuild.
    this.forgetRemote(
      judged
        .slice(cut)
        .filter((_, k) => first[cut + k] === null)
        .map((i) => txs[i]),
    );
    for (const [t, e] of (await this.rebuild()).values()) this.opts.onDrop?.(t, e);
    const again = await this.apply(judged.slice(cut).map((i) => txs[i]));
    again.forEach((err, k) => this.settle(txs[judged[cut + k]], err, out, judged[cut + k], isFree[judged[cut + k]]));
    return out;
  }

  private settle(tx: Tx, err: LedgerError | null, out: (LedgerError | null)[], i: number, free: boolean): void {
    if (err) out[i] = err;
    else {
      this.pending.set(tx.hashHex, tx);
      if (free) this.freePending.add(tx.hashHex);
    }
  }

  /** Applies transactions to the speculative height, each where its chain is judged; one result each. */
  private async apply(txs: readonly Tx[]): Promise<(LedgerError | null)[]> {
    const spec = this.spec;
    if (spec instanceof LedgerError) return txs.map(() => spec);
    const out: (LedgerError | null)[] = new Array(txs.length).fill(null);
    const host = this.host;
    const remote: number[][] = host ? host.partitions.map(() => []) : [];
    txs.forEach((tx, i) => {
      const p = this.placeOf[tx.chain];
      if (p < 0) out[i] = spec.tryApply(tx);
      else remote[p].push(i);
    });
    if (!host || remote.every((r) => r.length === 0)) return out;
    try {
      await Promise.all(
        remote.map(async (idx, p) => {
          if (idx.length === 0) return;
          const results = await host.specApply(p, packSegments([idx.map((i) => txs[i].bytes)]));
          idx.forEach((i, k) => {
            const r = results[k];
            out[i] = r ? new LedgerError(r.code, r.message) : null;
          });
        }),
      );
    } catch (e) {
      // The host's state is lost with it: this thread takes every chain back, rebuilt from what is pending.
      this.detach(e);
      for (const [t, err] of (await this.rebuild()).values()) this.opts.onDrop?.(t, err);
      return this.apply(txs);
    }
    return out;
  }

  private detach(e: unknown): void {
    if (!this.host) return;
    this.host = undefined;
    this.placeOf = new Array(CHAIN_COUNT).fill(-1);
    this.opts.onHostFailure?.(e instanceof Error ? e : new Error(String(e)));
  }

  /** Tells the partitions which of their pending transactions are pending no more. */
  private forgetRemote(txs: readonly Tx[]): void {
    const host = this.host;
    if (!host || txs.length === 0) return;
    const by: string[][] = host.partitions.map(() => []);
    for (const tx of txs) {
      const p = this.placeOf[tx.chain];
      if (p >= 0) by[p].push(tx.hashHex);
    }
    by.forEach((hashes, p) => hashes.length && host.specForget(p, hashes));
  }

  /**
   * A fresh speculative height with every pending transaction applied again in order: those that
   * no longer apply are dropped and returned. `moving`: the host was just attached, and the
   * partitions get their chains' pending transactions to apply.
   */
  private async rebuild(moving = false): Promise<Map<string, [Tx, LedgerError]>> {
    this.spec = this.begin();
    this.stale = false;
    const dropped = new Map<string, [Tx, LedgerError]>();
    // Pending transactions are not wrong for a halt: they stay (and, acknowledged, on disk for the restart).
    const spec = this.spec;
    if (spec instanceof LedgerError) return dropped;
    const host = this.host;
    const remote: Tx[][] = host ? host.partitions.map(() => []) : [];
    for (const tx of this.pending.values()) {
      const p = this.placeOf[tx.chain];
      if (p >= 0) remote[p].push(tx);
      else {
        const err = spec.tryApply(tx);
        if (err) dropped.set(tx.hashHex, [tx, err]);
      }
    }
    if (host) {
      try {
        await Promise.all(
          host.partitions.map(async (chains, p) => {
            const tip: SpecTip = {
              height: spec.height,
              tipTime: this.ledger.time,
              time: spec.time,
              prevHash: this.ledger.lastBlockHash.slice(),
              params: this.ledger.params,
              receipts: encodeReceipts(this.ledger.inFlight.filter((r) => chains.includes(receiptTarget(r)))),
            };
            for (const [hash, r] of await host.specBegin(p, tip)) {
              const tx = this.pending.get(hash);
              if (tx) dropped.set(hash, [tx, new LedgerError(r.code, r.message)]);
            }
            if (!moving || remote[p].length === 0) return;
            const results = await host.specApply(p, packSegments([remote[p].map((t) => t.bytes)]));
            results.forEach((r, k) => r && dropped.set(remote[p][k].hashHex, [remote[p][k], new LedgerError(r.code, r.message)]));
          }),
        );
      } catch (e) {
        this.detach(e);
        return this.rebuild();
      }
    }
    for (const h of dropped.keys()) this.remove(h);
    return dropped;
  }
}
