import { parentPort } from 'node:worker_threads';
import { ChainPartition, type FollowMessage, type PartitionJob } from '../ledger/index.ts';
import type { PartitionInit, PartitionRequest } from './parallelExec.ts';

// A worker thread that keeps a replica of some inner chains (ChainPartition) and executes their
// segments of each height; all the logic is the ledger's, this file only moves messages.

let partition: ChainPartition | undefined;

parentPort!.on('message', (m: PartitionRequest) => {
  try {
    if (m.type === 'init') {
      const init: PartitionInit = m;
      partition = new ChainPartition(init.genesis, init.chains);
      for (const s of init.snapshot) partition.load(s.chain, s.entries);
      parentPort!.postMessage({ type: 'ready' });
    } else if (m.type === 'execute') {
      const job: PartitionJob = m.job;
      const start = performance.now();
      const cpu = process.threadCpuUsage();
      const reply = partition!.execute(job);
      const busyMs = performance.now() - start;
      const used = process.threadCpuUsage(cpu);
      const cpuMs = (used.user + used.system) / 1000;
      const buffers = reply.chains.flatMap((c) => [c.staged.writes.buffer, c.staged.nodes.buffer, c.receipts.buffer]) as ArrayBuffer[];
      parentPort!.postMessage({ type: 'reply', reply, busyMs, cpuMs }, [...new Set(buffers)]);
    } else if (m.type === 'admit') {
      partition!.admit(m.txs);
    } else if (m.type === 'specBegin') {
      parentPort!.postMessage({ type: 'specBegun', dropped: partition!.specBegin(m.tip) });
    } else if (m.type === 'specApply') {
      parentPort!.postMessage({ type: 'specApplied', results: partition!.specApply(m.txs) });
    } else if (m.type === 'specForget') {
      partition!.specForget(m.hashes);
    } else {
      const follow: FollowMessage = m.follow;
      partition!.follow(follow);
    }
  } catch (e) {
    // The replica cannot go on (a bug, or a message out of order): the pool fails every open job and stops using it.
    parentPort!.postMessage({ type: 'failed', message: e instanceof Error ? (e.stack ?? e.message) : String(e) });
  }
});
