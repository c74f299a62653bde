import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { addressFromPublicKey, encodeAddress, fromHex, toHex, type KeyPair } from '../crypto/index.ts';
import { fetchImageThroughNode, isDigest, loadFetchedImage } from '../ddn/index.ts';
import { TxKind, type TxRequest } from '../ledger/index.ts';
import { askPrice, misfits } from '../market/index.ts';
import { ZeusClient, type LeaseAnswer, type TaskAnswer } from '../sdk/index.ts';
import { DockerRuntime, hostConfigFor, LABEL_TASK, type LeaseRef } from './docker.ts';
import { Meter } from './meter.ts';
import type { WorkerPolicy } from './policy.ts';
import { offerOf } from './resources.ts';
import { uploadResult } from './results.ts';
// ops hooks (issue 6): logs published at a lease's end, and the snapshot `zeus worker status` shows.
import { publishLeaseLogs } from './logs.ts';
import type { AgentSnapshot } from './status.ts';

// The worker agent: it follows the node's market events (and polls as a fallback, since a
// WebSocket can drop), bids on the open tasks the shared matcher says it fits, and runs each
// lease it wins as a locked-down container, reporting usage every period and submitting the
// contents of /out as the result.
//
// A container that exits non-zero or is killed (OOM, pids) ends the lease on the worker's side
// with nothing sent: no result to stand behind and no usage to claim beyond what was reported.
// The chain's report deadline then fails the lease (paying what was reported, re-offering the
// slot). Its logs stay in the worker home; the container is removed either way.

const POLL_MS = 2000;
const WS_RETRY_MS = 1000;

export interface AgentOptions {
  node: string;
  /** The node's home: the agent reads fetched blobs from its store and keeps its files under `worker/`. */
  home: string;
  key: KeyPair;
  policy: WorkerPolicy;
  /** Time between usage reports; must be well inside the chain's report deadline. */
  reportPeriodMs: number;
  log: (line: string) => void;
  docker?: Docker;
}

/** What the agent keeps about a lease it runs. */
interface Running {
  ref: LeaseRef;
  container?: Docker.Container;
}

export class WorkerAgent {
  readonly address: string;
  private readonly hexAddress: string;
  private readonly c: ZeusClient;
  private readonly runtime: DockerRuntime;
  private readonly o: AgentOptions;
  private readonly dir: string;
  private chainId = '';
  private stopped = false;
  private ws?: WebSocket;
  private timer?: NodeJS.Timeout;
  /** Tasks bid on, with the last height of their window: they count against the lease limit until it closes. */
  private readonly bids = new Map<string, number>();
  /** Task windows already decided (`task/closeHeight`), so each is looked at once. */
  private readonly decided = new Set<string>();
  private readonly running = new Map<string, Running>();
  /** One transaction at a time: each waits for its commit, so nonces never collide. */
  private txQueue: Promise<unknown> = Promise.resolve();

  constructor(o: AgentOptions) {
    this.o = o;
    this.c = new ZeusClient(o.node);
    this.runtime = new DockerRuntime(o.docker);
    this.address = encodeAddress(addressFromPublicKey(o.key.publicKey));
    this.hexAddress = toHex(addressFromPublicKey(o.key.publicKey));
    this.dir = join(o.home, 'worker');
    mkdirSync(join(this.dir, 'leases'), { recursive: true });
  }

  async start(): Promise<void> {
    this.chainId = (await this.c.status()).chainId;
    await this.reconcile();
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
  }

