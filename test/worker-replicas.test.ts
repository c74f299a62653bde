import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ZeusClient } from '../src/sdk/index.ts';
import { SAMPLE_DEFAULT_N, sumOfFirstPrimes } from '../src/worker/index.ts';
import { sleep } from './helpers/processes.ts';
import { APPS, digestsOf, postReplicated, publishSampleApps, waitForDone, waitForResults, type Runtime } from './helpers/replicas.ts';
import { tarTextFiles } from './helpers/tar.ts';
import { okOut, WorkerNet, type WorkerProcess } from './helpers/workerNet.ts';

// Honest workers agree (issue 13, items 1 and Must-show 2). Three real worker processes (bob,
// carol, dave) beside one node run redundancy-3 tasks of a deterministic sample app — the Docker
// `mandelbrot` and the WASI `primes` — a few times in a row, each run posted after the previous
// one's results are in, so runs finish seconds apart (more than 1.1 s: the archives of old carried
// the files' mtimes, or for wasm the time of archiving, and two honest workers finishing in
// different seconds disagreed). Every lease of every run must give the one digest, and all
// three workers of each run must be paid and keep their bond.

const net = new WorkerNet('zeus-worker-replicas-');
const RUNS = 2;
const R = 3;
const WORKERS = ['bob', 'carol', 'dave'];
let workers: WorkerProcess[] = [];
const logs = (): string => workers.map((w) => `--- ${w.address}\n${w.log().split('\n').slice(-25).join('\n')}`).join('\n');

beforeAll(async () => {
  net.start();
  publishSampleApps(net, 'alice');
  workers = await Promise.all(WORKERS.map((k) => net.startWorker(k, ['--report-seconds', '1'])));
}, 240_000);

afterAll(() => net.stop([APPS.docker.loaded, APPS.wasm.loaded]));

async function runs(runtime: Runtime): Promise<void> {
  const c = new ZeusClient(net.url);
  const bonds = new Map(await Promise.all(workers.map(async (w) => [w.address, (await c.worker(w.address)).bond] as const)));
  const tasks: string[] = [];
  const digests: string[] = [];
  for (let run = 0; run < RUNS; run++) {
    if (run > 0) await sleep(1100);
    const task = postReplicated(net, 'alice', runtime, R);
    tasks.push(task);
    const t = await waitForResults(c, task, R, 120_000, logs);
    expect(new Set(t.leases.map((l) => l.worker)).size).toBe(R);
    digests.push(...t.leases.map((l) => l.resultDigest));
  }
  // One digest over every lease of every run.
  expect([...new Set(digests)], 'every honest result of the same app gives one digest').toHaveLength(1);
  for (const task of tasks) {
    const t = await waitForDone(c, task, 120_000, logs);
    for (const l of t.leases) {
      expect(l.outcome).toBe('result accepted');
      expect(BigInt(l.workerPaid)).toBeGreaterThan(0n);
    }
    expect(digestsOf(t.leases)).toEqual([digests[0]]);
  }
  for (const w of workers) expect((await c.worker(w.address)).bond).toBe(bonds.get(w.address));
  // The bytes the user downloads are the canonical bytes the chain recorded.
  const file = join(net.dir, `${runtime}.tar`);
  okOut(net.zeus('--json', 'task', 'result', tasks[0], '--out', file));
  const bytes = readFileSync(file);
  expect(`sha256:${createHash('sha256').update(bytes).digest('hex')}`).toBe(digests[0]);
  const files = await tarTextFiles(bytes);
  if (runtime === 'docker') expect(files.get('out/mandelbrot.ppm')).toMatch(/^P3\n64 64\n255\n/);
  else expect(files.get('out/result.txt')).toBe(`${sumOfFirstPrimes(SAMPLE_DEFAULT_N)}\n`);
}

describe('redundancy 3 on three real workers: honest results agree', () => {
  it('docker: every run of mandelbrot gives one digest and all three workers are paid', () => runs('docker'), 400_000);
  it('wasm: every run of primes gives one digest and all three workers are paid', () => runs('wasm'), 400_000);
});
