import { addressFromPublicKey, bytesEqual, sha256, systemAddress, toHex, utf8 } from '../crypto/portable.ts';
import type { AppOutcomeCanonical } from './appOutcome.ts';
import { resultCommitment } from './resultCommit.ts';
import { readAccount, stakedOf, type MarketEvent } from './context.ts';
import { DEFAULT_PARAMS, type Genesis } from './genesis.ts';
import type { Block } from './block.ts';
import type { Certificate } from './commit.ts';
import { taskIdFor } from './market/tasks.ts';
import { TaskKind, VERIFY_SLOT, type Lease, type Task, type Worker } from './marketEntries.ts';
import { LeaseState } from './market/lifecycle.ts';
import { MAIN_CHAIN, ZNC, ZNC_UNIT } from './params.ts';
import { leases, tasks, workers } from './stores.ts';
import { checkSupply } from './supply.ts';
import { commitExecuted, makeTx, testChain, type TestChain } from './testing.ts';
import { TxKind, type Payload } from './ops/index.ts';
import { homeChain } from './routing.ts';
import type { Tx } from './tx.ts';
import type { LedgerError } from './errors.ts';

// A driver for market scenarios on the ledger: named accounts, one height per call, and
// readers for balances, workers, tasks and leases. Used by tests and the market benchmark.

export const MARKET_TEST_PARAMS = {
  ...DEFAULT_PARAMS.market,
  minWorkerBond: (100n * ZNC_UNIT).toString(),
  workerUnbondingBlocks: 10,
  startDeadlineBlocks: 5,
  reportDeadlineBlocks: 5,
  reviewBlocks: 4,
  revealDeadlineBlocks: 5,
  graceBlocks: 3,
  lowEscrowMs: 10_000,
  dividendPerLease: ZNC_UNIT.toString(),
};

export const BLOCK_MS = 1000;

export type WorkerSpec = Payload<typeof TxKind.RegisterWorker>;
export type Usage = Pick<Payload<typeof TxKind.SubmitResult>, 'cpuSeconds' | 'memoryGiBSeconds' | 'gpuSeconds' | 'networkBytes' | 'wallMs'>;
/** An app outcome as a reveal carries it. */
export type OutcomeReveal = AppOutcomeCanonical & { logDigest: string };
interface Sealed {
  from: string;
  task: Uint8Array;
  lease: number;
  salt: Uint8Array;
  digest: string;
  outcome?: OutcomeReveal;
}
export type TaskOrder = Payload<typeof TxKind.PostTask>;

export function workerSpec(over: Partial<WorkerSpec> = {}): WorkerSpec {
  return {
    cpuMillis: 4000,
    memoryMiB: 8192,
    diskMiB: 100_000,
    bandwidthMbps: 100,
    gpus: [],
    runtimes: ['docker'],
    region: 'eu',
    endpoint: '127.0.0.1:7000',
    sealKey: new Uint8Array(32).fill(7),
    priceCpuCoreHour: 9_000_000n,
    priceMemoryGiBHour: 450_000n,
    priceGpuHour: 0n,
    bond: 200n * ZNC_UNIT,
    benchmark: 600,
    ...over,
  };
}

export function taskOrder(over: Partial<TaskOrder> = {}): TaskOrder {
  return {
    cpuMillis: 1000,
    memoryMiB: 1024,
    diskMiB: 1000,
    bandwidthMbps: 10,
    gpuCount: 0,
    gpuModel: '',
    gpuMemoryMiB: 0,
    runtime: 'docker',
    region: '',
    minRating: 0,
    app: '',
    version: '',
    image: `sha256:${'ab'.repeat(32)}`,
    replicas: 1,
    kind: TaskKind.Batch,
    maxPricePerHour: 36_000_000n,
    maxHours: 1,
    redundancy: 1,
    ports: [],
    sealed: new Uint8Array(),
    bidWindowBlocks: 2,
    retries: 1,
    ...over,
  };
}