  /** Stops following the market; containers of running leases are left for a restarted agent to find. */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.ws?.close();
  }

  // ops hook: what the agent runs now, for `zeus worker status` (src/worker/status.ts).
  snapshot(): AgentSnapshot {
    const leases = [...this.running.values()].map((r) => ({ task: r.ref.task, lease: r.ref.lease, container: r.container?.id ?? null }));
    return { address: this.address, leases, bids: [...this.bids.keys()] };
  }

  private connect(): void {
    const url = `${this.o.node.replace(/^http/, 'ws')}/ws?events=market`;
    const ws = new WebSocket(url);
    this.ws = ws;
    ws.addEventListener('message', (m: MessageEvent) => {
      let e: { type?: string; kind?: string; task?: string; worker?: string };
      try {
        e = JSON.parse(String(m.data)) as typeof e;
      } catch {
        return;
      }
      if (e.type !== 'market' || !e.task) return;
      if (e.kind === 'task-posted') void this.consider(e.task).catch((err: unknown) => this.o.log(`task ${e.task}: ${(err as Error).message}`));
      if (e.kind === 'lease-matched' && e.worker === this.hexAddress) void this.pollLeases().catch((err: unknown) => this.o.log(`leases: ${(err as Error).message}`));
    });
    ws.addEventListener('close', () => {
      if (!this.stopped) setTimeout(() => this.connect(), WS_RETRY_MS);
    });
    ws.addEventListener('error', () => undefined);
  }

  private async poll(): Promise<void> {
    const { height, tasks } = await this.c.tasks({ state: 'open' });
    for (const [t, close] of this.bids) if (height > close) this.bids.delete(t);
    for (const t of tasks) await this.consider(t.id, t);
    await this.pollLeases();
  }

  private async pollLeases(): Promise<void> {
    const { leases } = await this.c.leases({ worker: this.address, state: 'matched' });
    for (const l of leases) {
      const k = `${l.task}/${l.index}`;
      if (this.running.has(k)) continue;
      this.bids.delete(l.task);
      const r: Running = { ref: { task: l.task, lease: l.index, worker: this.address } };
      this.running.set(k, r);
      void this.runLease(l, r)
        .catch((e: unknown) => this.o.log(`lease ${k}: ${(e as Error).message}`))
        .finally(() => this.running.delete(k));
    }
  }

  private busy(): number {
    return this.running.size + this.bids.size;
  }

  /** Why the agent will not bid on a task, or undefined when it will. */
  private refusal(t: TaskAnswer): string | undefined {
    const p = this.o.policy;
    if (t.state !== 'open') return `task is ${t.state}`;
    if (t.kind !== 'batch') return 'only batch tasks are run so far';
    if (t.needs.runtime !== 'docker') return `runtime ${t.needs.runtime} is not offered`;
    if (t.app === '' || !isDigest(t.digest)) return 'a raw image without an app cannot be fetched through the DDN';
    if (p.acceptApps && !p.acceptApps.includes(t.app)) return `app ${t.app} is not accepted by the policy`;
    if (p.acceptDevelopers && (!t.developer || !p.acceptDevelopers.includes(t.developer))) return `developer ${t.developer ?? 'none'} is not accepted by the policy`;
    if (this.busy() >= p.maxConcurrentLeases) return `already at ${p.maxConcurrentLeases} lease(s)`;
    return undefined;
  }

  private async consider(taskId: string, seen?: TaskAnswer): Promise<void> {
    const t = seen ?? (await this.c.task(taskId));
    const window = `${t.id}/${t.closeHeight}`;
    if (this.decided.has(window)) return;
    const why = this.refusal(t);
    if (why) {
      // Full now is not a refusal for good: the window is looked at again on the next poll.
      if (!why.startsWith('already at')) this.decided.add(window);
      return;
    }
    this.decided.add(window);
    const offer = offerOf(await this.c.worker(this.address));
    const needs = { ...t.needs, maxPricePerHour: BigInt(t.maxPricePerHour) };
    const price = askPrice(offer, needs);
    const reasons = misfits(offer, needs, price);
    if (reasons.length) {
      this.o.log(`task ${t.id.slice(0, 12)}…: not bidding: ${reasons.map((r) => r.message).join('; ')}`);
      return;
    }
    this.bids.set(t.id, t.closeHeight);
    this.o.log(`task ${t.id.slice(0, 12)}…: bidding ${price} base units/h`);
    await this.send(TxKind.Bid, { task: fromHex(t.id), price }).catch((e: unknown) => {
      this.bids.delete(t.id);
      throw e;
    });
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

  private async runLease(l: LeaseAnswer, r: Running): Promise<void> {
    const k = `${l.task.slice(0, 12)}…/${l.index}`;
    const files = join(this.dir, 'leases', `${l.task}-${l.index}`);
    mkdirSync(files, { recursive: true });
    const t = await this.c.task(l.task);
    const job = await fetchImageThroughNode(this.o.node, { repository: t.app, digest: t.digest as `sha256:${string}` });
    const tag = `zeus-app/${t.app}:${t.digest.slice(7, 19)}`;
    await loadFetchedImage(this.o.home, job, tag, this.runtime.docker);
    this.o.log(`lease ${k}: image ${t.app}@${t.digest} delivered`);
    const limits = { cpuMillis: t.needs.cpuMillis, memoryMiB: t.needs.memoryMiB, gpuCount: t.needs.gpuCount };
    const container = await this.runtime.startBatch(tag, r.ref, limits);
    r.container = container;
    try {
      const inspected = await container.inspect();
      // What the container really runs with, kept beside its logs (and what the tests check).
      writeFileSync(join(files, 'container.json'), JSON.stringify({ id: inspected.Id, image: t.digest, requested: hostConfigFor(limits), hostConfig: inspected.HostConfig, volumes: inspected.Mounts.map((m) => m.Name) }, null, 2));
      await this.send(TxKind.StartLease, { task: fromHex(l.task), lease: l.index, endpoint: '' });
      this.o.log(`lease ${k}: started container ${inspected.Id.slice(0, 12)}`);
      const meter = new Meter(Date.now());
      const exited = container.wait() as Promise<{ StatusCode: number }>;
      let seq = 0;
      let done = false;
      void exited.then(() => (done = true));
      while (!done) {
        const tick = new Promise((res) => setTimeout(res, this.o.reportPeriodMs));
        await Promise.race([tick, exited]);
        if (done) break;
        meter.add(await this.runtime.sample(container).catch(() => undefined), Date.now());
        if (done) break;
        seq += 1;
        await this.send(TxKind.ReportUsage, { task: fromHex(l.task), lease: l.index, seq, ...meter.period(Date.now()) });
        this.o.log(`lease ${k}: usage report ${seq}`);
      }
      const { StatusCode } = await exited;
      const state = (await container.inspect()).State;
      await this.runtime.saveLogs(container, join(files, 'container.log'));
      // ops hook: seal the logs to the poster and publish them (never throws).
      await publishLeaseLogs({ node: this.o.node, key: this.o.key, client: this.c, task: t, lease: l.index, file: join(files, 'container.log'), log: this.o.log });
      if (StatusCode !== 0 || state.OOMKilled) {
        this.o.log(`lease ${k}: container exited ${StatusCode}${state.OOMKilled ? ' (out of memory)' : ''}; no result submitted, the report deadline ends the lease`);
        writeFileSync(join(files, 'outcome.json'), JSON.stringify({ exitCode: StatusCode, oomKilled: state.OOMKilled, result: null }));
        return;
      }
      const archive = await this.runtime.archiveOut(container);
      const { repository, digest } = await uploadResult(this.o.node, this.o.key, archive);
      await this.send(TxKind.SubmitResult, { task: fromHex(l.task), lease: l.index, digest, ...meter.period(Date.now()) });
      writeFileSync(join(files, 'outcome.json'), JSON.stringify({ exitCode: 0, result: { repository, digest, bytes: archive.length } }));
      this.o.log(`lease ${k}: result ${digest} (${archive.length} bytes) submitted after ${seq} report(s)`);
    } finally {
      await this.runtime.remove(container);
    }
  }

  /**
   * After a restart: containers of leases that are no longer active are removed. Re-attaching to
   * a live lease's container is not done yet, so those are removed too and the lease is left to
   * its deadline — nothing runs that no report covers.
   */
  private async reconcile(): Promise<void> {
    for (const info of await this.runtime.ofWorker(this.address)) {
      this.o.log(`removing container ${info.Id.slice(0, 12)} left from an earlier run (${info.Labels[LABEL_TASK]?.slice(0, 12)}…)`);
      await this.runtime.remove(this.runtime.docker.getContainer(info.Id));
    }
  }
}
