// The transfer load of the consensus benchmarks (bench/consensus.ts on a loopback devnet,
// bench/network.ts on separate network hosts and on loopback): transfers signed in advance, offered
// open-loop at each phase's rate over the nodes' APIs, and the time each one committed, taken from
// the block events of one node. How the requests reach the nodes is the caller's (a LoadTransport):
// fetch from this process, or a client agent inside a host's namespace.
import { createHash } from 'node:crypto';
import { type KeyPair, toHex } from '../src/crypto/index.ts';
import { signTx, TxKind, ZNC } from '../src/ledger/index.ts';
import { percentile } from './machine.ts';
import { ZeusClient } from '../src/sdk/index.ts';
import { encodeTxBatch } from '../src/sdk/txBatch.ts';

export interface Phase {
  rate: number;
  seconds: number;
  kind: string;
}

export interface Offered {
  hash: string;
  hex: string;
  node: number;
  /** When the open-loop schedule offers it (ms after the run's start). */
  at: number;
  phase: number;
}

/** What the load needs from the nodes. */
export interface LoadTransport {
  /** POST /txs {txs} to node `node`; the parsed answer, or a throw when the node does not answer. */
  postTxs(node: number, hexes: string[]): Promise<{ results: { error?: { code: string } }[] }>;
  /** Block events (`/ws?events=block`) of the node whose commits are timed. */
  watchBlocks(onBlock: (e: { type: string; height: number; txCounts: number[] }) => void): Promise<{ close: () => void }>;
  /** The hashes of every transaction of a committed height (GET /blocks/H). */
  blockTxs(height: number): Promise<string[]>;
}

/**
 * Signs every transfer of every phase in advance: senders take turns, a sender always uses the same
 * node (so its nonces arrive in order), amounts differ so no two transfers are the same bytes.
 */
export function signLoad(o: { keys: KeyPair[]; chainId: string; phases: Phase[]; nodes: number; recipients: Uint8Array[]; firstNonce?: bigint }): Offered[] {
  const offered: Offered[] = [];
  const nonces = new Array<bigint>(o.keys.length).fill(o.firstNonce ?? 0n);
  let t0 = 0;
  o.phases.forEach((p, phase) => {
    const n = p.rate * p.seconds;
    for (let i = 0; i < n; i++) {
      const k = offered.length;
      const s = k % o.keys.length;
      const bytes = signTx(o.keys[s], {
        chainId: o.chainId,
        kind: TxKind.Transfer,
        nonce: nonces[s]++,
        payload: { to: o.recipients[k % o.recipients.length], token: ZNC, amount: 1_000n + BigInt(k), memo: '' },
      });
      offered.push({ hash: createHash('sha256').update(bytes).digest('hex'), hex: toHex(bytes), node: s % o.nodes, at: t0 + (i * 1000) / p.rate, phase });
    }
    t0 += p.seconds * 1000;
  });
  return offered;
}

export interface LoadRun {
  /** performance.now() when the schedule started. */
  start: number;
  /** performance.now() at the block event that committed each transfer, by hash. */
  commitAt: Map<string, number>;
  /** Transfers a node refused, by error code (UNREACHABLE: the node did not answer). */
  refused: Record<string, number>;
  retriedAfterMempoolFull: number;
}

const TICK_MS = 20;

/**
 * Offers `offered` on schedule (every tick, what is due; each node gets its batches in order,
 * MEMPOOL_FULL is retried), then waits up to `drainMs` for the rest to commit.
 */
