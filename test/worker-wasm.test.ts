import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ZeusClient, type LeaseAnswer } from '../src/sdk/index.ts';
import { appOutcomeDigest, type AppOutcomeCanonical } from '../src/ledger/index.ts';
import { sampleModule, sumOfFirstPrimes, trapModule } from '../src/worker/wasm-sample.ts';
import { nodeEnv, waitFor } from './helpers/processes.ts';
import { tarTextFiles } from './helpers/tar.ts';
import { docker, okOut, WorkerNet, type WorkerProcess } from './helpers/workerNet.ts';

// A WASM task end to end on a worker that has no Docker engine: the developer publishes the
// module as an OCI image (FROM scratch, the module and its label; built with Docker on the
// developer's side), and the worker process runs with DOCKER_HOST pointing at a socket nobody
// listens on. It must see that, offer the wasm runtime alone, bid, have its node fetch the image
// through the DDN, read the module out of the verified layers, run it in a thread with the lease's
// memory cap, report, publish /out and get paid after the review window.

const net = new WorkerNet('zeus-worker-wasm-');
const IMAGE = `zeus-test/worker-wasm:${process.pid}`;
const N = 300;
let worker: WorkerProcess | undefined;

beforeAll(() => {
  net.start();
  const ctx = join(net.dir, 'ctx');
  mkdirSync(ctx);
  writeFileSync(join(ctx, 'primes.wasm'), sampleModule());
  // The argument comes from the image's CMD, as a container's would.
  writeFileSync(
    join(ctx, 'Dockerfile'),
    ['FROM scratch', 'COPY primes.wasm /app/primes.wasm', 'LABEL org.zeusnet.module=/app/primes.wasm', `CMD ["${N}"]`, ''].join('\n'),
  );
  docker('build', '-q', '-t', IMAGE, ctx);
  net.images.push(IMAGE);
}, 120_000);

afterAll(() => net.stop());

