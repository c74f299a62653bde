import { type ChildProcess, type SpawnOptions, spawn as spawnChild, spawnSync } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

// Separate network hosts for multi-host tests (issue 15, "Tests on separate hosts"). Every host is
// a Linux network namespace `zeus-<run>-h<i>` with one interface, `eth0`, holding 10.<x>.<y>.<i+1>/24.
// The hosts meet on a bridge, `br0`, inside a namespace of its own, `zeus-<run>-sw`: each host's
// veth pair is created inside the switch namespace with its peer created directly in the host
// namespace, so the machine's own (root) namespace gets no interface, address or route and cannot
// reach any host. Everything is removed by `destroy()`, by the process's exit and signal handlers if
// a test forgets, and by `sweepStaleHosts()` for runs whose process died without cleaning up.
//
//   let net: Hosts;
//   beforeAll(async () => { net = await createHosts(3); });
//   afterAll(() => net?.destroy());
//
// It needs root and iproute2 (`ip netns`); `cut`/`drop`/`heal` also need nft, `shape` tc.

/** Every namespace the harness makes starts with this. */
export const PREFIX = 'zeus-';
const NETNS_DIR = '/run/netns';
/** One file per live run, holding the pid of the process that made it (for `sweepStaleHosts`). */
const OWNERS_DIR = '/run/zeus-hosts';
/** The host side of every veth pair (interface names are per namespace, so every host can use it). */
export const HOST_IF = 'eth0';

export interface Host {
  /** 0-based position in `hosts`. */
  index: number;
  /** A short name, `h0`, `h1`, … */
  name: string;
  /** The network namespace (`ip netns exec <ns> …`). */
  ns: string;
  /** The host's IPv4 address on the switch (no prefix length). */
  ip: string;
}

export interface ExecResult {
  code: number;
  out: string;
  err: string;
}

export interface ExecOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Written to the command's stdin. */
  input?: string;
  /** Kills the command after this many ms (default 30 s). */
  timeout?: number;
}

export interface Hosts {
  /** The run id in every namespace name. */
  run: string;
  /** The switch namespace (holds the bridge). */
  switchNs: string;
  /** The hosts' /24, e.g. `10.213.7.0/24`. */
  subnet: string;
  hosts: Host[];
  /** Runs a command inside a host's namespace to completion. */
  exec(host: Host | number, cmd: string, args?: string[], opts?: ExecOptions): Promise<ExecResult>;
  /** Starts a command inside a host's namespace; `destroy()` kills it if it is still running. */
  spawn(host: Host | number, cmd: string, args?: string[], opts?: SpawnOptions): ChildProcess;
  /** Drops every packet between two hosts (nftables in `a`'s namespace) until `heal()`. */
  cut(a: Host | number, b: Host | number): Promise<void>;
  /**
   * Drops the packets `from` sends to `to`, one way only (nftables in `to`'s namespace), until
   * `heal()`: `to` no longer hears `from`, `from` still hears `to`.
   */
  drop(from: Host | number, to: Host | number): Promise<void>;
  /** Removes every `cut` and `drop`. */
  heal(): Promise<void>;
  /**
   * Caps a host's link at `rate` (tc's units, e.g. `1mbit`) both ways: a token bucket (tc tbf) on the
   * host's eth0 for what it sends and on its switch port for what it receives. `undefined` removes it.
   */
  shape(host: Host | number, rate: string | undefined): Promise<void>;
  /** Kills what runs in the namespaces and deletes them all; idempotent. */
  destroy(): void;
}

const live = new Set<Hosts>();
let handlersInstalled = false;

function ip(args: string[], input?: string): ExecResult {
  const r = spawnSync('ip', args, { encoding: 'utf8', input, timeout: 15_000 });
  if (r.error) throw new Error(`ip ${args.join(' ')}: ${r.error.message}`);
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

function mustIp(args: string[]): string {
  const r = ip(args);
  if (r.code !== 0) throw new Error(`ip ${args.join(' ')} failed (${r.code}): ${r.err.trim()}`);
  return r.out;
}

/** Throws a clear error unless this process can create network namespaces. */
export function assertHostsSupported(): void {
  if (process.platform !== 'linux') throw new Error('test/helpers/hosts.ts needs Linux network namespaces');
  if (process.getuid?.() !== 0) throw new Error('test/helpers/hosts.ts needs root to create network namespaces (`ip netns add`); run the tests as root');
  const r = spawnSync('ip', ['-V'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) throw new Error('test/helpers/hosts.ts needs the `ip` command (iproute2) on PATH');
}

/** Whether `createHosts` can work here (tests that can do without it skip on false). */
export function hostsSupported(): boolean {
  try {
    assertHostsSupported();
    return true;
  } catch {
    return false;
  }
}

/** The namespaces that exist now. */
export function listNamespaces(): string[] {
  const r = ip(['netns', 'list']);
  return r.out
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0])
    .filter((n) => n);
}

