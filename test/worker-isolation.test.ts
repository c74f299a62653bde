import { execFile, execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ZeusClient, type LeaseAnswer, type TaskDetailAnswer } from '../src/sdk/index.ts';
import { buildHostileImages, FILL_LIMIT_MIB, HOSTILE, hostileTag, PRIVILEGED_OPS } from './helpers/hostile.ts';
import { NODE_BIN, nodeEnv, ROOT, waitFor } from './helpers/processes.ts';
import { docker, okOut, WorkerNet, type CliResult, type WorkerProcess } from './helpers/workerNet.ts';

// Isolation, end to end: a one-bookkeeper devnet, a real `zeus worker start` process allowed
// eight leases at once, and six hostile batch apps posted together — a fork bomb, a memory hog,
// /tmp and /out filled, the network tried from a batch task, privileged operations. Each is
// contained (killed or denied), the worker stays up and afterwards runs a good task to the end,
// and the chain settles every lease exactly:
//
// - an app that is killed at its limits or fails (exit ≠ 0) failed on its own, inside the lease:
//   the worker reports that outcome at once as the lease's result, is paid for the time it ran
//   after review, keeps its bond and rating (its record counts an app failure, with no dividend),
//   and the rest of the escrow goes back (issue 13: before, the report deadline failed these
//   leases and the worker was slashed for the user's app);
// - an app that is denied and carries on (the privileged one writes its report and exits 0) is an
//   ordinary result: the lease completes, is paid after review and earns the dividend.
//
// The worker asks 0.036 ZNC per core-hour (3,600,000 base units) and nothing for memory, and
// every task takes one core: a lease earns exactly one base unit per millisecond of reported wall
// time, so every payment is checked to the unit.

const execFileAsync = promisify(execFile);
const net = new WorkerNet('zeus-worker-isolation-');
const GOOD = `zeus-test/isolation-good:${process.pid}`;
/** Runs until the worker running it is killed (for the crash and restart). */
const LONG = `zeus-test/isolation-long:${process.pid}`;
const BLOCK_MS = 500;
let worker: WorkerProcess | undefined;
let workerAddress = '';
/** Connections the host's loopback server saw (from anything: it must stay 0 after the network app). */
let connections = 0;
let server: Server | undefined;
const policy = join(net.dir, 'policy.json');

const zeus = (...args: string[]) => net.zeus(...args);
/** Every worker process's output, in order (the test restarts it once). */
const workerLog = (): string => net.workers.map((w) => w.log()).join('');

/** The CLI without blocking the test, so independent commands run side by side. */
function zeusAsync(...args: string[]): Promise<CliResult> {
  return new Promise((resolve) => {
    const p = spawn(NODE_BIN, [join(ROOT, 'bin', 'zeus.js'), '--home', net.home, '--node', net.url, ...args], { env: nodeEnv(), cwd: ROOT });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => (out += String(d)));
    p.stderr.on('data', (d: Buffer) => (err += String(d)));
    p.on('exit', (code) => resolve({ code: code ?? -1, out, err }));
  });
}

const dockerAsync = async (...args: string[]): Promise<string> => (await execFileAsync('docker', args, { encoding: 'utf8', timeout: 60_000 })).stdout;

/** The host's own non-loopback IPv4 addresses (its LAN address, the docker bridge's gateway). */
const hostAddresses = (): string[] =>
  Object.values(networkInterfaces())
    .flat()
    .filter((a) => a !== undefined && a.family === 'IPv4' && !a.internal)
    .map((a) => a!.address);

