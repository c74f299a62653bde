import { spawn } from 'node:child_process';
import { accessSync, constants, existsSync, mkdirSync, openSync } from 'node:fs';
import { delimiter, join } from 'node:path';

// The devnet's etcd cluster for its seat groups (`zeus devnet start --group-size N`): three etcd
// processes on 127.0.0.1, each with its own data dir under DIR/etcd/ and a log DIR/etcdI.log,
// started before the nodes and stopped after them. Ports are chosen when the devnet is made and
// kept: the members' config.json names them, and a stopped devnet starts again on its data.

export interface DevnetEtcd {
  name: string;
  /** Client URL, http://127.0.0.1:PORT (what the members talk to). */
  client: string;
  /** Peer URL (what the etcd members talk to each other on). */
  peer: string;
  dataDir: string;
  log: string;
  pid: number;
}

/** The members' raft timing: shorter than etcd's defaults (100 ms, 1 s), so that a lost etcd leader is replaced within a second on a devnet. */
const HEARTBEAT_MS = 100;
const ELECTION_MS = 1_000;

/** The etcd binary: ZEUS_ETCD_BIN, else `etcd` on PATH; a clear error (with the package to install) when there is none. */
export function etcdBinary(env: NodeJS.ProcessEnv = process.env, alsoIn: readonly string[] = ['/usr/bin', '/usr/local/bin']): string {
  const given = env.ZEUS_ETCD_BIN;
  if (given) {
    if (!executable(given))
      throw new Error(
        `ZEUS_ETCD_BIN=${given} is not an executable file: point it at an etcd binary (Debian: the package etcd-server), or unset it to use etcd on PATH`,
      );
    return given;
  }
  for (const d of [...(env.PATH ?? '').split(delimiter), ...alsoIn]) {
    const p = join(d, 'etcd');
    if (d && executable(p)) return p;
  }
  throw new Error(
    'a devnet with seat groups (--group-size) runs its own etcd cluster, and no etcd binary was found (none on PATH, ZEUS_ETCD_BIN unset): install etcd 3.4 or later, on Debian or Ubuntu the package etcd-server (`sudo apt-get install etcd-server`), or set ZEUS_ETCD_BIN to its path',
  );
}

function executable(p: string): boolean {
  try {
    accessSync(p, constants.X_OK);
    return existsSync(p);
  } catch {
    return false;
  }
}

/** The cluster's members, not started: `ports` gives each its client and peer port. */
export function planEtcd(dir: string, ports: { client: number; peer: number }[]): DevnetEtcd[] {
  return ports.map((p, i) => ({
    name: `etcd${i}`,
    client: `http://127.0.0.1:${p.client}`,
    peer: `http://127.0.0.1:${p.peer}`,
    dataDir: join(dir, 'etcd', `etcd${i}`),
    log: join(dir, `etcd${i}.log`),
    pid: 0,
  }));
}

/**
 * The command line of one member of a local etcd cluster on loopback: the devnet's, and the one
 * the tests start (test/helpers/etcd.ts, with shorter timings). `--initial-cluster-state new` is
 * ignored once the data dir holds the member, so a restart rejoins.
 */
export function etcdMemberArgs(o: {
  member: { name: string; dataDir: string; client: string; peer: string };
  cluster: readonly { name: string; peer: string }[];
  token: string;
  heartbeatMs: number;
  electionMs: number;
}): string[] {
  const m = o.member;
  return [
    '--name',
    m.name,
    '--data-dir',
    m.dataDir,
    '--listen-client-urls',
    m.client,
    '--advertise-client-urls',
    m.client,
    '--listen-peer-urls',
    m.peer,
    '--initial-advertise-peer-urls',
    m.peer,
    '--initial-cluster',
    o.cluster.map((x) => `${x.name}=${x.peer}`).join(','),
    '--initial-cluster-token',
    o.token,
    '--initial-cluster-state',
    'new',
    '--heartbeat-interval',
    String(o.heartbeatMs),
    '--election-timeout',
    String(o.electionMs),
    '--logger',
    'zap',
    '--log-level',
    'warn',
  ];
}

/** Starts member `i` in the background (on its data dir: a restart rejoins the cluster); returns its pid. */
export function spawnEtcd(bin: string, dir: string, members: readonly DevnetEtcd[], i: number): number {
  const m = members[i];
  mkdirSync(m.dataDir, { recursive: true, mode: 0o700 });
  const out = openSync(m.log, 'a');
  const args = etcdMemberArgs({
    member: { name: m.name, dataDir: m.dataDir, client: m.client, peer: m.peer },
    cluster: members.map((x) => ({ name: x.name, peer: x.peer })),
    token: `zeus-devnet-${dir}`,
    heartbeatMs: HEARTBEAT_MS,
    electionMs: ELECTION_MS,
  });
  const child = spawn(bin, args, { detached: true, stdio: ['ignore', out, out] });
  child.unref();
  return child.pid!;
}

/** Whether a member answers healthy by its own word (it has a leader and serves a read through raft). */
export async function etcdHealthy(m: DevnetEtcd): Promise<boolean> {
  try {
    const res = await fetch(`${m.client}/health`, { signal: AbortSignal.timeout(1_000) });
    return res.ok && ((await res.json()) as { health?: string }).health === 'true';
  } catch {
    return false;
  }
}

/** Waits until every member answers healthy, or says which do not. */
export async function waitEtcdHealthy(members: readonly DevnetEtcd[], timeoutMs = 30_000, signal?: AbortSignal): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    signal?.throwIfAborted();
    const ok = await Promise.all(members.map(etcdHealthy));
    if (ok.every(Boolean)) return;
    if (Date.now() > deadline) {
      const bad = members.filter((_, i) => !ok[i]).map((m) => `${m.name} (${m.client}, log ${m.log})`);
      throw new Error(`the devnet's etcd cluster is not healthy after ${timeoutMs / 1000} s: ${bad.join(', ')} did not answer`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}
