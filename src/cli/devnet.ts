import { spawn } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { basename, join, resolve } from 'node:path';
import { Keystore } from '../crypto/index.ts';
import { DEFAULT_PARAMS, ZNC_UNIT } from '../ledger/index.ts';
import {
  DEV_ACCOUNTS,
  DEV_PASSPHRASE,
  homePaths,
  initDevHome,
  loadOrCreateNodeKey,
  readConfig,
  writeConfig,
  type InitDevOptions,
} from '../node/index.client.ts';
import { ZeusClient } from '../sdk/index.ts';
import {
  chooseRuntime,
  DEVELOPER_KEY,
  isAlive,
  publishSampleApps,
  startWorker,
  stopProcesses,
  stopWorkers,
  USER_KEY,
  workerKey,
  ZEUS_BIN,
  type DevnetApp,
  type DevnetRuntime,
  type DevnetWorker,
} from './devnetMarket.ts';
import { etcdBinary, planEtcd, spawnEtcd, waitEtcdHealthy, type DevnetEtcd } from './devnetEtcd.ts';

export { isAlive, type DevnetApp, type DevnetEtcd, type DevnetRuntime, type DevnetWorker };

// A local development network of separate node processes on 127.0.0.1: N bookkeeper nodes
// that find each other over libp2p and decide blocks in BFT rounds (or one solo bookkeeper).

export interface DevnetNode {
  name: string;
  home: string;
  api: string;
  pid: number;
  log: string;
  /** libp2p peer id and listen address (absent for a single solo node). */
  peerId?: string;
  p2p?: string;
  /** The seat group it is a member of (--group-size): the group's name; its member name is `name`. */
  group?: string;
}

export interface DevnetInfo {
  dir: string;
  chainId: string;
  nodes: DevnetNode[];
  /** Worker agents, each its own process beside one node (none unless asked for). */
  workers?: DevnetWorker[];
  /** Sample apps published from the developer key. */
  apps?: DevnetApp[];
  /** The web console every node serves; this one is node0's. */
  console?: string;
  /** What it was created with: `devnet start` on the directory again starts it the same way. */
  options?: DevnetOptions;
  /** The etcd cluster of its seat groups (only with --group-size). */
  etcd?: DevnetEtcd[];
}

/** How a devnet was made; fixed at creation (its genesis funds the keys of these roles). */
export interface DevnetOptions {
  validators: number;
  workers: number;
  /** The sample apps are published from the developer key. */
  sampleApps: boolean;
  runtime: 'auto' | DevnetRuntime;
  blockTimeMs: number;
  /** Members of seat 0's group (absent or 1: every seat is one node, no etcd). */
  groupSize?: number;
}

/** Seat 0's group in a devnet made with --group-size. */
export const DEVNET_GROUP = 'seat0';

const handedOut = new Set<number>();

/**
 * A port free on 127.0.0.1 now, for a process started next. Taken below the kernel's ephemeral
 * range: a port the kernel handed out for `listen(0)` is handed out again to the next outbound
 * connection or `listen(0)` of any process, which then holds it when our node tries to bind (a
 * devnet start failed so beside a busy test suite).
 */
export async function freePort(): Promise<number> {
  const [low] = ephemeralRange();
  const floor = 10_000;
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = floor + Math.floor(Math.random() * Math.max(1, low - floor));
    // Not yet bound by the process it was given to: a second call must not give it again.
    if (handedOut.has(port) || !(await canListen(port))) continue;
    handedOut.add(port);
    setTimeout(() => handedOut.delete(port), 60_000).unref();
    return port;
  }
  throw new Error(`no free port between ${floor} and ${low} on 127.0.0.1 after 50 tries`);
}

function ephemeralRange(): [number, number] {
  try {
    const [low, high] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (Number.isInteger(low) && Number.isInteger(high) && low > 11_000) return [low, high];
  } catch {
    // not Linux: assume Linux's default range
  }
  return [32_768, 60_999];
}

const canListen = (port: number): Promise<boolean> =>
  new Promise((res) => {
    const s = createServer();
    s.once('error', () => res(false));
    s.listen(port, '127.0.0.1', () => s.close(() => res(true)));
  });

export function readDevnet(dir: string): DevnetInfo {
  const p = join(dir, 'devnet.json');
  if (!existsSync(p)) throw new Error(`no devnet in ${dir} (no devnet.json); start one with \`zeus devnet start --dir ${dir}\``);
  return JSON.parse(readFileSync(p, 'utf8')) as DevnetInfo;
}