export async function runLoad(o: {
  offered: Offered[];
  phases: Phase[];
  nodes: number;
  transport: LoadTransport;
  log: (s: string) => void;
  drainMs?: number;
}): Promise<LoadRun> {
  const { offered, phases, transport, log } = o;
  const commitAt = new Map<string, number>();
  const fetches: Promise<void>[] = [];
  const watch = await transport.watchBlocks((e) => {
    if (e.type !== 'block' || e.txCounts.every((c) => c === 0)) return;
    const t = performance.now();
    fetches.push(
      transport.blockTxs(e.height).then((hashes) => {
        for (const h of hashes) commitAt.set(h, t);
      }),
    );
  });

  const queues: Promise<void>[] = Array.from({ length: o.nodes }, () => Promise.resolve());
  const refused: Record<string, number> = {};
  let retried = 0;
  const post = async (node: number, batch: Offered[]): Promise<void> => {
    let todo = batch;
    while (todo.length > 0) {
      let j: { results: { error?: { code: string } }[] };
      try {
        j = await transport.postTxs(
          node,
          todo.map((x) => x.hex),
        );
      } catch (e) {
        // A node that stops answering is a result, not a crash of the benchmark.
        refused.UNREACHABLE = (refused.UNREACHABLE ?? 0) + todo.length;
        log(`  node${node} did not answer: ${(e as Error).message}`);
        return;
      }
      const again: Offered[] = [];
      j.results.forEach((r, i) => {
        if (!r.error) return;
        if (r.error.code === 'MEMPOOL_FULL') again.push(todo[i]);
        else refused[r.error.code] = (refused[r.error.code] ?? 0) + 1;
      });
      if (again.length > 0) {
        retried += again.length;
        await new Promise((r) => setTimeout(r, 50));
      }
      todo = again;
    }
  };
  const start = performance.now();
  let next = 0;
  log(`offering load: ${phases.map((p) => `${p.rate}/s for ${p.seconds} s`).join(', ')}`);
  let lastReport = 0;
  while (next < offered.length) {
    const now = performance.now() - start;
    const due: Offered[][] = Array.from({ length: o.nodes }, () => []);
    while (next < offered.length && offered[next].at <= now) due[offered[next].node].push(offered[next++]);
    due.forEach((batch, node) => {
      if (batch.length > 0) queues[node] = queues[node].then(() => post(node, batch));
    });
    if (now - lastReport > 5000) {
      lastReport = now;
      const phase = offered[Math.min(next, offered.length - 1)].phase;
      log(`  ${(now / 1000).toFixed(0)} s: offered ${next}, committed ${commitAt.size} (phase ${phase}: ${phases[phase].rate}/s)`);
    }
    await new Promise((r) => setTimeout(r, TICK_MS));
  }
  await Promise.all(queues);
  const deadline = Date.now() + (o.drainMs ?? 60_000);
  const expected = offered.length - Object.values(refused).reduce((a, b) => a + b, 0);
  while (commitAt.size < expected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  await Promise.all(fetches);
  watch.close();
  return { start, commitAt, refused, retriedAfterMempoolFull: retried };
}

export interface PhaseResult {
  kind: string;
  offeredPerSecond: number;
  seconds: number;
  /** Commits whose block event fell inside the phase's window, per second. */
  committedPerSecond: number;
  committed: number;
  offered: number;
  /** From a transfer's scheduled offer to the block event that committed it. */
  finalityMs: { p50: number; p99: number; max: number };
}

export function phaseResults(phases: Phase[], offered: Offered[], run: LoadRun): PhaseResult[] {
  const { start, commitAt } = run;
  return phases.map((p, phase) => {
    const mine = offered.filter((x) => x.phase === phase);
    const from = mine[0].at;
    const to = from + p.seconds * 1000;
    const inWindow = [...commitAt.values()].filter((t) => t - start >= from && t - start < to).length;
    const lat = mine
      .filter((x) => commitAt.has(x.hash))
      .map((x) => commitAt.get(x.hash)! - start - x.at)
      .sort((a, b) => a - b);
    return {
      kind: p.kind,
      offeredPerSecond: p.rate,
      seconds: p.seconds,
      committedPerSecond: Math.round(inWindow / p.seconds),
      committed: lat.length,
      offered: mine.length,
      finalityMs: { p50: Math.round(percentile(lat, 50)), p99: Math.round(percentile(lat, 99)), max: Math.round(lat.at(-1) ?? 0) },
    };
  });
}

/**
 * Submission over one WebSocket per node (the SDK's openSubmitter: binary TxFrames, a few in
 * flight), what a client with a steady stream of transactions uses; block events and block reads
 * as fetchTransport. `close()` ends the sockets.
 */
export function socketTransport(apis: string[], watched = 0): LoadTransport & { close: () => void } {
  const submitters = apis.map((api) => new ZeusClient(api).openSubmitter());
  const http = fetchTransport(apis, watched);
  return {
    ...http,
    postTxs: async (node, hexes) => {
      await submitters[node].ready;
      const results = await submitters[node].submit(hexes.map((h) => Buffer.from(h, 'hex')));
      return { results: results.map((r) => ('error' in r ? { error: { code: r.error.code } } : {})) };
    },
    close: () => {
      for (const s of submitters) s.close();
    },
  };
}

/** Requests straight from this process (nodes this namespace reaches: a loopback devnet). */
export function fetchTransport(apis: string[], watched = 0, encoding: 'binary' | 'json' = 'binary'): LoadTransport {
  return {
    postTxs: async (node, hexes) => {
      // Binary is what the SDK sends (a TxBatch of the signed bytes); JSON is the path for people and scripts.
      const res =
        encoding === 'binary'
          ? await fetch(`${apis[node]}/txs`, {
              method: 'POST',
              headers: { 'content-type': 'application/octet-stream' },
              body: encodeTxBatch(hexes.map((h) => Buffer.from(h, 'hex'))),
            })
          : await fetch(`${apis[node]}/txs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ txs: hexes }) });
      return (await res.json()) as { results: { error?: { code: string } }[] };
    },
    watchBlocks: async (onBlock) => {
      const ws = new WebSocket(`${apis[watched].replace(/^http/, 'ws')}/ws?events=block`);
      await new Promise((r) => ws.addEventListener('open', r, { once: true }));
      ws.addEventListener('message', (msg: MessageEvent) => onBlock(JSON.parse(String(msg.data))));
      return { close: () => ws.close() };
    },
    blockTxs: async (height) => {
      const b = (await (await fetch(`${apis[watched]}/blocks/${height}`)).json()) as { txs: string[][] };
      return b.txs.flat();
    },
  };
}
