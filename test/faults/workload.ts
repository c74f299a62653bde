import { addressFromPublicKey, encodeAddress, type KeyPair, toHex } from '../../src/crypto/index.ts';
import { decodeTx, homeChain, signTx, type TxKind, type TxRequest } from '../../src/ledger/index.ts';
import type { AccountAnswer, StatusAnswer, TxIntent, TxStatusAnswer } from '../../src/sdk/index.ts';
import type { ClientAgent } from '../helpers/netNodes.ts';
import { sleep } from '../helpers/processes.ts';
import { type HistoryHeader, type HistoryRecord, HistoryWriter, type OpKind } from './history.ts';

// What the bank and market workloads (bank.ts, market.ts) share: how a client reaches a node (through
// a ClientAgent on a client host, or plain fetch on loopback), a seeded random source, and the one
// way an operation is invoked and its outcome decided. Jepsen's rules for a client: one operation at a
// time per client; what the node said is recorded, never what the client meant; an operation whose
// answer did not come in time is "unknown" and is never retried under a new nonce (that would be a
// second, different transaction with the same intent: a double spend the checker could not tell
// from a bug of the system). Giving the node the very same signed bytes again is safe — a
// transaction applies at most once — and is what a client does when a node says it lost them.

/** An HTTP answer; `json` undefined when the body is not JSON. */
export interface HttpAnswer {
  status: number;
  text: string;
  json: unknown;
}

/** One request to a node's API; throws when no answer came (connection refused or broken, timeout). */
export type Http = (base: string, method: 'GET' | 'POST', path: string, body?: unknown, timeoutMs?: number) => Promise<HttpAnswer>;

/** Requests from `agent`'s host, or from this process with fetch when there is no agent (a loopback network). */
export function httpVia(agent?: ClientAgent): Http {
  if (agent) return async (base, method, path, body, timeoutMs) => agent.api(base, method, path, body, { timeoutMs });
  return async (base, method, path, body, timeoutMs = 30_000) => {
    let text: string;
    let res: Response;
    try {
      res = await fetch(`${base}${path}`, {
        method,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(timeoutMs),
      });
      text = await res.text();
    } catch (e) {
      // fetch says only "fetch failed"; the cause (ECONNREFUSED, ECONNRESET…) tells whether the request left.
      const err = e as Error & { cause?: { code?: string; message?: string } };
      throw new Error([err.message, err.cause?.code ?? err.cause?.message].filter(Boolean).join(': '));
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: res.status, text, json };
  };
}

/** Where a workload client sends its operations: a node's API URL, reached from `agent`'s host (or by fetch). */
export interface Endpoint {
  node: string;
  agent?: ClientAgent;
}

/** GET that must answer 200. */
export async function getJson<T>(http: Http, node: string, path: string, timeoutMs = 10_000): Promise<T> {
  const r = await http(node, 'GET', path, undefined, timeoutMs);
  if (r.status !== 200) throw new Error(`GET ${node}${path} answered ${r.status}: ${r.text.slice(0, 300)}`);
  return r.json as T;
}

/**
 * A seeded random source (mulberry32): the same seed gives the same sequence. Workloads draw their
 * intended operations from it and nothing else, so a seed names a run's intentions whatever the
 * faults did to their outcomes.
 */
export class Rng {
  private s: number;

  constructor(seed: number) {
    this.s = seed >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Uniform bigint in [1, max]. */
  amount(max: bigint): bigint {
    // Two draws give 53 bits; amounts of the workloads stay far below that.
    const r = BigInt(this.int(2 ** 26)) * 2n ** 27n + BigInt(this.int(2 ** 27));
    return 1n + (r % max);
  }

  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)];
  }
}

/** A seed for one client of a run: the run's seed and the client's index mixed, so clients differ. */
export const clientSeed = (seed: number, client: number): number => (Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) + Math.imul(client + 1, 0xc2b2ae35)) >>> 0;

/**
 * An account a workload signs for, with the next nonce on its home chain as far as this client
 * knows. `nonce` undefined: read it from a node before the next transaction (at the start, and after
 * any operation that did not end ok, since then this client cannot know whether it was used).
 */
export class Signer {
  readonly name: string;
  readonly key: KeyPair;
  readonly address: string;
  readonly chain: number;
  nonce: bigint | undefined;

  constructor(name: string, key: KeyPair) {
    this.name = name;
    this.key = key;
    const a = addressFromPublicKey(key.publicKey);
    this.address = encodeAddress(a);
    this.chain = homeChain(a);
  }
}

