import type { ChildProcess } from 'node:child_process';
import { appendFileSync, closeSync, existsSync, openSync, readdirSync, readFileSync, readSync, statSync, truncateSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BlockAnswer, BlocksAnswer, StatusAnswer } from '../../src/sdk/index.ts';
import { createHosts, type Host, type Hosts } from '../helpers/hosts.ts';
import { ceremonyInProcess } from '../helpers/netJoin.ts';
import { ClientAgent, type NetNetwork, type NetNode, P2P_PORT, startNetwork } from '../helpers/netNodes.ts';
import { NODE_BIN, ROOT, sleep } from '../helpers/processes.ts';

// The nemesis of issue 16: the faults a Jepsen run injects, on the multi-host harness
// (test/helpers/hosts.ts: each node its own network namespace; netNodes.ts: its process). Every
// fault it applies and every heal is recorded (time, kind, targets) in `log`, and appended to
// `logFile` as JSON lines when one is given. Tests and the `npm run faults` command drive it; it
// decides nothing by itself (a schedule, seeded, is the caller's).
//
//   const nemesis = new Nemesis({ net, nodes: network.nodes, logFile: join(dir, 'nemesis.jsonl') });
//   await nemesis.partition([[0, 1], [2, 3]]);  …  await nemesis.heal();
//   await nemesis.pause(2); … await nemesis.resume(2);
//   await nemesis.skewClock(3, 30_000);  …  await nemesis.skewClock(3, 0);
//   await nemesis.healAll();   // in a finally: no partition, pause, cap, skew or relay is left
//
// Nodes are named by their index in `nodes`; partitions act between the nodes' hosts only, so a
// client host still reaches every node.

/** libfaketime from Debian's `faketime` package: the clock skew of a node (see skewClock). */
export const FAKETIME_LIB = '/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1';
const RELAY = fileURLToPath(new URL('./relay.ts', import.meta.url));

export type FaultKind =
  | 'partition'
  | 'bridge'
  | 'drop-one-way'
  | 'heal'
  | 'pause'
  | 'resume'
  | 'kill'
  | 'start'
  | 'restart'
  | 'bandwidth'
  | 'bandwidth-clear'
  | 'clock'
  | 'corrupt-store'
  | 'relay'
  | 'relay-stop';

/** One line of the nemesis log. */
export interface FaultRecord {
  /** ms since the epoch, when the fault was in place (or removed). */
  at: number;
  kind: FaultKind;
  /** Node names (or host names for a relay's ends). */
  targets: string[];
  /** What exactly: the partition's groups, the rate, the skew, the file corrupted… */
  detail?: Record<string, unknown>;
}

/** How to damage a stopped node's store (see corruptStore). */
export type CorruptMode = 'truncate-log' | 'flip-log' | 'flip-table' | 'truncate-table';

export interface CorruptResult {
  file: string;
  /** Size before and after (a truncation), or the flipped offsets. */
  sizeBefore: number;
  sizeAfter: number;
  flipped: number[];
  /** The damaged write record of a log (offset and length of its payload), if the mode aimed at one. */
  record?: { offset: number; length: number };
  /** The damage done, when it is not the one asked for (a log with no record: the table's instead). */
  mode?: CorruptMode;
}

/** A user-space TCP relay adding latency between two hosts (see relay.ts). */
export interface Relay {
  /** IP:PORT to dial instead of the target. */
  readonly address: string;
  stop(): Promise<void>;
}

export class Nemesis {
  readonly net: Hosts;
  readonly nodes: NetNode[];
  readonly log: FaultRecord[] = [];
  private readonly logFile: string | undefined;
  private readonly paused = new Set<number>();
  private readonly shaped = new Set<number>();
  private readonly skewed = new Set<number>();
  private readonly relays = new Set<Relay>();
  private partitioned = false;

  constructor(o: { net: Hosts; nodes: NetNode[]; logFile?: string }) {
    this.net = o.net;
    this.nodes = o.nodes;
    this.logFile = o.logFile;
  }

  private record(kind: FaultKind, targets: number[] | string[], detail?: Record<string, unknown>): FaultRecord {
    const names = targets.map((t) => (typeof t === 'number' ? this.node(t).name : t));
    const r: FaultRecord = { at: Date.now(), kind, targets: names, ...(detail ? { detail } : {}) };
    this.log.push(r);
    if (this.logFile) appendFileSync(this.logFile, `${JSON.stringify(r)}\n`);
    return r;
  }

