import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readFileSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../src/cli/devnet.ts';
import { Keystore } from '../../src/crypto/index.ts';
import { type NodeConfig, NodeConfigSchema, readConfig, writeConfig } from '../../src/node/index.ts';
import { peerIdFromKey } from '../../src/p2p/index.ts';
import type { Host, Hosts } from './hosts.ts';
import { type ApiAnswer, type CliResult, jsonOrUndefined, NODE_BIN, nodeEnv, ROOT, sleep } from './processes.ts';

// ZeusNet node processes on separate network hosts (issue 15). Each node runs `zeus node start`
// inside its own host namespace of the harness (test/helpers/hosts.ts), with p2p on
// HOST_IP:26656 and its API on HOST_IP:26657: nothing binds or dials 127.0.0.1. The same code runs
// the same network on loopback (`net` undefined: 127.0.0.1 and free ports), so a benchmark can
// compare the two with everything else equal.
//
// The test process stays in the root namespace, which cannot reach the hosts. It talks to the nodes
// through a ClientAgent: one long-lived process (test/helpers/netAgent.ts) in a host of its own that
// makes the HTTP requests and WebSocket subscriptions it is handed over a pipe — the "client host"
// from which transactions are posted.
//
//   const net = await createHosts(5);
//   const network = await startNetwork({ net, homes, logDir, passphrase });   // nodes on hosts 0..3
//   const client = await ClientAgent.start({ net, host: net.hosts[4], log: join(logDir, 'agent.log') });
//   (await client.api(network.nodes[0].api, 'GET', '/status')).json;
//   await network.stop(); client.close(); net.destroy();

const ZEUS = join(ROOT, 'bin', 'zeus.js');
const AGENT = fileURLToPath(new URL('./netAgent.ts', import.meta.url));
/** The ports every node uses on its own host (a loopback network takes free ports instead). */
export const P2P_PORT = 26_656;
export const API_PORT = 26_657;

/** Which peers each node dials at start: all the others, one (the next in a ring), or a choice. */
export type BootstrapChoice = 'all' | 'one' | ((i: number, n: number) => number[]);

export function bootstrapIndexes(choice: BootstrapChoice, i: number, n: number): number[] {
  if (choice === 'all') return Array.from({ length: n }, (_, j) => j).filter((j) => j !== i);
  if (choice === 'one') return n > 1 ? [(i + 1) % n] : [];
  return choice(i, n);
}

/** Where one node listens and whom it dials. */
export interface NodeNetwork {
  ip: string;
  p2pPort: number;
  apiPort: number;
  /** Multiaddrs ending in /p2p/<peer id>. */
  bootstrap: string[];
  blockTimeMs: number;
  bookkeeperKey: string;
}

/**
 * The one place that turns a node's network settings into what `zeus node start` is given: the
 * network flags (`--p2p-listen`, `--bootstrap`, `--api`, `--block-time`), as an operator types
 * them; the home's config.json only names the bookkeeper key (the node saves the flags into it).
 */
export function nodeLaunch(base: NodeConfig, n: NodeNetwork): { config: NodeConfig; args: string[] } {
  const config: NodeConfig = { ...base, bookkeeperKey: n.bookkeeperKey };
  // JSON logs on stdout; the console is not built (nothing here opens it, and Vite would take a core).
  const args = ['--json', 'node', 'start', '--no-console-build'];
  args.push('--p2p-listen', `/ip4/${n.ip}/tcp/${n.p2pPort}`, '--bootstrap', n.bootstrap.join(','));
  args.push('--api', `${n.ip}:${n.apiPort}`, '--block-time', String(n.blockTimeMs));
  return { config, args };
}

/** `zeus --home HOME …` run to completion inside `host`'s namespace (its requests leave from that host). */
export async function zeusOn(net: Hosts, host: Host, home: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs = 120_000): Promise<CliResult> {
  return net.exec(host, NODE_BIN, [ZEUS, '--home', home, ...args], { env, cwd: ROOT, timeout: timeoutMs });
}