beforeAll(async () => {
  net.start();
  server = createServer((s) => {
    connections++;
    s.end('HTTP/1.0 200 OK\r\n\r\nhost data\n');
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  buildHostileImages(net, { port: (server.address() as { port: number }).port, hosts: hostAddresses() });
  net.buildBusybox(GOOD, 'echo good > /out/answer; sleep 2; echo finished');
  net.buildBusybox(LONG, 'echo started > /out/progress; sleep 120');
}, 120_000);

afterAll(() => {
  server?.close();
  net.stop(['zeus-app/hostile-*', 'zeus-app/isolation-*']);
});

const fail = (e: unknown): never => {
  throw new Error(`${(e as Error).message}\nworker:\n${workerLog()}`);
};

const startWorker = (): Promise<WorkerProcess> => net.startWorker('carol', ['--policy', policy, '--report-seconds', '1']);

/** Loop devices whose backing file is under `prefix`. */
const loopsUnder = (prefix: string): string[] =>
  execFileSync('losetup', ['--list', '--noheadings', '--output', 'BACK-FILE'], { encoding: 'utf8' })
    .split('\n')
    .map((f) => f.trim())
    .filter((f) => f.startsWith(prefix));

describe('hostile batch apps are contained and their leases settle exactly', () => {
  it("kills or denies each, keeps the worker up, runs a good task after, pays the worker for the apps' own failures and refunds to the unit", async () => {
    const c = new ZeusClient(net.url);
    const params = await c.marketParams();
    workerAddress = net.address('carol');
    const bobAddress = net.address('bob');

    // Publish the apps two at a time (alice and dave each publish in order: one nonce sequence each).
    const publishers = ['alice', 'dave'];
    const apps = [
      ...HOSTILE.map((a) => ({ name: a.name, image: hostileTag(a.name) })),
      { name: 'isolation-good', image: GOOD },
      { name: 'isolation-long', image: LONG },
    ];
    await Promise.all(
      publishers.map(async (from, i) => {
        for (const a of apps.filter((_, j) => j % publishers.length === i))
          okOut(await zeusAsync('--json', 'app', 'publish', a.image, '--from', from, '--name', a.name, '--version', '1.0', '--wait'));
      }),
    );

    writeFileSync(
      policy,
      JSON.stringify({ maxConcurrentLeases: 8, maxDiskMiB: 1024, prices: { cpuCoreHour: '0.036', memoryGiBHour: '0' }, acceptApps: apps.map((a) => a.name) }),
    );
    worker = await startWorker();
    // Registered: from here on, every change to these is the leases' doing.
    const registered = await c.worker(workerAddress);
    const bobBefore = BigInt((await c.account(bobAddress)).balances.ZNC);
    const carolBefore = BigInt((await c.account(workerAddress)).balances.ZNC);

    const post = (app: string, memory: string, disk?: string): string =>
      (
        JSON.parse(
          okOut(
            zeus(
              '--json',
              'task',
              'post',
              '--from',
              'bob',
              '--app',
              `${app}@1.0`,
              '--cpu',
              '1',
              '--memory',
              memory,
              ...(disk ? ['--disk', disk] : []),
              '--max-price',
              '0.05',
              '--bid-window',
              '4',
              '--wait',
            ),
          ),
        ) as { task: string }
      ).task;
    const tasks = new Map(HOSTILE.map((a) => [a.name, post(a.name, a.memory, a.disk)]));
    const leaseDir = (task: string): string => join(net.home, 'worker', 'leases', `${task}-0`);
    type Outcome = { exitCode: number | null; reason?: string | null; result: { digest: string } | null };
    const outcome = (name: string): Outcome => JSON.parse(readFileSync(join(leaseDir(tasks.get(name)!), 'outcome.json'), 'utf8')) as Outcome;
    const logOf = (name: string): string => readFileSync(join(leaseDir(tasks.get(name)!), 'container.log'), 'utf8');

    // Every hostile container ran under the worker and came to an end on the worker's side.
    await waitFor(() => [...tasks.values()].every((t) => existsSync(join(leaseDir(t), 'outcome.json'))), 90_000, 'every hostile container to end', 250).catch(
      fail,
    );

    // Fork bomb: stopped at the pids limit; it died when its own shell could not fork.
    expect(logOf('hostile-fork')).toMatch(/pids\.max=256/);
    expect(logOf('hostile-fork')).toMatch(/can't fork/);
    expect(logOf('hostile-fork')).toMatch(/exiting with pids\.current=(\d+)/);
    expect(Number(/exiting with pids\.current=(\d+)/.exec(logOf('hostile-fork'))![1])).toBeLessThanOrEqual(256);
    expect(logOf('hostile-fork')).not.toMatch(/ESCAPED/);
    expect(outcome('hostile-fork')).toMatchObject({ exitCode: 2, result: null });

    // Memory hog: killed by the kernel at its 32 MiB limit.
    expect(logOf('hostile-memory')).toMatch(/memory limit 33554432/);
    expect(logOf('hostile-memory')).not.toMatch(/ESCAPED/);
    expect(outcome('hostile-memory')).toMatchObject({ exitCode: null, reason: 'killed: out of memory', result: null });

    // Scratch: /tmp stops at its 64 MiB tmpfs, /out at the 32 MiB file system the lease's --disk asked for.
    const written = (name: string, where: string): number => Number(new RegExp(`wrote (\\d+) bytes to ${where}`).exec(logOf(name))?.[1]);
    expect(logOf('hostile-tmp')).toMatch(/No space left on device/);
    expect(written('hostile-tmp', '/tmp')).toBeLessThanOrEqual(64 * 1024 * 1024);
    expect(written('hostile-tmp', '/tmp')).toBeGreaterThan(60 * 1024 * 1024);
    expect(logOf('hostile-out')).toMatch(/No space left on device/);
    expect(written('hostile-out', '/out')).toBeLessThanOrEqual(32 * 1024 * 1024);
    expect(written('hostile-out', '/out')).toBeGreaterThan(24 * 1024 * 1024);
    expect(written('hostile-out', '/out')).toBeLessThan(FILL_LIMIT_MIB * 1024 * 1024);
    expect(logOf('hostile-out')).toMatch(/\/dev\/loop\d+\s+\d+/); // df: /out is the lease's own file system
    for (const n of ['hostile-tmp', 'hostile-out']) expect(outcome(n)).toMatchObject({ exitCode: 1, result: null });

    // Network: nothing reached, the host's loopback server saw nothing, and the host's other
    // addresses are not even routable from the container.
    expect(logOf('hostile-network')).not.toMatch(/REACHED/);
    expect(logOf('hostile-network')).toMatch(/wget 127\.0\.0\.1:\d+ failed/);
    for (const h of hostAddresses())
      expect(logOf('hostile-network')).toMatch(new RegExp(`nc ${h.replace(/\./g, '\\.')}:\\d+ failed: .*Network is unreachable`));
    expect(connections).toBe(0);
    expect(outcome('hostile-network')).toMatchObject({ exitCode: 1, result: null });

    // Privileged operations: every one denied; the app carried on and its report is the result.
    const report = logOf('hostile-privileged');
    for (const op of PRIVILEGED_OPS) expect(report).toMatch(new RegExp(`denied ${op}: `));
    expect(report).not.toMatch(/ALLOWED/);
    expect(outcome('hostile-privileged')).toMatchObject({ exitCode: 0, result: { digest: expect.stringMatching(/^sha256:/) } });

    // The worker is up and runs a good task to the end.
    expect(worker.proc.exitCode).toBe(null);
    const good = post('isolation-good', '64MiB');
    tasks.set('isolation-good', good);

    // Everything settles after review: the apps' failures as their outcomes, the results as results.
    const done = new Map<string, TaskDetailAnswer>();
    await waitFor(
      async () => {
        for (const [name, id] of tasks)
          if (!done.has(name)) {
            const t = await c.task(id);
            if (t.state === 'done') done.set(name, t);
          }
        return done.size === tasks.size;
      },
      (params.reportDeadlineBlocks + params.reviewBlocks + 30) * BLOCK_MS,
      'every task to be done',
      500,
    ).catch(fail);
    const lease = (name: string): LeaseAnswer => done.get(name)!.leases[0];
    const failed = HOSTILE.map((a) => a.name).filter((n) => n !== 'hostile-privileged');
    const completed = ['hostile-privileged', 'isolation-good'];
    for (const [name, t] of done) {
      expect(t.leases.length, name).toBe(1); // no retries: the failed slot is not offered again
      expect(t.escrow, name).toBe('0');
      const l = t.leases[0];
      expect(l.worker).toBe(workerAddress);
      expect(l.held, name).toBe('0');
      expect(l.price, name).toBe('3600000');
      // One base unit per millisecond: paid exactly for the reported time, not a unit more.
      expect(l.workerPaid, name).toBe(l.usage.wallMs);
      expect(l.feePaid, name).toBe('0');
    }
    for (const n of failed) {
      expect(lease(n).state, n).toBe('settled');
      expect(lease(n).outcome, n).toMatch(/app outcome accepted/);
      expect(lease(n).resultDigest, n).toMatch(/^sha256:/);
    }
    for (const n of completed) expect(lease(n)).toMatchObject({ state: 'settled', outcome: 'result accepted' });
    // The good task ran long enough to report: the exactness above is not only 0 = 0.
    expect(lease('isolation-good').reports).toBeGreaterThanOrEqual(1);
    expect(BigInt(lease('isolation-good').workerPaid)).toBeGreaterThan(0n);
    expect(lease('isolation-good').resultDigest).toBe(outcome('isolation-good').result!.digest);
    expect(readFileSync(join(leaseDir(good), 'container.log'), 'utf8')).toMatch(/finished/);

    // The poster lost exactly what the workers were paid; the escrows came back to the unit.
    const paid = [...done.values()].reduce((s, t) => s + BigInt(t.leases[0].workerPaid), 0n);
    expect(BigInt((await c.account(bobAddress)).balances.ZNC)).toBe(bobBefore - paid);
    // The worker: never slashed nor rated down for the apps' own failures (counted as app failures,
    // no dividend for them); paid what it ran for, plus the dividend for the completed ones.
    let w = await c.worker(workerAddress);
    await waitFor(
      async () => (w = await c.worker(workerAddress)).record.appFailures === String(failed.length) && w.record.completed === String(completed.length),
      10_000,
      'the worker record on main',
      250,
    );
    expect(w.bond).toBe(registered.bond);
    expect(w.record.slashedTotal).toBe(registered.record.slashedTotal);
    expect(w.record.failed).toBe(registered.record.failed);
    expect(w.record.abandoned).toBe(registered.record.abandoned);
    expect(w.rating).toBeGreaterThanOrEqual(registered.rating);
    const expected = carolBefore + paid + BigInt(completed.length) * BigInt(params.dividendPerLease);
    await waitFor(async () => BigInt((await c.account(workerAddress)).balances.ZNC) === expected, 10_000, 'the worker to be paid', 250).catch(async () => {
      expect(BigInt((await c.account(workerAddress)).balances.ZNC)).toBe(expected);
    });

    // Nothing left behind: no container, no scratch volume, no loop device, no file system image.
    expect(docker('ps', '-aq', '--filter', `label=net.zeus.worker=${workerAddress}`).trim()).toBe('');
    expect(docker('volume', 'ls', '-q', '--filter', `label=net.zeus.worker=${workerAddress}`).trim()).toBe('');
    const scratch = join(net.home, 'worker', 'scratch');
    expect(existsSync(scratch) ? readdirSync(scratch) : []).toEqual([]);
    expect(loopsUnder(scratch)).toEqual([]);
    expect(worker.proc.exitCode).toBe(null);
  }, 180_000);

  it('a worker killed mid-lease leaves its /out behind; restarted after the lease ended, it removes the container and the scratch area', async () => {
    const task = JSON.parse(
      okOut(
        zeus(
          '--json',
          'task',
          'post',
          '--from',
          'bob',
          '--app',
          'isolation-long@1.0',
          '--cpu',
          '1',
          '--memory',
          '64MiB',
          '--max-price',
          '0.05',
          '--bid-window',
          '4',
          '--wait',
        ),
      ),
    ) as { task: string };
    const scratch = join(net.home, 'worker', 'scratch');
    await waitFor(() => workerLog().includes(`lease ${task.task.slice(0, 12)}…/0: started `), 30_000, 'the long lease to start').catch(fail);
    worker!.proc.kill('SIGKILL');
    await waitFor(() => worker!.proc.exitCode !== null || worker!.proc.signalCode !== null, 10_000, 'the worker to die');
    // What the crash left: the running container, its scratch volume, loop device and file.
    expect(docker('ps', '-q', '--filter', `label=net.zeus.task=${task.task}`).trim()).not.toBe('');
    expect(docker('volume', 'ls', '-q', '--filter', `label=net.zeus.task=${task.task}`).trim()).not.toBe('');
    expect(loopsUnder(scratch)).toHaveLength(1);
    expect(readdirSync(scratch)).toHaveLength(1);

    // While the worker is down its lease ends (a live one it would take up again when it returns).
    okOut(zeus('task', 'cancel', task.task, '--from', 'bob', '--wait'));
    worker = await startWorker();
    expect(worker.log()).toMatch(/removing container [0-9a-f]{12} left from an earlier run: lease [0-9a-f]{12}…\/0 is cancelled/);
    expect(docker('ps', '-aq', '--filter', `label=net.zeus.worker=${workerAddress}`).trim()).toBe('');
    expect(docker('volume', 'ls', '-q', '--filter', `label=net.zeus.worker=${workerAddress}`).trim()).toBe('');
    expect(loopsUnder(scratch)).toEqual([]);
    expect(readdirSync(scratch)).toEqual([]);
  }, 90_000);

  it('controls: the same apps outside the lockdown do get out (so the checks above can fail)', async () => {
    // On the host's network the network app reaches the test's loopback server (run without
    // blocking: the server answers from this process's event loop).
    const before = connections;
    const net = await dockerAsync('run', '--rm', '--network', 'host', hostileTag('hostile-network'));
    expect(net).toMatch(/REACHED 127\.0\.0\.1:\d+ with wget: Connecting to [^\n]*\n(writing to stdout\n)?host data/);
    expect(connections).toBeGreaterThan(before);
    // On a plain engine volume nothing stops the /out filler before its own limit.
    const out = await dockerAsync('run', '--rm', '--network', 'none', '-v', '/out', hostileTag('hostile-out'));
    expect(out).toMatch(new RegExp(`wrote ${FILL_LIMIT_MIB * 1024 * 1024} bytes to /out \\(dd exit 0\\)`));
  }, 60_000);
});
