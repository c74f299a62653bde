import type { KeyPair } from '../crypto/portable.ts';
import { addressFromPublicKey, encodeAddress, toHex } from '../crypto/portable.ts';
import { decodeTx, signTx, type TxKind, type TxRequest } from '../ledger/index.ts';
import type {
  AppAnswer,
  LeaseAnswer,
  LeaseFilter,
  MarketParamsAnswer,
  QuoteAnswer,
  QuoteRequest,
  TaskAnswer,
  TaskDetailAnswer,
  TaskFilter,
  WorkerAnswer,
} from './market.ts';

/** An error answer of a node: `code` is stable, `message` tells the user what to do. */
export class NodeApiError extends Error {
  override name = 'NodeApiError';
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export interface SubmitAnswer {
  hash: string;
  chain: number;
  status: 'pending';
}

export interface TxStatusAnswer {
  status: 'pending' | 'committed' | 'rejected';
  hash: string;
  chain: number;
  height?: number;
  index?: number;
  error?: { code: string; message: string };
  inclusion?: unknown;
}

export interface AccountAnswer {
  address: string;
  kind: 'key' | 'multisig' | 'system';
  homeChain: number;
  balances: Record<string, string>;
  znc: { balance: string; vestingLocked: string; spendable: string };
  nonces: Record<string, string>;
  staked: string;
  unbonding: { amount: string; releaseAt: number }[];
  quota: { limit: number; usedThisWindow: number; windowMs: number };
  multisig?: { label: string; members: string[]; threshold: number; proposals: ({ id: string } & Record<string, unknown>)[] };
}

export interface StatusAnswer {
  chainId: string;
  height: number;
  time: number;
  lastBlockHash: string;
  chains: { chain: number; kind: string; height: number; stateRoot: string }[];
  receiptsInFlight: number;
  mempool: number;
  /** This node's bookkeeper key (hex). */
  bookkeeper: string;
  consensus: ConsensusAnswer | { mode: 'solo' };
  supply: Record<string, unknown>;
}

/** A main block: header fields, transaction hashes per chain, and the certificate that committed it. */
export interface BlockAnswer extends Record<string, unknown> {
  hash: string;
  height: number;
  time: number;
  proposer: string;
  txs: string[][];
  certificate: { height: string; round: number; blockHash: string; signers: unknown[] };
}

/** A committed transaction as blocks list it. */
export interface TxAnswer {
  hash: string;
  /** TxKind name, e.g. "PostTask". */
  kind: string;
  chain: number;
  /** Sender address (znc1…). */
  from: string;
  /** Sender's Ed25519 public key, hex. */
  sender: string;
  nonce: string;
  payload: Record<string, unknown>;
}

/** One chain's segment of a height, with its transactions. */
export interface SegmentAnswer {
  chain: number;
  height: number;
  txs: TxAnswer[];
}

/** Rounds and peers of a node that decides blocks with other bookkeepers. */
export interface ConsensusAnswer {
  height: number;
  round: number;
  step: string;
  status: string;
  validators: number;
  /** Index in the bookkeeper set of the height, or -1 for a node that only follows. */
  self: number;
  peerId: string;
  listen: string[];
  peers: { id: string; score: number; addresses: string[]; connected: boolean; banned: boolean }[];
  synced: number;
  lastCommitRound: number;
}

export interface BookkeepersAnswer {
  height: number;
  seats: number;
  epochLength: number;
  nextElection: number;
  set: string[];
  scheduled: { fromHeight: number; keys: string[] }[];
  candidates: {
    address: string;
    name: string;
    publicKey: string;
    weight: string;
    staked: string;
    inSet: boolean;
    missedInARow: number;
    missedTotal: string;
    proposed: string;
    /** Rewards earned this epoch, paid at its last height. */
    earned: string;
    jailedUntil: number | null;
    slashed: boolean;
  }[];
  votes: { voter: string; candidates: string[]; proxy: string | null; staked: string }[];
}

/** `?a=1&b=x` from the defined fields of a filter ('' when none is set). */
function query(filter: object): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(filter)) if (v !== undefined) q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}