/** Reads the signer's next nonce on its home chain from `node`; false when the node did not answer. */
export async function readNonce(http: Http, node: string, s: Signer): Promise<boolean> {
  try {
    const a = await getJson<AccountAnswer>(http, node, `/accounts/${s.address}`, 5_000);
    s.nonce = BigInt(a.nonces[s.chain] ?? '0');
    return true;
  } catch {
    return false;
  }
}

/** Codes of a refusal after admission that are not final: another node holding the transaction may still commit it (the SDK's view, src/sdk/client.ts). */
const NOT_FINAL = new Set(['MEMPOOL_FULL', 'OVER_QUOTA', 'NONCE_GAP', 'INTERNAL']);

export interface Invocation<K extends TxKind> {
  op: string;
  client: string;
  kind: OpKind;
  http: Http;
  node: string;
  chainId: string;
  signer: Signer;
  tx: TxIntent<K>;
  /** Fields of the record the operation adds (to, amount, memo, task). */
  fields?: Partial<HistoryRecord>;
  /** How long after invocation an operation with no final answer becomes unknown. */
  timeoutMs: number;
  pollMs: number;
  /** Told the tx hash once signed, before it is posted (a market client derives its task id). */
  onSigned?: (hash: Uint8Array) => void;
}

/**
 * Signs the transaction with the signer's known nonce, posts it, and follows it on the same node
 * until it is committed (ok, at its height), finally refused (fail, with the code), or the timeout
 * (unknown). A refusal at submission is final: the node did not take it and nobody else was given it.
 * After anything but ok the signer's nonce is forgotten, to be read again before its next
 * transaction; after ok it is the next one. Never throws.
 */
export async function invoke<K extends TxKind>(v: Invocation<K>): Promise<HistoryRecord> {
  const s = v.signer;
  if (s.nonce === undefined) throw new Error(`invoke ${v.op}: the nonce of ${s.name} is not known`);
  const nonce = s.nonce;
  const bytes = signTx(s.key, { chainId: v.chainId, kind: v.tx.kind, nonce, payload: v.tx.payload } as TxRequest<K>);
  const decoded = decodeTx(bytes);
  if (decoded.chain !== s.chain) throw new Error(`invoke ${v.op}: routed to chain ${decoded.chain}, not ${s.name}'s home chain ${s.chain}`);
  v.onSigned?.(decoded.hash);
  const hex = toHex(bytes);
  const invokedAt = Date.now();
  const deadline = invokedAt + v.timeoutMs;
  const base = { op: v.op, client: v.client, kind: v.kind, node: v.node, invokedAt, tx: decoded.hashHex, from: s.address, ...v.fields };
  const end = (r: Pick<HistoryRecord, 'outcome'> & Partial<HistoryRecord>): HistoryRecord => {
    s.nonce = r.outcome === 'ok' ? nonce + 1n : undefined;
    return { ...base, ...r, completedAt: Date.now() };
  };
  const left = (): number => Math.max(1, deadline - Date.now());
  const post = async (): Promise<HttpAnswer> => v.http(v.node, 'POST', '/txs', { tx: hex }, left());

  try {
    const p = await post();
    const e = errorOf(p);
    // DUPLICATE_TX: the node already holds these very bytes, so they may commit; follow them.
    if (p.status !== 202 && p.status !== 200 && e.code !== 'DUPLICATE_TX') {
      // 5xx but 503: the node may have taken it before failing; 503 MEMPOOL_FULL is a refusal.
      if (p.status >= 500 && p.status !== 503) return end({ outcome: 'unknown', code: e.code, note: `POST /txs answered ${p.status}: ${e.message}` });
      return end({ outcome: 'fail', code: e.code, note: e.message });
    }
  } catch (e) {
    const message = (e as Error).message;
    // No connection was made (a killed node): the request never left, so nothing can commit.
    if (/ECONNREFUSED/.test(message)) return end({ outcome: 'fail', code: 'CONNECTION_REFUSED', note: `POST /txs: ${message}` });
    return end({ outcome: 'unknown', note: `POST /txs: ${message}` });
  }

  let note = 'no final answer';
  let lastRepost = Date.now();
  while (Date.now() < deadline) {
    await sleep(Math.min(v.pollMs, left()));
    let r: HttpAnswer;
    try {
      r = await v.http(v.node, 'GET', `/txs/${decoded.hashHex}`, undefined, Math.min(left(), 5_000));
    } catch (e) {
      note = `GET /txs: ${(e as Error).message}`;
      continue;
    }
    if (r.status === 200) {
      const t = r.json as TxStatusAnswer;
      if (t.status === 'committed' && t.height !== undefined) return end({ outcome: 'ok', height: t.height });
      if (t.status === 'rejected') {
        const code = t.error?.code ?? 'REJECTED';
        if (!NOT_FINAL.has(code)) return end({ outcome: 'fail', code, note: t.error?.message });
        note = `rejected for now: ${code}`;
      } else note = 'pending';
    } else if (r.status === 404) {
      // The node lost it (restarted from a store without it): the same bytes again.
      note = 'the node lost it (UNKNOWN_TX)';
      if (Date.now() - lastRepost > 1_000) {
        lastRepost = Date.now();
        await post().catch(() => undefined);
      }
    } else note = `GET /txs answered ${r.status}`;
  }
  return end({ outcome: 'unknown', note });
}

