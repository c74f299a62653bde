import { writeFileSync } from 'node:fs';
import type { BlocksAnswer, HaltAnswer, SegmentAnswer, StatusAnswer, SupplyAnswer, TaskAtHeightAnswer, TasksAnswer, TxAnswer } from '../../src/sdk/index.ts';
import type { History, HistoryHeader } from './history.ts';

// The nodes' final state after a fault run (issue 16): what the checker (checker.ts) compares the
// history with, read over each node's public HTTP API only, as a user could, and written to a JSON
// file beside the history so that a verdict can be recomputed later from the two files.
//
// Per node: its status (height, in-flight receipts, halt), its supply report, every workload
// account's ZNC balance, and the hash and time of every block it holds in the range. From one node
// (the one holding the most of the range, see txSource, unless told otherwise) also the committed transactions, decoded from
// the blocks' segments, and the market tasks of the workload. Block hashes come from every node:
// one hash per height everywhere is the no-fork check, and equal hashes mean equal contents, so
// reading the transactions once suffices (when hashes differ the fork is the finding).
//
// Bounded: block headers are read 100 a page (GET /blocks?from=&limit=100), a segment only when it
// holds transactions (GET /blocks/:h/chains/:c), with at most `concurrency` requests in flight.

/** GET `path` from the node whose API is `node` (a base URL); resolves the parsed JSON body of a 200, throws otherwise. */
export type Getter = (node: string, path: string) => Promise<unknown>;

export interface FinalBlock {
  height: number;
  hash: string;
  /** Block time (ms): the proposer's clock. */
  time: number;
  txCount: number;
}

/** A committed transaction as the checker needs it; transfer fields only for Transfer. */
export interface CommittedTx {
  hash: string;
  height: number;
  chain: number;
  index: number;
  /** TxKind name, e.g. "Transfer", "PostTask". */
  kind: string;
  from: string;
  to?: string;
  token?: string;
  amount?: string;
  memo?: string;
  /** The task a market transaction names (hex id), when its payload has one. */
  task?: string;
}

export interface FinalLease {
  index: number;
  state: string;
  held: string;
  feeHeld: string;
}

export interface FinalTask {
  id: string;
  state: string;
  owner: string;
  escrow: string;
  feeEscrow: string;
  held: string;
  feeHeld: string;
  leases: FinalLease[];
}

export interface NodeFinal {
  /** The node's API URL. */
  node: string;
  /** Set when the node could not be read (down, unreachable): nothing else is then present. */
  error?: string;
  /** /status before the balances and supply were read, and after. */
  height: number;
  heightAfter: number;
  time: number;
  lastBlockHash: string;
  receiptsInFlight: number;
  mempool: number;
  halted: HaltAnswer | null;
  supply: SupplyAnswer;
  /** Each workload account's ZNC balance (base units), read between `height` and `heightAfter`. */
  balances: Record<string, string>;
  /** Ascending by height, the blocks held in [fromHeight, heightAfter] (a pruned or state-synced node holds fewer). */
  blocks: FinalBlock[];
}

export interface FinalState {
  final: true;
  chainId: string;
  /** Wall clock (ms) when collection began and ended. */
  collectedAt: number;
  finishedAt: number;
  /** Whether every node showed no receipts in flight and an empty mempool before collection (see `settleMs`). */
  settled: boolean;
  fromHeight: number;
  nodes: NodeFinal[];
  /** The node the transactions and tasks were read from. */
  txsFrom: string;
  /** Committed transactions in [fromHeight, that node's heightAfter], in block order. */
  txs: CommittedTx[];
  /** The workload's tasks by id (tasks the history names and tasks its accounts own). */
  tasks: Record<string, FinalTask>;
}

export interface CollectOptions {
  get: Getter;
  /** API URLs of every node of the run (a node that cannot be read is recorded with its error). */
  nodes: string[];
  /** The history (or its header alone): its accounts' balances are read; a full history adds the tasks it names. */
  history: History | { header: HistoryHeader; records?: History['records'] };
  /** Where to write the JSON (omit to only return it). */
  file?: string;
  /** First height to read blocks from (default 1). */
  fromHeight?: number;
  /** Block headers per GET /blocks page (default 100, the API's most). */
  pageSize?: number;
  /** Requests in flight at once, over all nodes (default 6). */
  concurrency?: number;
  /** Wait up to this long for every node to show no receipts in flight and an empty mempool (default 15 s; 0: do not wait). */
  settleMs?: number;
  /** Read transactions and tasks from this node (default: the reachable node holding the most of the range, see txSource). */
  txsFrom?: string;
  /** Read task state (market workload; default: when the history names tasks or any account owns one). */
  tasks?: boolean;
}

