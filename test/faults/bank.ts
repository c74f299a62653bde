import { decodeAddress, sha256, type KeyPair, keyPairFromSeed, toHex, utf8 } from '../../src/crypto/index.ts';
import { decodeTx, INNER_CHAINS, signTx, TxKind, ZNC, ZNC_UNIT } from '../../src/ledger/index.ts';
import { type AccountAnswer, Tx, type TxStatusAnswer } from '../../src/sdk/index.ts';
import type { HistoryRecord, HistoryWriter } from './history.ts';
import {
  clientSeed,
  count,
  emptyCounts,
  type Endpoint,
  type Http,
  httpVia,
  invoke,
  openHistory,
  pacer,
  getJson,
  readNonce,
  Rng,
  Signer,
  type WorkloadCounts,
} from './workload.ts';
import { sleep } from '../helpers/processes.ts';

// The bank workload of a fault run (issue 16): ZNC transfers among accounts homed on every inner
// chain, from several clients against several nodes. Most pairs live on different chains, so most
// transfers settle by a credit receipt a height after they commit. Each client is one sequence of
// operations (one in flight at a time), sends to its own node, and signs only for its own accounts
// (so no two clients race for an account's nonce). Every operation's memo is its op id: the checker
// finds it in the blocks by that. The accounts and every client's intended operations follow from
// the seed; their outcomes are what the nodes answered.

/** A workload account: its key (derived from the run's seed) and where it lives. */
export type BankAccount = Signer;

/**
 * `perChain` accounts on each of the nine inner chains (54 by default), keys derived from the seed:
 * keys are drawn in order and kept while their home chain has fewer than `perChain`.
 */
export function bankAccounts(o: { seed: number; perChain?: number }): BankAccount[] {
  const perChain = o.perChain ?? 6;
  const byChain = new Map<number, Signer[]>();
  const out: Signer[] = [];
  for (let i = 0; out.length < perChain * INNER_CHAINS; i++) {
    if (i > 10_000 * perChain) throw new Error('bankAccounts: the seed did not cover every inner chain');
    const key: KeyPair = keyPairFromSeed(sha256(utf8(`zeusnet/faults/bank/${o.seed}/${i}`)));
    const s = new Signer(`acct${i}`, key);
    const on = byChain.get(s.chain) ?? [];
    if (on.length >= perChain) continue;
    on.push(s);
    byChain.set(s.chain, on);
    out.push(s);
  }
  return out;
}

/**
 * Gives each address `amount` ZNC from `from` (a funded key) before a run, for a genesis that did not
 * fund them (ceremonyInProcess's `holders` does): the transfers go in one batch with consecutive
 * nonces; resolves once every one is committed and every address holds at least `amount`.
 */
export async function fundAccounts(o: { ep: Endpoint; chainId: string; from: KeyPair; to: string[]; amount: bigint; timeoutMs?: number }): Promise<void> {
  const http = httpVia(o.ep.agent);
  const funder = new Signer('funder', o.from);
  if (!(await readNonce(http, o.ep.node, funder)) || funder.nonce === undefined)
    throw new Error(`fundAccounts: cannot read the funder's nonce from ${o.ep.node}`);
  const start = funder.nonce;
  const signed = o.to.map((to, i) =>
    signTx(o.from, {
      chainId: o.chainId,
      kind: TxKind.Transfer,
      nonce: start + BigInt(i),
      payload: { to: decodeAddress(to), token: ZNC, amount: o.amount, memo: 'fund' },
    }),
  );
  const r = await http(o.ep.node, 'POST', '/txs', { txs: signed.map(toHex) });
  if (r.status !== 202) throw new Error(`fundAccounts: POST /txs answered ${r.status}: ${r.text.slice(0, 300)}`);
  const refused = (r.json as { results: { error?: { code: string; message: string } }[] }).results.find((x) => x.error);
  if (refused) throw new Error(`fundAccounts: a transfer was refused: ${JSON.stringify(refused.error)}`);
  const deadline = Date.now() + (o.timeoutMs ?? 60_000);
  const hashes = signed.map((b) => decodeTx(b).hashHex);
  const waitFor = async (what: string, ok: () => Promise<boolean>): Promise<void> => {
    while (!(await ok().catch(() => false))) {
      if (Date.now() > deadline) throw new Error(`fundAccounts: timed out waiting for ${what}`);
      await sleep(250);
    }
  };
  for (const h of hashes) {
    let t: TxStatusAnswer | undefined;
    await waitFor(`transfer ${h} to commit`, async () => (t = await getJson<TxStatusAnswer>(http, o.ep.node, `/txs/${h}`)).status !== 'pending');
    if (t?.status !== 'committed') throw new Error(`fundAccounts: transfer ${h} ${t?.status}: ${JSON.stringify(t?.error)}`);
  }
  for (const a of o.to) {
    await waitFor(`${a} to be credited`, async () => BigInt((await getJson<AccountAnswer>(http, o.ep.node, `/accounts/${a}`)).balances.ZNC ?? '0') >= o.amount);
  }
}

