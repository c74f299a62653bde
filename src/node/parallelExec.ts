import { Worker } from 'node:worker_threads';
import {
  CHAIN_COUNT,
  executeBlockParallel,
  followMessages,
  partitionSnapshot,
  type Block,
  type ExecutedHeight,
  type FollowMessage,
  type Genesis,
  type KnownTxs,
  type Ledger,
  type PartitionExecutor,
  type PartitionJob,
  type PartitionReply,
  packSegments,
  type SpecRefusal,
  type SpecTip,
  type Tx,
} from '../ledger/index.ts';
import type { SpeculationHost } from './mempool.ts';

/** The first message a partition thread gets: which chains it keeps, and their committed state. */
export interface PartitionInit {
  readonly type: 'init';
  readonly genesis: Genesis;
  readonly chains: readonly number[];
  readonly snapshot: { chain: number; entries: Uint8Array }[];
}

export type PartitionRequest =
  | PartitionInit
  | { readonly type: 'execute'; readonly job: PartitionJob }
  /** Transactions to decode ahead of their block (packSegments, one segment). */
  | { readonly type: 'admit'; readonly txs: Uint8Array }
  | { readonly type: 'follow'; readonly follow: FollowMessage }
  /** The mempool's speculative height of the partition's chains (ChainPartition.specBegin and on). */
  | { readonly type: 'specBegin'; readonly tip: SpecTip }
  | { readonly type: 'specApply'; readonly txs: Uint8Array }
  | { readonly type: 'specForget'; readonly hashes: readonly string[] };

type PartitionAnswer =
  | { type: 'ready' }
  | { type: 'reply'; reply: PartitionReply; busyMs: number; cpuMs: number }
  | { type: 'specBegun'; dropped: [string, SpecRefusal][] }
  | { type: 'specApplied'; results: (SpecRefusal | null)[] }
  | { type: 'failed'; message: string };

/** Where the time of parallel jobs went (for the benchmark): totals since the executor started. */
export interface ParallelStats {
  jobs: number;
  /** Time the worker threads spent executing jobs, and their CPU time in it. */
  workerBusyMs: number;
  workerCpuMs: number;
  /** Time from posting a job to its reply, as the calling thread saw it. */
  roundTripMs: number;
  /** Bytes sent to workers (packed transactions and receipts) and back (packed writes, tree nodes, receipts). */
  bytesOut: number;
  bytesIn: number;
  /** Bytes of transactions handed over ahead of their blocks (`admit`). */
  bytesAdmitted: number;
  /** Transactions of jobs that a worker had decoded ahead, and those it decoded in the job. */
  txsDecodedAhead: number;
  txsDecodedInJob: number;
}

/**
 * How `threads` threads share the nine inner chains: chains are dealt round-robin into `threads`
 * shares, and the calling thread keeps main and the smallest share, each worker thread one of the
 * others. The calling thread takes the smaller share because it has more to do than its chains: it
 * finds each transaction of the block in the mempool, merges what the workers send back and
 * commits the height (bench/ledgerThreads.ts measures both threads' CPU time).
 */
export function partitionChains(threads: number): number[][] {
  const groups: number[][] = Array.from({ length: Math.max(1, Math.min(threads, CHAIN_COUNT - 1)) }, () => []);
  for (let c = 1; c < CHAIN_COUNT; c++) groups[(c - 1) % groups.length].push(c);
  // Round-robin makes the first shares the largest: the last one stays here.
  return groups.slice(0, -1);
}

/**
 * Executes received blocks with the inner chains split across worker threads (see
 * src/ledger/parallel.ts). Each worker keeps a replica of its chains and of main, started from the
 * ledger's committed state and moved along by every commit (the ledger's `onCommit`), whichever
 * way the height was executed (built here sequentially, or executed in parallel).
 */
export class ParallelExecutor implements PartitionExecutor, SpeculationHost {
  readonly partitions: number[][];
  private readonly ledger: Ledger;
  private readonly workers: Worker[] = [];
  private readonly waiting: ((a: PartitionAnswer) => void)[][] = [];
  private broken: Error | undefined;
  readonly stats: ParallelStats = {
    jobs: 0,
    workerBusyMs: 0,
    workerCpuMs: 0,
    roundTripMs: 0,
    bytesOut: 0,
    bytesIn: 0,
    bytesAdmitted: 0,
    txsDecodedAhead: 0,
    txsDecodedInJob: 0,
  };

  private constructor(ledger: Ledger, threads: number) {
    this.ledger = ledger;
    this.partitions = partitionChains(threads);
  }

  /** Starts `threads - 1` worker threads (the calling thread is one of the `threads`) on `ledger`'s committed state. */
  static async start(ledger: Ledger, threads: number): Promise<ParallelExecutor> {
    const ex = new ParallelExecutor(ledger, threads);
    await Promise.all(
      ex.partitions.map((chains, p) => {
        const w = new Worker(new URL('./partitionWorker.ts', import.meta.url));
        w.unref();
        ex.workers.push(w);
        ex.waiting.push([]);
        w.on('message', (a: PartitionAnswer) => {
          if (a.type === 'failed') ex.fail(new Error(`partition thread ${p} (chains ${chains.join(',')}) failed: ${a.message}`));
          else ex.waiting[p].shift()?.(a);
        });
        w.on('error', (e: Error) => ex.fail(e));
        const init: PartitionInit = { type: 'init', genesis: ledger.genesis, chains, snapshot: partitionSnapshot(ledger, chains) };
        return ex.ask(
          p,
          init,
          init.snapshot.map((s) => s.entries.buffer as ArrayBuffer),
        );
      }),
    );
    ledger.onCommit = (executed) => ex.follow(executed);
    return ex;
  }

