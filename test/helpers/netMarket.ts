import { execFile, execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type NodeConfig, writeConfig } from '../../src/node/index.ts';
import type { Host, Hosts } from './hosts.ts';
import { API_PORT, NetNode, P2P_PORT } from './netNodes.ts';
import { NODE_BIN, ROOT, sleep } from './processes.ts';
import { docker } from './worker.ts';

// The market on separate network hosts (issue 15, must show 3): what a test needs beside
// netNodes.ts to run a worker on a host of its own — a full node on that host, `zeus` processes
// inside a host's namespace (a developer's or a user's machine), `zeus worker start` beside the
// node, the sockets a host listens on, and the cleanup of what the worker left in the shared
// Docker engine. Docker itself stays in the root namespace: the processes on the hosts reach it
// over its unix socket (the file system is shared), and batch containers have no network.

const ZEUS = join(ROOT, 'bin', 'zeus.js');

/**
 * A full node (no bookkeeper key) on `host`: its config (API and p2p on the host's address, the
 * given bootstrap peers and nothing else: no DDN peers) written over `base`, and a NetNode to start.
 * Its peer id is its node key's, made at its first start (read it from /status).
 */
export function fullNode(o: {
  net: Hosts;
  host: Host;
  home: string;
  base: NodeConfig;
  bootstrap: string[];
  blockTimeMs: number;
  log: string;
  env: NodeJS.ProcessEnv;
  name?: string;
}): NetNode {
  const { bookkeeperKey: _key, ddn: _ddn, ...rest } = o.base;
  const config: NodeConfig = {
    ...rest,
    api: { host: o.host.ip, port: API_PORT },
    blockIntervalMs: o.blockTimeMs,
    p2p: { listen: `/ip4/${o.host.ip}/tcp/${P2P_PORT}`, bootstrap: o.bootstrap },
  };
  writeConfig(o.home, config);
  return new NetNode({
    name: o.name ?? `full-${o.host.name}`,
    home: o.home,
    net: o.net,
    host: o.host,
    ip: o.host.ip,
    apiPort: API_PORT,
    p2p: '',
    peerId: '',
    log: o.log,
    args: ['--json', 'node', 'start', '--no-console-build'],
    env: o.env,
  });
}

export interface HostWorker {
  address: string;
  /** Everything it printed so far. */
  log: () => string;
  stop: () => void;
}

/**
 * `zeus worker start` inside `host`'s namespace, beside the node whose home is `home`, following
 * that node at `nodeUrl`; resolves once it follows the market (it registered or updated itself).
 */
