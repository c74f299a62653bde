import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addressFromPublicKey, encodeAddress, Keystore } from '../src/crypto/index.ts';
import { createRegistryToken } from '../src/ddn/index.ts';
import { DEV_PASSPHRASE } from '../src/node/index.ts';
import { NEW_WORKER_RATING } from '../src/market/index.ts';
import { ZeusClient, type LeaseAnswer } from '../src/sdk/index.ts';
import { liveLogsToken, type WorkerStatus } from '../src/worker/index.ts';
import { ensureDockerd } from './helpers/docker.ts';
import { NODE_BIN, nodeEnv, ROOT, waitFor, zeus as zeusIn } from './helpers/processes.ts';
import { buildBusyboxImage, ok, removeWorkerLeftovers } from './helpers/worker.ts';

// The operator's and the poster's views of a worker, with real processes: a one-bookkeeper
// devnet, a `zeus worker start` (a new key) and a batch task posted by bob whose container prints a
// secret. `zeus worker status` reads the agent's admin endpoint with the token from its home (and a
// wrong token gets 401); `zeus task logs` fetches the logs the worker sealed to bob and published,
// and only bob's key opens them; while the lease runs, `--live` asks the worker with bob's signature.
//
// This machine has no NVIDIA GPU and no driver: the worker runs with a fake `nvidia-smi` first on
// its PATH that answers the worker's query the way the real one does, so GPU detection is tested
// end to end up to the registration the chain records.

const dir = mkdtempSync(join(tmpdir(), 'zeus-worker-ops-'));
const devnet = join(dir, 'net');
const home = join(devnet, 'node0');
const IMAGE = `zeus-test/worker-ops:${process.pid}`;
const SECRET = 'SESSION_TOKEN=sk-live-4f1c9a';
let url = '';
let worker: ChildProcess | undefined;
let workerLog = '';
let workerAddress = '';
let task = '';

const zeus = (...args: string[]) => zeusIn(home, '--node', url, ...args);
const status = (): WorkerStatus => JSON.parse(ok(zeus('--json', 'worker', 'status'))) as WorkerStatus;

beforeAll(() => {
  ensureDockerd();
  buildBusyboxImage(IMAGE, dir, `echo ${SECRET}; echo done > /out/x; /bin/busybox sleep 20; echo finished >&2`);
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  // What the real nvidia-smi prints for this query on a machine with two A100 40 GB.
  writeFileSync(
    join(bin, 'nvidia-smi'),
    '#!/bin/sh\n[ "$*" = "--query-gpu=name,memory.total --format=csv,noheader,nounits" ] || { echo "unexpected query: $*" >&2; exit 2; }\nprintf "NVIDIA A100-SXM4-40GB, 40960\\nNVIDIA A100-SXM4-40GB, 40960\\n"\n',
  );
  chmodSync(join(bin, 'nvidia-smi'), 0o755);
  ok(zeusIn(join(dir, 'unused'), 'devnet', 'start', '--workers', '0', '--dir', devnet, '--validators', '1', '--block-time', '500'));
  url = (JSON.parse(readFileSync(join(devnet, 'devnet.json'), 'utf8')) as { nodes: { api: string }[] }).nodes[0].api;
}, 120_000);

afterAll(() => {
  worker?.kill('SIGKILL');
  zeusIn(join(dir, 'unused'), 'devnet', 'stop', '--dir', devnet);
  removeWorkerLeftovers(workerAddress, [IMAGE], ['opsapp']);
  rmSync(dir, { recursive: true, force: true });
});

