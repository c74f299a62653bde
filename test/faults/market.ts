import { type KeyPair, toHex } from '../../src/crypto/index.ts';
import { taskIdFor, ZNC_UNIT } from '../../src/ledger/index.ts';
import { type PostTaskSpec, Tx } from '../../src/sdk/index.ts';
import { sleep } from '../helpers/processes.ts';
import type { HistoryRecord, HistoryWriter } from './history.ts';
import { clientSeed, count, emptyCounts, type Endpoint, httpVia, invoke, openHistory, pacer, readNonce, Rng, Signer, type WorkloadCounts } from './workload.ts';

// The market workload of a fault run (issue 16): the user side of the compute market. Each client
// is a user (its own key, its own node) that posts small batch tasks and now and then cancels one
// it posted; the worker agents, on their own hosts, bid, start leases, report usage and submit
// results by themselves — their transactions are theirs, not the workload's. The history records
// the users' post-task and cancel-task operations with the task id (known before posting: it is
// derived from the transaction's hash); the tasks' final states and escrow are the checker's to
// read from the nodes (finalState.ts).

/** What every task of the run asks for (an app published before the run). */
export interface MarketTask {
  app: string;
  version: string;
  runtime: 'wasm' | 'docker';
  /** Default 500 millicores, 64 MiB, at most 1 ZNC per hour (what `zeus task post --max-price 1` offers), 1 hour, 10 blocks of bidding. */
  cpuMillis?: number;
  memoryMiB?: number;
  maxPricePerHour?: bigint;
  maxHours?: number;
  bidWindowBlocks?: number;
  /**
   * New bid windows a task gets when a lease fails (a worker killed mid-lease stops reporting): its
   * slot reopens for another worker (default 2). A first window with no bid at all expires the task.
   */
  retries?: number;
}

/** One intended market operation: post a task, or cancel one of those posted (which is drawn when it is invoked). */
export interface IntendedMarketOp {
  op: string;
  kind: 'post-task' | 'cancel-task';
  /** For a cancel: which of the client's live tasks, as a fraction of their count. */
  pick: number;
}

/** A client's intended operations: a post, or with `cancelChance` a cancel (a post while nothing is left to cancel). */
export function* intendedMarketOps(o: { seed: number; client: number; name: string; cancelChance: number }): Generator<IntendedMarketOp> {
  const rng = new Rng(clientSeed(o.seed, 1000 + o.client));
  for (let n = 0; ; n++) {
    const cancel = rng.next() < o.cancelChance;
    yield { op: `${o.name}.${n}`, kind: cancel ? 'cancel-task' : 'post-task', pick: rng.next() };
  }
}

/** A task the workload posted, with what became of its post (and of a cancel of it). */
export interface PostedTask {
  id: string;
  op: string;
  client: string;
  outcome: HistoryRecord['outcome'];
  cancel?: { op: string; outcome: HistoryRecord['outcome']; code?: string };
}

export interface MarketOptions {
  chainId: string;
  /** One client per entry: a user (its key) posting to its own node. Names default to market-c<i>. */
  clients: (Endpoint & { user: KeyPair; name?: string })[];
  task: MarketTask;
  seed: number;
  /** Operations per minute over all clients (default 12). */
  opsPerMinute?: number;
  /** Chance that an operation is a cancel (default 0.25). */
  cancelChance?: number;
  /** Posts no more tasks after this many over all clients (cancels go on); default unlimited. */
  maxTasks?: number;
  /** An operation with no final answer this long after invocation is unknown (default 15 s). */
  opTimeoutMs?: number;
  pollMs?: number;
  /** A history file to create (its header: the users' balances), or a writer shared with the bank workload (its header must hold the users). */
  history: string | HistoryWriter;
}

/** The market workload: `start()`, then `stop()`, which waits for the operations in flight and returns the counts. */
export class MarketWorkload {
  private readonly o: MarketOptions;
  private writer: HistoryWriter | undefined;
  private ownWriter = false;
  private stopping = false;
  private running: Promise<void>[] = [];
  private readonly tally: WorkloadCounts = emptyCounts();
  private readonly posted: PostedTask[] = [];
  private postsLeft: number;