/** Every process of the devnet: its nodes, its workers and its etcd members. */
export const processesOf = (info: DevnetInfo): { pid: number }[] => [...info.nodes, ...(info.workers ?? []), ...(info.etcd ?? [])];

/** What devnet.json in `dir` says, if there is one. */
export const devnetIn = (dir: string): DevnetInfo | undefined => (existsSync(join(dir, 'devnet.json')) ? readDevnet(dir) : undefined);

/** The devnet in `dir` when every one of its processes runs. */
export function runningDevnet(dir: string): DevnetInfo | undefined {
  const info = devnetIn(dir);
  return info && processesOf(info).every((p) => isAlive(p.pid)) ? info : undefined;
}

function writeDevnet(info: DevnetInfo): void {
  writeFileSync(join(info.dir, 'devnet.json'), `${JSON.stringify(info, null, 2)}\n`);
}

/**
 * Options of a new devnet; for a directory that holds one already, only blockTimeMs and runtime
 * may change (given), the rest is kept as it was made (and a differing value is noted).
 */
export interface StartDevnetOptions {
  dir: string;
  /** Block interval (default: 500 ms for a new devnet, as it was for an existing one). */
  blockTimeMs?: number;
  /** Bookkeeper nodes (separate processes); 1 is a solo bookkeeper without a p2p network. */
  validators?: number;
  monthMs?: number;
  onProgress?: (msg: string) => void;
  /** Extra arguments for one node's `node start` (tests: e.g. --test-equivocate). */
  nodeArgs?: Record<string, string[]>;
  /** Upgrade modules every node starts with (`node start --upgrade-module`, see docs/GOVERNANCE.md). */
  upgradeModules?: string[];
  /** Funded dev accounts (default alice, bob, carol, dave). */
  accounts?: string[];
  /** Genesis parameters over the devnet defaults (e.g. a shorter jail for tests). */
  params?: InitDevOptions['params'];
  /** Worker agents to start (default 0); they and the sample apps come up after the chain. */
  workers?: number;
  /** The workers' runtime: docker when an engine answers (auto), else wasm. */
  runtime?: 'auto' | DevnetRuntime;
  /** Publish the sample apps from the developer key (default: when there are workers). */
  sampleApps?: boolean;
  /** Aborting stops whatever was started so far and rejects (Ctrl-C during `devnet start`). */
  signal?: AbortSignal;
  /** Run seat 0 as a group of this many member processes sharing its key, with a 3-member etcd cluster (default 1: no group). */
  groupSize?: number;
  /**
   * Tests only: the etcd endpoints a group member is configured with (e.g. through a relay the
   * test can cut), given the cluster's client URLs. Applied when the devnet is made.
   */
  groupEndpoints?: (member: string, etcd: string[]) => Promise<string[]>;
}

/**
 * Devnet market rules: deadlines in blocks short enough to watch at 250–1000 ms blocks (a lease
 * must start within 10–40 s, a review lasts 5–20 s), and a bond any dev account can stake.
 */
export const DEV_MARKET = {
  ...DEFAULT_PARAMS.market,
  minWorkerBond: (100n * ZNC_UNIT).toString(),
  startDeadlineBlocks: 40,
  reportDeadlineBlocks: 60,
  reviewBlocks: 20,
  revealDeadlineBlocks: 60,
  graceBlocks: 20,
  lowEscrowMs: 60_000,
  workerUnbondingBlocks: 100,
};

/** Devnet governance: a vote of 30 blocks, a change in effect 5 blocks later, 1,000 ZNC to open a vote. */
export const DEV_GOVERNANCE = {
  ...DEFAULT_PARAMS.governance,
  minDeposit: (1_000n * ZNC_UNIT).toString(),
  depositPeriodBlocks: 300,
  votingPeriodBlocks: 30,
  executionDelayBlocks: 5,
};

/** Devnet parameters: the set is the genesis bookkeepers until candidates are voted in; short market deadlines and votes. */
const devParams = (validators: number) => ({
  bookkeeperSeats: Math.max(4, validators),
  epochLength: 20,
  jailMs: 10 * 60_000,
  market: DEV_MARKET,
  governance: DEV_GOVERNANCE,
});

