import type { KeyPair } from '../crypto/portable.ts';
import { addressFromPublicKey, encodeAddress, fromHex, sealTo, toHex } from '../crypto/portable.ts';
import { decodeTx, signTx, taskIdFor, ZNC, type TxKind, type TxRequest } from '../ledger/index.client.ts';
import { NodeApiError, TxRejectedError } from './errors.ts';
import { TxSubmitter, type SubmitterOptions } from './submitter.ts';
import { encodeTxBatch, MAX_BATCH_TXS } from './txBatch.ts';
import { subscribe, type EventKind, type EventSource, type EventSubscription, type SubscribeOptions } from './events.ts';
import { quoteLocally } from './quote.ts';
import { taskResult as fetchTaskResult, waitForTask as pollTaskEnd, type TaskResult, type TaskResultOptions, type WaitForTaskOptions } from './tasks.ts';
import { quoteRequestOf, Tx, type PostTaskSpec, type ProposalIdLike, type ProposalSpec, type TxIntent } from './tx.ts';
import type {
  AccountAnswer,
  AppAnswer,
  AppsAnswer,
  BlockAnswer,
  BlocksAnswer,
  BookkeepersAnswer,
  FinalTx,
  GovParamsAnswer,
  LeaseAnswer,
  LeaseFilter,
  LeasesAnswer,
  MarketNodeEvent,
  MarketParamsAnswer,
  ProposalAnswer,
  ProposalsAnswer,
  QuoteAnswer,
  QuoteRequest,
  SegmentAnswer,
  StatusAnswer,
  SubmitAnswer,
  SubmitBatchAnswer,
  SupplyAnswer,
  TaskAtHeightAnswer,
  TaskFilter,
  TasksAnswer,
  TokenAnswer,
  TokensAnswer,
  TxStatusAnswer,
  WorkerAnswer,
  WorkersAnswer,
} from './wire.ts';

export { NodeApiError, TxRejectedError } from './errors.ts';

/** A signed transaction, ready to submit. */
export interface SignedTx {
  bytes: Uint8Array;
  hash: string;
  /** The chain it routes to. */
  chain: number;
  nonce: bigint;
}

export interface SignOptions {
  /** Default: the node's (asked once per client). */
  chainId?: string;
  /** Default: the sender's next nonce on the chain the transaction routes to, as the node reports it. */
  nonce?: bigint;
}

export interface WaitOptions {
  /** Default 60 s. */
  timeoutMs?: number;
  /** How often to ask the node besides listening to events (default 1 s; 100 ms while no event stream is open). */
  pollMs?: number;
  /** An open subscription that includes tx events to listen on (default: one opened for the wait). */
  events?: EventSource;
  /** Listen to no events, only poll. */
  pollOnly?: boolean;
  /** Called with every status seen. */
  onStatus?: (s: TxStatusAnswer) => void;
}

/** What to seal into a task: both reach the workload as environment variables. */
export interface TaskSecrets {
  /** The task's parameters (the worker may record them). */
  inputs?: Record<string, string>;
  /** Never written down anywhere. */
  secrets?: Record<string, string>;
}

/** `?a=1&b=x` from the defined fields of a filter ('' when none is set). */
function query(filter: object): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(filter)) if (v !== undefined) q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}

export interface ClientOptions {
  /**
   * How `submit` and `submitBatch` send transactions: 'binary' (default) as the codec's bytes
   * (application/octet-stream: the signed bytes, or a TxBatch), 'json' as hex in JSON. Both get
   * the same answers; binary skips hex and JSON on both sides and halves the bytes.
   */
  submitEncoding?: 'binary' | 'json';
}

/** Times a request refused TOO_MANY_REQUESTS or SERVER_BUSY (not processed) is sent in all. */
const BUSY_ATTEMPTS = 5;

/** A typed client of a node's HTTP API; the CLI, tests and the web console use it. */
export class ZeusClient {
  readonly url: string;
  readonly submitEncoding: 'binary' | 'json';
  private chainIdOfNode: Promise<string> | undefined;
  /** The tx event stream waitForFinality calls share while any of them waits (one socket, not one each). */
  private txEvents: { sub: EventSubscription<'tx'>; waiters: number } | undefined;