/** zeusOn that must exit 0; returns stdout. */
export async function zeusOkOn(net: Hosts, host: Host, home: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs?: number): Promise<string> {
  const r = await zeusOn(net, host, home, args, env, timeoutMs);
  if (r.code !== 0) throw new Error(`zeus ${args.join(' ')} on ${host.name} exited ${r.code}: ${r.err.trim()}\n${r.out.trim()}`);
  return r.out;
}

/** A running (or stopped) `zeus node start` process on a host or on loopback. */
export class NetNode {
  readonly name: string;
  readonly home: string;
  /** The host it runs on; undefined on loopback. */
  readonly host: Host | undefined;
  readonly ip: string;
  /** http://IP:PORT of its API (reachable from the client agent, not from the root namespace). */
  readonly api: string;
  /** Its p2p multiaddr with /p2p/<peer id>. */
  readonly p2p: string;
  readonly peerId: string;
  /** The log file: everything the process wrote to stdout and stderr, over every start. */
  readonly log: string;
  readonly args: string[];
  private readonly net: Hosts | undefined;
  private readonly env: NodeJS.ProcessEnv;
  private proc: ChildProcess | undefined;
  private out: WriteStream | undefined;
  private since = '';
  private exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  private exitedP: Promise<void> = Promise.resolve();

  constructor(o: {
    name: string;
    home: string;
    net?: Hosts;
    host?: Host;
    ip: string;
    apiPort: number;
    p2p: string;
    peerId: string;
    log: string;
    args: string[];
    env: NodeJS.ProcessEnv;
  }) {
    this.name = o.name;
    this.home = o.home;
    this.net = o.net;
    this.host = o.host;
    this.ip = o.ip;
    this.api = `http://${o.ip}:${o.apiPort}`;
    this.p2p = o.p2p;
    this.peerId = o.peerId;
    this.log = o.log;
    this.args = o.args;
    this.env = o.env;
  }

  get alive(): boolean {
    return this.proc !== undefined && this.exitInfo === undefined;
  }

  get pid(): number | undefined {
    return this.proc?.pid;
  }

  /** How the process last ended (undefined while it runs or before it first started). */
  get exit(): { code: number | null; signal: NodeJS.Signals | null } | undefined {
    return this.exitInfo;
  }

  /**
   * Starts the process (again, with the same command line); resolves once it printed `started`.
   * `extraEnv` is added to its environment for this start only (a fault: a skewed clock), and
   * `extraArgs` to its command line (an operator's repair: a state-sync trust point).
   */
  async start(timeoutMs = 60_000, extraEnv: NodeJS.ProcessEnv = {}, extraArgs: readonly string[] = []): Promise<void> {
    if (this.alive) throw new Error(`${this.name} is already running (pid ${this.proc?.pid})`);
    const argv = [ZEUS, '--home', this.home, ...this.args, ...extraArgs];
    const opts = { cwd: ROOT, env: { ...this.env, ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'] as ('ignore' | 'pipe')[] };
    // `ip netns exec` execs the command, so the pid is the node's own and signals reach it.
    const child = this.net && this.host ? this.net.spawn(this.host, NODE_BIN, argv, opts) : spawn(NODE_BIN, argv, opts);
    this.proc = child;
    this.exitInfo = undefined;
    this.since = '';
    if (!this.net) loopbackChildren.add(child);
    this.out ??= createWriteStream(this.log, { flags: 'a' });
    const onData = (d: Buffer): void => {
      this.out?.write(d);
      // Only the start of the output is searched for the `started` event.
      if (this.since.length < 256 * 1024) this.since += String(d);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    this.exitedP = new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        loopbackChildren.delete(child);
        resolve();
      }),
    );
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (/"event":\s*"started"/.test(this.since)) return;
      if (this.exitInfo) throw new Error(`${this.name} exited (${JSON.stringify(this.exitInfo)}) before starting; its output:\n${this.tail()}`);
      if (Date.now() > deadline) throw new Error(`${this.name} did not start within ${timeoutMs} ms; its output:\n${this.tail()}`);
      await sleep(25);
    }
  }

  /** The last lines the node wrote since its last start. */
  tail(lines = 15): string {
    return this.since.trim().split('\n').slice(-lines).join('\n');
  }

  /** SIGKILL: a crash (no shutdown code runs). */
  async kill(): Promise<void> {
    if (this.alive) this.proc?.kill('SIGKILL');
    await this.exitedP;
  }

  /** SIGTERM and the graceful shutdown; SIGKILL after `timeoutMs`. */
  async stop(timeoutMs = 15_000): Promise<void> {
    if (!this.alive) return;
    this.proc?.kill('SIGTERM');
    const t = setTimeout(() => this.alive && this.proc?.kill('SIGKILL'), timeoutMs);
    await this.exitedP;
    clearTimeout(t);
  }

  /** stop() then start() with the same command line. */
  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  /** Closes the log file (after the process ended). */
  closeLog(): void {
    this.out?.end();
    this.out = undefined;
  }
}