  private node(i: number): NetNode {
    const n = this.nodes[i];
    if (!n) throw new Error(`nemesis: no node ${i} (there are ${this.nodes.length})`);
    return n;
  }

  private host(i: number): Host {
    const h = this.node(i).host;
    if (!h) throw new Error(`nemesis: node ${this.node(i).name} runs on loopback, not on a host of the harness`);
    return h;
  }

  // ---- partitions ----

  /**
   * Splits the nodes into groups that do not hear each other (every pair across groups is cut both
   * ways); a node in no group keeps hearing everyone. [[0, 1], [2, 3]] are halves, [[0], [1, 2, 3]]
   * isolates node 0.
   */
  async partition(groups: number[][]): Promise<FaultRecord> {
    for (const [gi, g] of groups.entries())
      for (const other of groups.slice(gi + 1)) for (const a of g) for (const b of other) await this.net.cut(this.host(a), this.host(b));
    this.partitioned = true;
    return this.record('partition', groups.flat(), { groups: groups.map((g) => g.map((i) => this.node(i).name)) });
  }

  /** Halves: the first half of the nodes against the rest. */
  halves(): Promise<FaultRecord> {
    const all = this.nodes.map((_, i) => i);
    const mid = Math.ceil(all.length / 2);
    return this.partition([all.slice(0, mid), all.slice(mid)]);
  }

  /** One node against all the others. */
  isolate(i: number): Promise<FaultRecord> {
    return this.partition([[i], this.nodes.map((_, j) => j).filter((j) => j !== i)]);
  }

  /** The two sides do not hear each other; `bridge` hears, and is heard by, both. */
  async bridge(bridge: number, sideA: number[], sideB: number[]): Promise<FaultRecord> {
    if (sideA.includes(bridge) || sideB.includes(bridge)) throw new Error('nemesis: the bridge node is on neither side');
    for (const a of sideA) for (const b of sideB) await this.net.cut(this.host(a), this.host(b));
    this.partitioned = true;
    return this.record('bridge', [bridge, ...sideA, ...sideB], {
      bridge: this.node(bridge).name,
      sides: [sideA.map((i) => this.node(i).name), sideB.map((i) => this.node(i).name)],
    });
  }

  /**
   * Asymmetric: `to` no longer receives what `from` sends, `from` still receives what `to` sends
   * (packets from `from`'s address are dropped in `to`'s namespace). TCP needs both directions for
   * a handshake, so new connections between the two fail either way; established ones carry data
   * from `to` to `from` until `to`'s window fills with unacknowledged bytes.
   */
  async dropOneWay(from: number, to: number): Promise<FaultRecord> {
    await this.net.drop(this.host(from), this.host(to));
    this.partitioned = true;
    return this.record('drop-one-way', [from, to], { from: this.node(from).name, to: this.node(to).name });
  }

  /** Removes every partition, bridge and one-way drop. */
  async heal(): Promise<FaultRecord> {
    await this.net.heal();
    this.partitioned = false;
    return this.record('heal', []);
  }

  // ---- processes ----

  /**
   * The pid NetNode holds must be the node itself (`ip netns exec` execs its command rather than
   * forking it): a signal to a wrapper would leave the node running. Checked before every signal.
   */
  nodePid(i: number): number {
    const n = this.node(i);
    const pid = n.pid;
    if (!n.alive || pid === undefined) throw new Error(`nemesis: ${n.name} is not running`);
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    if (!cmdline.some((a) => a.endsWith('zeus.js')) || cmdline.includes('netns')) {
      throw new Error(`nemesis: pid ${pid} of ${n.name} is not the node process itself: ${cmdline.join(' ')}`);
    }
    return pid;
  }

  /** The process state letter in /proc/PID/stat (R, S, T for stopped…). */
  static procState(pid: number): string {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name is in parentheses and may hold spaces: the state follows the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  }

  /** SIGSTOP: the process stays, its sockets stay open, it answers nothing (a GC pause, a VM freeze). */
  async pause(i: number): Promise<FaultRecord> {
    const pid = this.nodePid(i);
    process.kill(pid, 'SIGSTOP');
    for (let t = 0; Nemesis.procState(pid) !== 'T'; t++) {
      if (t > 100) throw new Error(`nemesis: ${this.node(i).name} (pid ${pid}) did not stop`);
      await sleep(10);
    }
    this.paused.add(i);
    return this.record('pause', [i], { pid });
  }

