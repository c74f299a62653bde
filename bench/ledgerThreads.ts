// Execution alone, on 1, 2, … threads (npm run bench:ledger -- --threads 1,2): blocks of signed
// transfers are built once (most cross chains, so every height also applies the last one's
// receipts), then a fresh ledger executes and commits them all, with the signatures checked and
// the transactions decoded beforehand (as a node's mempool has done by the time a block arrives).
// One thread is sequential execution (Ledger.executeBlock); n threads run the inner chains on n - 1
// worker threads and the calling thread (src/node/parallelExec.ts). Best of `rounds`, wall time.
import { availableParallelism } from 'node:os';
import { addressFromPublicKey, generateKeyPair } from '../src/crypto/index.ts';
import { decodeTx, Ledger, signTx, TxKind, ZNC, ZNC_UNIT, type Block, type Certificate, type Genesis, type KnownTxs, type Tx } from '../src/ledger/index.ts';
import { commitExecuted, type TestChain } from '../src/ledger/testing.ts';
import { benchGenesis } from './ledgerExec.ts';
import { ParallelExecutor, partitionChains, type ParallelStats } from '../src/node/parallelExec.ts';

export interface ThreadPoint {
  threads: number;
  /** Inner chains per worker thread (the calling thread runs main and the rest). */
  partitions: number[][];
  seconds: number;
  transfersPerSecond: number;
  speedup: number;
  /** CPU time of the calling thread per block (main, its share of the inner chains, merging the workers' results); median of the rounds. */
  callingThreadCpuMsPerBlock: number;
  /** CPU time of one worker thread per block (the workers' total over their number); median of the rounds. */
  workerThreadCpuMsPerBlock?: number;
  /**
   * What the speedup would be on an otherwise idle machine: the 1-thread runs' CPU time per block over
   * the busiest thread's (calling thread, or the average worker), medians. A model, not a measurement: it
   * assumes the threads overlap fully; on a loaded machine it is the figure that the load moves least.
   */
  cpuBoundSpeedup: number;
  /**
   * CPU time of the whole process per block (every thread: the calling one, the workers, V8's helpers
   * for garbage collection and compilation); median of the rounds. Against the wall time it shows
   * how busy the machine's cores were: with 2 cores it cannot exceed 2 × the wall time per block.
   */
  processCpuMsPerBlock: number;
  /** Parallel runs only: a worker thread's whole CPU time per block (its jobs, following commits, admitting), median of the rounds. */
  workerThreadTotalCpuMsPerBlock?: number;
  /**
   * Parallel runs only: what running on these threads adds to the process's CPU time per block,
   * against the first thread count's (medians): 0.36 is 36 % more work for the same blocks.
   */
  processCpuOverhead?: number;
  /**
   * Parallel runs only: the most speedup this machine's cores allow at the measured CPU cost. A
   * block cannot take less wall time than the process's CPU time for it over the number of cores,
   * so the speedup is at most the first thread count's wall time per block over that (medians).
   * When this is below a goal, no scheduling of the same work can meet it here.
   */
  coresBoundSpeedup?: number;
  /** Parallel runs only, from the best run: where the time went, per block (worker figures summed over the workers). */
  perBlock?: {
    workerBusyMs: number;
    workerCpuMs: number;
    roundTripMs: number;
    bytesToWorkers: number;
    bytesFromWorkers: number;
    /** The workers' transactions found decoded ahead (admitted as a mempool admits them), and those decoded in the job. */
    txsDecodedAhead: number;
    txsDecodedInJob: number;
  };
}

export interface ScalingResult {
  /** Counted: the blocks after the warm-up ones. */
  transfers: number;
  blocks: number;
  warmupBlocks: number;
  transfersPerBlock: number;
  senders: number;
  rounds: number;
  curve: ThreadPoint[];
}

interface Workload {
  genesis: Genesis;
  blocks: { block: Block; certificate: Certificate }[];
  known: KnownTxs;
  txs: Tx[];
  transfers: number;
}