/** Creates the homes of a devnet: one shared dev genesis with `validators` bookkeepers, a home per bookkeeper. */
async function initDevnet(dir: string, o: StartDevnetOptions, made: DevnetOptions, etcd: readonly DevnetEtcd[] | undefined): Promise<void> {
  const validators = made.validators;
  const homes = Array.from({ length: validators }, (_, i) => join(dir, `node${i}`));
  const apiPorts = await Promise.all(homes.map(() => freePort()));
  o.onProgress?.(`creating keys and a dev genesis with ${validators} bookkeeper(s) in ${homes[0]}`);
  const workers = made.workers;
  // A devnet with a market has keys for its roles: a developer, a user, and one per worker.
  const roles = workers > 0 || made.sampleApps ? [DEVELOPER_KEY, USER_KEY, ...Array.from({ length: workers }, (_, i) => workerKey(i + 1))] : [];
  const { config } = initDevHome(homes[0], {
    apiPort: apiPorts[0],
    blockIntervalMs: made.blockTimeMs,
    monthMs: o.monthMs,
    bookkeepers: validators,
    accounts: o.accounts ?? (roles.length ? [...DEV_ACCOUNTS, ...roles] : undefined),
    params: { ...devParams(validators), ...o.params },
  });
  if (validators === 1) return;
  // Seat 0's other members (--group-size): homes node0-1, node0-2, … after the seats' homes, each
  // with the seat's key and a node key of its own (its peer id), all in group `seat0`.
  const groupSize = made.groupSize ?? 1;
  const members = Array.from({ length: groupSize > 1 ? groupSize - 1 : 0 }, (_, k) => join(dir, `node0-${k + 1}`));
  const seatOf = (i: number): number => (i < validators ? i : 0);
  const all = [...homes, ...members];
  apiPorts.push(...(await Promise.all(members.map(() => freePort()))));
  const p2pPorts = await Promise.all(all.map(() => freePort()));
  const ks = new Keystore(homePaths(homes[0]).keys);
  for (const home of members) mkdirSync(home, { recursive: true, mode: 0o700 });
  const { peerIdFromKey } = await import('../p2p/index.ts');
  const peerIds = await Promise.all(
    all.map((home, i) =>
      // A group's member goes by its node key on the network: three processes cannot be one peer.
      peerIdFromKey(groupSize > 1 && seatOf(i) === 0 ? loadOrCreateNodeKey(home).secretKey : ks.load(`bookkeeper-${i}`, DEV_PASSPHRASE).secretKey),
    ),
  );
  const addrs = all.map((_, i) => `/ip4/127.0.0.1/tcp/${p2pPorts[i]}/p2p/${peerIds[i]}`);
  const etcdUrls = etcd?.map((m) => m.client) ?? [];
  const endpointsOf = async (home: string): Promise<string[]> => (o.groupEndpoints ? o.groupEndpoints(basename(home), etcdUrls) : etcdUrls);
  for (const [i, home] of all.entries()) {
    const grouped = groupSize > 1 && seatOf(i) === 0;
    const signerGroup = grouped ? { endpoints: await endpointsOf(home), group: DEVNET_GROUP, member: basename(home) } : undefined;
    if (i > 0) {
      mkdirSync(home, { recursive: true, mode: 0o700 });
      // Dev keys are throwaway: every home holds all of them, so any home works with the CLI.
      cpSync(homePaths(homes[0]).keys, homePaths(home).keys, { recursive: true });
      copyFileSync(homePaths(homes[0]).genesis, homePaths(home).genesis);
    }
    writeConfig(home, {
      ...config,
      // Every pending transaction is re-checked after each commit: a bounded pool keeps that cost
      // bounded under overload (clients are told MEMPOOL_FULL and retry) instead of slowing commits.
      mempoolMax: 10_000,
      api: { host: '127.0.0.1', port: apiPorts[i] },
      bookkeeperKey: `bookkeeper-${seatOf(i)}`,
      p2p: { listen: `/ip4/127.0.0.1/tcp/${p2pPorts[i]}`, bootstrap: addrs.filter((_, j) => j !== i) },
      ddn: { peers: apiPorts.filter((_, j) => j !== i).map((port) => `http://127.0.0.1:${port}`) },
      ...(signerGroup ? { signerGroup } : {}),
    });
  }
}

