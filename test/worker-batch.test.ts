import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appOutcomeDigest, type AppOutcomeCanonical } from '../src/ledger/index.ts';
import { ZeusClient, type LeaseAnswer } from '../src/sdk/index.ts';
import { ensureDockerd } from './helpers/docker.ts';
import { NODE_BIN, nodeEnv, ROOT, sleep, waitFor, zeus as zeusIn } from './helpers/processes.ts';
import { tarTextFiles } from './helpers/tar.ts';
import { buildBusyboxImage, docker, ok, removeWorkerLeftovers } from './helpers/worker.ts';

// A batch task end to end with real processes: a one-bookkeeper devnet, an app image built
// FROM scratch with busybox and published to the node's registry, a `zeus worker start` process
// as carol, and a task posted by bob. The worker bids, wins the lease, has its node fetch the
// image through the DDN, runs it in a locked-down container, reports usage, publishes /out as
// the result blob and submits its digest; after the review window the lease is paid. The result
// downloaded from the registry hashes to the lease's digest, and no container is left behind.

const dir = mkdtempSync(join(tmpdir(), 'zeus-worker-batch-'));
const devnet = join(dir, 'net');
const home = join(devnet, 'node0');
const IMAGE = `zeus-test/worker-batch:${process.pid}`;
const BROKEN = `zeus-test/worker-broken:${process.pid}`;
const GREEDY = `zeus-test/worker-greedy:${process.pid}`;
let url = '';
let worker: ChildProcess | undefined;
let workerLog = '';
let workerAddress = '';

const zeus = (...args: string[]) => zeusIn(home, '--node', url, ...args);
const zncOf = async (c: ZeusClient, address: string): Promise<bigint> => BigInt((await c.account(address)).balances.ZNC ?? '0');

/**
 * Posts a task of a batch app that fails on its own (as bob, on the worker started by the first test)
 * and follows it to the end: the outcome reported at once as the lease's result, paid after review;
 * bob pays exactly the worker's time, the worker's bond, rating and record are untouched but for one
 * app failure, and no container is left.
 */
async function failingAppLease(app: string, expected: AppOutcomeCanonical): Promise<LeaseAnswer> {
  const c = new ZeusClient(url);
  const bob = (JSON.parse(ok(zeus('--json', 'keys', 'show', 'bob'))) as { address: string }).address;
  const before = { bob: await zncOf(c, bob), carol: await zncOf(c, workerAddress), worker: await c.worker(workerAddress) };
  const posted = JSON.parse(
    ok(zeus('--json', 'task', 'post', '--from', 'bob', '--app', app, '--cpu', '0.5', '--memory', '64MiB', '--max-price', '1', '--bid-window', '6', '--wait')),
  ) as { task: string };
  let lease: LeaseAnswer | undefined;
  // Reported at once: completed (under review) well before the report deadline (60 blocks of 500 ms) could fail it.
  await waitFor(async () => (lease = (await c.task(posted.task)).leases[0])?.state === 'completed', 25_000, 'outcome reported', 250).catch((e: unknown) => {
    throw new Error(`${(e as Error).message}: lease ${JSON.stringify(lease)}\nworker:\n${workerLog}`);
  });
  expect(lease!.resultDigest).toBe(appOutcomeDigest(expected));
  const log = readFileSync(join(home, 'worker', 'leases', `${posted.task}-0`, 'container.log'));
  expect(lease!.appOutcome).toEqual({ ...expected, logDigest: `sha256:${createHash('sha256').update(log).digest('hex')}` });
  await waitFor(async () => (lease = (await c.task(posted.task)).leases[0])?.state === 'settled', 30_000, 'outcome accepted after review', 250);
  expect(lease!.outcome).toMatch(/^app outcome accepted/);
  const paid = BigInt(lease!.workerPaid);
  expect(paid).toBeGreaterThan(0n);
  // Exactly the worker's time, from bob to carol (no license fee, no dividend: not a completion).
  await c.waitForBalance(bob, (b) => b === before.bob - paid, { timeoutMs: 10_000 });
  await c.waitForBalance(workerAddress, (b) => b === before.carol + paid, { timeoutMs: 10_000 });
  await waitFor(
    async () => (await c.worker(workerAddress)).record.appFailures === String(BigInt(before.worker.record.appFailures) + 1n),
    10_000,
    'the app failure on the record',
  );
  const after = await c.worker(workerAddress);
  expect({ bond: after.bond, rating: after.rating, completed: after.record.completed, failed: after.record.failed, abandoned: after.record.abandoned }).toEqual(
    {
      bond: before.worker.bond,
      rating: before.worker.rating,
      completed: before.worker.record.completed,
      failed: before.worker.record.failed,
      abandoned: before.worker.record.abandoned,
    },
  );
  expect(docker('ps', '-aq', '--filter', `label=net.zeus.worker=${workerAddress}`).trim()).toBe('');
  expect(worker!.exitCode).toBe(null); // the worker stays up
  return lease!;
}