describe('operating a worker', () => {
  it('registers the GPUs nvidia-smi reports and the benchmark it measured at start', async () => {
    ok(zeus('--json', 'app', 'publish', IMAGE, '--from', 'alice', '--name', 'opsapp', '--version', '1.0', '--wait'));
    // A key of its own, not a dev key like carol: other runs on this Docker engine start workers
    // as carol too, and a worker removes the containers its address left behind when it starts.
    workerAddress = (JSON.parse(ok(zeus('--json', 'keys', 'new', 'opsworker'))) as { address: string }).address;
    ok(zeus('transfer', '--from', 'alice', '--to', workerAddress, '--amount', '1000', '--wait'));
    await waitFor(async () => BigInt((await new ZeusClient(url).account(workerAddress)).znc.balance) > 0n, 20_000, 'the transfer to arrive');
    const env = { ...nodeEnv(), PATH: `${join(dir, 'bin')}${delimiter}${process.env.PATH ?? ''}` };
    worker = spawn(NODE_BIN, [join(ROOT, 'bin', 'zeus.js'), '--home', home, '--node', url, 'worker', 'start', '--key', 'opsworker', '--report-seconds', '1'], {
      env,
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    worker.stdout!.on('data', (d: Buffer) => (workerLog += String(d)));
    worker.stderr!.on('data', (d: Buffer) => (workerLog += String(d)));
    await waitFor(() => workerLog.includes('is following the market') || worker?.exitCode !== null, 60_000, 'worker start');
    expect(workerLog).toMatch(/is following the market/);
    const w = await new ZeusClient(url).worker(workerAddress);
    expect(w.gpus).toEqual([{ model: 'A100', memoryMiB: 40960, count: 2 }]);
    const measured = Number(/benchmark: (\d+)\/1000/.exec(workerLog)?.[1]);
    expect(measured).toBeGreaterThanOrEqual(1);
    expect(w.benchmark).toBe(measured);
    // The benchmark is the worker's own claim: recorded and shown, but every newcomer starts at one rating.
    expect(w.rating).toBe(NEW_WORKER_RATING);
  }, 90_000);

  it('status, with the token from the home, shows the lease while it runs and the earnings after it', async () => {
    const tokenFile = join(home, 'worker', 'admin.token');
    expect(readFileSync(tokenFile, 'utf8').trim()).toMatch(/^[0-9a-f]{64}$/);
    const idle = status();
    expect(idle).toMatchObject({ worker: workerAddress, active: true, leases: [], earnings: { paid: '0', leases: 0 } });
    expect(idle.resources.offered.gpus).toEqual([{ model: 'A100', memoryMiB: 40960, count: 2 }]);
    expect(idle.resources.detected.gpus).toEqual(idle.resources.offered.gpus);
    expect(idle.benchmark.measured?.score).toBe(idle.benchmark.registered);

    task = (
      JSON.parse(
        ok(
          zeus(
            '--json',
            'task',
            'post',
            '--from',
            'bob',
            '--app',
            'opsapp@1.0',
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
      ) as { task: string }
    ).task;
    let during: WorkerStatus | undefined;
    let text = '';
    // Both forms while the container runs (20 s): each `zeus` here is a process of its own, 2–3 s on a
    // loaded machine, and three of them (text, JSON, live logs) must see it running; with 8 s they
    // missed it when the suite's multi-host tests ran beside this one.
    await waitFor(
      () => {
        text = ok(zeus('worker', 'status'));
        if (!text.includes(`${task}/0  running`)) return false;
        during = status();
        return during.leases.some((l) => l.state === 'running');
      },
      60_000,
      'the lease to show as running in the status',
      300,
    ).catch((e: unknown) => {
      throw new Error(`${(e as Error).message}\nworker:\n${workerLog}`);
    });
    expect(during!.leases).toEqual([expect.objectContaining({ task, lease: 0, state: 'running', cpuMillis: 500, memoryMiB: 64, gpus: 0 })]);
    expect(during!.leases[0].container).toMatch(/^[0-9a-f]{64}$/);
    expect(during!.resources.inUse).toMatchObject({ cpuMillis: 500, memoryMiB: 64, leases: 1 });
    expect(text).toMatch(/GPUs 2× A100 40960 MiB/);
    // Live logs while it runs: asked of the worker with a request bob's key signs, sealed back to bob.
    const adminUrl = (JSON.parse(readFileSync(join(home, 'worker', 'admin.json'), 'utf8')) as { url: string }).url;
    expect(ok(zeus('task', 'logs', task, '--live', adminUrl))).toContain(SECRET);
    const stranger = zeus('task', 'logs', task, '--live', adminUrl, '--key', 'alice');
    expect(stranger.code).not.toBe(0);
    expect(stranger.err).toMatch(/HTTP 403\): only the task's poster/);

    const c = new ZeusClient(url);
    let lease: LeaseAnswer | undefined;
    await waitFor(async () => (lease = (await c.task(task)).leases[0])?.state === 'settled', 60_000, 'lease settled', 250);
    const after = status();
    expect(after.leases).toEqual([]);
    expect(BigInt(after.earnings.paid)).toBeGreaterThan(0n);
    expect(after.earnings).toMatchObject({ paid: lease!.workerPaid, held: '0', leases: 1, byState: { settled: 1 } });
    // The status reads the balance from the worker's own node, which may be a block ahead of or behind
    // the node `c` asks (a bid bond's refund lands a block after the settlement): both must agree once
    // they stand at the same height.
    let chainBalance = '';
    let agentBalance = after.earnings.balance;
    await waitFor(
      async () => {
        chainBalance = (await c.account(workerAddress)).znc.balance;
        agentBalance = status().earnings.balance;
        return chainBalance === agentBalance && (await c.account(workerAddress)).znc.balance === chainBalance;
      },
      30_000,
      'the status balance to match the ledger',
      500,
    ).catch((e: unknown) => {
      throw new Error(`${(e as Error).message}: status ${agentBalance}, ledger ${chainBalance}`);
    });
    expect(after.record.completed).toBe('1');

    // The same agent's Prometheus metrics, behind the same token.
    const token = readFileSync(join(home, 'worker', 'admin.token'), 'utf8').trim();
    const adminAt = (JSON.parse(readFileSync(join(home, 'worker', 'admin.json'), 'utf8')) as { url: string }).url;
    expect((await fetch(`${adminAt}/metrics`)).status).toBe(401);
    const scraped = await (await fetch(`${adminAt}/metrics`, { headers: { authorization: `Bearer ${token}` } })).text();
    const sample = (name: string): number => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(scraped)?.[1]);
    expect(sample('zeus_worker_leases_running')).toBe(0);
    expect(sample('zeus_worker_leases_started_total')).toBe(1);
    expect(sample('zeus_worker_results_submitted_total')).toBe(1);
    expect(sample('zeus_worker_usage_reports_total')).toBe(lease!.reports);
    expect(sample('zeus_worker_bids_total')).toBeGreaterThanOrEqual(1);
  }, 150_000);

  it('refuses a wrong or missing token with 401 and says what to do', async () => {
    const r = zeus('worker', 'status', '--token', 'f'.repeat(64));
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(/HTTP 401\): the admin token does not match the one in .*admin\.token/);
    const info = JSON.parse(readFileSync(join(home, 'worker', 'admin.json'), 'utf8')) as { url: string };
    expect(info.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const bare = await fetch(`${info.url}/status`);
    expect(bare.status).toBe(401);
    expect(((await bare.json()) as { error: { code: string } }).error.code).toBe('ADMIN_TOKEN_REQUIRED');
  });

  it("publishes the lease's logs sealed to the poster: bob's key opens them, alice's cannot, the registry sees ciphertext", async () => {
    await waitFor(() => workerLog.includes('logs sealed to the poster'), 10_000, 'logs published');
    const out = ok(zeus('task', 'logs', task));
    expect(out).toContain(SECRET);
    expect(out).toMatch(/finished/);
    const got = JSON.parse(ok(zeus('--json', 'task', 'logs', task, '--lease', '0', '--key', 'bob'))) as { artifact: string; digest: string; log: string };
    expect(got.artifact).toBe(`${workerAddress}/logs:logs-${task}-0`);
    expect(got.log).toBe(out);
    const other = zeus('task', 'logs', task, '--key', 'alice');
    expect(other.code).not.toBe(0);
    expect(other.err).toMatch(/key "alice" cannot open the logs of lease 0: this envelope is not sealed to this key/);
    const blob = Buffer.from(await (await fetch(`${url}/v2/${workerAddress}/logs/blobs/${got.digest}`)).arrayBuffer());
    expect(blob.length).toBeGreaterThan(SECRET.length);
    expect(blob.includes(Buffer.from('sk-live'))).toBe(false);
    // The worker keeps its own plain copy for its operator.
    expect(readFileSync(join(home, 'worker', 'leases', `${task}-0`, 'container.log'), 'utf8')).toContain(SECRET);
  }, 30_000);

  it('answers bad live-logs and log requests with a 4xx, a code and what is wrong — never a 500', async () => {
    const adminUrl = (JSON.parse(readFileSync(join(home, 'worker', 'admin.json'), 'utf8')) as { url: string }).url;
    const adminToken = readFileSync(join(home, 'worker', 'admin.token'), 'utf8').trim();
    const keys = new Keystore(join(home, 'keys'));
    const bob = keys.load('bob', DEV_PASSPHRASE);
    const alice = encodeAddress(addressFromPublicKey(keys.load('alice', DEV_PASSPHRASE).publicKey));
    const answer = async (path: string, token: string): Promise<[number, { code: string; message: string }]> => {
      const res = await fetch(`${adminUrl}${path}`, { headers: { authorization: `Bearer ${token}` } });
      return [res.status, ((await res.json()) as { error: { code: string; message: string } }).error];
    };
    const live = (t: string, n: number | string, token: string) => answer(`/leases/${t}/${n}/sealed-logs`, token);

    // A task the chain does not know, on a chain that exists; its "poster" signed a token for it.
    const unknown = `${task.slice(0, 2)}${'7'.repeat(62)}`;
    expect(await live(unknown, 0, liveLogsToken(bob, workerAddress, unknown, 0))).toEqual([
      404,
      { code: 'UNKNOWN_TASK', message: expect.stringContaining(`there is no task ${unknown}`) },
    ]);
    // Task ids that name no inner chain (0 is the main chain; 0xff is none): refused as ids, before the node is asked.
    for (const bad of [`00${task.slice(2)}`, `ff${task.slice(2)}`]) {
      expect(await live(bad, 0, liveLogsToken(bob, workerAddress, bad, 0))).toEqual([
        400,
        { code: 'INVALID_TASK_ID', message: expect.stringMatching(/first byte names its inner chain/) },
      ]);
      expect(await answer(`/leases/${bad}/0/logs`, adminToken)).toEqual([400, { code: 'INVALID_TASK_ID', message: expect.any(String) }]);
    }
    expect((await live('12345', 0, 'x'))[1].code).toBe('INVALID_TASK_ID');
    expect((await live('a'.repeat(300), 0, 'x'))[1].code).toBe('INVALID_TASK_ID');
    for (const n of ['x', '-1', '1e3', '99999999'])
      expect(await live(task, n, 'x')).toEqual([400, { code: 'INVALID_LEASE', message: expect.stringContaining('not a lease number') }]);

    // Tokens for something else say what they are for.
    expect(await live(task, 0, liveLogsToken(bob, workerAddress, task, 1))).toEqual([
      401,
      { code: 'POSTER_TOKEN_MISMATCH', message: expect.stringContaining(`the token is for lease 1 of task ${task}, not for lease 0`) },
    ]);
    const [, elsewhere] = await live(task, 0, liveLogsToken(bob, alice, task, 0));
    expect(elsewhere).toMatchObject({
      code: 'POSTER_TOKEN_MISMATCH',
      message: expect.stringContaining(`for the live logs at worker ${alice}, and this is worker ${workerAddress}`),
    });
    const [, otherTask] = await live(task, 0, liveLogsToken(bob, workerAddress, unknown, 0));
    expect(otherTask.message).toContain(`the token is for task ${unknown}, not for task ${task}`);
    const { audience } = (await (await fetch(`${url}/v2/_auth/info`)).json()) as { audience: string };
    const [, login] = await live(task, 0, createRegistryToken(bob, { audience, nowMs: Date.now(), ttlSeconds: 60 }));
    expect(login).toMatchObject({ code: 'POSTER_TOKEN_MISMATCH', message: expect.stringContaining('a registry login token') });
    expect(JSON.stringify(await live(task, 0, liveLogsToken(bob, alice, task, 1)))).not.toMatch(/another node|log in/);
    const old = createRegistryToken(bob, { audience: `zeusnet-lease-logs:${workerAddress}:${task}:0`, nowMs: Date.now() - 600_000, ttlSeconds: 60 });
    expect(await live(task, 0, old)).toEqual([401, { code: 'POSTER_TOKEN_EXPIRED', message: expect.stringMatching(/expired at .*sign a new one/) }]);
    expect((await live(task, 0, 'zrt1.garbage.token'))[1].code).toBe('POSTER_TOKEN_INVALID');
    expect(await live(task, 0, 'not-a-token')).toEqual([401, { code: 'POSTER_TOKEN_INVALID', message: expect.stringContaining('not a signed token') }]);

    // Paths that are no route, or no path at all.
    expect(await answer('/nothing-here', adminToken)).toEqual([404, { code: 'NOT_FOUND', message: expect.stringContaining('it answers GET /status') }]);
    expect((await answer('/leases/%ZZ/0/logs', adminToken))[0]).toBe(400);
    // The agent is still there, and still serves the poster.
    expect(ok(zeus('task', 'logs', task, '--live', adminUrl))).toContain(SECRET);
  }, 30_000);

  it('says plainly when no worker runs on the home', async () => {
    const exited = new Promise((r) => worker!.once('exit', r));
    worker!.kill('SIGTERM');
    await exited;
    expect(existsSync(join(home, 'worker', 'admin.json'))).toBe(false);
    const r = zeus('worker', 'status');
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(/no worker agent runs on home .*start one with `zeus worker start/);
  }, 20_000);
});