/** Starts one node process of a devnet home in the background. */
export function spawnNode(dir: string, name: string, extraArgs: string[] = []): DevnetNode {
  const home = join(dir, name);
  const config = readConfig(home);
  const log = join(dir, `${name}.log`);
  const from = existsSync(log) ? statSync(log).size : 0;
  const out = openSync(log, 'a');
  const child = spawn(process.execPath, [ZEUS_BIN, '--home', home, 'node', 'start', ...extraArgs], {
    detached: true,
    stdio: ['ignore', out, out],
    env: { ...process.env },
  });
  child.unref();
  const node: DevnetNode = {
    name,
    home,
    api: `http://127.0.0.1:${config.api.port}`,
    pid: child.pid!,
    log,
    ...(config.p2p ? { p2p: config.p2p.listen } : {}),
    ...(config.signerGroup ? { group: config.signerGroup.group } : {}),
  };
  logStart.set(node, from);
  return node;
}

/** Starts one devnet node again (after it stopped or was killed) and records its new pid in devnet.json. */
export function restartNode(dir: string, name: string, extraArgs: string[] = []): DevnetNode {
  const info = readDevnet(dir);
  const i = info.nodes.findIndex((n) => n.name === name);
  if (i < 0) throw new Error(`no node ${name} in ${dir}`);
  if (isAlive(info.nodes[i].pid)) throw new Error(`${name} is still running (pid ${info.nodes[i].pid})`);
  const n = { ...spawnNode(dir, name, extraArgs), peerId: info.nodes[i].peerId };
  info.nodes[i] = n;
  writeDevnet(info);
  return n;
}

/** Where each node's log stood when this process started it: an error quotes only what it wrote since. */
const logStart = new WeakMap<DevnetNode, number>();

/** The last lines a node logged since it was started, for an error that says why it ended. */
function logTail(node: DevnetNode, lines = 5): string {
  try {
    const text = readFileSync(node.log)
      .subarray(logStart.get(node) ?? 0)
      .toString('utf8')
      .trim();
    return text ? `; its log ends:\n  ${text.split('\n').slice(-lines).join('\n  ')}` : '';
  } catch {
    return '';
  }
}

/** A probe's answer, or undefined after `ms`: something else listening on a node's port may never answer. */
const within = <T>(ms: number, p: Promise<T>): Promise<T | undefined> =>
  Promise.race([p.catch(() => undefined), new Promise<undefined>((r) => setTimeout(() => r(undefined), ms).unref())]);

