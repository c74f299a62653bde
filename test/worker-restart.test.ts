import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ZeusClient, type LeaseAnswer } from '../src/sdk/index.ts';
import { ensureDockerd } from './helpers/docker.ts';
import { NODE_BIN, nodeEnv, ROOT, sleep, waitFor, zeus as zeusIn } from './helpers/processes.ts';
import { tarTextFiles } from './helpers/tar.ts';
import { docker } from './helpers/worker.ts';

// Worker restarts with real processes: a one-bookkeeper devnet, a busybox app that sleeps 20 s
// before writing /out (long enough to stop its worker mid-run), and `zeus worker start` processes
// killed and started again. Killed and back within the report deadline, the worker takes its
// container up again, reports on from the chain's count and completes the lease; stopped with
// SIGTERM, it leaves the container running for the next start; down past the deadline, the lease
// fails (reported usage paid, bond slashed), the slot goes to another worker, and the first
// worker removes its container when it comes back — not before.
//
// Both workers (carol, dave) run beside the same node home: an agent's files are per lease
// (`worker/leases/<task>-<index>`), and the chain gives each lease to one worker, so two agents
// with different keys never write the same place; the node's blob store they only read.

const dir = mkdtempSync(join(tmpdir(), 'zeus-worker-restart-'));
const devnet = join(dir, 'net');
const home = join(devnet, 'node0');
const IMAGE = `zeus-test/worker-restart:${process.pid}`;
const APP = 'slow';
/** The app's run time: a report deadline (60 blocks × 500 ms) is longer, so only a kill can fail it. */
const JOB_SECONDS = 20;
let url = '';
let c: ZeusClient;
const addresses = new Map<string, string>();
const workers: WorkerProcess[] = [];

const zeus = (...args: string[]) => zeusIn(home, '--node', url, ...args);
function ok(r: { code: number; out: string; err: string }): string {
  expect(r.code, `${r.err}\n${r.out}`).toBe(0);
  return r.out;
}

/** One `zeus worker start` process and what it printed. */
class WorkerProcess {
  readonly key: string;
  readonly proc: ChildProcess;
  log = '';
  readonly exited: Promise<number | null>;