export async function startHostWorker(o: {
  net: Hosts;
  host: Host;
  home: string;
  nodeUrl: string;
  key: string;
  address: string;
  policy: Record<string, unknown>;
  env: NodeJS.ProcessEnv;
  args?: string[];
  logFile?: string;
  timeoutMs?: number;
}): Promise<HostWorker> {
  const policyFile = join(o.home, 'worker-policy.json');
  writeFileSync(policyFile, JSON.stringify(o.policy, null, 2));
  const argv = [ZEUS, '--home', o.home, '--node', o.nodeUrl, 'worker', 'start', '--key', o.key, '--policy', policyFile, ...(o.args ?? [])];
  const proc = o.net.spawn(o.host, NODE_BIN, argv, { env: o.env, cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const keep = (d: Buffer): void => {
    out += String(d);
    if (o.logFile) writeFileSync(o.logFile, out);
  };
  proc.stdout?.on('data', keep);
  proc.stderr?.on('data', keep);
  const deadline = Date.now() + (o.timeoutMs ?? 90_000);
  while (!out.includes('is following the market')) {
    if (proc.exitCode !== null || proc.signalCode !== null)
      throw new Error(`the worker on ${o.host.name} exited (${proc.exitCode ?? proc.signalCode}):\n${out}`);
    if (Date.now() > deadline) throw new Error(`the worker on ${o.host.name} did not start in time:\n${out}`);
    await sleep(100);
  }
  return {
    address: o.address,
    log: () => out,
    stop: () => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    },
  };
}

/**
 * buildBusyboxImage (test/helpers/worker.ts) without blocking the event loop, so the image builds
 * while the nodes start: `tag` FROM scratch with /bin/busybox and `cmd` as its shell command.
 */
export function buildBusyboxImageAsync(tag: string, workDir: string, cmd: string): Promise<void> {
  const ctx = mkdtempSync(join(workDir, 'ctx-'));
  copyFileSync('/bin/busybox', join(ctx, 'busybox'));
  writeFileSync(
    join(ctx, 'Dockerfile'),
    [
      'FROM scratch',
      `LABEL net.zeus.test-run=${process.pid}-${Date.now()}`,
      'COPY busybox /bin/busybox',
      `CMD ${JSON.stringify(['/bin/busybox', 'sh', '-c', cmd])}`,
      '',
    ].join('\n'),
  );
  return new Promise((resolve, reject) =>
    execFile('docker', ['build', '-q', '-t', tag, ctx], (e, _out, err) => (e ? reject(new Error(`docker build ${tag}: ${err || e.message}`)) : resolve())),
  );
}

/** The TCP addresses (`ip:port`) listening inside `host`'s namespace. */
export async function listening(net: Hosts, host: Host): Promise<string[]> {
  const r = await net.exec(host, 'ss', ['-Htln']);
  return r.out
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => l.trim().split(/\s+/)[3])
    .sort();
}

/** The remote addresses (without port) of the established TCP connections inside `host`'s namespace. */
export async function connectedTo(net: Hosts, host: Host): Promise<string[]> {
  const r = await net.exec(host, 'ss', ['-Htn', 'state', 'established']);
  return r.out
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) =>
      l
        .trim()
        .split(/\s+/)
        .at(-1)!
        .replace(/:\d+$/, '')
        .replace(/^\[(.*)\]$/, '$1'),
    );
}

/**
 * Removes what a worker left in the shared Docker engine and on this machine: its containers and
 * /out volumes, loop devices on files under `dir`, the images the test built and those the worker
 * loaded (`zeus-app/<app>`, by tag: an image loaded from the same bytes as a shared one has its id).
 */
export function removeHostWorkerLeftovers(worker: string, dir: string, built: string[], apps: string[]): void {
  const run = (f: () => void): void => {
    try {
      f();
    } catch {
      // already gone
    }
  };
  if (worker) {
    for (const c of docker('ps', '-aq', '--filter', `label=net.zeus.worker=${worker}`).split('\n').filter(Boolean)) run(() => docker('rm', '-f', '-v', c));
    const volumes = docker('volume', 'ls', '-q', '--filter', `label=net.zeus.worker=${worker}`).split('\n').filter(Boolean);
    if (volumes.length) run(() => docker('volume', 'rm', '-f', ...volumes));
  }
  for (const line of execFileSync('losetup', ['--list', '--noheadings', '--output', 'NAME,BACK-FILE'], { encoding: 'utf8' }).split('\n')) {
    const [dev, file] = line.trim().split(/\s+/);
    if (dev && file?.startsWith(dir)) run(() => execFileSync('losetup', ['--detach', dev]));
  }
  const loaded = apps.flatMap((a) =>
    docker('images', '--format', '{{.Repository}}:{{.Tag}}', '--filter', `reference=zeus-app/${a}`).split('\n').filter(Boolean),
  );
  for (const i of [...built, ...loaded]) run(() => docker('rmi', i));
}

/** The admin endpoint a worker agent records in its home (it binds 127.0.0.1 of its own host: `zeus worker status`). */
export function workerAdminUrl(home: string): string | undefined {
  const f = join(home, 'worker', 'admin.json');
  return existsSync(f) ? (JSON.parse(readFileSync(f, 'utf8')) as { url: string }).url : undefined;
}