  /** SIGCONT. */
  async resume(i: number): Promise<FaultRecord> {
    const pid = this.nodePid(i);
    process.kill(pid, 'SIGCONT');
    this.paused.delete(i);
    return this.record('resume', [i], { pid });
  }

  /** SIGKILL: a crash. */
  async kill(i: number): Promise<FaultRecord> {
    const pid = this.nodePid(i);
    // A stopped process dies of SIGKILL too; it is no longer paused.
    this.paused.delete(i);
    await this.node(i).kill();
    return this.record('kill', [i], { pid });
  }

  /**
   * Starts a node that is down, with its same command line (and its clock skew, if it has one).
   * Resolves once it is up; rejects with its output if it exits first (a node refusing its store).
   * `extraArgs` go on its command line for this start only (a trust point to join from).
   */
  async start(i: number, timeoutMs = 60_000, extraArgs: readonly string[] = []): Promise<FaultRecord> {
    const n = this.node(i);
    await n.start(timeoutMs, this.skewEnv.get(i) ?? {}, extraArgs);
    return this.record('start', [i], { pid: n.pid, ...(extraArgs.length > 0 ? { args: extraArgs.join(' ') } : {}) });
  }

  /** kill then start, the same command line. */
  async restart(i: number): Promise<FaultRecord> {
    await this.kill(i);
    const n = this.node(i);
    await n.start(60_000, this.skewEnv.get(i) ?? {});
    return this.record('restart', [i], { pid: n.pid });
  }

  // ---- links ----

  /** Caps node i's host link at `rate` (tc units: `1mbit`, `500kbit`) both ways. */
  async capBandwidth(i: number, rate: string): Promise<FaultRecord> {
    await this.net.shape(this.host(i), rate);
    this.shaped.add(i);
    return this.record('bandwidth', [i], { rate });
  }

  async clearBandwidth(i: number): Promise<FaultRecord> {
    await this.net.shape(this.host(i), undefined);
    this.shaped.delete(i);
    return this.record('bandwidth-clear', [i]);
  }