/** A Getter over plain fetch (loopback, or any host this process can reach). */
export function httpGetter(timeoutMs = 10_000): Getter {
  return async (node, path) => {
    const r = await fetch(`${node}${path}`, { signal: AbortSignal.timeout(timeoutMs) });
    const text = await r.text();
    if (r.status !== 200) throw new Error(`GET ${node}${path} answered ${r.status}: ${text.slice(0, 300)}`);
    return JSON.parse(text) as unknown;
  };
}

/** Runs tasks with at most `n` in flight; rejects on the first failure after the rest settled. */
class Limiter {
  private active = 0;
  private readonly queue: (() => void)[] = [];
  private readonly n: number;
  constructor(n: number) {
    this.n = Math.max(1, n);
  }
  async run<T>(f: () => Promise<T>): Promise<T> {
    if (this.active >= this.n) await new Promise<void>((r) => this.queue.push(r));
    this.active++;
    try {
      return await f();
    } finally {
      this.active--;
      this.queue.shift()?.();
    }
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Reads the final state of every node (see the file's comment) and writes it to `o.file`. */
export async function collectFinalState(o: CollectOptions): Promise<FinalState> {
  const collectedAt = Date.now();
  const lim = new Limiter(o.concurrency ?? 6);
  const get = <T>(node: string, path: string): Promise<T> => lim.run(() => o.get(node, path) as Promise<T>);
  const accounts = Object.keys(o.history.header.balances);
  const fromHeight = Math.max(1, o.fromHeight ?? 1);

  const settled = await settle(o.nodes, (n) => get<StatusAnswer>(n, '/status'), o.settleMs ?? 15_000);

  const read = await Promise.all(
    o.nodes.map(async (node): Promise<{ final: NodeFinal; segments?: SegmentCounts }> => {
      try {
        return await readNode(node, get, accounts, fromHeight, Math.min(100, Math.max(1, o.pageSize ?? 100)));
      } catch (e) {
        return { final: { node, error: (e as Error).message } as NodeFinal };
      }
    }),
  );
  const nodes = read.map((r) => r.final);

  const readable = read.filter((r) => r.final.error === undefined);
  const chosen = o.txsFrom ?? txSource(readable.map((r) => r.final));
  const ref = readable.find((r) => r.final.node === chosen);
  const txs = ref ? await readTxs(ref.final.node, ref.segments ?? new Map(), get) : [];
  let tasks: Record<string, FinalTask> = {};
  const named = new Set((o.history.records ?? []).flatMap((r) => (r.task ? [r.task] : [])));
  for (const t of txs) if (t.task && named.size > 0) named.add(t.task);
  if (ref && o.tasks !== false) tasks = await readTasks(ref.final.node, get, accounts, named, o.tasks === true);

  const state: FinalState = {
    final: true,
    chainId: o.history.header.chainId,
    collectedAt,
    finishedAt: Date.now(),
    settled,
    fromHeight,
    nodes,
    txsFrom: ref?.final.node ?? '',
    txs,
    tasks,
  };
  if (o.file) writeFileSync(o.file, `${JSON.stringify(state)}\n`, { mode: 0o600 });
  return state;
}

/**
 * The node to read the committed transactions from: the one that holds the most of the range. A
 * node restored from a snapshot (state sync) or pruned holds no blocks below some height, and the
 * transactions in them would be missed; so the lowest first block first, then the furthest ahead.
 */
export function txSource(nodes: readonly NodeFinal[]): string | undefined {
  const first = (n: NodeFinal): number => n.blocks[0]?.height ?? Number.POSITIVE_INFINITY;
  let best: NodeFinal | undefined;
  for (const n of nodes) {
    if (n.error !== undefined) continue;
    if (!best || first(n) < first(best) || (first(n) === first(best) && n.heightAfter > best.heightAfter)) best = n;
  }
  return best?.node;
}

/** Polls until every readable node shows nothing in flight and nothing pending, or `ms` passed. */
async function settle(nodes: string[], status: (n: string) => Promise<StatusAnswer>, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    const s = await Promise.all(nodes.map((n) => status(n).catch(() => undefined)));
    const up = s.filter((x): x is StatusAnswer => x !== undefined);
    const quiet = up.length > 0 && up.every((x) => x.receiptsInFlight === 0 && x.mempool === 0 && BigInt(x.supply.inFlight) === 0n);
    const together = up.length > 0 && Math.max(...up.map((x) => x.height)) - Math.min(...up.map((x) => x.height)) <= 1;
    if (quiet && together) return true;
    if (Date.now() >= deadline) return false;
    await sleep(250);
  }
}

type Get = <T>(node: string, path: string) => Promise<T>;
/** Per height, the transaction count of each segment: which segments readTxs must fetch (not written to the file). */
type SegmentCounts = Map<number, number[]>;

async function readNode(
  node: string,
  get: Get,
  accounts: string[],
  fromHeight: number,
  pageSize: number,
): Promise<{ final: NodeFinal; segments: SegmentCounts }> {
  const before = await get<StatusAnswer>(node, '/status');
  const [supply, balances] = await Promise.all([
    get<SupplyAnswer>(node, '/supply'),
    Promise.all(accounts.map(async (a) => [a, (await get<{ znc: { balance: string } }>(node, `/accounts/${a}`)).znc.balance] as const)),
  ]);
  const after = await get<StatusAnswer>(node, '/status');
  const { blocks, segments } = await readBlocks(node, get, fromHeight, after.height, pageSize);
  const final: NodeFinal = {
    node,
    height: before.height,
    heightAfter: after.height,
    time: before.time,
    lastBlockHash: before.lastBlockHash,
    receiptsInFlight: before.receiptsInFlight,
    mempool: before.mempool,
    halted: before.halted,
    supply,
    balances: Object.fromEntries(balances),
    blocks,
  };
  return { final, segments };
}

/** Block headers in [lo, hi], `page` a page (newest first within a page), pages in parallel. */
async function readBlocks(node: string, get: Get, lo: number, hi: number, page: number): Promise<{ blocks: FinalBlock[]; segments: SegmentCounts }> {
  const pages: number[] = [];
  for (let top = hi; top >= lo; top -= page) pages.push(top);
  const got = await Promise.all(
    pages.map(async (top) => {
      const limit = Math.min(page, top - lo + 1);
      const a = await get<BlocksAnswer>(node, `/blocks?from=${top}&limit=${limit}`);
      return a.blocks.map((b) => ({ height: b.height, hash: b.hash, time: b.time, txCount: b.txCount, segments: b.segments.map((s) => s.txCount) }));
    }),
  );
  const byHeight = new Map<number, FinalBlock & { segments: number[] }>();
  for (const b of got.flat()) if (b.height >= lo && b.height <= hi) byHeight.set(b.height, b);
  const out = [...byHeight.values()].sort((a, b) => a.height - b.height);
  return {
    blocks: out.map(({ height, hash, time, txCount }) => ({ height, hash, time, txCount })),
    segments: new Map(out.filter((b) => b.txCount > 0).map((b) => [b.height, b.segments])),
  };
}

async function readTxs(node: string, counts: SegmentCounts, get: Get): Promise<CommittedTx[]> {
  const wanted: [number, number][] = [];
  for (const [h, segs] of counts) segs.forEach((c, chain) => c > 0 && wanted.push([h, chain]));
  const segs = await Promise.all(wanted.map(([h, c]) => get<SegmentAnswer>(node, `/blocks/${h}/chains/${c}`)));
  const out: CommittedTx[] = [];
  for (const s of segs) s.txs.forEach((t, index) => out.push(committedTx(t, s.height, s.chain, index)));
  out.sort((a, b) => a.height - b.height || a.chain - b.chain || a.index - b.index);
  return out;
}

function committedTx(t: TxAnswer, height: number, chain: number, index: number): CommittedTx {
  const p = t.payload;
  const str = (k: string): string | undefined => (typeof p[k] === 'string' ? (p[k] as string) : undefined);
  const c: CommittedTx = { hash: t.hash, height, chain, index, kind: t.kind, from: t.from };
  if (t.kind === 'Transfer') {
    c.to = str('to');
    c.token = str('token');
    c.amount = str('amount');
    c.memo = str('memo');
  }
  const task = str('task');
  if (task) c.task = task;
  return c;
}

/** The tasks the history names, and (when any or `always`) every task the workload accounts own. */
async function readTasks(node: string, get: Get, accounts: string[], named: Set<string>, always: boolean): Promise<Record<string, FinalTask>> {
  const ids = new Set(named);
  if (always || named.size > 0) {
    const owned = await Promise.all(accounts.map((a) => get<TasksAnswer>(node, `/tasks?owner=${a}&limit=1000`)));
    for (const t of owned.flatMap((x) => x.tasks)) ids.add(t.id);
  }
  const details = await Promise.all(
    [...ids].map(async (id) => {
      try {
        return await get<TaskAtHeightAnswer>(node, `/tasks/${id}`);
      } catch {
        return undefined; // a task named by a refused PostTask never existed
      }
    }),
  );
  const out: Record<string, FinalTask> = {};
  for (const t of details) {
    if (!t) continue;
    out[t.id] = {
      id: t.id,
      state: t.state,
      owner: t.owner,
      escrow: t.escrow,
      feeEscrow: t.feeEscrow,
      held: t.held,
      feeHeld: t.feeHeld,
      leases: t.leases.map((l) => ({ index: l.index, state: l.state, held: l.held, feeHeld: l.feeHeld })),
    };
  }
  return out;
}