  constructor(o: MarketOptions) {
    if (o.clients.length === 0) throw new Error('MarketWorkload: no clients');
    this.o = o;
    this.postsLeft = o.maxTasks ?? Number.POSITIVE_INFINITY;
  }

  /** Every task posted so far (whatever the outcome of its post). */
  tasks(): readonly PostedTask[] {
    return this.posted;
  }

  counts(): WorkloadCounts {
    return { ...this.tally, codes: { ...this.tally.codes } };
  }

  async start(): Promise<void> {
    if (this.writer) throw new Error('MarketWorkload: already started');
    const o = this.o;
    if (typeof o.history === 'string') {
      const addresses = o.clients.map((c) => new Signer('user', c.user).address);
      this.writer = await openHistory(o.history, { chainId: o.chainId, seed: o.seed, ep: o.clients[0], addresses });
      this.ownWriter = true;
    } else this.writer = o.history;
    const perSecond = (o.opsPerMinute ?? 12) / 60 / o.clients.length;
    this.running = o.clients.map((c, i) => this.client(i, c.name ?? `market-c${i}`, c, perSecond));
  }

  async stop(): Promise<WorkloadCounts & { tasks: PostedTask[] }> {
    this.stopping = true;
    await Promise.all(this.running);
    if (this.ownWriter) this.writer?.close();
    return { ...this.counts(), tasks: [...this.posted] };
  }

  private async client(i: number, name: string, c: Endpoint & { user: KeyPair }, perSecond: number): Promise<void> {
    const o = this.o;
    const http = httpVia(c.agent);
    const user = new Signer(name, c.user);
    const ops = intendedMarketOps({ seed: o.seed, client: i, name, cancelChance: o.cancelChance ?? 0.25 });
    const next = pacer(perSecond, () => this.stopping);
    const spec: PostTaskSpec = {
      app: o.task.app,
      version: o.task.version,
      runtime: o.task.runtime,
      cpuMillis: o.task.cpuMillis ?? 500,
      memoryMiB: o.task.memoryMiB ?? 64,
      maxPricePerHour: o.task.maxPricePerHour ?? ZNC_UNIT,
      maxHours: o.task.maxHours ?? 1,
      bidWindowBlocks: o.task.bidWindowBlocks ?? 10,
      retries: o.task.retries ?? 2,
    };
    // Tasks of this client not cancelled yet (posted ok or unknown: cancelling an unknown one is a fair question too).
    const live: PostedTask[] = [];
    let posts = 0;
    while (await next()) {
      const intended = ops.next().value as IntendedMarketOp;
      const cancel = intended.kind === 'cancel-task' && live.length > 0;
      if (!cancel && this.postsLeft <= 0) continue;
      while (user.nonce === undefined && !(await readNonce(http, c.node, user))) {
        if (this.stopping) return;
        await sleep(250);
      }
      const common = {
        op: intended.op,
        client: name,
        http,
        node: c.node,
        chainId: o.chainId,
        signer: user,
        timeoutMs: o.opTimeoutMs ?? 15_000,
        pollMs: o.pollMs ?? 250,
      };
      let r: HistoryRecord;
      if (cancel) {
        const t = live.splice(Math.floor(intended.pick * live.length), 1)[0];
        r = await invoke({ ...common, kind: 'cancel-task', tx: Tx.cancelTask(t.id), fields: { task: t.id } });
        t.cancel = { op: r.op, outcome: r.outcome, code: r.code };
      } else {
        this.postsLeft--;
        let id = '';
        // Each post its own transaction: a post that failed (never reached a node) and the next one,
        // signed with the same nonce re-read, would otherwise be the same bytes, and the checker
        // could not tell which operation committed. The op's number, in base units off the price, tells.
        posts++;
        r = await invoke({
          ...common,
          kind: 'post-task',
          tx: Tx.postTask({ ...spec, maxPricePerHour: spec.maxPricePerHour - BigInt(posts) }),
          onSigned: (hash) => {
            id = toHex(taskIdFor(hash, user.chain));
          },
        });
        r = { ...r, task: id };
        const t: PostedTask = { id, op: r.op, client: name, outcome: r.outcome };
        this.posted.push(t);
        if (r.outcome !== 'fail') live.push(t);
      }
      this.writer?.add(r);
      count(this.tally, r);
    }
  }
}