/** Kills every process inside a namespace, then deletes it (no error if it is gone). */
function removeNamespace(ns: string): void {
  const pids = ip(['netns', 'pids', ns]);
  if (pids.code === 0) {
    for (const p of pids.out.split('\n').filter((l) => /^\d+$/.test(l.trim()))) {
      try {
        process.kill(Number(p), 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  ip(['netns', 'del', ns]);
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/**
 * Deletes `zeus-*` namespaces left by crashed runs: those made before this process started whose
 * owning process is gone (a parallel test file's live namespaces are kept). `opts.before` (ms since
 * the epoch) replaces this process's start time. Returns what it deleted.
 */
export function sweepStaleHosts(opts: { before?: number } = {}): string[] {
  assertHostsSupported();
  const started = opts.before ?? Date.now() - process.uptime() * 1000;
  const deleted: string[] = [];
  for (const ns of listNamespaces().filter((n) => n.startsWith(PREFIX))) {
    let made: number;
    try {
      made = statSync(join(NETNS_DIR, ns)).mtimeMs;
    } catch {
      continue;
    }
    if (made >= started) continue;
    const run = ns.slice(PREFIX.length).split('-')[0];
    let owner = 0;
    try {
      owner = Number(readFileSync(join(OWNERS_DIR, run), 'utf8').trim());
    } catch {
      // no owner file: a crashed run
    }
    if (owner > 0 && alive(owner)) continue;
    removeNamespace(ns);
    rmSync(join(OWNERS_DIR, run), { force: true });
    deleted.push(ns);
  }
  // Owner files of runs that have no namespace left.
  let files: string[] = [];
  try {
    files = readdirSync(OWNERS_DIR);
  } catch {
    // none
  }
  const runs = new Set(listNamespaces().map((n) => n.slice(PREFIX.length).split('-')[0]));
  for (const f of files) if (!runs.has(f)) rmSync(join(OWNERS_DIR, f), { force: true });
  return deleted;
}

function destroyAll(): void {
  for (const net of [...live]) net.destroy();
}

function installHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on('exit', destroyAll);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = (): void => {
      destroyAll();
      process.removeListener(sig, onSignal);
      // Die of the same signal when nobody else handles it (what the default handler would have done).
      if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
    };
    process.on(sig, onSignal);
  }
}

/**
 * Makes `n` hosts on one switch. `opts.name` goes into the run id (letters and digits, up to 4
 * characters) to tell runs apart in `ip netns list`.
 */
export async function createHosts(n: number, opts: { name?: string } = {}): Promise<Hosts> {
  assertHostsSupported();
  if (!Number.isInteger(n) || n < 1 || n > 250) throw new Error(`createHosts: n must be 1..250, not ${n}`);
  const tag = (opts.name ?? '')
    .toLowerCase()
    .replace(/[^a-z0-9]/g, '')
    .slice(0, 4);
  const run = `${tag}${randomBytes(3).toString('hex')}`;
  const x = randomInt(200, 251);
  const y = randomInt(0, 256);
  const switchNs = `${PREFIX}${run}-sw`;
  const made: string[] = [];
  const children = new Set<ChildProcess>();
  const hosts: Host[] = [];
  let destroyed = false;

  const destroy = (): void => {
    if (destroyed) return;
    destroyed = true;
    live.delete(net);
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    for (const ns of made.reverse()) removeNamespace(ns);
    rmSync(join(OWNERS_DIR, run), { force: true });
  };

  const hostOf = (h: Host | number): Host => {
    const host = typeof h === 'number' ? hosts[h] : hosts.find((x) => x.ns === h.ns);
    if (!host) throw new Error(`no host ${typeof h === 'number' ? h : h.ns} in run ${run}`);
    if (destroyed) throw new Error(`hosts of run ${run} are destroyed`);
    return host;
  };

  const spawn = (h: Host | number, cmd: string, args: string[] = [], o: SpawnOptions = {}): ChildProcess => {
    const child = spawnChild('ip', ['netns', 'exec', hostOf(h).ns, cmd, ...args], o);
    children.add(child);
    child.on('exit', () => children.delete(child));
    return child;
  };

  const exec = (h: Host | number, cmd: string, args: string[] = [], o: ExecOptions = {}): Promise<ExecResult> =>
    new Promise((resolve, reject) => {
      // stdin only when there is input: writing to a command that already exited (curl that failed
      // at once) raised an uncaught EPIPE. Its exit code says what went wrong, not the pipe.
      const input = o.input !== undefined;
      const child = spawn(h, cmd, args, { env: o.env, cwd: o.cwd, stdio: [input ? 'pipe' : 'ignore', 'pipe', 'pipe'], timeout: o.timeout ?? 30_000 });
      child.stdin?.on('error', () => {});
      let out = '';
      let err = '';
      child.stdout?.on('data', (d: Buffer) => (out += String(d)));
      child.stderr?.on('data', (d: Buffer) => (err += String(d)));
      child.on('error', reject);
      child.on('close', (code, signal) => resolve({ code: code ?? (signal ? -1 : 0), out, err }));
      if (input) child.stdin?.end(o.input);
    });

  /** Adds rules to the `zeuscut` table of `h`'s namespace (made on first use; `heal` deletes it). */
  const addRules = async (h: Host, what: string, rules: string[]): Promise<void> => {
    const script = [
      'table inet zeuscut {',
      '  chain input { type filter hook input priority 0; }',
      '  chain output { type filter hook output priority 0; }',
      '}',
      ...rules.map((r) => `add rule inet zeuscut ${r}`),
      '',
    ].join('\n');
    const r = await exec(h, 'nft', ['-f', '-'], { input: script });
    if (r.code !== 0) throw new Error(`${what}: nft failed: ${r.err.trim()}`);
  };

  const cut = async (a: Host | number, b: Host | number): Promise<void> => {
    const ha = hostOf(a);
    const hb = hostOf(b);
    await addRules(ha, `cut ${ha.name}-${hb.name}`, [`input ip saddr ${hb.ip} drop`, `output ip daddr ${hb.ip} drop`]);
  };

  const drop = async (from: Host | number, to: Host | number): Promise<void> => {
    const hf = hostOf(from);
    const ht = hostOf(to);
    await addRules(ht, `drop ${hf.name}->${ht.name}`, [`input ip saddr ${hf.ip} drop`]);
  };

  const tc = (ns: string, args: string[]): ExecResult => {
    const r = spawnSync('tc', ['-n', ns, ...args], { encoding: 'utf8', timeout: 15_000 });
    if (r.error) throw new Error(`tc ${args.join(' ')}: ${r.error.message}`);
    return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
  };

  const shape = async (h: Host | number, rate: string | undefined): Promise<void> => {
    const host = hostOf(h);
    // Both ends of the host's veth: eth0 in the host (egress), p<i> in the switch (the host's ingress).
    for (const [ns, dev] of [
      [host.ns, HOST_IF],
      [switchNs, `p${host.index}`],
    ] as const) {
      if (rate === undefined) {
        // No qdisc to delete is not an error worth failing a heal for.
        tc(ns, ['qdisc', 'del', 'dev', dev, 'root']);
        continue;
      }
      // A burst of 32 KiB lets a few full-size packets through at once; packets waiting longer
      // than 500 ms are dropped, as a slow link's full buffer would.
      const r = tc(ns, ['qdisc', 'replace', 'dev', dev, 'root', 'tbf', 'rate', rate, 'burst', '32kb', 'latency', '500ms']);
      if (r.code !== 0) throw new Error(`shape ${host.name} ${rate}: tc failed: ${r.err.trim()}`);
    }
  };

  const heal = async (): Promise<void> => {
    for (const h of hosts) {
      const r = await exec(h, 'nft', ['list', 'tables']);
      if (r.out.includes('zeuscut')) await exec(h, 'nft', ['delete', 'table', 'inet', 'zeuscut']);
    }
  };

  const net: Hosts = { run, switchNs, subnet: `10.${x}.${y}.0/24`, hosts, exec, spawn, cut, drop, heal, shape, destroy };
  installHandlers();
  live.add(net);
  try {
    mkdirSync(OWNERS_DIR, { recursive: true });
    writeFileSync(join(OWNERS_DIR, run), `${process.pid}\n`);
    const addNs = (ns: string): void => {
      mustIp(['netns', 'add', ns]);
      made.push(ns);
      mustIp(['-n', ns, 'link', 'set', 'lo', 'up']);
    };
    const bridge = 'br0';
    addNs(switchNs);
    mustIp(['-n', switchNs, 'link', 'add', bridge, 'type', 'bridge']);
    mustIp(['-n', switchNs, 'link', 'set', bridge, 'up']);
    for (let i = 0; i < n; i++) {
      const host: Host = { index: i, name: `h${i}`, ns: `${PREFIX}${run}-h${i}`, ip: `10.${x}.${y}.${i + 1}` };
      addNs(host.ns);
      const port = `p${i}`;
      // Both ends are born inside namespaces: `port` in the switch, HOST_IF in the host.
      mustIp(['-n', switchNs, 'link', 'add', port, 'type', 'veth', 'peer', 'name', HOST_IF, 'netns', host.ns]);
      mustIp(['-n', switchNs, 'link', 'set', port, 'master', bridge]);
      mustIp(['-n', switchNs, 'link', 'set', port, 'up']);
      mustIp(['-n', host.ns, 'addr', 'add', `${host.ip}/24`, 'dev', HOST_IF]);
      mustIp(['-n', host.ns, 'link', 'set', HOST_IF, 'up']);
      hosts.push(host);
    }
  } catch (e) {
    destroy();
    throw e;
  }
  return net;
}

/** Runs `fn` on `n` fresh hosts and destroys them afterwards, also when `fn` throws. */
export async function withHosts<T>(n: number, fn: (net: Hosts) => Promise<T>, opts: { name?: string } = {}): Promise<T> {
  const net = await createHosts(n, opts);
  try {
    return await fn(net);
  } finally {
    net.destroy();
  }
}