/** A typed client of a node's HTTP API; the CLI, tests and (later) the web console use it. */
export class ZeusClient {
  readonly url: string;

  constructor(url: string) {
    this.url = url.replace(/\/$/, '');
  }

  private async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    let res: Response;
    try {
      res = await fetch(`${this.url}${path}`, {
        method,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (e) {
      throw new NodeApiError(0, 'NODE_UNREACHABLE', `cannot reach a node at ${this.url} (${(e as Error).cause ?? (e as Error).message}); is it running? (zeus node start)`);
    }
    const text = await res.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : {};
    } catch {
      throw new NodeApiError(res.status, 'BAD_RESPONSE', `node answered ${res.status} with non-JSON: ${text.slice(0, 200)}`);
    }
    if (!res.ok) {
      const err = (json as { error?: { code?: string; message?: string } }).error;
      throw new NodeApiError(res.status, err?.code ?? 'HTTP_ERROR', err?.message ?? `HTTP ${res.status}`);
    }
    return json as T;
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

  tokens(): Promise<{ tokens: Record<string, unknown>[] }> {
    return this.request('GET', '/tokens');
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

  workers(): Promise<{ height: number; workers: WorkerAnswer[] }> {
    return this.request('GET', '/workers');
  }

  worker(address: string): Promise<WorkerAnswer> {
    return this.request('GET', `/workers/${encodeURIComponent(address)}`);
  }

  apps(): Promise<{ apps: AppAnswer[] }> {
    return this.request('GET', '/apps');
  }

  app(name: string): Promise<AppAnswer> {
    return this.request('GET', `/apps/${encodeURIComponent(name)}`);
  }

  tasks(filter: TaskFilter = {}): Promise<{ height: number; tasks: TaskAnswer[] }> {
    return this.request('GET', `/tasks${query(filter)}`);
  }

  task(id: string): Promise<TaskDetailAnswer & { height: number }> {
    return this.request('GET', `/tasks/${encodeURIComponent(id)}`);
  }

  lease(taskId: string, index: number): Promise<LeaseAnswer> {
    return this.request('GET', `/tasks/${encodeURIComponent(taskId)}/leases/${index}`);
  }

  leases(filter: LeaseFilter = {}): Promise<{ height: number; leases: LeaseAnswer[] }> {
    return this.request('GET', `/leases${query(filter)}`);
  }

  /** The matcher's verdict on every registered worker for a task not posted yet. */
  quote(req: QuoteRequest): Promise<QuoteAnswer> {
    return this.request('POST', '/market/quote', req);
  }

  submit(txBytes: Uint8Array): Promise<SubmitAnswer> {
    return this.request('POST', '/txs', { tx: toHex(txBytes) });
  }

  submitBatch(txs: Uint8Array[]): Promise<{ results: (SubmitAnswer | { error: { code: string; message: string } })[] }> {
    return this.request('POST', '/txs', { txs: txs.map(toHex) });
  }

  /** The next nonce of `address` on `chain` (what a new transaction routed there must carry). */
  async nonce(address: string, chain: number): Promise<bigint> {
    const a = await this.account(address);
    return BigInt(a.nonces[chain] ?? '0');
  }

  /** Signs with the next nonce for the chain the transaction routes to, and submits it. */
  async send<K extends TxKind>(key: KeyPair, kind: K, payload: TxRequest<K>['payload'], chainId?: string): Promise<SubmitAnswer> {
    const id = chainId ?? (await this.status()).chainId;
    const from = encodeAddress(addressFromPublicKey(key.publicKey));
    const chain = decodeTx(signTx(key, { chainId: id, kind, nonce: 0n, payload })).chain;
    const nonce = await this.nonce(from, chain);
    return this.submit(signTx(key, { chainId: id, kind, nonce, payload }));
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
}

