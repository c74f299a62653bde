import { appendFileSync, existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { EXIT_STORE_DAMAGED } from '../../src/cli/context.ts';
import { addressFromPublicKey, encodeAddress, toHex } from '../../src/crypto/index.ts';
import { signTx, TxKind } from '../../src/ledger/index.ts';
import { readConfig, writeConfig } from '../../src/node/index.ts';
import type { AccountAnswer, BlockAnswer, BookkeepersAnswer, StatusAnswer } from '../../src/sdk/index.ts';
import { BankWorkload } from './bank.ts';
import { type CheckOptions, checkRun, formatVerdict, type Heal, type Verdict } from './checker.ts';
import { FAULT_APP, type FaultCluster, startFaultCluster } from './cluster.ts';
import { collectFinalState } from './finalState.ts';
import { readHistory } from './history.ts';
import { MarketWorkload } from './market.ts';
import { type Fault, NEMESES, type Nemesis, parseNemeses, planSchedule, type ScheduledFault } from './schedule.ts';
import { getJson, httpVia, openHistory } from './workload.ts';

// A fault run (issue 16): a network of bookkeepers and workers on hosts of their own
// (cluster.ts), the bank and market workloads recording a history (bank.ts, market.ts), faults
// one at a time on a schedule the seed fixes (schedule.ts, applied by nemesis.ts), then, with
// everything healed, the nodes' final state (finalState.ts) and the checker's verdict
// (checker.ts). Everything goes to one folder: run.json, schedule.json, faults.jsonl (each fault
// with when it began and was healed), nemesis.jsonl, history.jsonl, final.json, verdict.json,
// and the nodes' and workers' logs.
//
//   npm run faults -- --minutes 10 --seed 7 [--nemesis partition,pause,kill,clock,disk,bandwidth]
//
// Exit code 0: no violation; 1: the checker found one (printed); 2: the run itself failed.

export interface FaultRunOptions {
  minutes: number;
  seed: number;
  nemeses: readonly Nemesis[];
  out: string;
  bookkeepers?: number;
  workers?: number;
  /** Bank transfers per second over all clients. */
  opsPerSecond?: number;
  /** Run only faults of this kind (e.g. partition-halves): each alone, with quiet between. */
  only?: Fault['kind'];
  /** How long a fault holds, at least and at most (ms). */
  holdMs?: [number, number];
  quietMs?: [number, number];
  check?: Omit<CheckOptions, 'heals'>;
  log?: (line: string) => void;
}

export interface FaultRunResult {
  dir: string;
  verdict: Verdict;
  schedule: ScheduledFault[];
  /** Each fault with when it began and when it was healed. */
  faults: (Heal & { startedAt: number; detail: string })[];
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** How long a repaired bookkeeper may take to start (a join, or a replay of thousands of blocks). */
const REPAIR_START_MS = 120_000;

/** What a fault is, in a line for the log. */
export function describeFault(f: Fault, names: (i: number) => string): string {
  const list = (xs: number[]): string => xs.map(names).join(',');
  switch (f.kind) {
    case 'partition-halves':
      return `partition ${list(f.sides[0])} | ${list(f.sides[1])}`;
    case 'partition-isolate':
      return `isolate ${names(f.node)}`;
    case 'partition-bridge':
      return `bridge ${names(f.bridge)} between ${list(f.sides[0])} and ${list(f.sides[1])}`;
    case 'partition-asymmetric':
      return `${names(f.to)} stops hearing ${names(f.from)}`;
    case 'pause':
      return `pause ${list(f.nodes)}`;
    case 'kill':
      return `kill ${names(f.node)}`;
    case 'kill-worker':
      return `kill worker ${f.worker}`;
    case 'clock':
      return `clock of ${names(f.node)} ${f.offsetMs > 0 ? '+' : ''}${f.offsetMs / 1000} s`;
    case 'disk':
      return `damage the store of ${names(f.node)} (${f.mode})`;
    case 'bandwidth':
      return `cap ${names(f.node)}'s link to ${f.kbit} kbit/s`;
  }
}

/**
 * The run's operator: what someone looking after a bookkeeper does when its process is down and
 * no fault holds it there. A node that refuses its store, or stopped on one it can no longer read
 * (`zeus node start` exits with EXIT_STORE_DAMAGED), gets its data moved aside and joins by state
 * sync from a trust point (or replays from its peers, see startOrRepair); any other exit is
 * restarted as it is (a supervisor's restart-on-failure).
 */
export class Operator {
  private readonly c: FaultCluster;
  private readonly dir: string;
  /** Bookkeepers a fault keeps down on purpose until its heal. */
  readonly held = new Set<number>();
  /** Serializes the nemesis's work on nodes with the operator's. */
  private queue: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  repairs = 0;
  /** Repairs done by state sync (the rest replayed from genesis). */
  syncRepairs = 0;
  restarts = 0;
  unjails = 0;
  /** When an unjail was last sent for a bookkeeper: one at a time, whatever became of it. */
  private readonly unjailSent = new Map<number, number>();

  constructor(c: FaultCluster, dir: string) {
    this.c = c;
    this.dir = dir;
  }

  /** Runs `fn` when no other work on the nodes is under way. */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.queue.then(fn);
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** Looks at every bookkeeper each `everyMs`, until stop(). */
  watch(everyMs = 2_000): void {
    const loop = (): void => {
      this.timer = setTimeout(() => {
        // The jail is read over the network, outside the lock: a slow answer must not hold up a fault or a heal.
        void this.unjailDue()
          .catch((e: unknown) => this.note({ note: `operator: could not look at the jail (${String(e).slice(0, 300)})` }))
          .then(() => this.exclusive(() => this.check()))
          .catch((e: unknown) => this.note({ note: `operator: ${String(e).slice(0, 500)}` }))
          .finally(() => this.timer && loop());
      }, everyMs);
    };
    loop();
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private note(o: object): void {
    appendFileSync(join(this.dir, 'faults.jsonl'), `${JSON.stringify({ at: Date.now(), ...o })}\n`);
  }

  private async check(): Promise<void> {
    for (const [i, node] of this.c.bookkeepers.entries()) {
      if (this.held.has(i) || node.alive || node.exit === undefined) continue;
      const exit = node.exit;
      if (exit.code === EXIT_STORE_DAMAGED) {
        this.note({ note: `${node.name} stopped on a damaged store (exit ${exit.code})`, why: node.tail(3).slice(0, 500) });
        await this.startOrRepair(i);
      } else {
        this.restarts++;
        this.note({ note: `${node.name} exited (${JSON.stringify(exit)}); started again`, why: node.tail(3).slice(0, 500) });
        await this.startOrRepair(i);
      }
    }
  }

  /**
   * A bookkeeper that missed its turns while a fault held it (down, cut off, paused) is jailed and
   * leaves the set: with four, the three left tolerate no further fault. Its operator sends Unjail
   * (signed with the bookkeeper's key, like `zeus election unjail`) once the term is over.
   */
  private async unjailDue(): Promise<void> {
    const paused = new Set(this.c.nemesis.pausedNodes);
    const live = this.c.bookkeepers.findIndex((b, i) => b.alive && !paused.has(i));
    if (live < 0) return;
    const ep = this.c.endpoint(live);
    const http = httpVia(ep.agent);
    const view = await getJson<BookkeepersAnswer>(http, ep.node, '/bookkeepers', 5_000);
    for (const i of this.c.bookkeepers.keys()) {
      const key = this.c.key(`bookkeeper-${i}`);
      const address = encodeAddress(addressFromPublicKey(key.publicKey));
      const jailedUntil = view.candidates.find((x) => x.address === address)?.jailedUntil;
      // Block time follows the clocks of the bookkeepers; a second's margin, and a refused early one is sent again.
      if (jailedUntil === null || jailedUntil === undefined || jailedUntil > Date.now() - 1_000) continue;
      if (Date.now() - (this.unjailSent.get(i) ?? 0) < 10_000) continue;
      this.unjailSent.set(i, Date.now());
      const account = await getJson<AccountAnswer>(http, ep.node, `/accounts/${address}`, 5_000);
      const tx = signTx(key, { chainId: this.c.chainId, kind: TxKind.Unjail, nonce: BigInt(account.nonces[0] ?? '0'), payload: {} });
      const r = await http(ep.node, 'POST', '/txs', { txs: [toHex(tx)] }, 5_000);
      this.unjails++;
      this.note({ note: `${this.c.bookkeepers[i].name} jailed until ${new Date(jailedUntil).toISOString()}: unjail sent`, answer: r.text.slice(0, 300) });
    }
  }

  /** Runs `fn`, which (re)starts bookkeeper i; if the node refused its store, repairs it. */
  async orRepair(i: number, fn: () => Promise<unknown>): Promise<void> {
    try {
      await fn();
    } catch (e) {
      const node = this.c.bookkeepers[i];
      if (node.alive || node.exit?.code !== EXIT_STORE_DAMAGED) throw e;
      await this.startOrRepair(i);
    }
  }

  /**
   * Starts bookkeeper i; if it refuses its store, moves the store aside and starts it again, as an
   * operator would: from a trust point read off a live bookkeeper (state sync: the newest snapshot
   * linked to it and fewer than a snapshot interval of blocks), or, when no snapshot can exist yet
   * or that start fails, by a replay from genesis.
   */
  async startOrRepair(i: number): Promise<void> {
    const nm = this.c.nemesis;
    try {
      await nm.start(i);
    } catch (e) {
      const node = this.c.bookkeepers[i];
      if (node.exit?.code !== EXIT_STORE_DAMAGED) throw e;
      const aside = join(node.home, `data.damaged-${Date.now()}`);
      renameSync(join(node.home, 'data'), aside);
      this.repairs++;
      this.note({ note: `${node.name} refused its store; data moved to ${aside}`, why: String(e).slice(0, 500) });
      const trust = await this.trustPoint(i).catch((err: unknown) => `no trust point: ${String(err).slice(0, 300)}`);
      if (typeof trust === 'object') {
        const t = Date.now();
        try {
          await nm.start(i, REPAIR_START_MS, ['--trust-height', String(trust.height), '--trust-hash', trust.hash]);
          this.syncRepairs++;
          this.note({ note: `${node.name} repaired by state sync`, repair: 'state-sync', trust, startMs: Date.now() - t });
          return;
        } catch (err) {
          if (node.alive) await node.kill();
          this.note({ note: `${node.name}: state sync from ${trust.height} failed; replaying`, why: String(err).slice(0, 500), startMs: Date.now() - t });
          // What a failed join left in the store is not to be trusted either.
          if (existsSync(join(node.home, 'data'))) renameSync(join(node.home, 'data'), `${aside}-join`);
        }
      } else {
        this.note({ note: `${node.name}: no state sync (${trust}); replaying` });
      }
      // The operator's edit of HOME/config.json: `--trust-height` saved the trust point there, and
      // with an empty store the node would join from it again instead of replaying.
      const config = readConfig(node.home);
      if (config.stateSync) {
        delete config.stateSync;
        writeConfig(node.home, config);
      }
      const t = Date.now();
      await nm.start(i, REPAIR_START_MS);
      this.note({ note: `${node.name} repaired by a replay from genesis`, repair: 'replay', startMs: Date.now() - t });
    }
  }

  /**
   * A trust point for bookkeeper i's state sync: the height and block hash of a live bookkeeper
   * that is not paused, or why there is none (no such bookkeeper; the chain below the first
   * snapshot height, where no snapshot can exist to join from).
   */
  private async trustPoint(i: number): Promise<{ height: number; hash: string; from: string } | string> {
    const paused = new Set(this.c.nemesis.pausedNodes);
    const live = this.c.bookkeepers.findIndex((b, j) => j !== i && b.alive && !paused.has(j));
    if (live < 0) return 'no live bookkeeper to read a trust point from';
    const ep = this.c.endpoint(live);
    const http = httpVia(ep.agent);
    const status = await getJson<StatusAnswer>(http, ep.node, '/status', 5_000);
    // The nodes take a snapshot every `snapshots.interval` heights (config.json; 1,000 by default).
    const interval = readConfig(this.c.bookkeepers[i].home).snapshots?.interval ?? 1_000;
    if (interval === 0 || status.height < interval) return `height ${status.height} is below the first snapshot height (interval ${interval})`;
    const block = await getJson<BlockAnswer>(http, ep.node, `/blocks/${status.height}`, 5_000);
    return { height: status.height, hash: block.hash, from: this.c.bookkeepers[live].name };
  }
}

/** Applies a fault; resolves with what undoes it. */
async function apply(c: FaultCluster, f: Fault, op: Operator): Promise<() => Promise<void>> {
  const nm = c.nemesis;
  switch (f.kind) {
    case 'partition-halves':
      await nm.partition([f.sides[0], f.sides[1]]);
      return async () => void (await nm.heal());
    case 'partition-isolate':
      await nm.isolate(f.node);
      return async () => void (await nm.heal());
    case 'partition-bridge':
      await nm.bridge(f.bridge, f.sides[0], f.sides[1]);
      return async () => void (await nm.heal());
    case 'partition-asymmetric':
      await nm.dropOneWay(f.from, f.to);
      return async () => void (await nm.heal());
    case 'pause':
      for (const i of f.nodes) await nm.pause(i);
      return async () => {
        for (const i of f.nodes) await nm.resume(i);
      };
    case 'kill':
      op.held.add(f.node);
      await nm.kill(f.node);
      return async () => {
        op.held.delete(f.node);
        if (!c.bookkeepers[f.node].alive) await op.startOrRepair(f.node);
      };
    case 'kill-worker': {
      const w = c.workers[f.worker];
      w.process.stop();
      return () => w.restart();
    }
    case 'clock':
      // Restarts the node with the skew: a store found damaged then is the operator's to repair.
      await op.orRepair(f.node, () => nm.skewClock(f.node, f.offsetMs));
      return () => op.orRepair(f.node, () => nm.skewClock(f.node, 0));
    case 'disk': {
      op.held.add(f.node);
      await nm.kill(f.node);
      // Where the last write is (the log, or the newest table): see corruptLevelDb.
      nm.corruptStore(f.node, f.mode);
      // The node either recovers on its own (a torn log record is dropped and its peers supply the
      // rest) or refuses its store with a message naming the remedy, which the operator applies.
      return async () => {
        op.held.delete(f.node);
        if (!c.bookkeepers[f.node].alive) await op.startOrRepair(f.node);
      };
    }
    case 'bandwidth':
      await nm.capBandwidth(f.node, `${f.kbit}kbit`);
      return async () => void (await nm.clearBandwidth(f.node));
  }
}

function planFor(o: FaultRunOptions, n: number, w: number): ScheduledFault[] {
  const durationMs = o.minutes * 60_000;
  const hold = o.holdMs ?? [5_000, 20_000];
  const quiet = o.quietMs ?? [10_000, 20_000];
  if (!o.only) return planSchedule({ seed: o.seed, durationMs, nemeses: o.nemeses, bookkeepers: n, workers: w, holdMs: hold, quietMs: quiet });
  // Faults of one kind only: drawn from a long plan of every nemesis, then laid out one by one.
  const kind = o.only;
  const pool = planSchedule({ seed: o.seed, durationMs: 600 * 60_000, nemeses: NEMESES, bookkeepers: n, workers: w, holdMs: hold, quietMs: quiet }).filter(
    (s) => s.fault.kind === kind,
  );
  const out: ScheduledFault[] = [];
  let at = quiet[0];
  for (const s of pool) {
    if (at + s.holdMs + quiet[0] > durationMs) break;
    out.push({ ...s, at });
    at += s.holdMs + quiet[1];
  }
  if (out.length === 0) throw new Error(`--only ${kind}: no room for one fault in ${o.minutes} minute(s)`);
  return out;
}

export async function runFaults(o: FaultRunOptions): Promise<FaultRunResult> {
  const log = o.log ?? ((l: string) => console.log(l));
  const dir = resolve(o.out);
  if (existsSync(join(dir, 'history.jsonl'))) throw new Error(`${dir} holds a run already: give another --out`);
  mkdirSync(dir, { recursive: true });
  const n = o.bookkeepers ?? 4;
  const w = o.workers ?? 2;
  const schedule = planFor(o, n, w);
  const t0 = Date.now();
  const say = (l: string): void => {
    log(`[faults ${((Date.now() - t0) / 1000).toFixed(1)} s] ${l}`);
  };
  writeFileSync(
    join(dir, 'run.json'),
    `${JSON.stringify(
      {
        minutes: o.minutes,
        seed: o.seed,
        nemeses: o.nemeses,
        only: o.only,
        bookkeepers: n,
        workers: w,
        machine: { cpus: cpus().length, cpu: cpus()[0]?.model, memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version },
        startedAt: new Date(t0).toISOString(),
      },
      null,
      2,
    )}\n`,
  );
  writeFileSync(join(dir, 'schedule.json'), `${JSON.stringify(schedule, null, 2)}\n`);
  say(`seed ${o.seed}: ${schedule.length} fault(s) over ${o.minutes} min (${[...new Set(schedule.map((s) => s.fault.kind))].join(', ') || 'none'})`);

  const c = await startFaultCluster({
    dir: join(dir, 'net'),
    name: 'flt',
    seed: o.seed,
    bookkeepers: n,
    workers: w,
    log: say,
    nemesisLog: join(dir, 'nemesis.jsonl'),
  });
  const faults: FaultRunResult['faults'] = [];
  const op = new Operator(c, dir);
  try {
    const names = (i: number): string => c.bookkeepers[i]?.name ?? `node${i}`;
    const historyFile = join(dir, 'history.jsonl');
    const writer = await openHistory(historyFile, {
      chainId: c.chainId,
      seed: o.seed,
      ep: c.endpoint(0),
      addresses: [...c.accounts.map((a) => a.address), encodeAddress(addressFromPublicKey(c.user.publicKey))],
    });
    const bank = new BankWorkload({
      chainId: c.chainId,
      accounts: c.accounts,
      clients: c.bookkeepers.map((_, i) => c.endpoint(i)),
      seed: o.seed,
      opsPerSecond: o.opsPerSecond ?? 8,
      history: writer,
    });
    const market = new MarketWorkload({
      chainId: c.chainId,
      clients: [{ ...c.endpoint(1), user: c.user }],
      task: { app: FAULT_APP, version: '1', runtime: 'wasm' },
      seed: o.seed,
      opsPerMinute: 6,
      history: writer,
    });
    await Promise.all([bank.start(), market.start()]);
    op.watch();
    const started = Date.now();
    say('workloads started');

    for (const s of schedule) {
      const wait = started + s.at - Date.now();
      if (wait > 0) await sleep(wait);
      const what = describeFault(s.fault, names);
      say(`fault: ${what} for ${(s.holdMs / 1000).toFixed(0)} s`);
      const at = Date.now();
      const undo = await op.exclusive(() => apply(c, s.fault, op));
      await sleep(Math.max(0, at + s.holdMs - Date.now()));
      await op.exclusive(undo);
      const healedAt = Date.now();
      const entry = { fault: s.fault.kind, detail: what, startedAt: at, healedAt };
      faults.push(entry);
      appendFileSync(join(dir, 'faults.jsonl'), `${JSON.stringify(entry)}\n`);
      say(`healed: ${what} (${((healedAt - at) / 1000).toFixed(1)} s)`);
    }
    const end = started + o.minutes * 60_000;
    if (end > Date.now()) await sleep(end - Date.now());
    const [bankCounts, marketRun] = await Promise.all([bank.stop(), market.stop()]);
    writer.close();
    say(`workloads stopped: bank ok ${bankCounts.ok}, fail ${bankCounts.fail}, unknown ${bankCounts.unknown}; market ${marketRun.invoked} op(s)`);
    op.stop();
    await op.exclusive(async () => {
      await c.nemesis.healAll();
      for (const [i, node] of c.bookkeepers.entries()) if (!node.alive) await op.startOrRepair(i);
    });
    say(
      `operator: ${op.repairs} store(s) moved aside and resynced (${op.syncRepairs} by state sync), ${op.restarts} restart(s) after an exit, ${op.unjails} unjail(s) sent`,
    );

    const history = readHistory(historyFile);
    const agent = c.agents[0];
    const final = await collectFinalState({
      get: (node, path) => agent.get(node, path),
      nodes: [...c.bookkeepers.map((b) => b.api), ...c.workers.map((x) => x.node.api)],
      history,
      file: join(dir, 'final.json'),
      settleMs: 60_000,
    });
    const verdict = checkRun(history, final, { ...o.check, heals: faults });
    writeFileSync(join(dir, 'verdict.json'), `${JSON.stringify(verdict, (_, v) => (typeof v === 'bigint' ? v.toString() : v), 2)}\n`);
    say(formatVerdict(verdict));
    return { dir, verdict, schedule, faults };
  } finally {
    op.stop();
    await c.close();
  }
}

const HELP = `npm run faults -- [options]

A randomized fault run on a network of separate hosts (network namespaces; needs root, ip, nft, tc,
and libfaketime for clock skew): 4 bookkeepers and 2 workers, the bank and market workloads, faults
one at a time on a schedule the seed reproduces, then the checker's verdict over the history and
the nodes' final state.

  --minutes M        length of the run (default 5)
  --seed S           the schedule's and workloads' seed (default: a random one, printed)
  --nemesis LIST     comma-separated, from ${NEMESES.join(', ')} (default: all)
  --only KIND        only faults of this kind, one at a time (partition-halves, partition-isolate,
                     partition-bridge, partition-asymmetric, pause, kill, kill-worker, clock, disk,
                     bandwidth)
  --out DIR          where the run's files go (default faults-runs/<time>-seed<S>)
  --workers N        worker hosts (default 2)
  --rate R           bank transfers per second over all clients (default 8)
  -h, --help         this text

Writes run.json, schedule.json, faults.jsonl, nemesis.jsonl, history.jsonl, final.json and
verdict.json to the folder. Exit code 0: no violation; 1: violations (printed); 2: the run failed.`;

const FAULT_KINDS: readonly Fault['kind'][] = [
  'partition-halves',
  'partition-isolate',
  'partition-bridge',
  'partition-asymmetric',
  'pause',
  'kill',
  'kill-worker',
  'clock',
  'disk',
  'bandwidth',
];

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      minutes: { type: 'string' },
      seed: { type: 'string' },
      nemesis: { type: 'string' },
      only: { type: 'string' },
      out: { type: 'string' },
      workers: { type: 'string' },
      rate: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const num = (name: string, v: string | undefined, dflt: number, min: number): number => {
    if (v === undefined) return dflt;
    const x = Number(v);
    if (!Number.isFinite(x) || x < min) throw new Error(`--${name}: "${v}" must be a number of at least ${min}`);
    return x;
  };
  const minutes = num('minutes', values.minutes, 5, 1);
  const seed = Math.floor(num('seed', values.seed, Math.floor(Math.random() * 2 ** 31), 0));
  const nemeses = values.nemesis === undefined ? [...NEMESES] : parseNemeses(values.nemesis);
  if (values.only !== undefined && !(FAULT_KINDS as readonly string[]).includes(values.only)) {
    throw new Error(`--only: unknown "${values.only}"; one of ${FAULT_KINDS.join(', ')}`);
  }
  const out = values.out ?? join('faults-runs', `${new Date().toISOString().replace(/[:.]/g, '-')}-seed${seed}`);
  const r = await runFaults({
    minutes,
    seed,
    nemeses,
    out,
    only: values.only as Fault['kind'] | undefined,
    workers: Math.floor(num('workers', values.workers, 2, 0)),
    opsPerSecond: num('rate', values.rate, 8, 0.1),
  });
  console.log(
    `\nrun folder: ${r.dir}\nreplay it with: npm run faults -- --minutes ${minutes} --seed ${seed}${values.nemesis ? ` --nemesis ${values.nemesis}` : ''}${values.only ? ` --only ${values.only}` : ''}`,
  );
  return r.verdict.valid ? 0 : 1;
}

if (import.meta.main) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: unknown) => {
      console.error(`faults: ${e instanceof Error ? e.message : String(e)}`);
      process.exit(2);
    },
  );
}
