import { createHash, randomBytes } from 'node:crypto';
import { appendFileSync, createReadStream, createWriteStream, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { join } from 'node:path';
import type Docker from 'dockerode';
import {
  addressFromPublicKey,
  decodeAddress,
  encodeAddress,
  fromHex,
  openSealed,
  sealKeyPairFromSeed,
  toHex,
  type KeyPair,
  type SealKeyPair,
} from '../crypto/index.ts';
import {
  DdnError,
  fetchImageThroughNode,
  isDigest,
  loadFetchedImage,
  probeImage,
  UNFETCHABLE_IMAGE_CODES,
  type Digest,
  type ImageProbe,
} from '../ddn/index.ts';
import { appOutcomeDigest, isLeaseAtWork, isLiveLease, LEASE_STATES, resultCommitment, TxKind, type LeaseStateName, type TxRequest } from '../ledger/index.ts';
import { askPrice, bondShortfall, canBeLeased, formatZnc, misfits, rankBids, resultTooLarge } from '../market/index.ts';
import { NodeApiError, ZeusClient, type LeaseAnswer, type TaskAnswer, type TaskDetailAnswer, type WorkerAnswer } from '../sdk/index.ts';
import { DockerRuntime, LABEL_LEASE, LABEL_TASK, type LeaseRef } from './docker.ts';
import { Meter } from './meter.ts';
import { bidPrice, maxServicePorts, policyRefusal, type WorkerPolicy } from './policy.ts';
import { offerOf } from './resources.ts';
import { canonicalDigest, canonicalTar, ResultTooLargeError, scanResult, type ResultTree } from './canonicalResult.ts';
import { digestOf, uploadResult, uploadResultFile } from './results.ts';
import { scratchMiB } from './scratch.ts';
import { startWasm, wasmModuleOf } from './wasmWorkload.ts';
import { workloadName, type Workload } from './workload.ts';
import type { LogTarget } from './leaseLog.ts';
import { leaseLogFile, publishLeaseLogs } from './logs.ts';
import type { AgentSnapshot } from './status.ts';
import { containerAfterRestart, revealAction } from './leaseMachine.ts';
import { driveLease, type LeaseDrive, type LeaseIO } from './leaseRunner.ts';
import { revealFields, RevealNotes, type PendingReveal } from './revealNotes.ts';

// The worker agent: it follows the node's market events (and polls as a fallback, since a
// WebSocket can drop), bids on the open tasks the shared matcher says it fits, and runs each
// lease it wins as a workload — a locked-down container, or a WASI module where the lease asks
// for wasm — reporting usage every period; a batch task's /out becomes its result. What it does
// with a lease it holds is decided by the lease's state machine (src/worker/leaseMachine.ts, driven
// by leaseRunner.ts); this file gives it its I/O — the node, the engine, the meter, the lease's files.
//
// A batch workload that fails on its own inside its lease's limits — exits non-zero, is killed at
// its memory limit, runs past the task's max hours, traps — has that outcome reported at once
// (SubmitAppOutcome: exit code, OOM, the cause, the log's digest) as the lease's result: the worker
// is paid for the time it ran and keeps its bond and rating; the outcome is compared and disputed
// like a result. Before bidding it checks that the task's image can be fetched at all (manifest
// and config), and a lease whose image then cannot be fetched is released before it starts
// (ReleaseLease), penalty-free, instead of failing at the start deadline (docs/MARKET.md,
// "Fairness: app failures and missing images"). Its logs stay in the worker home; the workload is
// removed either way.
//
// Restarts: the containers carry their lease in labels. A restarted agent takes up again the
// containers whose lease is still active on the chain (reporting from where the chain says it
// stopped), removes the others, and starts anew the active leases it has no container for (a
// wasm run lives in the agent's process, so it is run again). Nothing runs that no lease pays for.
//
// Bids (issue 13): a worker holds at most maxConcurrentLeases bids and leases together, so it can
// never win more than it can run and is never slashed for a lease it could not start. A bid stops
// counting the moment it is decided — its task cancelled or ended, its window closed without it, its
// slots filled by the poster's AcceptBid — and one that can no longer win (as many better-ranked bids
// as open slots, by the chain's own rankBids) is taken back with WithdrawBid when another task waits
// for the capacity, so two idle workers that both bid on the first of two tasks serve both.

const POLL_MS = 2000;
/** How long an image check before bidding is trusted (a ghost image is asked about once, not every poll). */
const PROBE_TTL_MS = 30_000;
const WS_RETRY_MS = 1000;

export type RuntimeName = 'docker' | 'wasm';

export interface AgentOptions {
  node: string;
  /**
   * The node's home: the agent reads fetched blobs from its store and keeps its files under
   * `worker/leases/<task>-<lease>`. Agents with different keys may share it: the chain gives each
   * lease to one worker, so their files never meet.
   */
  home: string;
  key: KeyPair;
  policy: WorkerPolicy;
  /** Time between usage reports; must be well inside the chain's report deadline. */
  reportPeriodMs: number;
  log: (line: string) => void;
  /** The runtimes it runs (and registered); `docker` needs an engine. */
  runtimes: RuntimeName[];
  docker?: Docker;
  /**
   * TEST ONLY (`zeus worker start --test-corrupt-result`, hidden): submit a digest that is not the
   * result's, as a lying worker would, so tests can show redundancy outvoting and slashing it.
   */
  testCorruptResult?: boolean;
  /**
   * TEST ONLY (`zeus worker start --test-copy-result`, hidden): in a redundancy group or a verifier
   * seat, run nothing and copy another seat's digest (or, with commit and reveal, its commitment)
   * from the chain, as a lazy worker would, so tests can show it gets nothing.
   */
  testCopyResult?: boolean;
}

/** What the agent keeps about a lease it runs. */
interface Running {
  ref: LeaseRef;
  workload?: Workload;
  /** The lease's state machine, once the task is read (the machine keeps a wake-up for its next turn). */
  drive?: LeaseDrive;
  /** The chain said the lease ended before its machine ran: told to the machine when it starts. */
  woken: boolean;
}

/** What a task's sealed payload holds once opened: both become the workload's environment. */
interface SealedPayload {
  /** The task's parameters (recorded beside the lease's logs). */
  inputs?: Record<string, string>;
  /** Never written down: only their names are recorded. */
  secrets?: Record<string, string>;
}

interface Opened {
  inputs: Record<string, string>;
  secrets: Record<string, string>;
}

export class WorkerAgent {
  readonly address: string;
  private readonly hexAddress: string;
  private readonly c: ZeusClient;
  private readonly runtime?: DockerRuntime;
  private readonly o: AgentOptions;
  private readonly dir: string;
  private readonly sealKey: SealKeyPair;
  private chainId = '';
  private stopped = false;
  private ws?: WebSocket;
  private timer?: NodeJS.Timeout;
  private revealTimer?: NodeJS.Timeout;
  /**
   * Tasks bid on, with the last height of their window: each counts against the lease limit until it
   * is decided (won, lost, cancelled) or withdrawn (refreshBids).
   */
  private readonly bids = new Map<string, number>();
  /** Bids that can no longer win (enough better bids for every open slot): withdrawn when capacity is wanted. */
  private readonly outranked = new Set<string>();
  private readonly withdrawing = new Set<string>();
  /** Commitments waiting for their reveal phase, by their note in the lease's directory. */
  private readonly reveals: RevealNotes;
  /** The worker's registration as last read (each poll): its standing and its offer. */
  private me?: WorkerAnswer;
  private minWorkerBond = 0n;
  /** Why the chain will not lease this worker now (its bond is below the minimum); said once. */
  private blocked?: string;
  /** Task windows already decided (`task/closeHeight`), so each is looked at once. */
  private readonly decided = new Set<string>();
  private readonly running = new Map<string, Running>();
  /** Image checks before bidding, by manifest digest. */
  private readonly probes = new Map<string, { at: number; probe: ImageProbe }>();
  /** Failed fetches of a matched lease's image, by `task/lease`. */
  private readonly fetchFailures = new Map<string, number>();
  /** Tasks this worker released a lease of: the chain takes no more bids from it there. */
  private readonly released = new Set<string>();
  /** Verifier leases the chain drew this worker for and it declined (`task/lease`), so each is looked at once. */
  private readonly declined = new Set<string>();
  /** One transaction at a time: each waits for its commit, so nonces never collide. */
  private txQueue: Promise<unknown> = Promise.resolve();
  /**
   * One result upload at a time: a node lets an account have a bounded amount of uploads in
   * progress (src/ddn/quota.ts), and a result may be as large as MAX_RESULT_MIB (src/market/results.ts).
   */
  private uploads: Promise<unknown> = Promise.resolve();
  /** Counts since this process started, for the operator's metrics. */
  readonly counts = { bids: 0, leasesStarted: 0, reports: 0, results: 0, workloadsFailed: 0, workloadsStopped: 0 };

  constructor(o: AgentOptions) {
    this.o = o;
    this.c = new ZeusClient(o.node);
    if (o.runtimes.includes('docker')) this.runtime = new DockerRuntime(o.docker, { scratchDir: join(o.home, 'worker', 'scratch'), log: o.log });
    this.address = encodeAddress(addressFromPublicKey(o.key.publicKey));
    this.hexAddress = toHex(addressFromPublicKey(o.key.publicKey));
    this.sealKey = sealKeyPairFromSeed(o.key.secretKey);
    this.dir = join(o.home, 'worker');
    mkdirSync(join(this.dir, 'leases'), { recursive: true });
    this.reveals = new RevealNotes(join(this.dir, 'leases'));
  }

  async start(): Promise<void> {
    this.chainId = (await this.c.status()).chainId;
    this.minWorkerBond = BigInt((await this.c.marketParams()).minWorkerBond);
    await this.refreshStanding();
    await this.reconcile();
    await this.recallBids();
    this.connect();
    const tick = (): void => {
      if (this.stopped) return;
      void this.poll()
        .catch((e: unknown) => this.o.log(`poll failed: ${(e as Error).message}`))
        .finally(() => {
          if (!this.stopped) this.timer = setTimeout(tick, POLL_MS);
        });
    };
    tick();
    // Reveals on their own clock: a poll busy with tasks must not let a reveal deadline pass.
    const revealTick = (): void => {
      if (this.stopped) return;
      void this.revealDue()
        .catch((e: unknown) => this.o.log(`reveals: ${(e as Error).message}`))
        .finally(() => {
          if (!this.stopped) this.revealTimer = setTimeout(revealTick, POLL_MS);
        });
    };
    revealTick();
  }

  /** Stops following the market; containers of running leases are left for a restarted agent to find. */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    clearTimeout(this.revealTimer);
    this.ws?.close();
  }

  /** What the agent runs now, for `zeus worker status` (src/worker/status.ts). */
  snapshot(): AgentSnapshot {
    const leases = [...this.running.values()].map((r) => ({ task: r.ref.task, lease: r.ref.lease, container: r.workload?.id ?? null }));
    return { address: this.address, leases, bids: [...this.bids.keys()], notLeased: this.blocked ?? null };
  }

  /** The workload running a lease now, if this agent runs it: to sample it or read its logs so far. */
  workload(task: string, lease: number): Workload | undefined {
    return this.running.get(`${task}/${lease}`)?.workload;
  }

  private connect(): void {
    const url = `${this.o.node.replace(/^http/, 'ws')}/ws?events=market`;
    const ws = new WebSocket(url);
    this.ws = ws;
    ws.addEventListener('message', (m: MessageEvent) => {
      let e: { type?: string; kind?: string; task?: string; lease?: number; worker?: string };
      try {
        e = JSON.parse(String(m.data)) as typeof e;
      } catch {
        return;
      }
      if (e.type !== 'market' || !e.task) return;
      if (e.kind === 'task-posted') void this.consider(e.task).catch((err: unknown) => this.o.log(`task ${e.task}: ${(err as Error).message}`));
      if (e.kind === 'lease-matched' && e.worker === this.hexAddress)
        void this.pollLeases().catch((err: unknown) => this.o.log(`leases: ${(err as Error).message}`));
      if (e.kind === 'lease-ended' || e.kind === 'task-ended') for (const [k, r] of this.running) if (k.startsWith(`${e.task}/`)) wake(r);
      // A bid decided (window closed, task cancelled or ended): free its capacity at once.
      if ((e.kind === 'window-closed' || e.kind === 'task-ended') && this.bids.has(e.task))
        void this.refreshBids().catch((err: unknown) => this.o.log(`bids: ${(err as Error).message}`));
    });
    ws.addEventListener('close', () => {
      if (!this.stopped) setTimeout(() => this.connect(), WS_RETRY_MS);
    });
    ws.addEventListener('error', () => undefined);
  }

  private async poll(): Promise<void> {
    await this.refreshStanding();
    await this.refreshBids();
    const { tasks } = await this.c.tasks({ state: 'open' });
    // Oldest first: a task waiting longer is served first when capacity is short.
    for (const t of [...tasks].reverse()) await this.consider(t.id, t);
    await this.pollLeases();
  }

  /**
   * The worker's standing on the chain (canBeLeased, the chain's own rule): below the minimum bond it
   * is not leased, so it does not bid, and says so once — and once more when a top-up lifts it.
   */
  private async refreshStanding(): Promise<void> {
    const w = await this.c.worker(this.address);
    this.me = w;
    const standing = { bond: BigInt(w.bond), leavingAt: BigInt(w.leavingAt ?? 0) };
    const rule = { minWorkerBond: this.minWorkerBond };
    if (w.leavingAt === null && !canBeLeased(standing, rule)) {
      const short = bondShortfall(standing, rule);
      if (this.blocked === undefined) {
        this.blocked = `bond ${formatZnc(standing.bond)} is below the chain's minimum of ${formatZnc(this.minWorkerBond)}: not bidding, and not leased, until ${formatZnc(short)} more is bonded (zeus worker update --from KEY --add-bond ${formatZnc(short).replace(' ZNC', '')})`;
        this.o.log(`worker ${this.address}: ${this.blocked}`);
      }
    } else if (this.blocked !== undefined) {
      this.blocked = undefined;
      this.o.log(`worker ${this.address}: bond ${formatZnc(standing.bond)} is at the minimum again: bidding again`);
    }
  }

  /**
   * Looks at each pending bid on the chain: won (its lease is taken up), decided without it (freed),
   * or still open — and then whether it can still win (see `outranked`).
   */
  private async refreshBids(): Promise<void> {
    for (const [id, close] of [...this.bids]) {
      const t = await this.c.task(id).catch((e: unknown) => {
        if (e instanceof NodeApiError && e.status === 404) return undefined;
        throw e;
      });
      if (!this.bids.has(id)) continue;
      const mine = t?.leases.find((l) => l.worker === this.address && isLeaseAtWork(l.state));
      if (mine) {
        this.take(mine);
        continue;
      }
      if (t?.state !== 'open' || t.closeHeight !== close) {
        this.forget(id);
        this.o.log(
          `task ${id.slice(0, 12)}…: bid ${t?.state === 'cancelled' ? 'freed: the task was cancelled' : t && t.state !== 'open' ? `freed: the task is ${t.state} without this worker` : 'freed: its window closed without this worker'}`,
        );
        continue;
      }
      if (this.cannotWin(t)) this.outranked.add(id);
      else this.outranked.delete(id);
    }
  }

  private forget(id: string): void {
    this.bids.delete(id);
    this.outranked.delete(id);
  }

  /**
   * True when the chain's ranking (rankBids: price, rating, the stable hash) puts at least as many
   * other live bids of this window ahead of this worker's as the task has open slots. Only the
   * poster's AcceptBid could still pick it — which WithdrawBid rules out before the capacity is used.
   */
  private cannotWin(t: TaskDetailAnswer): boolean {
    const firstHeight = t.closeHeight - t.bidWindowBlocks;
    const holders = new Set(t.leases.filter((l) => isLiveLease(l.state)).map((l) => l.worker));
    const live = t.bids.filter((b) => !b.used && !b.withdrawn && b.height >= firstHeight && (b.worker === this.address || !holders.has(b.worker)));
    if (!live.some((b) => b.worker === this.address)) return false;
    const ranked = rankBids(
      t.id,
      live.map((b) => ({ worker: toHex(decodeAddress(b.worker)), price: BigInt(b.price), rating: b.rating })),
    );
    return ranked.findIndex((b) => b.worker === this.hexAddress) >= t.openSlots.length;
  }

  /** Takes back one bid that cannot win, to bid on a task that waits; true once one is withdrawn. */
  private async withdrawOne(): Promise<boolean> {
    for (const id of this.outranked) {
      if (this.withdrawing.has(id) || !this.bids.has(id)) continue;
      this.withdrawing.add(id);
      try {
        await this.send(TxKind.WithdrawBid, { task: fromHex(id) });
        this.forget(id);
        this.o.log(`task ${id.slice(0, 12)}…: bid withdrawn: better bids take every open slot, and another task waits`);
        return true;
      } catch (e) {
        // Decided meanwhile (won, lost, ended): the next refresh finds out which.
        this.outranked.delete(id);
        this.o.log(`task ${id.slice(0, 12)}…: bid not withdrawn: ${(e as Error).message}`);
      } finally {
        this.withdrawing.delete(id);
      }
    }
    return false;
  }

  /** After a restart: bids this worker holds in open windows still count (the agent kept them in memory). */
  private async recallBids(): Promise<void> {
    const { tasks } = await this.c.tasks({ state: 'open' });
    for (const s of tasks) {
      if (s.bidCount === 0) continue;
      const t = await this.c.task(s.id);
      const firstHeight = t.closeHeight - t.bidWindowBlocks;
      if (t.bids.some((b) => b.worker === this.address && !b.used && !b.withdrawn && b.height >= firstHeight)) {
        this.bids.set(t.id, t.closeHeight);
        this.decided.add(`${t.id}/${t.closeHeight}`);
      }
    }
  }

  /** Takes up leases matched to this worker that nothing runs yet (after a restart: started and running ones too). */
  private async pollLeases(states: readonly LeaseStateName[] = ['matched']): Promise<void> {
    for (const state of states) {
      const { leases } = await this.c.leases({ worker: this.address, state });
      for (const l of leases) this.take(l);
    }
  }

  private take(l: LeaseAnswer, workload?: Workload, drawnChecked = false): void {
    const k = `${l.task}/${l.index}`;
    // A bid on a task whose lease this worker holds is decided either way: this lease won it, or
    // (a later window) it cannot win, since the chain gives no worker two leases of one task.
    this.forget(l.task);
    if (this.running.has(k) || this.declined.has(k)) return;
    if (l.verifies !== null && l.state === 'matched' && !drawnChecked) {
      void this.takeVerification(l).catch((e: unknown) => this.o.log(`lease ${l.task.slice(0, 12)}…/${l.index}: ${(e as Error).message}`));
      return;
    }
    const r: Running = { ref: { task: l.task, lease: l.index, worker: this.address }, workload, woken: false };
    this.running.set(k, r);
    void this.runLease(l, r)
      .catch((e: unknown) => this.o.log(`lease ${l.task.slice(0, 12)}…/${l.index}: ${(e as Error).message}`))
      .finally(() => this.running.delete(k));
  }

  /**
   * The chain drew this worker, unasked, to verify a disputed result (docs/MARKET.md, "Fairness:
   * disputes and verifiers"): it is run like any lease won by a bid, unless the policy would not
   * have bid on the task or the worker is full — then it is left unstarted, which costs nothing
   * (the chain draws another verifier at the start deadline).
   */
  private async takeVerification(l: LeaseAnswer): Promise<void> {
    const k = `${l.task}/${l.index}`;
    this.declined.add(k);
    const t = await this.c.task(l.task).catch((e: unknown) => {
      this.declined.delete(k); // looked at again on the next poll
      throw e;
    });
    const p = this.o.policy;
    const why =
      (!this.o.runtimes.includes(t.needs.runtime as RuntimeName) && `runtime ${t.needs.runtime} is not offered`) ||
      ((t.app === '' || !isDigest(t.digest)) && 'a raw image without an app cannot be fetched through the DDN') ||
      policyRefusal(p, t.app, t.developer ?? undefined) ||
      (this.sealedOf(t) === undefined && 'its sealed inputs are not sealed to this worker') ||
      (this.busy() >= p.maxConcurrentLeases && `already at ${p.maxConcurrentLeases} lease(s)`);
    if (why) {
      this.o.log(`lease ${l.task.slice(0, 12)}…/${l.index}: drawn to verify lease ${l.verifies}; declined (${why}): left unstarted, at no cost`);
      return;
    }
    this.declined.delete(k);
    this.o.log(`lease ${l.task.slice(0, 12)}…/${l.index}: drawn by the chain to verify lease ${l.verifies}; running it`);
    this.take(l, undefined, true);
  }

  private busy(): number {
    return this.running.size + this.bids.size;
  }

  /** The task's sealed inputs and secrets, opened with this worker's seal key; undefined when not sealed to it. */
  private sealedOf(t: TaskAnswer): Opened | undefined {
    if (!t.sealed) return { inputs: {}, secrets: {} };
    try {
      const payload = JSON.parse(new TextDecoder().decode(openSealed(this.sealKey, fromHex(t.sealed)))) as SealedPayload;
      return { inputs: payload.inputs ?? {}, secrets: payload.secrets ?? {} };
    } catch {
      return undefined;
    }
  }

  /** Why the agent will not bid on a task, or undefined when it will. */
  private refusal(t: TaskAnswer): string | undefined {
    const p = this.o.policy;
    if (t.state !== 'open') return `task is ${t.state}`;
    if (!this.o.runtimes.includes(t.needs.runtime as RuntimeName)) return `runtime ${t.needs.runtime} is not offered`;
    if (t.kind === 'service' && t.needs.runtime !== 'docker') return 'a service runs only in the docker runtime';
    if (t.kind === 'service' && t.ports.length > maxServicePorts(p)) return `a service publishes at most ${maxServicePorts(p)} ports here`;
    if (t.app === '' || !isDigest(t.digest)) return 'a raw image without an app cannot be fetched through the DDN';
    if (this.released.has(t.id)) return 'it released a lease of this task (its image could not be fetched)';
    const refused = policyRefusal(p, t.app, t.developer ?? undefined);
    if (refused) return refused;
    // Sealed to other workers: winning would mean running without the secrets the task needs.
    if (this.sealedOf(t) === undefined) return 'its sealed secrets are not sealed to this worker';
    // Its /out is its result: one the worker could not deliver is one it does not agree to.
    const tooLarge = t.kind === 'batch' ? resultTooLarge(t.needs.diskMiB) : undefined;
    if (tooLarge) return tooLarge;
    // The chain never gives one worker two leases of a task: such a bid could only hold capacity.
    if ([...this.running.keys()].some((k) => k.startsWith(`${t.id}/`))) return 'it already runs a lease of this task';
    return undefined;
  }

  private async consider(taskId: string, seen?: TaskAnswer): Promise<void> {
    const t = seen ?? (await this.c.task(taskId));
    const window = `${t.id}/${t.closeHeight}`;
    if (this.decided.has(window) || this.bids.has(t.id)) return;
    // Not leased below the minimum bond: said once (refreshStanding), not for every task.
    if (this.blocked !== undefined) return;
    const why = this.refusal(t);
    if (why) {
      // A refusal for good is said once per window, so an operator can tell why a task it seems
      // to fit got no bid from it.
      this.decided.add(window);
      this.o.log(`task ${t.id.slice(0, 12)}…: not bidding: ${why}`);
      return;
    }
    const offer = offerOf(this.me ?? (await this.c.worker(this.address)));
    const needs = { ...t.needs, maxPricePerHour: BigInt(t.maxPricePerHour) };
    const price = bidPrice(this.o.policy, askPrice(offer, needs), needs, offer.priceGpuHour);
    const reasons = misfits(offer, needs, price);
    if (reasons.length) {
      this.decided.add(window);
      this.o.log(`task ${t.id.slice(0, 12)}…: not bidding: ${reasons.map((r) => r.message).join('; ')}`);
      return;
    }
    const image = await this.imageProbe(t);
    if (!image.ok) {
      this.o.log(`task ${t.id.slice(0, 12)}…: not bidding: its image ${t.app}@${t.digest} cannot be fetched (${image.code}: ${image.message})`);
      return;
    }
    // Full now is not a refusal for good: a bid that cannot win makes room, or the window is looked
    // at again on the next poll (and not logged, or every poll would say it).
    const max = this.o.policy.maxConcurrentLeases;
    if (this.busy() >= max && !(await this.withdrawOne())) return;
    // Checked and reserved with no wait in between, so two tasks considered at once cannot both
    // take the last place.
    if (this.busy() >= max || this.decided.has(window) || this.bids.has(t.id)) return;
    this.decided.add(window);
    this.bids.set(t.id, t.closeHeight);
    this.o.log(`task ${t.id.slice(0, 12)}…: bidding ${price} base units/h`);
    await this.send(TxKind.Bid, { task: fromHex(t.id), price }).catch((e: unknown) => {
      this.forget(t.id);
      throw e;
    });
    this.counts.bids += 1;
  }

  /** Signs with the worker key and waits for the commit; a rejection throws its reason. */
  private send<K extends TxKind>(kind: K, payload: TxRequest<K>['payload']): Promise<void> {
    const next = this.txQueue.then(async () => {
      const sent = await this.c.send(this.o.key, kind, payload, this.chainId);
      const s = await this.c.waitForTx(sent.hash, 30_000);
      if (s.status !== 'committed') throw new Error(`transaction ${sent.hash} ${s.status}: ${s.error?.code}: ${s.error?.message}`);
    });
    this.txQueue = next.catch(() => undefined);
    return next;
  }

  /** Fetches the lease's image through the DDN and starts it in the runtime the task asks for. */
  private async launch(t: TaskAnswer, r: Running, files: string): Promise<Workload> {
    const job = await fetchImageThroughNode(this.o.node, { repository: t.app, digest: t.digest as `sha256:${string}` });
    const opened = this.sealedOf(t);
    if (opened === undefined) throw new Error("the sealed inputs and secrets cannot be opened with this worker's key");
    const env = { ...opened.inputs, ...opened.secrets };
    if (t.needs.runtime === 'wasm') {
      const { module, args } = await wasmModuleOf(this.o.home, job);
      this.o.log(`lease ${r.ref.task.slice(0, 12)}…/${r.ref.lease}: module ${t.app}@${t.digest} delivered (${module.length} bytes)`);
      return startWasm({
        module,
        args,
        env,
        workDir: files,
        log: this.logOf(r.ref),
        memoryLimitBytes: t.needs.memoryMiB * 1024 * 1024,
        wallTimeLimitMs: t.maxHours * 3_600_000,
      });
    }
    if (!this.runtime) throw new Error('the docker runtime is not enabled on this worker');
    const tag = `zeus-app/${t.app}:${t.digest.slice(7, 19)}`;
    await loadFetchedImage(this.o.home, job, tag, this.runtime.docker);
    this.o.log(`lease ${r.ref.task.slice(0, 12)}…/${r.ref.lease}: image ${t.app}@${t.digest} delivered`);
    const limits = {
      cpuMillis: t.needs.cpuMillis,
      memoryMiB: t.needs.memoryMiB,
      gpuCount: t.needs.gpuCount,
      diskMiB: scratchMiB(t.needs.diskMiB, this.o.policy.maxDiskMiB),
    };
    const w = await this.runtime.start(
      tag,
      r.ref,
      limits,
      this.logOf(r.ref),
      t.kind === 'service' ? { env, ports: t.ports, bindAddress: this.o.policy.bindAddress, announceAddress: this.o.policy.announceAddress } : { env },
    );
    const inspected = await this.runtime.docker.getContainer(w.id).inspect();
    // What the container really runs with, kept beside its logs (and what the tests check): the
    // inputs, but of the secrets only their names.
    writeFileSync(
      join(files, 'container.json'),
      JSON.stringify(
        {
          id: inspected.Id,
          image: t.digest,
          hostConfig: inspected.HostConfig,
          volumes: inspected.Mounts.map((m) => m.Name),
          inputs: opened.inputs,
          env: Object.keys(env),
        },
        null,
        2,
      ),
    );
    return w;
  }

  /** Whether the task's image can be fetched (manifest and config), asked of the node and its peers; kept a while. */
  private async imageProbe(t: TaskAnswer): Promise<ImageProbe> {
    const seen = this.probes.get(t.digest);
    if (seen && Date.now() - seen.at < PROBE_TTL_MS) return seen.probe;
    const probe = await probeImage(this.o.node, { repository: t.app, digest: t.digest as Digest });
    for (const [d, p] of this.probes) if (Date.now() - p.at >= PROBE_TTL_MS) this.probes.delete(d);
    this.probes.set(t.digest, { at: Date.now(), probe });
    return probe;
  }

  /** Where a lease's output goes, and how much of it is kept. */
  private logOf(ref: { task: string; lease: number }): LogTarget {
    return { file: leaseLogFile(this.o.home, ref.task, ref.lease), capBytes: this.o.policy.logCapBytes };
  }

  /** Runs a lease through its state machine (src/worker/leaseMachine.ts), with this agent's chain, engine and disk as its I/O. */
  private async runLease(l: LeaseAnswer, r: Running): Promise<void> {
    const k = `${l.task.slice(0, 12)}…/${l.index}`;
    const files = join(this.dir, 'leases', `${l.task}-${l.index}`);
    mkdirSync(files, { recursive: true });
    const t = await this.c.task(l.task);
    if (this.o.testCopyResult && t.kind === 'batch' && (l.verifies !== null || t.redundancy >= 2)) return this.copyLease(l, k, files);
    const key = `${l.task}/${l.index}`;
    const compared = l.verifies !== null || t.redundancy >= 2;
    const init = {
      task: l.task,
      index: l.index,
      kind: t.kind,
      chainState: l.state,
      reports: l.reports,
      compared,
      startedAt: l.startedAt,
      maxHours: t.maxHours,
      reportPeriodMs: this.o.reportPeriodMs,
      fetchFailures: this.fetchFailures.get(key) ?? 0,
    };
    const drive = driveLease(
      init,
      this.leaseIO(l, t, r, files),
      r.workload && { name: workloadName(r.workload.id), endpoint: r.workload.endpoint, exited: r.workload.exited },
    );
    r.drive = drive;
    if (r.woken) drive.wake();
    await drive.done;
  }

  /** What a lease's state machine does to the world: this agent's chain client, engine, meter and files. */
  private leaseIO(l: LeaseAnswer, t: TaskAnswer, r: Running, files: string): LeaseIO {
    const k = `${l.task.slice(0, 12)}…/${l.index}`;
    const key = `${l.task}/${l.index}`;
    const task = fromHex(l.task);
    let meter: Meter | undefined;
    let collected: Awaited<ReturnType<WorkerAgent['collectResult']>> | undefined;
    const workload = (): Workload => {
      if (!r.workload) throw new Error(`lease ${k}: no workload`);
      return r.workload;
    };
    const metered = (): Meter => {
      if (!meter) throw new Error(`lease ${k}: usage is not metered yet`);
      return meter;
    };
    const sampleNow = async (): Promise<void> => metered().add(await workload().sample(), Date.now());
    return {
      now: () => Date.now(),
      setTimer: (ms, fire) => {
        const timer = setTimeout(fire, ms);
        return () => clearTimeout(timer);
      },
      launch: async () => {
        const w = await this.launch(t, r, files);
        r.workload = w;
        return { name: workloadName(w.id), endpoint: w.endpoint, exited: w.exited };
      },
      unfetchable: (e) => (e instanceof DdnError && UNFETCHABLE_IMAGE_CODES.includes(e.code) ? e.code : undefined),
      startLease: (endpoint) => this.send(TxKind.StartLease, { task, lease: l.index, endpoint }),
      startMeter: () => {
        meter = new Meter(Date.now(), { cpuSeconds: BigInt(l.usage.cpuSeconds), memoryGiBSeconds: BigInt(l.usage.memoryGiBSeconds) });
      },
      reportUsage: (seq) => this.send(TxKind.ReportUsage, { task, lease: l.index, seq, ...metered().period(Date.now()) }),
      releaseLease: (reason) => this.send(TxKind.ReleaseLease, { task, lease: l.index, reason }),
      readLease: () => this.c.lease(l.task, l.index),
      sample: sampleNow,
      stop: () => workload().stop(),
      drain: async () => {
        const w = workload();
        const exit = await w.exited;
        try {
          return { exit, logs: await w.logsDone() };
        } catch (e) {
          return { exit, logsError: (e as Error).message };
        }
      },
      collect: async () => {
        collected = await this.collectResult(workload(), t, files, k);
        return 'error' in collected
          ? { ok: false, error: collected.error, tooLarge: collected.tooLarge }
          : { ok: true, digest: collected.digest, tarBytes: collected.tree.tarBytes, fileBytes: collected.tree.fileBytes, dropped: collected.dropped };
      },
      publishLogs: async () => {
        await publishLeaseLogs({
          node: this.o.node,
          key: this.o.key,
          client: this.c,
          task: t,
          lease: l.index,
          file: join(files, 'container.log'),
          log: this.o.log,
        });
      },
      end: async (ending) => {
        await sampleNow();
        if (ending.how === 'submitAppOutcome' || ending.how === 'commitAppOutcome') {
          const failed = ending.outcome;
          const logDigest = await fileDigest(join(files, 'container.log'));
          if (ending.how === 'commitAppOutcome')
            await this.commit(
              files,
              { task: l.task, lease: l.index, salt: '', digest: appOutcomeDigest(failed), outcome: { ...failed, logDigest } },
              metered().period(Date.now()),
            );
          else await this.send(TxKind.SubmitAppOutcome, { task, lease: l.index, ...failed, logDigest, ...metered().period(Date.now()) });
          return { logDigest };
        }
        if (!collected || 'error' in collected) throw new Error(`lease ${k}: no result to end with`);
        const { tree, digest } = collected;
        if (ending.how === 'commitResult') {
          // Compared with other workers': commit now, publish and reveal once every seat has committed.
          const submitted = this.o.testCorruptResult ? digestOf(new TextEncoder().encode(`test-corrupt-result:${digest}`)) : digest;
          if (submitted !== digest) this.o.log(`lease ${k}: TEST ONLY --test-corrupt-result: committing to ${submitted} instead of the result's ${digest}`);
          const tar = join(files, 'result.tar');
          await pipeline(Readable.from(canonicalTar(tree)), createWriteStream(tar));
          await this.commit(files, { task: l.task, lease: l.index, salt: '', digest: submitted, tar: { file: tar, digest } }, metered().period(Date.now()));
          return { submitted };
        }
        const upload = this.uploads.then(() => uploadResult(this.o.node, this.o.key, tree, { task: l.task, lease: l.index }, digest));
        this.uploads = upload.catch(() => undefined);
        const { repository, digest: published } = await upload;
        const submitted = this.o.testCorruptResult ? digestOf(new TextEncoder().encode(`test-corrupt-result:${published}`)) : published;
        if (submitted !== published) this.o.log(`lease ${k}: TEST ONLY --test-corrupt-result: submitting ${submitted} instead of the result's ${published}`);
        await this.send(TxKind.SubmitResult, { task, lease: l.index, digest: submitted, ...metered().period(Date.now()) });
        return { submitted, repository };
      },
      remove: async (outcome) => {
        await workload().remove();
        rmSync(join(files, 'result'), { recursive: true, force: true });
        // Written last: whoever watches for it finds the workload already gone.
        if (outcome) writeFileSync(join(files, 'outcome.json'), JSON.stringify(outcome));
      },
      writeOutcome: (outcome) => writeFileSync(join(files, 'outcome.json'), JSON.stringify(outcome)),
      markReleased: () => this.released.add(l.task),
      setFetchFailures: (n) => {
        if (n === 0) this.fetchFailures.delete(key);
        else this.fetchFailures.set(key, n);
      },
      count: (what) => (this.counts[what] += 1),
      log: this.o.log,
    };
  }

  /**
   * A batch workload's /out as its canonical result (src/worker/canonicalResult.ts): unpacked
   * (a container's) into the lease's `result` directory, scanned and hashed. What it left out
   * (links, devices…) or why there is none (more than the lease's disk) is added to the lease's
   * log, which is sealed to the poster next, so the user reads it with `zeus task logs`.
   */
  private async collectResult(
    w: Workload,
    t: TaskAnswer,
    files: string,
    k: string,
  ): Promise<{ tree: ResultTree; digest: `sha256:${string}`; dropped: { name: string; type: string }[] } | { error: string; tooLarge: boolean }> {
    const limitBytes = scratchMiB(t.needs.diskMiB, this.o.policy.maxDiskMiB) * 1024 * 1024;
    const note = (line: string): void => appendFileSync(join(files, 'container.log'), `\n[zeus: ${line}]\n`);
    const staging = join(files, 'result');
    rmSync(staging, { recursive: true, force: true });
    try {
      const { dir, dropped } = await w.resultFiles(staging, limitBytes);
      const tree = scanResult(dir, limitBytes, [...dropped]);
      if (tree.dropped.length) {
        const names = tree.dropped
          .slice(0, 20)
          .map((d) => `${d.name} (${d.type})`)
          .join(', ');
        const more = tree.dropped.length > 20 ? ` and ${tree.dropped.length - 20} more` : '';
        note(`the result holds regular files and directories only; left out: ${names}${more}`);
        this.o.log(
          `lease ${k}: the result leaves out ${tree.dropped.length} entr${tree.dropped.length === 1 ? 'y' : 'ies'} that are neither files nor directories: ${names}${more}`,
        );
      }
      return { tree, digest: await canonicalDigest(tree), dropped: tree.dropped };
    } catch (e) {
      const error = e instanceof ResultTooLargeError ? e.message : `the result could not be read: ${(e as Error).message}`;
      note(error);
      return { error, tooLarge: e instanceof ResultTooLargeError };
    }
  }

  /**
   * TEST ONLY (--test-copy-result): a lazy worker. It starts the lease, runs nothing, reports empty
   * periods, and ends the lease with whatever another seat of its group shows on the chain first: a
   * digest (what SubmitResult used to show) or a commitment, committed as its own; then it tries to
   * reveal the other seat's digest once revealed. Everything it does is logged with TEST ONLY.
   */
  private async copyLease(l: LeaseAnswer, k: string, files: string): Promise<void> {
    const task = fromHex(l.task);
    const zero = { cpuSeconds: 0n, memoryGiBSeconds: 0n, gpuSeconds: 0n, networkBytes: 0n, wallMs: 0n };
    if (l.state === 'matched') await this.send(TxKind.StartLease, { task, lease: l.index, endpoint: '' });
    this.o.log(`lease ${k}: TEST ONLY --test-copy-result: not running it; waiting for another seat's digest or commitment`);
    const same = (o: LeaseAnswer): boolean =>
      o.index !== l.index && (l.verifies !== null ? o.verifies === l.verifies : o.verifies === null && o.replica === l.replica);
    let seq = l.reports;
    let copied: LeaseAnswer | undefined;
    for (let turn = 0; !copied && !this.stopped; turn++) {
      await new Promise((res) => setTimeout(res, 1000));
      const d = await this.c.task(l.task);
      const mine = d.leases.find((o) => o.index === l.index);
      if (!mine || !isLeaseAtWork(mine.state)) return;
      copied = d.leases.find((o) => same(o) && (o.resultDigest !== '' || o.commitment !== ''));
      if (!copied && turn % Math.max(1, Math.round(this.o.reportPeriodMs / 1000)) === 0) {
        seq += 1;
        await this.send(TxKind.ReportUsage, { task, lease: l.index, seq, ...zero }).catch(() => (seq -= 1));
      }
    }
    if (!copied) return;
    if (copied.resultDigest !== '') {
      this.o.log(`lease ${k}: TEST ONLY --test-copy-result: submitting lease ${copied.index}'s digest ${copied.resultDigest} as its own`);
      await this.send(TxKind.SubmitResult, { task, lease: l.index, digest: copied.resultDigest, ...zero }).catch((e: unknown) =>
        this.o.log(`lease ${k}: TEST ONLY --test-copy-result: refused: ${(e as Error).message}`),
      );
      return;
    }
    this.o.log(`lease ${k}: TEST ONLY --test-copy-result: committing lease ${copied.index}'s commitment as its own`);
    await this.send(TxKind.CommitResult, { task, lease: l.index, commitment: fromHex(copied.commitment), ...zero });
    for (;;) {
      await new Promise((res) => setTimeout(res, 1000));
      const [mine, other] = await Promise.all([this.c.lease(l.task, l.index), this.c.lease(l.task, copied.index)]);
      if (mine.state !== 'completed') {
        this.o.log(`lease ${k}: TEST ONLY --test-copy-result: ${mine.state}: ${mine.outcome}`);
        writeFileSync(join(files, 'outcome.json'), JSON.stringify({ copied: copied.index, result: null }));
        return;
      }
      if (mine.revealBy === null || other.resultDigest === '') continue;
      await this.send(TxKind.RevealResult, {
        task,
        lease: l.index,
        digest: other.resultDigest,
        salt: randomBytes(32),
        appOutcome: false,
        exitCode: 0,
        oomKilled: false,
        cause: '',
        logDigest: '',
      })
        .then(() => this.o.log(`lease ${k}: TEST ONLY --test-copy-result: the copied reveal was accepted`))
        .catch((e: unknown) => this.o.log(`lease ${k}: TEST ONLY --test-copy-result: reveal of ${other.resultDigest} refused: ${(e as Error).message}`));
      copied = { ...copied, resultDigest: '' };
      // Tried once; wait for the chain to decide.
      for (;;) {
        await new Promise((res) => setTimeout(res, 1000));
        const now = await this.c.lease(l.task, l.index);
        if (now.state !== 'completed') {
          this.o.log(`lease ${k}: TEST ONLY --test-copy-result: ${now.state}: ${now.outcome}`);
          writeFileSync(join(files, 'outcome.json'), JSON.stringify({ copied: copied.index, result: null }));
          return;
        }
      }
    }
  }

  /**
   * Ends a compared lease with a commitment to `p.digest` (a fresh salt), written down in the lease's
   * directory before it is sent: a restart between commit and reveal still reveals.
   */
  private async commit(files: string, p: PendingReveal, usage: ReturnType<Meter['period']>): Promise<void> {
    const pending: PendingReveal = { ...p, salt: toHex(randomBytes(32)) };
    const commitment = resultCommitment(fromHex(p.task), p.lease, fromHex(this.hexAddress), p.digest, fromHex(pending.salt));
    this.reveals.add(files, pending);
    await this.send(TxKind.CommitResult, { task: fromHex(p.task), lease: p.lease, commitment, ...usage });
  }

  /**
   * Reveals each commitment whose reveal phase is open (the lease shows `revealBy`): the result is
   * published first (only now: read earlier, a copier could have committed to it), then the digest
   * or app outcome and the salt are sent. Done or decided without it, the note is removed.
   */
  private async revealDue(): Promise<void> {
    for (const [file, p] of this.reveals.pending()) {
      const k = `${p.task.slice(0, 12)}…/${p.lease}`;
      const action = revealAction(k, await this.c.lease(p.task, p.lease).catch(() => undefined));
      if (action.do === 'wait') continue;
      if (action.do === 'forget') {
        this.reveals.forget(file);
        if (action.log) this.o.log(action.log);
        continue;
      }
      try {
        if (p.tar && existsSync(p.tar.file)) {
          await uploadResultFile(this.o.node, this.o.key, p.tar.file, p.tar.digest as Digest, { task: p.task, lease: p.lease });
        }
        await this.send(TxKind.RevealResult, { task: fromHex(p.task), lease: p.lease, salt: fromHex(p.salt), ...revealFields(p) });
        this.o.log(`lease ${k}: revealed ${p.outcome ? 'its app outcome' : `its result ${p.digest}`}`);
        this.reveals.forget(file);
      } catch (e) {
        this.o.log(`lease ${k}: reveal failed (${(e as Error).message}); tried again on the next poll`);
      }
    }
  }

  /**
   * After a restart: each container this worker started is taken up again when its lease is still
   * active on the chain, and removed otherwise. Then active leases with no container are started.
   */
  private async reconcile(): Promise<void> {
    for (const info of this.runtime ? await this.runtime.ofWorker(this.address) : []) {
      const task = info.Labels[LABEL_TASK] ?? '';
      const index = Number(info.Labels[LABEL_LEASE]);
      // Only the node's answer decides: a node that cannot be reached says nothing about the
      // lease, and removing on that would throw away a running lease's work.
      const l = await this.c.lease(task, index).catch((e: unknown) => {
        if (e instanceof NodeApiError && e.status === 404) return undefined;
        throw e;
      });
      if (l && containerAfterRestart(l) === 'takeUp' && this.runtime) {
        const t = await this.c.task(task);
        this.o.log(`taking up container ${info.Id.slice(0, 12)} of lease ${task.slice(0, 12)}…/${index} (${l.state}, ${info.State})`);
        mkdirSync(join(this.dir, 'leases', `${task}-${index}`), { recursive: true });
        this.take(
          l,
          await this.runtime.attach(info.Id, t.kind === 'service' ? t.ports : [], this.logOf({ task, lease: index }), this.o.policy.announceAddress),
        );
        continue;
      }
      this.o.log(`removing container ${info.Id.slice(0, 12)} left from an earlier run: lease ${task.slice(0, 12)}…/${index} is ${l?.state ?? 'unknown'}`);
      await this.runtime?.remove(this.runtime.docker.getContainer(info.Id));
    }
    for (const s of (await this.runtime?.sweepScratch(this.address)) ?? []) this.o.log(`removed scratch area ${s} left from an earlier run`);
    this.reveals.load(this.o.log);
    await this.pollLeases(LEASE_STATES.filter(isLeaseAtWork));
  }
}

/** Wakes a lease's loop early: the chain said the lease ended (cancel, deadline, escrow). */
function wake(r: Running): void {
  if (r.drive) r.drive.wake();
  else r.woken = true;
}

/** sha256 of a file, read as a stream (a lease's log is up to its cap). */
async function fileDigest(file: string): Promise<string> {
  const h = createHash('sha256');
  try {
    for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  } catch (e) {
    // No log kept (it could not be written): the digest of nothing.
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  return `sha256:${h.digest('hex')}`;
}