/** One intended transfer: what a seed says a client does next, whatever happens to it. */
export interface IntendedTransfer {
  op: string;
  from: BankAccount;
  to: BankAccount;
  amount: bigint;
}

/** A client's intended transfers, in order: senders among its own accounts, recipients among all. */
export function* intendedTransfers(o: {
  seed: number;
  client: number;
  name: string;
  own: readonly BankAccount[];
  all: readonly BankAccount[];
  maxAmount: bigint;
}): Generator<IntendedTransfer> {
  const rng = new Rng(clientSeed(o.seed, o.client));
  for (let n = 0; ; n++) {
    const from = rng.pick(o.own);
    let to = rng.pick(o.all);
    while (to === from) to = rng.pick(o.all);
    yield { op: `${o.name}.${n}`, from, to, amount: rng.amount(o.maxAmount) };
  }
}

export interface BankOptions {
  chainId: string;
  accounts: BankAccount[];
  /** One client per endpoint, each with its own node (and client host); names default to bank-c<i>. */
  clients: (Endpoint & { name?: string })[];
  seed: number;
  /** Operations per second over all clients (default 8); each client gets its share. */
  opsPerSecond?: number;
  /** Largest transfer, base units (default 1 ZNC); amounts are uniform in 1..maxAmount. */
  maxAmount?: bigint;
  /** An operation with no final answer this long after invocation is unknown (default 10 s). */
  opTimeoutMs?: number;
  pollMs?: number;
  /**
   * A history file to create (its header: every account's balance, read from the first client's
   * node at start), or a writer shared with other workloads (its header must hold these accounts).
   */
  history: string | HistoryWriter;
}

/** The bank workload: `start()`, then `stop()`, which waits for the operations in flight and returns the counts. */
export class BankWorkload {
  private readonly o: BankOptions;
  private writer: HistoryWriter | undefined;
  private ownWriter = false;
  private stopping = false;
  private running: Promise<void>[] = [];
  private readonly tally: WorkloadCounts = emptyCounts();
  private readonly perClient = new Map<string, WorkloadCounts>();

  constructor(o: BankOptions) {
    if (o.clients.length === 0) throw new Error('BankWorkload: no clients');
    if (o.accounts.length < 2 * o.clients.length) throw new Error('BankWorkload: fewer than two accounts per client');
    this.o = o;
  }

  get history(): HistoryWriter | undefined {
    return this.writer;
  }

  /** Counts so far, over all clients and per client. */
  counts(): WorkloadCounts & { clients: Record<string, WorkloadCounts> } {
    return { ...this.tally, codes: { ...this.tally.codes }, clients: Object.fromEntries(this.perClient) };
  }

  async start(): Promise<void> {
    if (this.writer) throw new Error('BankWorkload: already started');
    const o = this.o;
    if (typeof o.history === 'string') {
      this.writer = await openHistory(o.history, { chainId: o.chainId, seed: o.seed, ep: o.clients[0], addresses: o.accounts.map((a) => a.address) });
      this.ownWriter = true;
    } else this.writer = o.history;
    // Nonces a previous run of these accounts knew may be stale.
    for (const a of o.accounts) a.nonce = undefined;
    const perSecond = (o.opsPerSecond ?? 8) / o.clients.length;
    this.running = o.clients.map((ep, i) => this.client(i, ep.name ?? `bank-c${i}`, ep, perSecond));
  }

  /** Stops invoking; resolves once every operation in flight has its outcome (at most opTimeoutMs). */
  async stop(): Promise<WorkloadCounts & { clients: Record<string, WorkloadCounts> }> {
    this.stopping = true;
    await Promise.all(this.running);
    if (this.ownWriter) this.writer?.close();
    return this.counts();
  }

  private async client(i: number, name: string, ep: Endpoint, perSecond: number): Promise<void> {
    const o = this.o;
    const http: Http = httpVia(ep.agent);
    const own = o.accounts.filter((_, k) => k % o.clients.length === i);
    const ops = intendedTransfers({ seed: o.seed, client: i, name, own, all: o.accounts, maxAmount: o.maxAmount ?? ZNC_UNIT });
    const next = pacer(perSecond, () => this.stopping);
    const mine = emptyCounts();
    this.perClient.set(name, mine);
    while (await next()) {
      const t = ops.next().value as IntendedTransfer;
      // The same intended transfer waits until its sender's nonce can be read: faults change outcomes, not intentions.
      while (t.from.nonce === undefined && !(await readNonce(http, ep.node, t.from))) {
        if (this.stopping) return;
        await sleep(250);
      }
      const r: HistoryRecord = await invoke({
        op: t.op,
        client: name,
        kind: 'transfer',
        http,
        node: ep.node,
        chainId: o.chainId,
        signer: t.from,
        tx: Tx.transfer({ to: t.to.address, amount: t.amount, token: ZNC, memo: t.op }),
        fields: { to: t.to.address, amount: t.amount.toString(), memo: t.op },
        timeoutMs: o.opTimeoutMs ?? 10_000,
        pollMs: o.pollMs ?? 200,
      });
      this.writer?.add(r);
      count(this.tally, r);
      count(mine, r);
    }
  }
}