beforeAll(() => {
  ensureDockerd();
  // Deterministic output, and long enough (3 s) for usage reports every second.
  buildBusyboxImage(IMAGE, dir, 'echo 42 > /out/answer; /bin/busybox seq 1 1000 | /bin/busybox sha256sum > /out/sums; /bin/busybox sleep 3; echo finished');
  buildBusyboxImage(BROKEN, dir, 'echo partial > /out/x; echo boom >&2; exit 3');
  // Holds 200 MB in a shell variable: past the task's 64 MiB, the kernel kills it.
  buildBusyboxImage(GREEDY, dir, 'echo start; x=$(/bin/busybox yes | /bin/busybox head -c 200000000); echo survived');
  ok(zeusIn(join(dir, 'unused'), 'devnet', 'start', '--workers', '0', '--dir', devnet, '--validators', '1', '--block-time', '500'));
  url = (JSON.parse(readFileSync(join(devnet, 'devnet.json'), 'utf8')) as { nodes: { api: string }[] }).nodes[0].api;
}, 120_000);

afterAll(async () => {
  worker?.kill('SIGKILL');
  zeusIn(join(dir, 'unused'), 'devnet', 'stop', '--dir', devnet);
  // With the images as the worker loaded them (it keeps them as a cache for the next lease).
  removeWorkerLeftovers(workerAddress, [IMAGE, BROKEN, GREEDY], ['answer', 'broken', 'greedy']);
  rmSync(dir, { recursive: true, force: true });
});