  constructor(url: string, o: ClientOptions = {}) {
    this.url = url.replace(/\/$/, '');
    this.submitEncoding = o.submitEncoding ?? 'binary';
  }

  /** The chain id of the node (asked once). */
  chainId(): Promise<string> {
    this.chainIdOfNode ??= this.status().then(
      (s) => s.chainId,
      (e: unknown) => {
        this.chainIdOfNode = undefined;
        throw e;
      },
    );
    return this.chainIdOfNode;
  }

  /** One request; a Uint8Array body goes as application/octet-stream, anything else as JSON. */
  private async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      let res: Response;
      try {
        res = await fetch(`${this.url}${path}`, {
          method,
          headers: body === undefined ? {} : { 'content-type': body instanceof Uint8Array ? 'application/octet-stream' : 'application/json' },
          body: body === undefined ? undefined : body instanceof Uint8Array ? (body as Uint8Array<ArrayBuffer>) : JSON.stringify(body),
        });
      } catch (e) {
        throw new NodeApiError(
          0,
          'NODE_UNREACHABLE',
          `cannot reach a node at ${this.url} (${(e as Error).cause ?? (e as Error).message}); is it running? (zeus node start)`,
        );
      }
      const text = await res.text();
      let json: unknown;
      try {
        json = text ? JSON.parse(text) : {};
      } catch {
        throw new NodeApiError(res.status, 'BAD_RESPONSE', `node answered ${res.status} with non-JSON: ${text.slice(0, 200)}`);
      }
      if (res.ok) return json as T;
      const err = (json as { error?: { code?: string; message?: string } }).error;
      // Refused before it was processed (too many requests of this client in progress, or the node
      // holding too many bodies): sent again after the pause the node asks for, a few times.
      if ((err?.code === 'TOO_MANY_REQUESTS' || err?.code === 'SERVER_BUSY') && attempt < BUSY_ATTEMPTS) {
        const wait = Math.min(5, Number(res.headers.get('retry-after')) || 1) * 1000;
        await new Promise((r) => setTimeout(r, wait * (0.5 + Math.random() / 2)));
        continue;
      }
      throw new NodeApiError(res.status, err?.code ?? 'HTTP_ERROR', err?.message ?? `HTTP ${res.status}`);
    }
  }

  status(): Promise<StatusAnswer> {
    return this.request('GET', '/status');
  }

  account(address: string): Promise<AccountAnswer> {
    return this.request('GET', `/accounts/${encodeURIComponent(address)}`);
  }

  tx(hash: string): Promise<TxStatusAnswer> {
    return this.request('GET', `/txs/${hash}`);
  }

  bookkeepers(): Promise<BookkeepersAnswer> {
    return this.request('GET', '/bookkeepers');
  }

  tokens(): Promise<TokensAnswer> {
    return this.request('GET', '/tokens');
  }

  token(symbol: string): Promise<TokenAnswer> {
    return this.request('GET', `/tokens/${encodeURIComponent(symbol)}`);
  }

  /** Recent main block headers, newest first (at most 100). */
  blocks(o: { from?: number; limit?: number } = {}): Promise<BlocksAnswer> {
    return this.request('GET', `/blocks${query(o)}`);
  }

  supply(): Promise<SupplyAnswer> {
    return this.request('GET', '/supply');
  }

  /** The node's Prometheus metrics (text exposition format). */
  async metrics(): Promise<string> {
    const res = await fetch(`${this.url}/metrics`).catch((e: unknown) => {
      throw new NodeApiError(0, 'NODE_UNREACHABLE', `cannot reach a node at ${this.url} (${(e as Error).message})`);
    });
    if (!res.ok) throw new NodeApiError(res.status, 'HTTP_ERROR', `GET /metrics answered ${res.status}`);
    return res.text();
  }

  /** The node's OpenAPI document. */
  openapi(): Promise<Record<string, unknown>> {
    return this.request('GET', '/openapi.json');
  }

  block(height: number | 'latest'): Promise<BlockAnswer> {
    return this.request('GET', `/blocks/${height}`);
  }

  segment(height: number, chain: number): Promise<SegmentAnswer> {
    return this.request('GET', `/blocks/${height}/chains/${chain}`);
  }

  marketParams(): Promise<MarketParamsAnswer> {
    return this.request('GET', '/market/params');
  }

  workers(): Promise<WorkersAnswer> {
    return this.request('GET', '/workers');
  }

  worker(address: string): Promise<WorkerAnswer> {
    return this.request('GET', `/workers/${encodeURIComponent(address)}`);
  }

  apps(): Promise<AppsAnswer> {
    return this.request('GET', '/apps');
  }

  app(name: string): Promise<AppAnswer> {
    return this.request('GET', `/apps/${encodeURIComponent(name)}`);
  }

  tasks(filter: TaskFilter = {}): Promise<TasksAnswer> {
    return this.request('GET', `/tasks${query(filter)}`);
  }

  task(id: string): Promise<TaskAtHeightAnswer> {
    return this.request('GET', `/tasks/${encodeURIComponent(id)}`);
  }

  /** The newest version of an app that is not deprecated (what a task of the app without a version runs). */
  async latestVersion(app: string): Promise<string> {
    const live = (await this.app(app)).versions.filter((v) => !v.deprecated);
    if (live.length === 0) throw new NodeApiError(422, 'APP_DEPRECATED', `every version of app "${app}" is deprecated`);
    return live[live.length - 1].version;
  }

  /** Resolves with the task once it has ended (done, cancelled, expired); `taskOutcome(t)` says whether it succeeded. See tasks.ts. */
  waitForTask(id: string, o: WaitForTaskOptions = {}): Promise<TaskAtHeightAnswer> {
    return pollTaskEnd(this, id, o);
  }

  /** The task's result from the node's registry, checked against the chain's digest and unpacked (name → bytes), with the exit code. See tasks.ts. */
  taskResult(id: string, o: TaskResultOptions = {}): Promise<TaskResult> {
    return fetchTaskResult(this, id, o);
  }

  lease(taskId: string, index: number): Promise<LeaseAnswer> {
    return this.request('GET', `/tasks/${encodeURIComponent(taskId)}/leases/${index}`);
  }

  leases(filter: LeaseFilter = {}): Promise<LeasesAnswer> {
    return this.request('GET', `/leases${query(filter)}`);
  }

  /** The matcher's verdict on every registered worker for a task not posted yet. */
  quote(req: QuoteRequest): Promise<QuoteAnswer> {
    return this.request('POST', '/market/quote', req);
  }

  /** Governance proposals, newest first. */
  govProposals(): Promise<ProposalsAnswer> {
    return this.request('GET', '/gov/proposals');
  }

  /** One proposal with its deposits, votes and count (recorded once the vote ended, live before). */
  govProposal(id: ProposalIdLike): Promise<ProposalAnswer> {
    return this.request('GET', `/gov/proposals/${encodeURIComponent(String(id))}`);
  }

  /** The parameters governance may change (bounds, value now and at genesis), the upgrade planned and those done. */
  govParams(): Promise<GovParamsAnswer> {
    return this.request('GET', '/gov/params');
  }

  /**
   * The id of the proposal a GovPropose transaction made: the proposal is made on main by receipt,
   * a height after the transaction commits on its sender's home chain, so this polls for it.
   */
  async proposalOfTx(hash: string, o: { timeoutMs?: number; pollMs?: number } = {}): Promise<string> {
    const deadline = Date.now() + (o.timeoutMs ?? 30_000);
    for (;;) {
      const found = (await this.govProposals()).proposals.find((p) => p.tx === hash);
      if (found) return found.id;
      if (Date.now() > deadline) throw new NodeApiError(0, 'TIMEOUT', `no proposal made by transaction ${hash} on main after ${o.timeoutMs ?? 30_000} ms`);
      await new Promise((r) => setTimeout(r, o.pollMs ?? 200));
    }
  }

  /** Opens a proposal (its first deposit leaves the sender), waits until it is on main and returns its id. */
  async propose(key: KeyPair, spec: ProposalSpec, o: SignOptions & WaitOptions = {}): Promise<{ id: string; tx: FinalTx }> {
    const tx = await this.execute(key, Tx.govPropose(spec), o);
    return { id: await this.proposalOfTx(tx.hash, { timeoutMs: o.timeoutMs }), tx };
  }

  /** Submits one signed transaction; throws NodeApiError with the node's refusal. */
  submit(txBytes: Uint8Array): Promise<SubmitAnswer> {
    if (this.submitEncoding === 'binary') return this.request('POST', '/txs', txBytes);
    return this.request('POST', '/txs', { tx: toHex(txBytes) });
  }

  /** Submits signed transactions (at most 10,000) in one request: one result per transaction, in order. */
  async submitBatch(txs: Uint8Array[]): Promise<SubmitBatchAnswer> {
    if (this.submitEncoding === 'json') return this.request('POST', '/txs', { txs: txs.map(toHex) });
    // An empty TxBatch would be an empty body, which reads as no transaction at all.
    if (txs.length === 0) return { results: [] };
    if (txs.length > MAX_BATCH_TXS) throw new NodeApiError(413, 'BATCH_TOO_LARGE', `at most ${MAX_BATCH_TXS} transactions per request`);
    return this.request('POST', '/txs', encodeTxBatch(txs));
  }

  /**
   * A submitter over one WebSocket, for high rates: batches pipelined without a request each (see
   * TxSubmitter). Close it when done.
   */
  openSubmitter(o: SubmitterOptions = {}): TxSubmitter {
    return new TxSubmitter(this.url, o);
  }

  /** The next nonce of `address` on `chain` (what a new transaction routed there must carry). */
  async nonce(address: string, chain: number): Promise<bigint> {
    const a = await this.account(address);
    return BigInt(a.nonces[chain] ?? '0');
  }

  /** Signs a transaction: with the node's chain id and the sender's next nonce unless given. */
  async sign<K extends TxKind>(key: KeyPair, intent: TxIntent<K>, o: SignOptions = {}): Promise<SignedTx> {
    const chainId = o.chainId ?? (await this.chainId());
    let nonce = o.nonce;
    if (nonce === undefined) {
      const chain = decodeTx(signTx(key, { chainId, kind: intent.kind, nonce: 0n, payload: intent.payload })).chain;
      nonce = await this.nonce(encodeAddress(addressFromPublicKey(key.publicKey)), chain);
    }
    const bytes = signTx(key, { chainId, kind: intent.kind, nonce, payload: intent.payload });
    const tx = decodeTx(bytes);
    return { bytes, hash: tx.hashHex, chain: tx.chain, nonce };
  }

  /** Signs with the next nonce for the chain the transaction routes to, and submits it. */
  async send<K extends TxKind>(key: KeyPair, kind: K, payload: TxRequest<K>['payload'], chainIdOrOptions?: string | SignOptions): Promise<SubmitAnswer> {
    const o = typeof chainIdOrOptions === 'string' ? { chainId: chainIdOrOptions } : chainIdOrOptions;
    return this.submit((await this.sign(key, { kind, payload }, o)).bytes);
  }

  /** Signs and submits a transaction built with `Tx`; returns once the node accepted it into its pool. */
  async submitIntent<K extends TxKind>(key: KeyPair, intent: TxIntent<K>, o: SignOptions = {}): Promise<SubmitAnswer> {
    return this.submit((await this.sign(key, intent, o)).bytes);
  }

  /**
   * Signs, submits and waits until the transaction is final (committed under the bookkeepers' BFT
   * certificate); throws TxRejectedError with the ledger's code and reason if it was refused.
   */
  async execute<K extends TxKind>(key: KeyPair, intent: TxIntent<K>, o: SignOptions & WaitOptions = {}): Promise<FinalTx> {
    const signed = await this.sign(key, intent, o);
    try {
      await this.submit(signed.bytes);
    } catch (e) {
      if (e instanceof NodeApiError && e.status >= 400 && e.status < 500 && e.status !== 429)
        throw new TxRejectedError(signed.hash, e.code, e.message, { atSubmission: true });
      throw e;
    }
    return this.waitForFinality(signed.hash, o);
  }

  /**
   * Waits until a transaction is final: listens to the node's tx events and polls as a fallback
   * (an event missed while reconnecting is still seen). Resolves with the committed status;
   * throws TxRejectedError if it was rejected, NodeApiError TIMEOUT after `timeoutMs`.
   */
  async waitForFinality(hash: string, o: WaitOptions = {}): Promise<FinalTx> {
    const timeoutMs = o.timeoutMs ?? 60_000;
    // A runtime without WebSocket (Node 20) polls only: waiting must not need the event stream.
    const shared = o.events || o.pollOnly || typeof globalThis.WebSocket !== 'function' ? undefined : this.shareTxEvents();
    const events: EventSource | undefined = o.events ?? shared?.sub;
    try {
      return await new Promise<FinalTx>((resolve, reject) => {
        let done = false;
        let poll: ReturnType<typeof setTimeout> | undefined;
        const finish = (s: TxStatusAnswer): boolean => {
          if (done) return true;
          o.onStatus?.(s);
          if (s.status === 'pending') return false;
          done = true;
          clearTimeout(poll);
          clearTimeout(deadline);
          off?.();
          if (s.status === 'rejected') reject(new TxRejectedError(hash, s.error?.code ?? 'REJECTED', s.error?.message ?? `transaction ${hash} was rejected`));
          else resolve(s as FinalTx);
          return true;
        };
        const deadline = setTimeout(() => {
          if (done) return;
          done = true;
          clearTimeout(poll);
          off?.();
          reject(new NodeApiError(0, 'TIMEOUT', `transaction ${hash} not final after ${timeoutMs} ms`));
        }, timeoutMs);
        // A committed event carries no proof: ask the node for the full status once it is in.
        const off = events?.on((e) => {
          if (e.type === 'tx' && e.hash === hash && e.status !== 'pending') void check();
        });
        const check = async (): Promise<void> => {
          try {
            const s = await this.tx(hash);
            if (finish(s)) return;
          } catch (e) {
            if (!(e instanceof NodeApiError && (e.code === 'UNKNOWN_TX' || e.code === 'NODE_UNREACHABLE'))) {
              done = true;
              clearTimeout(deadline);
              off?.();
              return reject(e);
            }
          }
          if (done) return;
          clearTimeout(poll);
          const live = events?.connection === 'open';
          poll = setTimeout(() => void check(), live ? (o.pollMs ?? 1000) : Math.min(o.pollMs ?? 1000, 100));
        };
        void check();
      });
    } finally {
      if (shared && --shared.waiters === 0) {
        shared.sub.close();
        if (this.txEvents === shared) this.txEvents = undefined;
      }
    }
  }

  /** The shared tx event stream, with one more waiter counted; the last waiter to finish closes it. */
  private shareTxEvents(): { sub: EventSubscription<'tx'>; waiters: number } {
    this.txEvents ??= { sub: this.subscribe({ events: ['tx'] }), waiters: 0 };
    this.txEvents.waiters++;
    return this.txEvents;
  }

  /**
   * Submits signed bytes here and follows them until they are final or definitely refused,
   * resubmitting the same bytes to `o.nodes` (tried after this one) when this node stops answering
   * or loses them. See `submitUntilFinal`: an acknowledgement (202) is not a commitment.
   */
  submitUntilFinal(signed: SignedTx | Uint8Array, o: Partial<SubmitUntilFinalOptions> = {}): Promise<FinalTxAt> {
    return submitUntilFinal(signed, { ...o, nodes: [this, ...(o.nodes ?? [])] });
  }

  /** Waits until a transaction is committed or rejected (polling; at most `timeoutMs`). */
  async waitForTx(hash: string, timeoutMs = 30_000, onPoll?: (s: TxStatusAnswer) => void): Promise<TxStatusAnswer> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const s = await this.tx(hash).catch((e: unknown) => {
        if (e instanceof NodeApiError && e.code === 'UNKNOWN_TX') return undefined;
        throw e;
      });
      if (s) onPoll?.(s);
      if (s && s.status !== 'pending') return s;
      if (Date.now() > deadline) throw new NodeApiError(0, 'TIMEOUT', `transaction ${hash} not committed after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /**
   * Waits until an account's balance satisfies `test`: a transfer to an account on another chain
   * is final when it commits on the sender's chain, and credited by receipt a height later.
   */
  async waitForBalance(address: string, test: (balance: bigint) => boolean, o: { token?: string; timeoutMs?: number; pollMs?: number } = {}): Promise<bigint> {
    const deadline = Date.now() + (o.timeoutMs ?? 30_000);
    for (;;) {
      const b = BigInt((await this.account(address)).balances[o.token ?? ZNC] ?? '0');
      if (test(b)) return b;
      if (Date.now() > deadline) throw new NodeApiError(0, 'TIMEOUT', `balance of ${address} did not reach the expected value (now ${b})`);
      await new Promise((r) => setTimeout(r, o.pollMs ?? 200));
    }
  }

  /** Subscribes to this node's events (block, tx, market); see EventSubscription. */
  subscribe<K extends EventKind = EventKind>(o: SubscribeOptions<K> = {}): EventSubscription<K> {
    return subscribe(this.url, o);
  }

  /**
   * The market events of one task as they happen, until the task ends (task-ended) or `signal`
   * aborts: `for await (const e of client.taskEvents(id)) …`.
   */
  async *taskEvents(taskId: string, o: { signal?: AbortSignal; events?: EventSource } = {}): AsyncGenerator<MarketNodeEvent> {
    const sub: EventSource = o.events ?? this.subscribe({ events: ['market'] });
    const onAbort = (): void => sub.close();
    o.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      for await (const e of sub) {
        if (e.type !== 'market' || e.task !== taskId) continue;
        yield e;
        if (e.kind === 'task-ended') return;
      }
    } finally {
      o.signal?.removeEventListener('abort', onAbort);
      if (!o.events) sub.close();
    }
  }

  /** The quote the node would give, computed here with the shared matcher over the node's registered workers. */
  async quoteLocally(req: QuoteRequest): Promise<QuoteAnswer> {
    const { height, workers } = await this.workers();
    return quoteLocally(workers, req, height);
  }

  /**
   * Seals a task's inputs and secrets to the seal key of every worker that could serve it now
   * (the quote's candidates): the winner is one of them, and only they can open it.
   */
  async sealForTask(req: QuoteRequest, content: TaskSecrets): Promise<{ sealed: Uint8Array; candidates: string[] }> {
    const q = await this.quote(req);
    if (q.candidates.length === 0)
      throw new Error('no registered worker could serve this task now: there is nobody to seal its inputs and secrets to (see the quote)');
    const workers = await Promise.all(q.candidates.map((c) => this.worker(c.worker)));
    const sealed = sealTo(
      workers.map((w) => fromHex(w.sealKey)),
      new TextEncoder().encode(JSON.stringify({ inputs: content.inputs ?? {}, secrets: content.secrets ?? {} })),
    );
    if (sealed.length > 4096)
      throw new Error(`the sealed inputs and secrets take ${sealed.length} bytes for ${workers.length} candidate worker(s); a task carries at most 4096`);
    return { sealed, candidates: q.candidates.map((c) => c.worker) };
  }

  /**
   * Posts a task and waits until it is final; returns its id. The worst case (max price × hours ×
   * replicas × redundancy, plus license fees) moves to escrow. With `content`, its inputs and
   * secrets are sealed to the candidate workers first. An `app` without `version` runs its newest
   * version that is not deprecated (the ledger needs the version named).
   */
  async postTask(key: KeyPair, spec: PostTaskSpec, o: SignOptions & WaitOptions & { content?: TaskSecrets } = {}): Promise<{ id: string; tx: FinalTx }> {
    let sealed = spec.sealed;
    if (o.content) sealed = (await this.sealForTask(quoteRequestOf(spec), o.content)).sealed;
    const version = spec.app && !spec.version ? await this.latestVersion(spec.app) : spec.version;
    const tx = await this.execute(key, Tx.postTask({ ...spec, version, sealed }), o);
    return { id: toHex(taskIdFor(fromHex(tx.hash), tx.chain)), tx };
  }
}

// ------------------------------------------------------------------ submitting until final

export interface SubmitUntilFinalOptions {
  /**
   * Nodes to submit to, in order (URLs or clients). The bytes go to the first; to the next when a
   * node stops answering, has lost them, or keeps them pending longer than `patienceMs`.
   */
  nodes: readonly (string | ZeusClient)[];
  /** Give up after this long (default 60 s): NodeApiError TIMEOUT saying what each node answered last. */
  timeoutMs?: number;
  /** How long one node may hold them pending before they are given to the next as well (default 5 s). */
  patienceMs?: number;
  /** How often to ask the node holding them (default 250 ms). */
  pollMs?: number;
  /** Told of every answer (progress output, logs; a test kills a node on `accepted`). */
  onAttempt?: (a: SubmitAttempt) => void;
}

export interface SubmitAttempt {
  node: string;
  /**
   * accepted: the node took them (202), known: it holds them already, pending / committed /
   * lost: what it says of them later, refused: a refusal (see `code`), unreachable: no answer,
   * busy: a refusal that may pass (full pool, quota window, nonce gap), error: any other failure.
   */
  outcome: 'accepted' | 'known' | 'pending' | 'committed' | 'lost' | 'refused' | 'unreachable' | 'busy' | 'error';
  code?: string;
  message?: string;
}

/** A final transaction, and which node said so. */
export type FinalTxAt = FinalTx & { node: string };

/** Refusals that may pass on another node or a little later: retried, never final. */
const TRANSIENT = new Set(['MEMPOOL_FULL', 'OVER_QUOTA', 'NONCE_GAP', 'NODE_UNREACHABLE', 'BAD_RESPONSE', 'TIMEOUT', 'HTTP_ERROR', 'INTERNAL']);

const transient = (e: NodeApiError): boolean => e.status === 0 || e.status === 429 || e.status >= 500 || TRANSIENT.has(e.code);

/**
 * Submits a signed transaction and sees it through to its end: resolves once it is committed
 * (final: its block carries the bookkeepers' +2/3 certificate), with its height and inclusion
 * proof; throws TxRejectedError once the ledger has definitely refused it; NodeApiError TIMEOUT
 * after `timeoutMs`.
 *
 * Why: a node's 202 only says that one node holds the transaction in memory. A node that crashes
 * before passing it on (or before it is committed) takes it along, and nothing tells the client.
 * So this keeps asking, and gives the SAME bytes to another node when the one holding them stops
 * answering, says it does not know them, or sits on them. Resending the same bytes is always safe:
 * the ledger applies a signed transaction at most once (its nonce), and a node that holds it
 * already answers DUPLICATE_TX. Never re-sign instead: new bytes with a new nonce could both commit.
 *
 * A refusal is final only when it cannot pass: NONCE_REPLAYED counts only after checking that this
 * very transaction is not the one that used the nonce (then it is committed: resolved) and that
 * the committed nonce is past it (another transaction took it). A full pool, a quota window, a
 * nonce gap and unreachable or failing nodes are retried until the timeout.
 */
export async function submitUntilFinal(signed: SignedTx | Uint8Array, o: SubmitUntilFinalOptions): Promise<FinalTxAt> {
  const bytes = signed instanceof Uint8Array ? signed : signed.bytes;
  const tx = decodeTx(bytes);
  const hash = tx.hashHex;
  const from = encodeAddress(tx.from);
  const nodes = o.nodes.map((n) => (typeof n === 'string' ? new ZeusClient(n) : n));
  if (nodes.length === 0) throw new Error('submitUntilFinal needs at least one node');
  const timeoutMs = o.timeoutMs ?? 60_000;
  const patienceMs = o.patienceMs ?? 5_000;
  const pollMs = o.pollMs ?? 250;
  const deadline = Date.now() + timeoutMs;
  const last = new Map<string, string>();
  const tell = (c: ZeusClient, a: Omit<SubmitAttempt, 'node'>): void => {
    last.set(c.url, `${a.outcome}${a.code ? ` ${a.code}` : ''}${a.message ? ` (${a.message})` : ''}`);
    o.onAttempt?.({ node: c.url, ...a });
  };
  const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, Math.max(0, Math.min(ms, deadline - Date.now()))));

  /** What a node says of the transaction now; undefined when it does not answer. */
  const statusAt = async (c: ZeusClient): Promise<TxStatusAnswer | 'unknown' | undefined> => {
    try {
      return await c.tx(hash);
    } catch (e) {
      if (e instanceof NodeApiError && e.code === 'UNKNOWN_TX') return 'unknown';
      if (e instanceof NodeApiError && transient(e)) return undefined;
      throw e;
    }
  };

  /**
   * A refusal, at submission or later: final, or 'retry'. NONCE_REPLAYED is what a node answers
   * for this very transaction once it is committed; it is final only if another took the nonce.
   */
  const judge = async (c: ZeusClient, code: string, message: string, submitted?: NodeApiError): Promise<FinalTxAt | 'retry'> => {
    const s = await statusAt(c);
    if (s !== undefined && s !== 'unknown' && s.status === 'committed') return { ...(s as FinalTx), node: c.url };
    if (code === 'NONCE_REPLAYED') {
      const next = await c.nonce(from, tx.chain).catch(() => undefined);
      // Only pending transactions are ahead of it: one of them may yet be refused.
      if (next === undefined || next <= tx.nonce) return 'retry';
    }
    throw new TxRejectedError(hash, code, message, submitted ? { status: submitted.status, atSubmission: true } : {});
  };

  let at = 0;
  /** When the node `at` took the transaction; undefined: it is to be (re)submitted there. */
  let heldSince: number | undefined;
  let tried = 0;
  const moveOn = async (): Promise<void> => {
    at = (at + 1) % nodes.length;
    heldSince = undefined;
    // Every node tried once more without success: wait a little before the next round.
    if (++tried % nodes.length === 0) await sleep(pollMs);
  };

  while (Date.now() < deadline) {
    const c = nodes[at];
    if (heldSince === undefined) {
      try {
        await c.submit(bytes);
        tell(c, { outcome: 'accepted' });
        heldSince = Date.now();
      } catch (e) {
        if (!(e instanceof NodeApiError)) throw e;
        if (e.code === 'DUPLICATE_TX') {
          tell(c, { outcome: 'known', code: e.code });
          heldSince = Date.now();
        } else if (transient(e)) {
          tell(c, { outcome: e.status === 0 ? 'unreachable' : 'busy', code: e.code, message: e.message });
          await moveOn();
          continue;
        } else {
          tell(c, { outcome: 'refused', code: e.code, message: e.message });
          const r = await judge(c, e.code, e.message, e);
          if (r !== 'retry') return r;
          await moveOn();
          continue;
        }
      }
    }
    await sleep(pollMs);
    const s = await statusAt(c);
    if (s === undefined) {
      tell(c, { outcome: 'unreachable' });
      await moveOn();
    } else if (s === 'unknown') {
      // It lost them (restarted, say): give them again.
      tell(c, { outcome: 'lost', code: 'UNKNOWN_TX' });
      heldSince = undefined;
    } else if (s.status === 'committed') {
      tell(c, { outcome: 'committed' });
      return { ...(s as FinalTx), node: c.url };
    } else if (s.status === 'rejected') {
      const code = s.error?.code ?? 'REJECTED';
      if (TRANSIENT.has(code)) {
        // Dropped for now (a nonce gap after the node lost an earlier one, say): another node may take it.
        tell(c, { outcome: 'busy', code, message: s.error?.message });
        await moveOn();
        continue;
      }
      tell(c, { outcome: 'refused', code, message: s.error?.message });
      const r = await judge(c, code, s.error?.message ?? `transaction ${hash} was rejected`);
      if (r !== 'retry') return r;
      await moveOn();
    } else {
      tell(c, { outcome: 'pending' });
      if (nodes.length > 1 && Date.now() - heldSince! > patienceMs) await moveOn();
    }
  }
  const said = [...last].map(([url, a]) => `${url}: ${a}`).join('; ');
  throw new NodeApiError(
    0,
    'TIMEOUT',
    `transaction ${hash} not final after ${timeoutMs} ms (last answers: ${said || 'none'}); it may still commit: ask a node for /txs/${hash}, or submit the same bytes again`,
  );
}
