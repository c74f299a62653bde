import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../src/cli/devnet.ts';
import { etcdMemberArgs } from '../../src/cli/devnetEtcd.ts';

// A real etcd cluster for tests (Debian's etcd 3.4 at /usr/bin/etcd): every member a process of
// its own with its own data dir in a temp dir and free loopback ports for its client and peer
// URLs. A test can kill (SIGKILL), stop (SIGTERM), pause (SIGSTOP), resume and restart members.
// Everything is stopped and removed by `close()`; members still running when this process exits
// are killed then too.

export const ETCD_BIN = process.env.ZEUS_ETCD_BIN ?? '/usr/bin/etcd';

/** The members' raft timing: shorter than etcd's defaults (100 ms, 1 s) so a lost etcd leader is replaced fast; 1 s leases stay 1 s (etcd's minimum TTL is 1.5 election timeouts). */
const HEARTBEAT_MS = 50;
const ELECTION_MS = 500;

export interface EtcdMember {
  readonly name: string;
  readonly clientUrl: string;
  readonly peerUrl: string;
  readonly dataDir: string;
  proc: ChildProcess | undefined;
  paused: boolean;
  /** The last 16 KB of the member's output, for a failing test's message. */
  output: string;
}

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const p of live) p.kill('SIGKILL');
});

export class EtcdCluster {
  readonly dir: string;
  readonly members: EtcdMember[];

  private constructor(dir: string, members: EtcdMember[]) {
    this.dir = dir;
    this.members = members;
  }

  /** Starts `size` members (3 by default) and waits until every one answers healthy. */
  static async start(size = 3): Promise<EtcdCluster> {
    const dir = mkdtempSync(join(tmpdir(), 'zeus-etcd-'));
    const members: EtcdMember[] = [];
    for (let i = 0; i < size; i++) {
      const name = `etcd${i}`;
      const dataDir = join(dir, name);
      mkdirSync(dataDir);
      members.push({
        name,
        clientUrl: `http://127.0.0.1:${await freePort()}`,
        peerUrl: `http://127.0.0.1:${await freePort()}`,
        dataDir,
        proc: undefined,
        paused: false,
        output: '',
      });
    }
    const cluster = new EtcdCluster(dir, members);
    try {
      for (let i = 0; i < size; i++) cluster.launch(i);
      await cluster.waitHealthy();
    } catch (e) {
      await cluster.close();
      throw e;
    }
    return cluster;
  }

  /** The client URLs of all members (also of those not running: a client is told all of them). */
  get endpoints(): string[] {
    return this.members.map((m) => m.clientUrl);
  }

  running(i: number): boolean {
    return this.members[i].proc !== undefined;
  }

  private launch(i: number): void {
    const m = this.members[i];
    if (m.proc) throw new Error(`${m.name} is already running`);
    const args = etcdMemberArgs({
      member: { name: m.name, dataDir: m.dataDir, client: m.clientUrl, peer: m.peerUrl },
      cluster: this.members.map((x) => ({ name: x.name, peer: x.peerUrl })),
      token: `zeus-test-${this.dir}`,
      heartbeatMs: HEARTBEAT_MS,
      electionMs: ELECTION_MS,
    });
    const proc = spawn(ETCD_BIN, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (d: Buffer): void => {
      m.output = (m.output + String(d)).slice(-16_384);
    };
    proc.stdout!.on('data', keep);
    proc.stderr!.on('data', keep);
    proc.once('exit', () => {
      live.delete(proc);
      if (m.proc === proc) {
        m.proc = undefined;
        m.paused = false;
      }
    });
    live.add(proc);
    m.proc = proc;
    m.paused = false;
  }

  private async signal(i: number, signal: NodeJS.Signals): Promise<void> {
    const m = this.members[i];
    const proc = m.proc;
    if (!proc) return;
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    if (m.paused) proc.kill('SIGCONT');
    proc.kill(signal);
    await exited;
  }

  /** SIGKILL: a crash. */
  kill(i: number): Promise<void> {
    return this.signal(i, 'SIGKILL');
  }

  /** SIGTERM: an orderly stop. */
  stop(i: number): Promise<void> {
    return this.signal(i, 'SIGTERM');
  }

  /** SIGSTOP: the member freezes (no heartbeats, no answers) but keeps its sockets. */
  pause(i: number): void {
    const m = this.members[i];
    if (!m.proc || m.paused) return;
    m.proc.kill('SIGSTOP');
    m.paused = true;
  }

  resume(i: number): void {
    const m = this.members[i];
    if (!m.proc || !m.paused) return;
    m.proc.kill('SIGCONT');
    m.paused = false;
  }

  /** Starts a stopped member again on its data dir; `wait` (default) waits until the running members are healthy. */
  async restart(i: number, wait = true): Promise<void> {
    this.launch(i);
    if (wait) await this.waitHealthy();
  }

  /** Is this member healthy by its own word (GET /health: it has a leader and answers a read through raft)? */
  async healthy(i: number): Promise<boolean> {
    const m = this.members[i];
    if (!m.proc || m.paused) return false;
    try {
      const res = await fetch(`${m.clientUrl}/health`, { signal: AbortSignal.timeout(1_000) });
      return res.ok && ((await res.json()) as { health?: string }).health === 'true';
    } catch {
      return false;
    }
  }

  /** The index of the member that is raft leader by its own word (the v3 gateway's maintenance status), or undefined. */
  async leaderIndex(): Promise<number | undefined> {
    for (let i = 0; i < this.members.length; i++) {
      const m = this.members[i];
      if (!m.proc || m.paused) continue;
      try {
        const res = await fetch(`${m.clientUrl}/v3/maintenance/status`, { method: 'POST', body: '{}', signal: AbortSignal.timeout(1_000) });
        const st = (await res.json()) as { header?: { member_id?: string }; leader?: string };
        if (st.leader && st.leader === st.header?.member_id) return i;
      } catch {
        // not answering: not the leader we can use
      }
    }
    return undefined;
  }

  /** Waits until every running, unpaused member answers healthy. */
  async waitHealthy(timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const up = this.members.map((_, i) => i).filter((i) => this.members[i].proc && !this.members[i].paused);
      const answers = await Promise.all(up.map((i) => this.healthy(i)));
      if (up.length > 0 && answers.every(Boolean)) return;
      if (Date.now() > deadline) {
        const notes = this.members.map((m) => `${m.name} (${m.proc ? 'running' : 'stopped'}): ${m.output.slice(-1_000)}`).join('\n');
        throw new Error(`etcd cluster not healthy after ${timeoutMs} ms\n${notes}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Kills every member and removes the data dirs. */
  async close(): Promise<void> {
    await Promise.all(this.members.map((_, i) => this.kill(i)));
    if (existsSync(this.dir)) rmSync(this.dir, { recursive: true, force: true });
  }
}