describe('the worker agent runs a batch task end to end', () => {
  it('bids, runs the container locked down, reports, publishes the result and gets paid', async () => {
    const published = JSON.parse(ok(zeus('--json', 'app', 'publish', IMAGE, '--from', 'alice', '--name', 'answer', '--version', '1.0', '--wait'))) as {
      digest: string;
    };
    docker('rmi', '-f', IMAGE); // the worker must get it through the DDN, not from the local engine
    workerAddress = (JSON.parse(ok(zeus('--json', 'keys', 'show', 'carol'))) as { address: string }).address;

    worker = spawn(NODE_BIN, [join(ROOT, 'bin', 'zeus.js'), '--home', home, '--node', url, 'worker', 'start', '--key', 'carol', '--report-seconds', '1'], {
      env: nodeEnv(),
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    worker.stdout!.on('data', (d: Buffer) => (workerLog += String(d)));
    worker.stderr!.on('data', (d: Buffer) => (workerLog += String(d)));
    const c = new ZeusClient(url);
    await waitFor(() => workerLog.includes('is following the market') || worker?.exitCode !== null, 60_000, 'worker start');
    expect(workerLog).toMatch(/is following the market/);
    const w = await c.worker(workerAddress);
    expect(w.active).toBe(true);
    expect(w.cpuMillis).toBeGreaterThan(0);

    const posted = JSON.parse(
      ok(
        zeus(
          '--json',
          'task',
          'post',
          '--from',
          'bob',
          '--app',
          'answer@1.0',
          '--cpu',
          '0.5',
          '--memory',
          '64MiB',
          '--max-price',
          '1',
          '--bid-window',
          '6',
          '--wait',
        ),
      ),
    ) as { task: string };
    const task = posted.task;

    let lease: LeaseAnswer | undefined;
    await waitFor(
      async () => {
        const t = await c.task(task);
        lease = t.leases[0];
        return lease?.state === 'settled';
      },
      60_000,
      'lease settled',
      250,
    ).catch((e: unknown) => {
      throw new Error(`${(e as Error).message}\nworker:\n${workerLog}`);
    });
    expect(lease!.worker).toBe(workerAddress);
    expect(lease!.reports).toBeGreaterThanOrEqual(1);
    expect(lease!.resultDigest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(BigInt(lease!.workerPaid)).toBeGreaterThan(0n);
    expect(workerLog).toMatch(/bidding/);
    expect(workerLog).toMatch(new RegExp(`image answer@${published.digest} delivered`));

    // The result: in the node's registry under the worker's namespace, hashing to the lease's digest.
    const res = await fetch(`${url}/v2/${workerAddress}/results/blobs/${lease!.resultDigest}`);
    expect(res.status).toBe(200);
    // Tagged per lease, so the registry's garbage collection keeps it.
    const tagged = await fetch(`${url}/v2/${workerAddress}/results/manifests/result-${task}-0`, {
      headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
    });
    expect(tagged.status).toBe(200);
    expect(((await tagged.json()) as { layers: { digest: string }[] }).layers.map((l) => l.digest)).toEqual([lease!.resultDigest]);
    const bytes = Buffer.from(await res.arrayBuffer());
    expect(`sha256:${createHash('sha256').update(bytes).digest('hex')}`).toBe(lease!.resultDigest);
    const files = await tarTextFiles(bytes);
    const out = join(dir, 'result.tar');
    const got = JSON.parse(ok(zeus('--json', 'task', 'result', task, '--out', out))) as { digest: string; bytes: number };
    expect(got).toMatchObject({ digest: lease!.resultDigest, bytes: bytes.length });
    expect(readFileSync(out).equals(bytes)).toBe(true);
    expect(files.get('out/answer')).toBe('42\n');
    expect(files.get('out/sums')).toMatch(/^[0-9a-f]{64} {2}-\n$/);

    // The limits the container ran with, as the engine reported them.
    const leaseDir = join(home, 'worker', 'leases', `${task}-0`);
    const recorded = JSON.parse(readFileSync(join(leaseDir, 'container.json'), 'utf8')) as { hostConfig: Record<string, unknown>; volumes: string[] };
    expect(recorded.hostConfig).toMatchObject({
      NanoCpus: 500_000_000,
      Memory: 64 * 1024 * 1024,
      PidsLimit: 256,
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges'],
      ReadonlyRootfs: true,
      NetworkMode: 'none',
      Privileged: false,
    });
    expect(Object.keys(recorded.hostConfig.Tmpfs as object)).toEqual(['/tmp']);
    expect(recorded.hostConfig.Mounts).toEqual([expect.objectContaining({ Type: 'volume', Target: '/out' })]);
    expect(recorded.hostConfig.Binds ?? []).toEqual([]);
    expect(readFileSync(join(leaseDir, 'container.log'), 'utf8')).toMatch(/finished/);

    // Nothing left running that no lease pays for.
    await sleep(200);
    expect(docker('ps', '-aq', '--filter', `label=net.zeus.worker=${workerAddress}`).trim()).toBe('');
    const volumes = docker('volume', 'ls', '-q').split('\n');
    expect(recorded.volumes.length).toBe(1);
    for (const v of recorded.volumes) expect(volumes).not.toContain(v);
    expect(existsSync(join(leaseDir, 'outcome.json'))).toBe(true);
  }, 150_000);

  it("a container that exits non-zero has its outcome reported at once as the lease's result: the worker is paid for its time, keeps bond and rating, and removes it", async () => {
    ok(zeus('--json', 'app', 'publish', BROKEN, '--from', 'alice', '--name', 'broken', '--version', '1.0', '--wait'));
    const lease = await failingAppLease('broken@1.0', { exitCode: 3, oomKilled: false, cause: '' });
    const leaseDir = join(home, 'worker', 'leases', `${lease.task}-0`);
    expect(readFileSync(join(leaseDir, 'container.log'), 'utf8')).toMatch(/boom/);
    expect(JSON.parse(readFileSync(join(leaseDir, 'outcome.json'), 'utf8'))).toMatchObject({
      exitCode: 3,
      appOutcome: { exitCode: 3, cause: '' },
      result: null,
    });
    expect(workerLog).toMatch(/the app exited 3 on its own; its outcome is reported/);
  }, 120_000);

  it('a container killed at its memory limit (OOM) has that outcome reported at once, paid for its time, bond and rating kept', async () => {
    ok(zeus('--json', 'app', 'publish', GREEDY, '--from', 'alice', '--name', 'greedy', '--version', '1.0', '--wait'));
    const lease = await failingAppLease('greedy@1.0', { exitCode: 0, oomKilled: true, cause: 'memory' });
    expect(readFileSync(join(home, 'worker', 'leases', `${lease.task}-0`, 'container.log'), 'utf8')).not.toMatch(/survived/);
  }, 120_000);
});