async function waitFor<T>(what: string, node: DevnetNode, deadlineMs: number, probe: () => Promise<T | undefined>, signal?: AbortSignal): Promise<T> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    signal?.throwIfAborted();
    const v = await within(5_000, probe());
    if (v !== undefined) return v;
    if (!isAlive(node.pid)) throw new Error(`${node.name} exited while waiting for ${what} (log ${node.log})${logTail(node)}`);
    if (Date.now() > deadline) throw new Error(`${node.name}: no ${what} within ${deadlineMs / 1000} s; see ${node.log}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Whether `dir` holds a devnet already (made by an earlier `devnet start`, running or not). */
export const devnetExists = (dir: string): boolean => existsSync(join(dir, 'node0', 'config.json'));

/**
 * How the devnet in `dir` was made: as devnet.json recorded it, or (a devnet.json from before it
 * recorded them, or one a failed start rewrote) as its homes show it: the worker keys its genesis
 * funded, whether it has a developer key, its node count and block interval.
 */
export function devnetOptionsOf(dir: string): DevnetOptions {
  const recorded = devnetIn(dir)?.options;
  if (recorded) return recorded;
  const ks = new Keystore(homePaths(join(dir, 'node0')).keys);
  const names = ks.list().map((k) => k.name);
  return {
    validators: nodeNames(dir).filter((n) => /^node\d+$/.test(n)).length,
    workers: names.filter((n) => /^worker-\d+$/.test(n)).length,
    sampleApps: names.includes(DEVELOPER_KEY),
    runtime: 'auto',
    blockTimeMs: readConfig(join(dir, 'node0')).blockIntervalMs,
  };
}

/** The devnet's node homes: the seats' (node0, node1, …), then seat groups' other members (node0-1, …). */
const nodeNames = (dir: string): string[] => {
  const order = (n: string): number[] => n.slice(4).split('-').map(Number);
  return readdirSync(dir)
    .filter((n) => /^node\d+(-\d+)?$/.test(n) && existsSync(join(dir, n, 'config.json')))
    .sort((a, b) => {
      const [sa, ma = 0] = order(a);
      const [sb, mb = 0] = order(b);
      return ma - mb || sa - sb;
    });
};

/**
 * Initializes (first time) and starts the devnet's processes; returns once the chain commits
 * blocks and the workers follow the market. A directory that holds a devnet is started as it was
 * made. If anything fails (or `signal` aborts), every process this start began is stopped and
 * the error says so: a devnet is never left half running.
 */
export async function startDevnet(o: StartDevnetOptions): Promise<DevnetInfo> {
  const dir = resolve(o.dir);
  mkdirSync(dir, { recursive: true });
  const before = devnetIn(dir);
  if (before) {
    const running = processesOf(before).filter((n) => isAlive(n.pid));
    if (running.length)
      throw new Error(`devnet in ${dir} is already running (pids ${running.map((n) => n.pid).join(', ')}); stop it with \`zeus devnet stop --dir ${dir}\``);
  }
  let made: DevnetOptions;
  let etcd = before?.etcd;
  if (!devnetExists(dir)) {
    const validators = o.validators ?? 1;
    const workers = o.workers ?? 0;
    // A worker shares its node's home (it reads the images the node fetched from the node's store).
    if (workers > validators)
      throw new Error(`each worker runs beside its own node: --workers ${workers} needs at least as many --validators (got ${validators})`);
    const groupSize = o.groupSize ?? 1;
    if (!Number.isInteger(groupSize) || groupSize < 1 || groupSize > 5) throw new Error(`--group-size must be 1 to 5 member processes, got ${groupSize}`);
    if (groupSize > 1 && validators < 2)
      throw new Error(
        `--group-size keeps a seat of a bookkeeper network: it needs --validators 2 or more (a solo bookkeeper has no network), got ${validators}`,
      );
    made = {
      validators,
      workers,
      sampleApps: o.sampleApps ?? workers > 0,
      runtime: o.runtime ?? 'auto',
      blockTimeMs: o.blockTimeMs ?? 500,
      ...(groupSize > 1 ? { groupSize } : {}),
    };
    if (groupSize > 1) {
      etcdBinary(); // before anything is made: a missing etcd is said first
      const ports = [];
      for (let i = 0; i < 3; i++) ports.push({ client: await freePort(), peer: await freePort() });
      etcd = planEtcd(dir, ports);
    }
    await initDevnet(dir, o, made, etcd);
  } else {
    const was = devnetOptionsOf(dir);
    const differs = (['validators', 'workers', 'sampleApps', 'groupSize'] as const).filter(
      (k) => o[k] !== undefined && o[k] !== (was[k] ?? (k === 'groupSize' ? 1 : undefined)),
    );
    if (differs.length) {
      o.onProgress?.(
        `note: ${dir} holds a devnet made with ${differs.map((k) => `${k} ${was[k]}`).join(', ')}; starting it as it was (remove the directory for a new one)`,
      );
    }
    made = { ...was, runtime: o.runtime ?? was.runtime, blockTimeMs: o.blockTimeMs ?? was.blockTimeMs };
  }
  const names = nodeNames(dir);
  for (const name of names) {
    const cfg = readConfig(join(dir, name));
    if (cfg.blockIntervalMs !== made.blockTimeMs) writeConfig(join(dir, name), { ...cfg, blockIntervalMs: made.blockTimeMs });
  }
  const nodes: DevnetNode[] = [];
  const info: DevnetInfo = { dir, chainId: '', nodes, options: made };
  if ((made.groupSize ?? 1) > 1 && !etcd)
    throw new Error(`${dir} holds a devnet with seat groups, but its devnet.json names no etcd cluster: remove the directory for a new one`);
  try {
    if (etcd) {
      const bin = etcdBinary();
      info.etcd = etcd;
      for (let i = 0; i < etcd.length; i++) {
        etcd[i].pid = spawnEtcd(bin, dir, etcd, i);
        writeDevnet(info);
      }
      o.onProgress?.(`started the etcd cluster of seat 0's group (${etcd.map((m) => m.client).join(', ')}); waiting until it is healthy`);
      await waitEtcdHealthy(etcd, 30_000, o.signal);
    }
    for (const name of names) {
      const upgradeArgs = (o.upgradeModules ?? []).flatMap((f) => ['--upgrade-module', resolve(f)]);
      nodes.push(spawnNode(dir, name, [...upgradeArgs, ...(o.nodeArgs?.[name] ?? [])]));
      // Recorded at once: whatever happens next, stopDevnet finds every process started.
      writeDevnet(info);
    }
    o.onProgress?.(`started ${nodes.map((n) => `${n.name} (pid ${n.pid})`).join(', ')}; waiting for their APIs`);
    for (const n of nodes) {
      const s = await waitFor('API', n, 60_000, () => new ZeusClient(n.api).status(), o.signal);
      info.chainId = s.chainId;
      n.peerId = s.consensus && 'peerId' in s.consensus ? s.consensus.peerId : undefined;
    }
    writeDevnet(info);
    if (nodes.length > 1) {
      o.onProgress?.(`all ${nodes.length} APIs answer; waiting for the bookkeepers to commit a block together`);
      const start = (await new ZeusClient(nodes[0].api).status()).height;
      await waitFor(
        'committed block',
        nodes[0],
        60_000,
        async () => {
          const heights = await Promise.all(nodes.map(async (n) => (await new ZeusClient(n.api).status()).height));
          return Math.min(...heights) > start ? heights : undefined;
        },
        o.signal,
      );
    }
    info.console = `${nodes[0].api}/`;
    writeDevnet(info);
    await waitForConsole(info.console, o.onProgress, o.signal);
    await startMarket(dir, info, made, o);
  } catch (e) {
    // A devnet that did not come up is not left half running (a node that failed to bind, say).
    const stopped = await stopDevnet(dir).catch(() => 0);
    const why = e instanceof Error ? e.message : String(e);
    throw new Error(
      `the devnet in ${dir} did not come up: ${why}\nstopped the ${stopped} process(es) this start had begun; none of it runs now. See the logs in ${dir}, then run \`zeus devnet start --dir ${o.dir}\` again`,
      { cause: e },
    );
  }
  return info;
}

