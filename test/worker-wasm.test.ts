import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ZeusClient, type LeaseAnswer } from '../src/sdk/index.ts';
import { sampleModule, sumOfFirstPrimes } from '../src/worker/wasm-sample.ts';
import { ensureDockerd } from './helpers/docker.ts';
import { NODE_BIN, nodeEnv, ROOT, waitFor, zeus as zeusIn } from './helpers/node.ts';
import { tarTextFiles } from './helpers/tar.ts';

// A WASM task end to end on a worker that has no Docker engine: the developer publishes the
// module as an OCI image (FROM scratch, the module and its label; built with Docker on the
// developer's side), and the worker process runs with DOCKER_HOST pointing at a socket nobody
// listens on. It must see that, offer the wasm runtime alone, bid, have its node fetch the image
// through the DDN, read the module out of the verified layers, run it in a thread with the lease's
// memory cap, report, publish /out and get paid after the review window.

const dir = mkdtempSync(join(tmpdir(), 'zeus-worker-wasm-'));
const devnet = join(dir, 'net');
const home = join(devnet, 'node0');
const IMAGE = `zeus-test/worker-wasm:${process.pid}`;
const N = 300;
const docker = (...args: string[]): string => execFileSync('docker', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
let url = '';
let worker: ChildProcess | undefined;
let workerLog = '';

const zeus = (...args: string[]) => zeusIn(home, '--node', url, ...args);
function ok(r: { code: number; out: string; err: string }): string {
  expect(r.code, `${r.err}\n${r.out}`).toBe(0);
  return r.out;
}

beforeAll(() => {
  ensureDockerd();
  const ctx = join(dir, 'ctx');
  mkdirSync(ctx);
  writeFileSync(join(ctx, 'primes.wasm'), sampleModule());
  // The argument comes from the image's CMD, as a container's would.
  writeFileSync(join(ctx, 'Dockerfile'), ['FROM scratch', 'COPY primes.wasm /app/primes.wasm', 'LABEL org.zeusnet.module=/app/primes.wasm', `CMD ["${N}"]`, ''].join('\n'));
  docker('build', '-q', '-t', IMAGE, ctx);
  ok(zeusIn(join(dir, 'unused'), 'devnet', 'start', '--dir', devnet, '--validators', '1', '--block-time', '500'));
  url = (JSON.parse(readFileSync(join(devnet, 'devnet.json'), 'utf8')) as { nodes: { api: string }[] }).nodes[0].api;
}, 120_000);

afterAll(() => {
  worker?.kill('SIGKILL');
  zeusIn(join(dir, 'unused'), 'devnet', 'stop', '--dir', devnet);
  try {
    docker('rmi', '-f', IMAGE);
  } catch {
    // not there
  }
  rmSync(dir, { recursive: true, force: true });
});

describe('a wasm task on a worker with no Docker engine', () => {
  it('is delivered through the DDN, runs as a WASI module, publishes its result and is paid', async () => {
    ok(zeus('--json', 'app', 'publish', IMAGE, '--from', 'alice', '--name', 'primes', '--version', '1', '--wait'));
    const me = (JSON.parse(ok(zeus('--json', 'keys', 'show', 'carol'))) as { address: string }).address;
    // No engine: a socket path nobody listens on, and no docker CLI on the PATH either.
    const env = { ...nodeEnv(), DOCKER_HOST: `unix://${join(dir, 'no-docker.sock')}`, PATH: '/nonexistent' };
    worker = spawn(NODE_BIN, [join(ROOT, 'bin', 'zeus.js'), '--home', home, '--node', url, 'worker', 'start', '--key', 'carol', '--report-seconds', '1'], { env, cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    worker.stdout!.on('data', (d: Buffer) => (workerLog += String(d)));
    worker.stderr!.on('data', (d: Buffer) => (workerLog += String(d)));
    await waitFor(() => workerLog.includes('is following the market') || worker?.exitCode !== null, 60_000, 'worker start');
    expect(workerLog).toMatch(/no Docker engine answers: offering the wasm runtime alone/);
    const c = new ZeusClient(url);
    expect((await c.worker(me)).runtimes).toEqual(['wasm']);

    const posted = JSON.parse(ok(zeus('--json', 'task', 'post', '--from', 'bob', '--app', 'primes@1', '--runtime', 'wasm', '--cpu', '0.5', '--memory', '64MiB', '--max-price', '1', '--bid-window', '6', '--wait'))) as { task: string };
    let lease: LeaseAnswer | undefined;
    await waitFor(async () => (lease = (await c.task(posted.task)).leases[0])?.state === 'settled', 60_000, 'lease settled', 250).catch((e: unknown) => {
      throw new Error(`${(e as Error).message}\nworker:\n${workerLog}`);
    });
    expect(lease!.worker).toBe(me);
    expect(lease!.resultDigest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(BigInt(lease!.workerPaid)).toBeGreaterThan(0n);
    expect(workerLog).toMatch(/module primes@sha256:[0-9a-f]{64} delivered/);

    const out = join(dir, 'result.tar');
    const got = JSON.parse(ok(zeus('--json', 'task', 'result', posted.task, '--out', out))) as { digest: string };
    expect(got.digest).toBe(lease!.resultDigest);
    const bytes = readFileSync(out);
    expect(`sha256:${createHash('sha256').update(bytes).digest('hex')}`).toBe(lease!.resultDigest);
    expect((await tarTextFiles(bytes)).get('out/result.txt')).toBe(`${sumOfFirstPrimes(N)}\n`);

    // The module's stdout is the lease's log; its run directory is gone with the lease.
    const leaseDir = join(home, 'worker', 'leases', `${posted.task}-0`);
    expect(readFileSync(join(leaseDir, 'container.log'), 'utf8')).toBe(`${sumOfFirstPrimes(N)}\n`);
    expect(readdirSync(leaseDir).filter((f) => f.startsWith('run-'))).toEqual([]);
    expect(existsSync(join(leaseDir, 'outcome.json'))).toBe(true);
    expect(worker.exitCode).toBe(null);
  }, 150_000);
});