function errorOf(a: HttpAnswer): { code: string; message: string } {
  const e = (a.json as { error?: { code?: string; message?: string } } | undefined)?.error;
  return { code: e?.code ?? `HTTP_${a.status}`, message: e?.message ?? a.text.slice(0, 200) };
}

/**
 * Each address's ZNC balance as `node` reports it, read twice at least two heights apart until two
 * reads agree, so no credit receipt of an earlier transfer was still on its way (it lands one height
 * after its transaction). Throws after `timeoutMs`.
 */
export async function readBalances(http: Http, node: string, addresses: string[], timeoutMs = 30_000): Promise<Record<string, string>> {
  const deadline = Date.now() + timeoutMs;
  const height = async (): Promise<number> => (await getJson<StatusAnswer>(http, node, '/status')).height;
  const read = async (): Promise<Record<string, string>> => {
    const out: Record<string, string> = {};
    for (const a of addresses) out[a] = (await getJson<AccountAnswer>(http, node, `/accounts/${a}`)).balances.ZNC ?? '0';
    return out;
  };
  let prev = await read();
  for (;;) {
    const h = await height();
    while ((await height()) < h + 2) {
      if (Date.now() > deadline) throw new Error(`readBalances: ${node} did not move two heights past ${h} in time`);
      await sleep(100);
    }
    const now = await read();
    if (addresses.every((a) => now[a] === prev[a])) return now;
    if (Date.now() > deadline) throw new Error(`readBalances: balances on ${node} kept changing for ${timeoutMs} ms`);
    prev = now;
  }
}

/** A history file whose header holds the given accounts' starting balances, read from `ep`'s node. */
export async function openHistory(file: string, o: { chainId: string; seed?: number; ep: Endpoint; addresses: string[] }): Promise<HistoryWriter> {
  const http = httpVia(o.ep.agent);
  const balances = await readBalances(http, o.ep.node, o.addresses);
  // Settled balances (two reads agreed) before any workload operation: they hold at this height,
  // and the checker counts only the transfers above it (not the funding that made them).
  const balancesAt = (await getJson<StatusAnswer>(http, o.ep.node, '/status')).height;
  const header: HistoryHeader = { header: true, chainId: o.chainId, seed: o.seed, startedAt: Date.now(), balances, balancesAt };
  return new HistoryWriter(file, header);
}

/** Counts of a workload's operations by outcome, and of the refusals and unknowns by code. */
export interface WorkloadCounts {
  invoked: number;
  ok: number;
  fail: number;
  unknown: number;
  /** fail and unknown records by code (unknowns without one under "TIMEOUT"). */
  codes: Record<string, number>;
}

export const emptyCounts = (): WorkloadCounts => ({ invoked: 0, ok: 0, fail: 0, unknown: 0, codes: {} });

export function count(c: WorkloadCounts, r: HistoryRecord): void {
  c.invoked++;
  c[r.outcome]++;
  if (r.outcome !== 'ok') {
    const code = r.code ?? 'TIMEOUT';
    c.codes[code] = (c.codes[code] ?? 0) + 1;
  }
}

/**
 * Paces a client to `perSecond` operations: each call waits for the next slot; a slot missed while
 * an operation was slow is not made up with a burst. Resolves early (false) once `stopped()`.
 */
export function pacer(perSecond: number, stopped: () => boolean): () => Promise<boolean> {
  const every = 1000 / perSecond;
  let next = Date.now();
  return async () => {
    next = Math.max(next + every, Date.now());
    while (Date.now() < next) {
      if (stopped()) return false;
      await sleep(Math.min(50, next - Date.now()));
    }
    return !stopped();
  };
}