  /**
   * Latency: a relay (relay.ts) on host `on` listening on `listenPort` and forwarding to
   * `target` (IP:PORT) `delayMs` ± `jitterMs` late each way. Whoever dials the relay's address instead
   * of the target gets the delay; nothing else does (there is no netem to slow a link for everyone).
   */
  async relay(o: { on: Host; listenPort: number; target: string; delayMs: number; jitterMs?: number }): Promise<Relay> {
    const address = `${o.on.ip}:${o.listenPort}`;
    const child: ChildProcess = this.net.spawn(o.on, NODE_BIN, [RELAY, address, o.target, String(o.delayMs), String(o.jitterMs ?? 0)], {
      cwd: ROOT,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let err = '';
    child.stderr?.on('data', (d: Buffer) => (err += String(d)));
    await new Promise<void>((resolve, reject) => {
      child.stdout?.once('data', () => resolve());
      child.once('exit', (code) => reject(new Error(`nemesis: the relay on ${o.on.name} exited (${code}): ${err}`)));
    });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const relay: Relay = {
      address,
      stop: async () => {
        if (!this.relays.delete(relay)) return;
        child.stdin?.end();
        await exited;
        this.record('relay-stop', [o.on.name], { address, target: o.target });
      },
    };
    this.relays.add(relay);
    this.record('relay', [o.on.name], { address, target: o.target, delayMs: o.delayMs, jitterMs: o.jitterMs ?? 0 });
    return relay;
  }

  // ---- clocks ----

  private readonly skewEnv = new Map<number, NodeJS.ProcessEnv>();

  /**
   * Restarts node i with its wall clock `offsetMs` off (0: the true clock again), through libfaketime
   * (LD_PRELOAD): Date.now() and the log's timestamps are skewed, the monotonic clock its timers run on
   * is not (FAKETIME_DONT_FAKE_MONOTONIC), as a machine whose NTP is off would be. The node is killed
   * (SIGKILL) and started with the same command line.
   */
  async skewClock(i: number, offsetMs: number): Promise<FaultRecord> {
    if (offsetMs === 0) this.skewEnv.delete(i);
    else {
      if (!existsSync(FAKETIME_LIB)) throw new Error(`nemesis: clock skew needs libfaketime (${FAKETIME_LIB}; Debian package faketime)`);
      const s = offsetMs / 1000;
      this.skewEnv.set(i, { LD_PRELOAD: FAKETIME_LIB, FAKETIME: `${s >= 0 ? '+' : ''}${s}s`, FAKETIME_DONT_FAKE_MONOTONIC: '1' });
    }
    if (offsetMs === 0) this.skewed.delete(i);
    else this.skewed.add(i);
    const n = this.node(i);
    if (n.alive) await n.kill();
    await n.start(60_000, this.skewEnv.get(i) ?? {});
    return this.record('clock', [i], { offsetMs, pid: n.pid });
  }

  // ---- disk ----

  /**
   * Damages the last write of a stopped node's LevelDB store (HOME/data): `truncate-log` cuts the
   * newest write-ahead log in the middle of its last record (a torn write), `flip-log` flips a byte
   * in that record's payload (a bad sector under it), `flip-table` flips bytes in the middle of the
   * newest table file, `truncate-table` cuts that file's last 64 bytes (its footer and index).
   */
  corruptStore(i: number, mode: CorruptMode): CorruptResult {
    const n = this.node(i);
    if (n.alive) throw new Error(`nemesis: stop ${n.name} before corrupting its store`);
    const r = corruptLevelDb(join(n.home, 'data'), mode);
    this.record('corrupt-store', [i], { mode, ...r, ...(r.mode ? { requested: mode } : {}), file: r.file.slice(n.home.length + 1) });
    return r;
  }

  // ---- all ----

  /** Undoes every fault in place: heals partitions, resumes paused nodes, clears caps, stops relays. Skews stay (a restart). */
  async healAll(): Promise<void> {
    for (const i of [...this.paused]) if (this.node(i).alive) await this.resume(i);
    this.paused.clear();
    if (this.partitioned) await this.heal();
    for (const i of [...this.shaped]) await this.clearBandwidth(i);
    for (const r of [...this.relays]) await r.stop();
  }

  /** Nodes stopped by pause() and not resumed yet. */
  get pausedNodes(): number[] {
    return [...this.paused];
  }

  /** Nodes with a clock skew in place. */
  get skewedNodes(): number[] {
    return [...this.skewed];
  }
}

// ---- LevelDB files ----

const LOG_BLOCK = 32_768;
const LOG_HEADER = 7;

/** Files of a LevelDB directory with the given extension, newest (highest number) last. */
function levelFiles(dir: string, ext: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith(ext) && /^\d+\./.test(f))
    .sort((a, b) => Number.parseInt(a, 10) - Number.parseInt(b, 10))
    .map((f) => join(dir, f));
}

/**
 * The last write record of a LevelDB write-ahead log: its records are in 32 KiB blocks, each with
 * a 7-byte header (crc32c 4, length 2, type 1: 1 full, 2 first, 3 middle, 4 last of a fragmented
 * one). Returns the offset and length of the last record's (first fragment's) payload.
 */
export function lastLogRecord(buf: Uint8Array): { offset: number; length: number } | undefined {
  let last: { offset: number; length: number } | undefined;
  let pos = 0;
  while (pos + LOG_HEADER <= buf.length) {
    const left = LOG_BLOCK - (pos % LOG_BLOCK);
    if (left < LOG_HEADER) {
      pos += left;
      continue;
    }
    const length = buf[pos + 4] | (buf[pos + 5] << 8);
    const type = buf[pos + 6];
    if (type === 0 && length === 0) break; // preallocated zeros: the end of what was written
    if (pos + LOG_HEADER + length > buf.length) break;
    if (type === 1 || type === 2) last = { offset: pos + LOG_HEADER, length };
    pos += LOG_HEADER + length;
  }
  return last;
}

/** Damages the newest log or table file of the LevelDB store in `dir` (see Nemesis.corruptStore). */
export function corruptLevelDb(dir: string, mode: CorruptMode, fallback = true): CorruptResult {
  // The last write is in the log or, once the store compacted the log into a table when it last
  // opened (and was stopped before its next write), in the newest table. Early in a run there may
  // be no table yet; after a restart, no record in the log (it happened 40 minutes into a soak).
  // Either way the same kind of damage goes to where the last write is, and the result says so.
  const usable = mode.endsWith('log')
    ? levelFiles(dir, '.log').some((f) => lastLogRecord(readFileSync(f)) !== undefined)
    : levelFiles(dir, '.ldb').some((f) => statSync(f).size > 0);
  if (!usable && fallback) {
    const instead: CorruptMode = { 'flip-log': 'flip-table', 'truncate-log': 'truncate-table', 'flip-table': 'flip-log', 'truncate-table': 'truncate-log' }[
      mode
    ] as CorruptMode;
    return { ...corruptLevelDb(dir, instead, false), mode: instead };
  }
  const ext = mode.endsWith('log') ? '.log' : '.ldb';
  const files = levelFiles(dir, ext).filter((f) => (ext === '.log' ? lastLogRecord(readFileSync(f)) !== undefined : statSync(f).size > 0));
  const file = files.at(-1);
  if (!file) throw new Error(`nemesis: no non-empty ${ext} file in ${dir} (${readdirSync(dir).join(', ')})`);
  const sizeBefore = statSync(file).size;
  const flip = (offsets: number[]): void => {
    const fd = openSync(file, 'r+');
    try {
      for (const off of offsets) {
        const b = Buffer.alloc(1);
        readSync(fd, b, 0, 1, off);
        b[0] ^= 0xff;
        writeSync(fd, b, 0, 1, off);
      }
    } finally {
      closeSync(fd);
    }
  };
  if (ext === '.log') {
    const record = lastLogRecord(readFileSync(file));
    if (!record) throw new Error(`nemesis: ${file} holds no complete record`);
    if (mode === 'truncate-log') {
      truncateSync(file, record.offset + Math.floor(record.length / 2));
      return { file, sizeBefore, sizeAfter: statSync(file).size, flipped: [], record };
    }
    const at = record.offset + Math.floor(record.length / 2);
    flip([at]);
    return { file, sizeBefore, sizeAfter: sizeBefore, flipped: [at], record };
  }
  if (mode === 'truncate-table') {
    truncateSync(file, Math.max(0, sizeBefore - 64));
    return { file, sizeBefore, sizeAfter: statSync(file).size, flipped: [] };
  }
  // A few bytes in the middle of the data blocks (the footer is the last 48 bytes, the index before it).
  const mid = Math.floor((sizeBefore - 48) / 2);
  const offsets = [mid, mid + 1, mid + 2, mid + 3];
  flip(offsets);
  return { file, sizeBefore, sizeAfter: sizeBefore, flipped: offsets };
}

// ---- the network the faults act on, and what a test reads off it ----

/** The bookkeepers' hosts, their nodes, a client host's agent and a nemesis over them. */
export interface FaultNet {
  net: Hosts;
  network: NetNetwork;
  nodes: NetNode[];
  client: ClientAgent;
  nemesis: Nemesis;
  chainId: string;
  dir: string;
  /** Heals every fault, stops the nodes and the client, deletes the namespaces; never throws. */
  close(): Promise<void>;
}

/**
 * `bookkeepers` operators' public genesis (ceremonyInProcess), one bookkeeper per host, each dialing
 * all the others, and a client host (the last) with a ClientAgent. The nemesis log goes to
 * DIR/nemesis.jsonl, the nodes' logs to DIR/logs.
 */
export async function startFaultNet(o: { dir: string; name: string; bookkeepers?: number; blockTimeMs?: number; params?: string[] }): Promise<FaultNet> {
  const n = o.bookkeepers ?? 4;
  const net = await createHosts(n + 1, { name: o.name });
  let network: NetNetwork | undefined;
  let client: ClientAgent | undefined;
  const chainId = `zeus-${o.name}-1`;
  try {
    const bk = net.hosts.slice(0, n);
    const pass = 'faults-passphrase';
    const c = ceremonyInProcess({ dir: o.dir, operators: n, chainId, passphrase: pass, p2p: (i) => `/ip4/${bk[i].ip}/tcp/${P2P_PORT}`, params: o.params });
    const logDir = join(o.dir, 'logs');
    network = await startNetwork({
      net,
      hosts: bk,
      homes: c.homes.map((home, i) => ({ home, key: c.keyName, name: `bk${i}` })),
      passphrase: pass,
      logDir,
      blockTimeMs: o.blockTimeMs ?? 100,
    });
    client = await ClientAgent.start({ net, host: net.hosts[n], log: join(logDir, 'client.log') });
  } catch (e) {
    client?.close();
    await network?.stop();
    net.destroy();
    throw e;
  }
  const nemesis = new Nemesis({ net, nodes: network.nodes, logFile: join(o.dir, 'nemesis.jsonl') });
  const nw = network;
  const agent = client;
  return {
    net,
    network: nw,
    nodes: nw.nodes,
    client: agent,
    nemesis,
    chainId,
    dir: o.dir,
    close: async () => {
      try {
        await nemesis.healAll();
      } catch {
        // the namespaces go below whatever failed here
      }
      agent.close();
      await nw.stop();
      net.destroy();
    },
  };
}

/** A node's /status, or undefined if it does not answer within `timeoutMs` (down, paused, cut off). */
export async function statusOf(agent: ClientAgent, node: NetNode, timeoutMs = 2_000): Promise<StatusAnswer | undefined> {
  try {
    const r = await agent.api<StatusAnswer>(node.api, 'GET', '/status', undefined, { timeoutMs });
    return r.status === 200 ? r.json : undefined;
  } catch {
    return undefined;
  }
}

/** Every node's height (-1 for one that does not answer). */
export async function heights(agent: ClientAgent, nodes: NetNode[], timeoutMs = 2_000): Promise<number[]> {
  return Promise.all(nodes.map(async (n) => (await statusOf(agent, n, timeoutMs))?.height ?? -1));
}

/** A block a node would not give: its height and what it answered instead. */
export interface UnreadableBlock {
  node: string;
  height: number;
  answer: string;
}

/**
 * The block hash of every height 1..to a node holds (newest-first pages of 100 from GET /blocks). A
 * page that fails is read block by block; blocks the node will not give are in `unreadable`.
 */
export async function blockHashes(agent: ClientAgent, node: NetNode, to: number): Promise<{ hashes: Map<number, string>; unreadable: UnreadableBlock[] }> {
  const hashes = new Map<number, string>();
  const unreadable: UnreadableBlock[] = [];
  for (let from = to; from >= 1; from -= 100) {
    const page = await agent.api<BlocksAnswer>(node.api, 'GET', `/blocks?from=${from}&limit=100`, undefined, { timeoutMs: 20_000 });
    if (page.status === 200) {
      for (const b of page.json.blocks) hashes.set(b.height, b.hash);
      if (page.json.blocks.length === 0) break;
      continue;
    }
    for (let h = from; h > Math.max(0, from - 100); h--) {
      const one = await agent.api<BlockAnswer>(node.api, 'GET', `/blocks/${h}`, undefined, { timeoutMs: 20_000 });
      if (one.status === 200) hashes.set(h, one.json.hash);
      else unreadable.push({ node: node.name, height: h, answer: `${one.status} ${one.text.slice(0, 300)}` });
    }
  }
  return { hashes, unreadable };
}

export interface ChainComparison {
  /** Each node's height when compared. */
  heights: number[];
  /** The lowest of them: every height up to it is on every node. */
  common: number;
  /** Heights where two nodes hold different blocks (a fork): empty when there is none. */
  forks: { height: number; hashes: Record<string, string> }[];
  /** Blocks a node would not give (a store that found them damaged says so). */
  unreadable: UnreadableBlock[];
}

/** No fork: at every height two or more nodes hold, their block hashes are equal. */
export async function compareChains(agent: ClientAgent, nodes: NetNode[]): Promise<ChainComparison> {
  const hs = await heights(agent, nodes, 10_000);
  const chains = await Promise.all(
    nodes.map((n, i) => (hs[i] > 0 ? blockHashes(agent, n, hs[i]) : Promise.resolve({ hashes: new Map<number, string>(), unreadable: [] }))),
  );
  const forks: ChainComparison['forks'] = [];
  const top = Math.max(...hs);
  for (let h = 1; h <= top; h++) {
    const hashes: Record<string, string> = {};
    for (const [i, c] of chains.entries()) {
      const x = c.hashes.get(h);
      if (x) hashes[nodes[i].name] = x;
    }
    if (new Set(Object.values(hashes)).size > 1) forks.push({ height: h, hashes });
  }
  return { heights: hs, common: Math.min(...hs), forks, unreadable: chains.flatMap((c) => c.unreadable) };
}