export class MarketDriver {
  readonly t: TestChain;
  /** Every market event announced so far. */
  readonly events: (MarketEvent & { chain: number; height: number })[] = [];

  readonly names: readonly string[];

  /** Bookkeeper keys that do not sign the next heights' certificates (they miss their slots). */
  readonly absent = new Set<string>();

  /** Called with every committed height (the replay-chain recorder keeps them). */
  onCommit?: (committed: { block: Block; certificate: Certificate }) => void;

  constructor(names: string[], marketParams: Partial<typeof MARKET_TEST_PARAMS> = {}, params: Omit<Partial<Genesis['params']>, 'market'> = {}) {
    this.names = names;
    this.t = testChain({ devAccounts: names, params: { ...params, market: { ...MARKET_TEST_PARAMS, ...marketParams } } });
  }

  /** Every named account's ZNC balance now. */
  balances(): Record<string, bigint> {
    return Object.fromEntries(this.names.map((n) => [n, this.znc(n)]));
  }

  /** What each named account gained (or lost) since `before`, leaving out those unchanged: who paid whom. */
  delta(before: Record<string, bigint>): Record<string, bigint> {
    return Object.fromEntries(this.names.map((n) => [n, this.znc(n) - before[n]]).filter(([, d]) => d !== 0n));
  }

  get height(): number {
    return this.t.ledger.height;
  }

  get time(): number {
    return this.t.ledger.time;
  }

  addr(name: string): Uint8Array {
    return addressFromPublicKey(this.t.keys[name].publicKey);
  }

  hex(name: string): string {
    return toHex(this.addr(name));
  }

  tx<K extends TxKind>(from: string, kind: K, payload: Payload<K>): Tx {
    return makeTx(this.t, from, kind, payload);
  }

  /** One height with these transactions; throws on a rejection unless `allowRejected`. */
  next(txs: Tx[] = [], allowRejected = false): Map<string, LedgerError> {
    const exec = this.t.ledger.begin(this.t.ledger.time + BLOCK_MS);
    const rejected = new Map<string, LedgerError>();
    for (const tx of txs) {
      const err = exec.tryApply(tx);
      if (err) rejected.set(tx.hashHex, err);
    }
    const executed = exec.finish();
    this.events.push(...executed.events.map((e) => ({ ...e, height: executed.height })));
    // An absent bookkeeper that should have proposed missed round 0: the height is decided in round 1.
    const set = this.t.ledger.bookkeepersAt(executed.height);
    const proposer = set[executed.height % set.length];
    const round = Object.entries(this.t.keys).some(([name, k]) => this.absent.has(name) && bytesEqual(k.publicKey, proposer)) ? 1 : 0;
    const committed = commitExecuted(this.t, executed, round, this.absent);
    this.onCommit?.(committed);
    if (!allowRejected && rejected.size > 0) {
      throw new Error(`rejected: ${[...rejected.values()].map((e) => `${e.code}: ${e.message}`).join('; ')}`);
    }
    checkSupply(this.t.ledger);
    if (rejected.size > 0) this.resyncNonces();
    return rejected;
  }

  /** A refused transaction used no nonce: take the next ones from the ledger again. */
  private resyncNonces(): void {
    for (const key of this.t.nonces.keys()) {
      const [name, chain] = key.split('/');
      this.t.nonces.set(key, readAccount(this.t.ledger.chains[Number(chain)], this.hex(name)).nonce);
    }
  }

  /** Runs heights until `height` has been committed. */
  until(height: number): void {
    while (this.t.ledger.height < height) this.next();
  }

  /** The single rejection a transaction gets, as "CODE: message". */
  reject(tx: Tx): LedgerError {
    const r = this.next([tx], true);
    const e = r.get(tx.hashHex);
    if (!e) throw new Error('the transaction was accepted');
    return e;
  }

  znc(name: string): bigint {
    const a = this.addr(name);
    return readAccount(this.t.ledger.chains[homeChain(a)], toHex(a)).balances[ZNC] ?? 0n;
  }