/** A node builds the console at its first start (Vite, a few seconds); the summary should not point at a page still building. */
async function waitForConsole(url: string, onProgress?: (m: string) => void, signal?: AbortSignal): Promise<void> {
  const ready = async (): Promise<number> => (await fetch(url).catch(() => undefined))?.status ?? 0;
  if ((await ready()) === 200) return;
  onProgress?.(`the web console is being built (Vite: src/web → dist/web); waiting for ${url}`);
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 500));
    signal?.throwIfAborted();
    if ((await ready()) === 200) return;
  }
  onProgress?.(`the web console did not come up within 120 s (build it with \`npm run build:web\`); going on`);
}

/** The sample apps and the worker agents, after the chain is up, as the devnet was made. */
async function startMarket(dir: string, info: DevnetInfo, made: DevnetOptions, o: StartDevnetOptions): Promise<void> {
  const count = made.workers;
  if (count === 0 && !made.sampleApps) return;
  const progress = o.onProgress ?? ((): void => undefined);
  const runtime = await chooseRuntime(made.runtime);
  progress(
    runtime === 'docker'
      ? 'a Docker engine answers: the workers run containers (and WASI modules)'
      : 'no Docker engine answers: the workers run WebAssembly (WASI) modules only',
  );
  const home = info.nodes[0].home;
  if (made.sampleApps) info.apps = await publishSampleApps({ dir, home, node: info.nodes[0].api, runtime, onProgress: progress });
  info.workers = [];
  for (let i = 1; i <= count; i++) {
    o.signal?.throwIfAborted();
    // One per node, node0 last: worker-1 beside node1, worker-2 beside node2 (node0 with one node).
    const node = info.nodes[i % info.nodes.length];
    info.workers.push(await startWorker({ dir, index: i, home: node.home, node: node.api, runtime, onProgress: progress, signal: o.signal }));
    writeDevnet(info);
  }
  progress(`${count} worker(s) follow the market`);
}

export async function stopDevnet(dir: string): Promise<number> {
  const info = readDevnet(dir);
  // Workers first: one that lost its node would only log failures until stopped.
  const workers = await stopWorkers(info.workers ?? []);
  const nodes = await stopProcesses(info.nodes.map((n) => n.pid));
  // etcd last: a group's member that stops resigns through it.
  return workers + nodes + (await stopProcesses((info.etcd ?? []).map((m) => m.pid)));
}

/** Starts etcd member `i` of the devnet in `dir` again (after it stopped or was killed) and records its new pid. */
export function restartEtcd(dir: string, i: number): DevnetEtcd {
  const info = readDevnet(dir);
  const etcd = info.etcd;
  if (!etcd?.[i]) throw new Error(`no etcd member ${i} in ${dir}`);
  if (etcd[i].pid && isAlive(etcd[i].pid)) throw new Error(`${etcd[i].name} is still running (pid ${etcd[i].pid})`);
  etcd[i].pid = spawnEtcd(etcdBinary(), dir, etcd, i);
  writeDevnet(info);
  return etcd[i];
}