/**
 * Processes on loopback are in no namespace the harness kills: killed when this process exits or
 * is stopped by a signal (a signal ends it without an 'exit' event).
 */
const loopbackChildren = new Set<ChildProcess>();
const killLoopback = (): void => {
  for (const c of loopbackChildren) c.kill('SIGKILL');
};
process.on('exit', killLoopback);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  const onSignal = (): void => {
    killLoopback();
    process.removeListener(sig, onSignal);
    // Die of the same signal when nobody else handles it (hosts.ts does the same the other way round).
    if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
  };
  process.on(sig, onSignal);
}

export interface NetworkOptions {
  /** The hosts; undefined runs the same network on 127.0.0.1 (free ports). */
  net?: Hosts;
  /** The hosts the nodes run on, one each (default: the first `homes.length` of `net.hosts`). */
  hosts?: Host[];
  /**
   * Each node's home (genesis.json and the key already in it), its bookkeeper key's name, and
   * options added to its `zeus node start` (a test-only fault such as --test-corrupt-snapshot-chunks).
   */
  homes: { home: string; key: string; name?: string; args?: string[] }[];
  /** The keystore passphrase of those keys (ZEUS_PASSPHRASE of the processes). */
  passphrase: string;
  /** Where the logs go (`<name>.log`). */
  logDir: string;
  bootstrap?: BootstrapChoice;
  blockTimeMs?: number;
  mempoolMax?: number;
}

export interface NetNetwork {
  nodes: NetNode[];
  /** Stops every node (SIGTERM, then SIGKILL) and closes the logs. */
  stop(): Promise<void>;
}

/**
 * Writes each home's config for its host and starts all nodes; resolves once every one printed
 * `started`. If any fails to start, those already started are killed and the error names it.
 */