function workload(blocks: number, perBlock: number, senders: number): Workload {
  const { names, keys, genesis } = benchGenesis(senders, 100_000n * ZNC_UNIT, {
    freeQuota: Math.ceil((blocks * perBlock) / senders) + 1,
    maxTxsPerSegment: perBlock,
  });
  const t: TestChain = { ledger: Ledger.fromGenesis(genesis), genesis, keys, nonces: new Map() };
  const recipients = Array.from({ length: 5000 }, () => addressFromPublicKey(generateKeyPair().publicKey));
  const decoded = new Map<string, Tx>();
  const out: Workload['blocks'] = [];
  let i = 0;
  for (let b = 0; b < blocks; b++) {
    const exec = t.ledger.begin(t.ledger.time + 1000);
    for (let k = 0; k < perBlock; k++, i++) {
      const s = i % senders;
      const tx = decodeTx(
        signTx(keys[names[s]], {
          chainId: genesis.chainId,
          kind: TxKind.Transfer,
          nonce: BigInt(Math.floor(i / senders)),
          payload: { to: recipients[i % recipients.length], token: ZNC, amount: 1000n + BigInt(i), memo: '' },
        }),
      );
      const err = exec.tryApply(tx);
      if (err) throw new Error(`transfer refused while building: ${err.code} ${err.message}`);
      decoded.set(tx.hashHex, tx);
    }
    out.push(commitExecuted(t, exec.finish()));
  }
  return { genesis, blocks: out, known: { decoded: (h) => decoded.get(h), verified: (h) => decoded.has(h) }, txs: [...decoded.values()], transfers: i };
}

const threadCpuMs = (): number => {
  const u = process.threadCpuUsage();
  return (u.user + u.system) / 1000;
};

interface RunResult {
  seconds: number;
  /** CPU time of the calling thread over the run. */
  mainCpuMs: number;
  /** CPU time of the process over the run, every thread. */
  processCpuMs: number;
  /** The workers' whole CPU time over the run (average over the workers). */
  workerTotalCpuMs?: number;
  stats?: ParallelStats;
}

async function run(w: Workload, threads: number, warmup: number): Promise<RunResult> {
  const ledger = Ledger.fromGenesis(w.genesis);
  const executor = threads > 1 ? await ParallelExecutor.start(ledger, threads) : undefined;
  // As a node's mempool would have by the time the blocks arrive: the calling thread's copies are
  // decoded (w.known), and so are the worker threads' (admitted as the node admits them).
  executor?.admit(w.txs);
  try {
    // The first blocks warm the threads up (a node's threads live as long as the node; a new worker
    // thread starts with cold code) and are not counted.
    for (const { block, certificate } of w.blocks.slice(0, warmup)) {
      const executed = executor ? await executor.executeBlock(block, false, w.known) : ledger.executeBlock(block, false, w.known);
      ledger.commit(executed, block.header, certificate);
    }
    const stats0 = executor ? { ...executor.stats } : undefined;
    const workers0 = await executor?.threadCpuMs();
    const start = performance.now();
    const cpu0 = threadCpuMs();
    const process0 = process.cpuUsage();
    for (const { block, certificate } of w.blocks.slice(warmup)) {
      const t0 = performance.now();
      const c0 = threadCpuMs();
      const w0 = executor?.stats.workerCpuMs ?? 0;
      const executed = executor ? await executor.executeBlock(block, false, w.known) : ledger.executeBlock(block, false, w.known);
      const t1 = performance.now();
      ledger.commit(executed, block.header, certificate);
      if (process.env.ZEUS_BENCH_TRACE)
        process.stderr.write(
          `    block ${block.header.height}: execute ${(t1 - t0).toFixed(0)} ms, commit ${(performance.now() - t1).toFixed(0)} ms; CPU ms: calling thread ${(threadCpuMs() - c0).toFixed(0)}, workers ${((executor?.stats.workerCpuMs ?? 0) - w0).toFixed(0)}\n`,
        );
    }
    const seconds = (performance.now() - start) / 1000;
    const mainCpuMs = threadCpuMs() - cpu0;
    const p = process.cpuUsage(process0);
    const processCpuMs = (p.user + p.system) / 1000;
    if (!executor || !stats0 || !workers0) return { seconds, mainCpuMs, processCpuMs };
    const workers1 = await executor.threadCpuMs();
    const workerTotalCpuMs = workers1.reduce((sum, ms, i) => sum + ms - workers0[i], 0) / workers1.length;
    const s = executor.stats;
    const stats: ParallelStats = {
      jobs: s.jobs - stats0.jobs,
      workerBusyMs: s.workerBusyMs - stats0.workerBusyMs,
      workerCpuMs: s.workerCpuMs - stats0.workerCpuMs,
      roundTripMs: s.roundTripMs - stats0.roundTripMs,
      bytesOut: s.bytesOut - stats0.bytesOut,
      bytesIn: s.bytesIn - stats0.bytesIn,
      bytesAdmitted: s.bytesAdmitted - stats0.bytesAdmitted,
      txsDecodedAhead: s.txsDecodedAhead - stats0.txsDecodedAhead,
      txsDecodedInJob: s.txsDecodedInJob - stats0.txsDecodedInJob,
    };
    return { seconds, mainCpuMs, processCpuMs, workerTotalCpuMs, stats };
  } finally {
    await executor?.close();
  }
}