  private fail(e: Error): void {
    this.broken ??= e;
    for (const q of this.waiting) for (const resolve of q.splice(0)) resolve({ type: 'failed', message: e.message });
  }

  private ask(p: number, m: PartitionRequest, transfer: ArrayBuffer[] = []): Promise<PartitionAnswer> {
    if (this.broken) return Promise.reject(this.broken);
    return new Promise((resolve, reject) => {
      this.waiting[p].push((a) => (a.type === 'failed' ? reject(new Error(a.message)) : resolve(a)));
      this.workers[p].postMessage(m, transfer);
    });
  }

  async execute(partition: number, job: PartitionJob): Promise<PartitionReply> {
    const start = performance.now();
    this.stats.bytesOut += job.txs.length + job.receipts.length;
    const a = await this.ask(partition, { type: 'execute', job }, [job.txs.buffer as ArrayBuffer, job.receipts.buffer as ArrayBuffer]);
    if (a.type !== 'reply') throw new Error(`partition thread ${partition} answered ${a.type} to a job`);
    this.stats.jobs++;
    this.stats.roundTripMs += performance.now() - start;
    this.stats.workerBusyMs += a.busyMs;
    this.stats.workerCpuMs += a.cpuMs;
    let txs = 0;
    for (const c of a.reply.chains) {
      this.stats.bytesIn += c.staged.writes.length + c.staged.nodes.length + c.receipts.length;
      txs += c.decoded;
    }
    this.stats.txsDecodedAhead += a.reply.decodedAhead;
    this.stats.txsDecodedInJob += txs - a.reply.decodedAhead;
    return a.reply;
  }

  /**
   * Hands the worker threads the transactions a mempool just admitted, each to the thread that runs
   * its chain, to decode while they wait for a block (the calling thread's mempool has its own
   * decoded copies): executing a block then finds them decoded there too. Fire and forget.
   */
  admit(txs: readonly Tx[]): void {
    if (this.broken || txs.length === 0) return;
    this.partitions.forEach((chains, p) => {
      const mine = txs.filter((t) => chains.includes(t.chain)).map((t) => t.bytes);
      if (mine.length === 0) return;
      const packed = packSegments([mine]);
      this.stats.bytesAdmitted += packed.length;
      this.workers[p].postMessage({ type: 'admit', txs: packed } satisfies PartitionRequest, [packed.buffer as ArrayBuffer]);
    });
  }

  // The mempool's speculative height of each partition's chains lives on its thread too (SpeculationHost).

  async specBegin(partition: number, tip: SpecTip): Promise<[string, SpecRefusal][]> {
    const a = await this.ask(partition, { type: 'specBegin', tip });
    if (a.type !== 'specBegun') throw new Error(`partition thread ${partition} answered ${a.type} to specBegin`);
    return a.dropped;
  }

  async specApply(partition: number, txs: Uint8Array): Promise<(SpecRefusal | null)[]> {
    this.stats.bytesAdmitted += txs.length;
    const a = await this.ask(partition, { type: 'specApply', txs }, [txs.buffer as ArrayBuffer]);
    if (a.type !== 'specApplied') throw new Error(`partition thread ${partition} answered ${a.type} to specApply`);
    return a.results;
  }

  specForget(partition: number, hashes: readonly string[]): void {
    if (this.broken) return;
    this.workers[partition].postMessage({ type: 'specForget', hashes } satisfies PartitionRequest);
  }

  /** Executes a received block (as `Ledger.executeBlock` does) with the partitions on their threads. */
  executeBlock(block: Block, verifySignatures = true, known: KnownTxs = {}): Promise<ExecutedHeight> {
    return executeBlockParallel(this.ledger, block, this, verifySignatures, known);
  }

  private follow(executed: ExecutedHeight): void {
    if (this.broken) return;
    followMessages(executed, this.partitions).forEach((follow, p) => {
      // Each partition's own chains' changes move to its thread; main's change, sent to all, is copied.
      const own = follow.type === 'apply' ? follow.chains.flatMap((c) => [c.writes.buffer, c.nodes.buffer] as ArrayBuffer[]) : [];
      this.workers[p].postMessage({ type: 'follow', follow } satisfies PartitionRequest, own);
    });
  }

  /** Each worker thread's CPU time so far, in ms: jobs, and what a job's time leaves out (following commits, admitting). */
  async threadCpuMs(): Promise<number[]> {
    return Promise.all(
      this.workers.map(async (w) => {
        const u = await w.cpuUsage();
        return (u.user + u.system) / 1000;
      }),
    );
  }

  async close(): Promise<void> {
    if (this.ledger.onCommit) this.ledger.onCommit = undefined;
    // Whoever still waits for an answer (the mempool) hears that none will come.
    this.fail(new Error('the execution threads were closed'));
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