export async function startNetwork(o: NetworkOptions): Promise<NetNetwork> {
  const n = o.homes.length;
  const hosts = o.net ? (o.hosts ?? o.net.hosts.slice(0, n)) : [];
  if (o.net && hosts.length < n) throw new Error(`startNetwork: ${n} homes but only ${hosts.length} hosts`);
  mkdirSync(o.logDir, { recursive: true });
  const ips = o.net ? hosts.map((h) => h.ip) : o.homes.map(() => '127.0.0.1');
  const p2pPorts = o.net ? o.homes.map(() => P2P_PORT) : await Promise.all(o.homes.map(() => freePort()));
  const apiPorts = o.net ? o.homes.map(() => API_PORT) : await Promise.all(o.homes.map(() => freePort()));
  const peerIds = await Promise.all(o.homes.map((h) => peerIdFromKey(new Keystore(join(h.home, 'keys')).load(h.key, o.passphrase).secretKey)));
  const addrs = o.homes.map((_, i) => `/ip4/${ips[i]}/tcp/${p2pPorts[i]}/p2p/${peerIds[i]}`);
  const env = { ...nodeEnv(), ZEUS_PASSPHRASE: o.passphrase };
  const nodes = o.homes.map((h, i) => {
    const name = h.name ?? `node${i}`;
    const { config, args } = nodeLaunch(baseConfig(h.home, o.mempoolMax), {
      ip: ips[i],
      p2pPort: p2pPorts[i],
      apiPort: apiPorts[i],
      bootstrap: bootstrapIndexes(o.bootstrap ?? 'all', i, n).map((j) => addrs[j]),
      blockTimeMs: o.blockTimeMs ?? 250,
      bookkeeperKey: h.key,
    });
    writeConfig(h.home, config);
    return new NetNode({
      name,
      home: h.home,
      net: o.net,
      host: o.net ? hosts[i] : undefined,
      ip: ips[i],
      apiPort: apiPorts[i],
      p2p: addrs[i],
      peerId: peerIds[i],
      log: join(o.logDir, `${name}.log`),
      args: [...args, ...(h.args ?? [])],
      env,
    });
  });
  const stop = async (): Promise<void> => {
    await Promise.all(nodes.map((x) => x.stop(5_000)));
    for (const x of nodes) x.closeLog();
  };
  try {
    await Promise.all(nodes.map((x) => x.start()));
  } catch (e) {
    await Promise.all(nodes.map((x) => x.kill()));
    for (const x of nodes) x.closeLog();
    throw e;
  }
  return { nodes, stop };
}

/**
 * The config of a home that has none yet (a ceremony home holds only keys and genesis.json), or
 * the one it has. A network's home: no dev passphrase, no DDN peers.
 */
function baseConfig(home: string, mempoolMax = 10_000): NodeConfig {
  if (existsSync(join(home, 'config.json'))) return readConfig(home);
  const genesis = JSON.parse(readFileSync(join(home, 'genesis.json'), 'utf8')) as { chainId: string };
  // api, blockIntervalMs and bookkeeperKey are placeholders: nodeLaunch() sets them.
  return NodeConfigSchema.parse({ chainId: genesis.chainId, api: { host: '0.0.0.0', port: API_PORT }, blockIntervalMs: 250, bookkeeperKey: '', mempoolMax });
}

interface AgentAnswer {
  id?: number;
  sub?: number;
  ready?: boolean;
  status?: number;
  contentType?: string;
  text?: string;
  error?: string;
  opened?: boolean;
  data?: string;
  closed?: boolean;
}

/**
 * The test's hands on a host: a long-lived agent process (netAgent.ts) inside `host`'s namespace,
 * or in this namespace when `net` is undefined (a loopback network), that makes HTTP requests and
 * holds WebSocket subscriptions for the test process over its stdin/stdout.
 */