  system(name: string): bigint {
    return readAccount(this.t.ledger.chains[MAIN_CHAIN], toHex(systemAddress(name))).balances[ZNC] ?? 0n;
  }

  staked(name: string): bigint {
    return stakedOf(this.t.ledger.chains[MAIN_CHAIN], this.hex(name));
  }

  worker(name: string): Worker {
    return workers.get(this.t.ledger.chains[MAIN_CHAIN], this.hex(name))!;
  }

  task(id: Uint8Array): Task {
    return tasks.get(this.t.ledger.chains[id[0]], toHex(id))!;
  }

  lease(id: Uint8Array, n: number): Lease {
    return leases.get(this.t.ledger.chains[id[0]], toHex(id), n)!;
  }

  /** Stakes the bond, waits for it on main, registers. */
  registerWorker(name: string, over: Partial<WorkerSpec> = {}): void {
    const spec = workerSpec(over);
    this.next([this.tx(name, TxKind.Stake, { amount: spec.bond })]);
    this.next();
    this.next([this.tx(name, TxKind.RegisterWorker, spec)]);
  }

  /** Reveals the driver can make: commitments sent with `end`/`endOutcome`, by task and lease. */
  private readonly sealed = new Map<string, Sealed>();

  /** Whether a lease's result is compared with others' (and so committed, then revealed). */
  compared(id: Uint8Array, lease: number): boolean {
    const l = this.lease(id, lease);
    return l.verifies > 0 || (this.task(id).redundancy >= 2 && l.slot < VERIFY_SLOT);
  }

  /**
   * How a worker ends a batch lease with `digest`: SubmitResult when nothing compares it, else
   * CommitResult (its reveal kept for `reveals`). `digest` may be an app outcome's (`endOutcome`).
   */
  end(from: string, id: Uint8Array, lease: number, digest: string, usage: Usage, outcome?: OutcomeReveal): Tx {
    if (!this.compared(id, lease)) {
      if (outcome) return this.tx(from, TxKind.SubmitAppOutcome, { task: id, lease, ...usage, ...outcome });
      return this.tx(from, TxKind.SubmitResult, { task: id, lease, digest, ...usage });
    }
    const salt = sha256(utf8(`test-salt/${from}/${lease}/`), id);
    this.sealed.set(`${toHex(id)}/${lease}`, { from, task: id, lease, salt, digest, outcome });
    return this.tx(from, TxKind.CommitResult, { task: id, lease, ...usage, commitment: resultCommitment(id, lease, this.addr(from), digest, salt) });
  }

  /** The RevealResult of a commitment made with `end`. */
  reveal(id: Uint8Array, lease: number): Tx {
    const s = this.sealed.get(`${toHex(id)}/${lease}`)!;
    const o = s.outcome;
    return this.tx(s.from, TxKind.RevealResult, {
      task: s.task,
      lease,
      salt: s.salt,
      digest: o ? '' : s.digest,
      appOutcome: o !== undefined,
      exitCode: o?.exitCode ?? 0,
      oomKilled: o?.oomKilled ?? false,
      cause: o?.cause ?? '',
      logDigest: o?.logDigest ?? '',
    });
  }

  /** Reveals for every commitment made with `end` whose reveal phase is open, except those of `withhold`. */
  reveals(withhold: string[] = []): Tx[] {
    const out: Tx[] = [];
    for (const s of this.sealed.values()) {
      const l = this.lease(s.task, s.lease);
      if (withhold.includes(s.from) || l.state !== LeaseState.Completed || l.revealBy === 0n || l.resultDigest !== '' || BigInt(this.height) >= l.revealBy)
        continue;
      out.push(this.reveal(s.task, s.lease));
    }
    return out;
  }

  /** Posts a task and returns its id (the height that posts it is committed). */
  postTask(name: string, over: Partial<TaskOrder> = {}): Uint8Array {
    const tx = this.tx(name, TxKind.PostTask, taskOrder(over));
    this.next([tx]);
    return taskIdFor(tx.hash, tx.chain);
  }
}