  constructor(key: string) {
    this.key = key;
    this.proc = spawn(NODE_BIN, [join(ROOT, 'bin', 'zeus.js'), '--home', home, '--node', url, 'worker', 'start', '--key', key, '--report-seconds', '1'], {
      env: nodeEnv(),
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.proc.stdout!.on('data', (d: Buffer) => (this.log += String(d)));
    this.proc.stderr!.on('data', (d: Buffer) => (this.log += String(d)));
    this.exited = new Promise((res) => this.proc.once('exit', (code) => res(code)));
    workers.push(this);
  }

  static async start(key: string): Promise<WorkerProcess> {
    const w = new WorkerProcess(key);
    await waitFor(() => w.log.includes('is following the market') || w.proc.exitCode !== null, 60_000, `${key}'s worker to start`);
    expect(w.log, w.log).toMatch(/is following the market/);
    return w;
  }

  async kill(signal: NodeJS.Signals): Promise<number | null> {
    this.proc.kill(signal);
    return this.exited;
  }
}

/** The containers carrying a worker's label, running or not. */
function containersOf(key: string): string[] {
  return docker('ps', '-aq', '--no-trunc', '--filter', `label=net.zeus.worker=${addresses.get(key)}`)
    .split('\n')
    .filter(Boolean);
}

const isRunning = (id: string): boolean => docker('inspect', '-f', '{{.State.Running}}', id).trim() === 'true';

/** Polls the chain's lease until `cond` holds; the workers' logs go into the failure message. */
async function leaseWhen(task: string, index: number, what: string, cond: (l: LeaseAnswer) => boolean, timeoutMs: number): Promise<LeaseAnswer> {
  let got: LeaseAnswer | undefined;
  await waitFor(
    async () => {
      got = (await c.task(task)).leases[index];
      return got !== undefined && cond(got);
    },
    timeoutMs,
    `lease ${index} ${what}`,
    250,
  ).catch((e: unknown) => {
    throw new Error(`${(e as Error).message} (last seen: ${JSON.stringify(got)})\n${workers.map((w) => `--- ${w.key}:\n${w.log}`).join('\n')}`);
  });
  return got!;
}

function post(retries: number): string {
  const out = ok(
    zeus(
      '--json',
      'task',
      'post',
      '--from',
      'bob',
      '--app',
      `${APP}@1.0`,
      '--cpu',
      '0.5',
      '--memory',
      '64MiB',
      '--max-price',
      '1',
      '--bid-window',
      '6',
      '--retries',
      String(retries),
      '--wait',
    ),
  );
  return (JSON.parse(out) as { task: string }).task;
}

/** The result blob from the node's registry: it must hash to the lease's digest and hold the job's /out. */
async function checkResult(l: LeaseAnswer): Promise<void> {
  expect(l.resultDigest).toMatch(/^sha256:[0-9a-f]{64}$/);
  const res = await fetch(`${url}/v2/${l.worker}/results/blobs/${l.resultDigest}`);
  expect(res.status).toBe(200);
  const bytes = Buffer.from(await res.arrayBuffer());
  expect(`sha256:${createHash('sha256').update(bytes).digest('hex')}`).toBe(l.resultDigest);
  const files = await tarTextFiles(bytes);
  expect(files.get('out/answer')).toBe(`slept ${JOB_SECONDS}\n`);
}

beforeAll(() => {
  ensureDockerd();
  const ctx = join(dir, 'ctx');
  mkdirSync(ctx);
  copyFileSync('/bin/busybox', join(ctx, 'busybox'));
  writeFileSync(
    join(ctx, 'Dockerfile'),
    [
      'FROM scratch',
      'COPY busybox /bin/busybox',
      `CMD ["/bin/busybox", "sh", "-c", "/bin/busybox sleep ${JOB_SECONDS}; echo slept ${JOB_SECONDS} > /out/answer; echo finished"]`,
      '',
    ].join('\n'),
  );
  docker('build', '-q', '-t', IMAGE, ctx);
  ok(zeusIn(join(dir, 'unused'), 'devnet', 'start', '--workers', '0', '--dir', devnet, '--validators', '1', '--block-time', '500'));
  url = (JSON.parse(readFileSync(join(devnet, 'devnet.json'), 'utf8')) as { nodes: { api: string }[] }).nodes[0].api;
  c = new ZeusClient(url);
  ok(zeus('--json', 'app', 'publish', IMAGE, '--from', 'alice', '--name', APP, '--version', '1.0', '--wait'));
  docker('rmi', '-f', IMAGE); // the workers get it through the DDN
  for (const k of ['carol', 'dave']) addresses.set(k, (JSON.parse(ok(zeus('--json', 'keys', 'show', k))) as { address: string }).address);
}, 120_000);

afterAll(async () => {
  for (const w of workers) w.proc.kill('SIGKILL');
  zeusIn(join(dir, 'unused'), 'devnet', 'stop', '--dir', devnet);
  for (const k of addresses.keys()) for (const id of containersOf(k)) docker('rm', '-f', '-v', id);
  // By name, not id: an id also carries the tags of any identical image another run built.
  for (const i of docker('images', '--format', '{{.Repository}}:{{.Tag}}', '--filter', `reference=zeus-app/${APP}`).split('\n').filter(Boolean))
    docker('rmi', i);
  rmSync(dir, { recursive: true, force: true });
});

describe('a worker that stops mid-lease', () => {
  let carol: WorkerProcess;

  it("SIGKILLed and started again within the report deadline, it takes its container up again, reports on from the chain's count, and the lease completes and is paid", async () => {
    carol = await WorkerProcess.start('carol');
    const task = post(0);
    await leaseWhen(task, 0, 'running with 2 reports', (l) => l.state === 'running' && l.reports >= 2, 45_000);
    const [id] = containersOf('carol');
    expect(containersOf('carol')).toHaveLength(1);

    expect(await carol.kill('SIGKILL')).toBe(null);
    // A report sent just before the kill may still commit: wait it out, then the chain stands still.
    await sleep(1500);
    const down = (await c.task(task)).leases[0];
    await sleep(1500);
    const stillDown = (await c.task(task)).leases[0];
    expect(stillDown).toMatchObject({ state: 'running', reports: down.reports });
    expect(isRunning(id)).toBe(true); // the kill leaves the container alone

    carol = await WorkerProcess.start('carol');
    await waitFor(() => carol.log.includes('taken up again'), 30_000, 'the container taken up').catch((e: unknown) => {
      throw new Error(`${(e as Error).message}\n${carol.log}`);
    });
    expect(carol.log).toContain(`taking up container ${id.slice(0, 12)}`);
    expect(carol.log).toContain(`taken up again after a restart, ${down.reports} report(s) on the chain`);
    expect(carol.log).not.toMatch(/image .* delivered/); // no second container

    const done = await leaseWhen(task, 0, 'settled', (l) => l.state === 'settled', 60_000);
    expect(done.worker).toBe(addresses.get('carol'));
    expect(done.reports).toBeGreaterThan(down.reports);
    // Reports went on at the next number, and the chain took each of them.
    expect(carol.log).toContain(`usage report ${down.reports + 1}"`); // the end of the JSON line's msg
    expect(carol.log).not.toMatch(/refused/);
    expect(BigInt(done.workerPaid)).toBeGreaterThan(0n);
    await checkResult(done);
    expect(containersOf('carol')).toEqual([]);
  }, 120_000);

  it('stopped with SIGTERM, it leaves its container running for the next start, which takes it up', async () => {
    const task = post(0);
    await leaseWhen(task, 0, 'running', (l) => l.state === 'running' && l.reports >= 1, 45_000);
    const [id] = containersOf('carol');
    expect(await carol.kill('SIGTERM')).toBe(0);
    expect(carol.log).toMatch(/worker stopped/);
    await sleep(1000);
    expect(containersOf('carol')).toEqual([id]);
    expect(isRunning(id)).toBe(true);

    carol = await WorkerProcess.start('carol');
    expect(carol.log).toContain(`taking up container ${id.slice(0, 12)}`);
    // A submitted result is enough here: the payout after review is the first test's.
    const done = await leaseWhen(task, 0, 'completed', (l) => l.resultDigest !== '', 45_000);
    expect(done.worker).toBe(addresses.get('carol'));
    expect(carol.log).not.toMatch(/refused/);
    await checkResult(done);
  }, 90_000);

  it('down past the report deadline, its lease fails and is paid for what was reported, the slot goes to another worker, and the container is removed when the first worker comes back', async () => {
    const task = post(1);
    await leaseWhen(task, 0, 'running', (l) => l.state === 'running' && l.reports >= 1, 45_000);
    // Dave joins only now, so lease 0 was carol's for sure; he is there for the second window.
    const dave = await WorkerProcess.start('dave');
    const before = await c.worker(addresses.get('carol')!);
    const [id] = containersOf('carol');
    expect(await carol.kill('SIGKILL')).toBe(null);

    // reportDeadlineBlocks (60) × 500 ms after the last report.
    const failed = await leaseWhen(task, 0, 'failed', (l) => l.state === 'failed', 50_000);
    expect(failed.outcome).toMatch(/stopped reporting/);
    expect(failed.reports).toBeGreaterThanOrEqual(1);
    expect(BigInt(failed.workerPaid)).toBeGreaterThan(0n); // what was reported is paid
    expect(BigInt(failed.held)).toBe(0n);
    expect(failed.resultDigest).toBe('');

    // The slash reaches the worker's entry on main by receipt.
    const { failSlashBp } = await c.marketParams();
    const slash = (BigInt(before.bond) * BigInt(failSlashBp)) / 10_000n;
    expect(slash).toBeGreaterThan(0n);
    await waitFor(async () => BigInt((await c.worker(addresses.get('carol')!)).bond) < BigInt(before.bond), 10_000, 'carol slashed');
    const after = await c.worker(addresses.get('carol')!);
    expect(BigInt(after.bond)).toBe(BigInt(before.bond) - slash);
    expect(BigInt(after.record.slashedTotal) - BigInt(before.record.slashedTotal)).toBe(slash);
    expect(BigInt(after.record.abandoned)).toBe(BigInt(before.record.abandoned) + 1n);

    const second = await leaseWhen(task, 1, 'running on dave', (l) => l.state === 'running', 30_000);
    expect(second.worker).toBe(addresses.get('dave'));
    // Nobody has removed carol's container while she was away.
    expect(containersOf('carol')).toEqual([id]);

    carol = await WorkerProcess.start('carol');
    expect(carol.log).toContain(`removing container ${id.slice(0, 12)}`);
    expect(carol.log).toMatch(/is failed/);
    expect(containersOf('carol')).toEqual([]);
    expect(carol.log).not.toContain('taken up again');

    const done = await leaseWhen(task, 1, 'settled', (l) => l.state === 'settled', 60_000);
    expect(BigInt(done.workerPaid)).toBeGreaterThan(0n);
    expect(dave.log).not.toMatch(/refused/);
    await checkResult(done);
    const t = await c.task(task);
    expect(t.leases.map((l) => [l.worker, l.state])).toEqual([
      [addresses.get('carol'), 'failed'],
      [addresses.get('dave'), 'settled'],
    ]);
    expect(containersOf('dave')).toEqual([]);
  }, 150_000);
});