export class ClientAgent {
  readonly host: Host | undefined;
  private readonly proc: ChildProcess;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (a: AgentAnswer) => void }>();
  private readonly subs = new Map<number, (data: string) => void>();
  private buf = '';
  private exited = false;
  private stderr = '';

  private constructor(proc: ChildProcess, host: Host | undefined) {
    this.proc = proc;
    this.host = host;
  }

  static async start(o: { net?: Hosts; host?: Host; log?: string } = {}): Promise<ClientAgent> {
    const opts = { cwd: ROOT, env: nodeEnv(), stdio: ['pipe', 'pipe', 'pipe'] as 'pipe'[] };
    const proc = o.net && o.host ? o.net.spawn(o.host, NODE_BIN, [AGENT], opts) : spawn(NODE_BIN, [AGENT], opts);
    if (!o.net) loopbackChildren.add(proc);
    const agent = new ClientAgent(proc, o.host);
    const log = o.log ? createWriteStream(o.log, { flags: 'a' }) : undefined;
    const ready = new Promise<void>((resolve, reject) => {
      agent.pending.set(0, { resolve: () => resolve() });
      proc.once('exit', (code, signal) => {
        agent.exited = true;
        loopbackChildren.delete(proc);
        log?.end();
        reject(new Error(`the client agent exited (${code ?? signal}): ${agent.stderr}`));
        for (const p of agent.pending.values()) p.resolve({ error: `the client agent exited (${code ?? signal}): ${agent.stderr}` });
        agent.pending.clear();
      });
    });
    proc.stderr?.on('data', (d: Buffer) => {
      agent.stderr = (agent.stderr + String(d)).slice(-4000);
      log?.write(d);
    });
    proc.stdout?.on('data', (d: Buffer) => agent.onData(String(d)));
    await ready;
    return agent;
  }

  private onData(chunk: string): void {
    this.buf += chunk;
    let nl = this.buf.indexOf('\n');
    while (nl >= 0) {
      const line = this.buf.slice(0, nl);
      this.buf = this.buf.slice(nl + 1);
      nl = this.buf.indexOf('\n');
      if (!line) continue;
      const m = JSON.parse(line) as AgentAnswer;
      if (m.ready) this.pending.get(0)?.resolve(m);
      else if (m.sub !== undefined) {
        if (m.data !== undefined) this.subs.get(m.sub)?.(m.data);
        if (m.closed) this.subs.delete(m.sub);
      } else if (m.id !== undefined) {
        const p = this.pending.get(m.id);
        this.pending.delete(m.id);
        p?.resolve(m);
      }
    }
  }

  private call(req: Record<string, unknown>): Promise<AgentAnswer> {
    if (this.exited) return Promise.reject(new Error(`the client agent is not running: ${this.stderr}`));
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.pending.set(id, { resolve });
      this.proc.stdin?.write(`${JSON.stringify({ ...req, id })}\n`);
    });
  }

  /** One HTTP request from the agent's host; a JSON body is serialized unless it is a string. */
  async api<T = unknown>(base: string, method: string, path: string, body?: unknown, o: { timeoutMs?: number } = {}): Promise<ApiAnswer<T>> {
    const headers: Record<string, string> = {};
    let payload: string | undefined;
    if (body !== undefined) {
      payload = typeof body === 'string' ? body : JSON.stringify(body);
      headers['content-type'] = 'application/json';
    }
    const a = await this.call({ op: 'http', url: `${base}${path}`, method, headers, body: payload, timeoutMs: o.timeoutMs });
    if (a.error !== undefined) throw new Error(`${method} ${base}${path} from ${this.host?.name ?? 'loopback'}: ${a.error}`);
    const text = a.text ?? '';
    return { status: a.status ?? 0, contentType: a.contentType ?? '', text, json: jsonOrUndefined(text) as T };
  }

  /** GET that must answer 200; returns the parsed body. */
  async get<T>(base: string, path: string): Promise<T> {
    const r = await this.api<T>(base, 'GET', path);
    if (r.status !== 200) throw new Error(`GET ${base}${path} answered ${r.status}: ${r.text}`);
    return r.json;
  }

  /** Opens a WebSocket from the agent's host (e.g. `${node.api}/ws?events=block`); `onMessage` gets each message's text. */
  async watch(base: string, path: string, onMessage: (data: string) => void): Promise<{ close: () => void }> {
    const url = `${base.replace(/^http/, 'ws')}${path}`;
    const id = this.nextId;
    this.subs.set(id, onMessage);
    const a = await this.call({ op: 'ws', url });
    if (a.error !== undefined) {
      this.subs.delete(id);
      throw new Error(`WebSocket ${url}: ${a.error}`);
    }
    return { close: () => void this.proc.stdin?.write(`${JSON.stringify({ op: 'wsclose', id: this.nextId++, sub: id })}\n`) };
  }

  /** Ends the agent (it exits when its stdin closes). */
  close(): void {
    if (!this.exited) this.proc.stdin?.end();
  }
}

/** Waits until `cond` holds, polling every `everyMs`; the error names `what` and the last failure. */
export async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (e) {
      last = (e as Error).message;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${last})` : ''}`);
    await sleep(everyMs);
  }
}