export async function executionScaling(
  threadCounts: number[],
  opts: { blocks?: number; warmup?: number; perBlock?: number; senders?: number; rounds?: number; log?: (s: string) => void } = {},
): Promise<ScalingResult> {
  const blocks = opts.blocks ?? 8;
  const warmup = opts.warmup ?? 3;
  const perBlock = opts.perBlock ?? 5000;
  const senders = opts.senders ?? 1800;
  const rounds = opts.rounds ?? 3;
  const log = opts.log ?? (() => {});
  log(`building ${warmup} + ${blocks} blocks of ${perBlock} transfers from ${senders} senders…`);
  const w = workload(warmup + blocks, perBlock, senders);
  const timed = blocks * perBlock;
  const best = new Map<number, RunResult>();
  const all = new Map<number, RunResult[]>(threadCounts.map((n) => [n, []]));
  // Rounds interleave the thread counts, so a change in the machine's load falls on all of them alike.
  for (let r = 0; r < rounds; r++) {
    for (const threads of threadCounts) {
      const res = await run(w, threads, warmup);
      log(
        `  round ${r + 1}, ${threads} thread(s): ${res.seconds.toFixed(3)} s, ${Math.round(timed / res.seconds)} transfers/s; per block: wall ${((1000 * res.seconds) / blocks).toFixed(0)} ms, CPU ms: calling thread ${(res.mainCpuMs / blocks).toFixed(0)}, workers' jobs ${((res.stats?.workerCpuMs ?? 0) / blocks).toFixed(0)}, a worker in all ${((res.workerTotalCpuMs ?? 0) / blocks).toFixed(0)}, process ${(res.processCpuMs / blocks).toFixed(0)}`,
      );
      all.get(threads)!.push(res);
      const prev = best.get(threads);
      if (!prev || res.seconds < prev.seconds) best.set(threads, res);
    }
  }
  const base = best.get(threadCounts[0])!.seconds;
  // CPU figures are medians over the rounds: the load moves them less than wall time, but it moves them.
  const median = (xs: number[]): number => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const mainCpu = (n: number): number => median(all.get(n)!.map((r) => r.mainCpuMs));
  const workerCpu = (n: number): number => median(all.get(n)!.map((r) => (r.stats?.workerCpuMs ?? 0) / Math.max(1, n - 1)));
  const baseCpu = mainCpu(threadCounts[0]);
  const processCpu = (n: number): number => median(all.get(n)!.map((r) => r.processCpuMs));
  const wall = (n: number): number => median(all.get(n)!.map((r) => r.seconds * 1000));
  const curve = threadCounts.map((threads): ThreadPoint => {
    const { seconds, stats } = best.get(threads)!;
    return {
      threads,
      partitions: threads > 1 ? partitionChains(threads) : [],
      seconds: Number(seconds.toFixed(3)),
      transfersPerSecond: Math.round(timed / seconds),
      speedup: Number((base / seconds).toFixed(2)),
      callingThreadCpuMsPerBlock: Number((mainCpu(threads) / blocks).toFixed(1)),
      ...(threads > 1 ? { workerThreadCpuMsPerBlock: Number((workerCpu(threads) / blocks).toFixed(1)) } : {}),
      cpuBoundSpeedup: Number((baseCpu / Math.max(mainCpu(threads), workerCpu(threads))).toFixed(2)),
      processCpuMsPerBlock: Number((processCpu(threads) / blocks).toFixed(1)),
      ...(threads > 1
        ? {
            processCpuOverhead: Number((processCpu(threads) / processCpu(threadCounts[0]) - 1).toFixed(2)),
            coresBoundSpeedup: Number((wall(threadCounts[0]) / (processCpu(threads) / availableParallelism())).toFixed(2)),
          }
        : {}),
      ...(threads > 1 ? { workerThreadTotalCpuMsPerBlock: Number((median(all.get(threads)!.map((r) => r.workerTotalCpuMs ?? 0)) / blocks).toFixed(1)) } : {}),
      ...(stats
        ? {
            perBlock: {
              workerBusyMs: Number((stats.workerBusyMs / blocks).toFixed(1)),
              workerCpuMs: Number((stats.workerCpuMs / blocks).toFixed(1)),
              roundTripMs: Number((stats.roundTripMs / blocks).toFixed(1)),
              bytesToWorkers: Math.round(stats.bytesOut / blocks),
              bytesFromWorkers: Math.round(stats.bytesIn / blocks),
              txsDecodedAhead: Math.round(stats.txsDecodedAhead / blocks),
              txsDecodedInJob: Math.round(stats.txsDecodedInJob / blocks),
            },
          }
        : {}),
    };
  });
  return { transfers: timed, blocks, warmupBlocks: warmup, transfersPerBlock: perBlock, senders, rounds, curve };
}