describe('a wasm task on a worker with no Docker engine', () => {
  it('is delivered through the DDN, runs as a WASI module, publishes its result and is paid', async () => {
    okOut(net.zeus('--json', 'app', 'publish', IMAGE, '--from', 'alice', '--name', 'primes', '--version', '1', '--wait'));
    // No engine: a socket path nobody listens on, and no docker CLI on the PATH either.
    const env = { ...nodeEnv(), DOCKER_HOST: `unix://${join(net.dir, 'no-docker.sock')}`, PATH: '/nonexistent' };
    worker = await net.startWorker('carol', ['--report-seconds', '1'], env);
    expect(worker.log()).toMatch(/no Docker engine answers: offering the wasm runtime alone/);
    const c = new ZeusClient(net.url);
    expect((await c.worker(worker.address)).runtimes).toEqual(['wasm']);

    const posted = JSON.parse(
      okOut(
        net.zeus(
          '--json',
          'task',
          'post',
          '--from',
          'bob',
          '--app',
          'primes@1',
          '--runtime',
          'wasm',
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
    let lease: LeaseAnswer | undefined;
    await waitFor(async () => (lease = (await c.task(posted.task)).leases[0])?.state === 'settled', 60_000, 'lease settled', 250).catch((e: unknown) => {
      throw new Error(`${(e as Error).message}\nworker:\n${worker?.log()}`);
    });
    expect(lease!.worker).toBe(worker.address);
    expect(lease!.resultDigest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(BigInt(lease!.workerPaid)).toBeGreaterThan(0n);
    expect(worker.log()).toMatch(/module primes@sha256:[0-9a-f]{64} delivered/);
    // The log names the run by its whole directory (it was cut to "wasm:/tmp/ze").
    expect(worker.log()).toContain(`lease ${posted.task.slice(0, 12)}…/0: started wasm module in ${join(net.home, 'worker', 'leases', `${posted.task}-0`)}`);

    const out = join(net.dir, 'result.tar');
    const got = JSON.parse(okOut(net.zeus('--json', 'task', 'result', posted.task, '--out', out))) as { digest: string };
    expect(got.digest).toBe(lease!.resultDigest);
    const bytes = readFileSync(out);
    expect(`sha256:${createHash('sha256').update(bytes).digest('hex')}`).toBe(lease!.resultDigest);
    expect((await tarTextFiles(bytes)).get('out/result.txt')).toBe(`${sumOfFirstPrimes(N)}\n`);

    // The module's stdout is the lease's log; its run directory is gone with the lease.
    const leaseDir = join(net.home, 'worker', 'leases', `${posted.task}-0`);
    expect(readFileSync(join(leaseDir, 'container.log'), 'utf8')).toBe(`${sumOfFirstPrimes(N)}\n`);
    expect(readdirSync(leaseDir).filter((f) => f.startsWith('run-'))).toEqual([]);
    expect(existsSync(join(leaseDir, 'outcome.json'))).toBe(true);
    expect(worker.proc.exitCode).toBe(null);
  }, 150_000);

  // The app's own failure, in the wasm runtime: reported at once as the lease's result, paid for its
  // time after review, the worker's bond and rating untouched (docs/MARKET.md, "Fairness: app failures").
  async function failingModule(name: string, module: Uint8Array, expected: AppOutcomeCanonical): Promise<void> {
    const file = join(net.dir, `${name}.wasm`);
    writeFileSync(file, module);
    okOut(net.zeus('--json', 'app', 'publish', '--wasm', file, '--from', 'alice', '--name', name, '--version', '1', '--wait'));
    const c = new ZeusClient(net.url);
    const bob = net.address('bob');
    const znc = async (a: string): Promise<bigint> => BigInt((await c.account(a)).balances.ZNC ?? '0');
    const before = { bob: await znc(bob), carol: await znc(worker!.address), worker: await c.worker(worker!.address) };
    const posted = JSON.parse(
      okOut(
        net.zeus(
          '--json',
          'task',
          'post',
          '--from',
          'bob',
          '--app',
          `${name}@1`,
          '--runtime',
          'wasm',
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
    let lease: LeaseAnswer | undefined;
    await waitFor(async () => (lease = (await c.task(posted.task)).leases[0])?.state === 'completed', 25_000, 'outcome reported', 250).catch((e: unknown) => {
      throw new Error(`${(e as Error).message}: lease ${JSON.stringify(lease)}\nworker:\n${worker?.log()}`);
    });
    expect(lease!.resultDigest).toBe(appOutcomeDigest(expected));
    const log = readFileSync(join(net.home, 'worker', 'leases', `${posted.task}-0`, 'container.log'));
    expect(lease!.appOutcome).toEqual({ ...expected, logDigest: `sha256:${createHash('sha256').update(log).digest('hex')}` });
    await waitFor(async () => (lease = (await c.task(posted.task)).leases[0])?.state === 'settled', 30_000, 'outcome accepted after review', 250);
    const paid = BigInt(lease!.workerPaid);
    expect(paid).toBeGreaterThan(0n);
    await c.waitForBalance(bob, (b) => b === before.bob - paid, { timeoutMs: 10_000 });
    await c.waitForBalance(worker!.address, (b) => b === before.carol + paid, { timeoutMs: 10_000 });
    await waitFor(
      async () => (await c.worker(worker!.address)).record.appFailures === String(BigInt(before.worker.record.appFailures) + 1n),
      10_000,
      'the app failure on the record',
    );
    const after = await c.worker(worker!.address);
    expect([after.bond, after.rating, after.record.failed, after.record.abandoned]).toEqual([
      before.worker.bond,
      before.worker.rating,
      before.worker.record.failed,
      before.worker.record.abandoned,
    ]);
  }

  it("a module that exits non-zero: its exit code is the lease's outcome, reported at once and paid for its time", async () => {
    // The sample module exits with WASI's ENOTCAPABLE (76) when its file is outside /out.
    await failingModule('escape', sampleModule('../escape.txt'), { exitCode: 76, oomKilled: false, cause: '' });
  }, 120_000);

  it("a module that traps: the trap is the lease's outcome, reported at once and paid for its time", async () => {
    await failingModule('crash', trapModule(), { exitCode: 0, oomKilled: false, cause: 'trap' });
  }, 120_000);
});
