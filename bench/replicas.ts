// npm run bench:replicas [-- --runs 20 --runtime docker,wasm --validators 4 --block-time 500]
//
// Do honest workers agree? A devnet as a user gets it (`zeus devnet start --validators 4 --workers
// 3`: four bookkeeper processes, three worker processes each beside its own node, the sample apps
// published by the developer key), then `--runs` redundancy-3 tasks in a row of a deterministic
// sample app per runtime — the Docker `mandelbrot` and the WASI `primes` — posted by the `user`
// key. A run is posted once the previous run's three results are on the chain (its review window
// then runs beside the next run). A run agrees when its three leases give one digest, all three
// are accepted and paid, and no bond moved; every run of an app must also give the same digest
// as the first (the same files, whenever and wherever they were made).
//
// Baseline, in the same run (docker only): for each run, the same image run three times at once
// with `docker run`-like settings through the engine API, /out read as the engine's archive (what
// a result was before issue 13: mtimes, owners and modes inside) and as the canonical archive
// (src/worker/canonicalResult.ts). How often the three raw archives agree is how often honest
// workers agreed before.
//
// Timed on this host's wall clock: post → three results on the chain, post → task done (all
// three settled and paid after the review window).
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { parseArgs } from 'node:util';
import Docker from 'dockerode';
import { startDevnet, stopDevnet } from '../src/cli/devnet.ts';
import { USER_KEY, zeusJson } from '../src/cli/devnetMarket.ts';
import { ZeusClient, type TaskDetailAnswer } from '../src/sdk/index.ts';
import { canonicalDigest, hostConfigFor, scanResult, unpackArchive } from '../src/worker/index.ts';
import { machine, percentile } from './machine.ts';

const { values: args } = parseArgs({
  options: {
    runs: { type: 'string', default: '20' },
    runtime: { type: 'string', default: 'docker,wasm' },
    validators: { type: 'string', default: '4' },
    'block-time': { type: 'string', default: '500' },
    out: { type: 'string', default: 'bench/results/replicas.json' },
  },
});
const RUNS = Number(args.runs);
const RUNTIMES = args.runtime!.split(',') as ('docker' | 'wasm')[];
const VALIDATORS = Number(args.validators);
const BLOCK_MS = Number(args['block-time']);
const R = 3;
const APP = { docker: 'mandelbrot@1', wasm: 'primes@1' } as const;
const log = (s: string): void => void process.stderr.write(`${s}\n`);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
process.env.ZEUS_KEYSTORE_FAST_KDF = '1';

const work = mkdtempSync(join(tmpdir(), 'zeus-bench-replicas-'));
const netDir = join(work, 'net');
const docker = new Docker();

async function until<T>(what: string, check: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const got = await check();
    if (got !== undefined) return got;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

function stats(xs: number[]): { p50: number; p90: number; min: number; max: number } {
  const s = [...xs].sort((a, b) => a - b);
  const r = (x: number): number => Math.round(x);
  return { p50: r(percentile(s, 50)), p90: r(percentile(s, 90)), min: r(s[0]), max: r(s[s.length - 1]) };
}

interface Run {
  task: string;
  posted: number;
  resultsMs: number;
  doneMs?: number;
  digests: string[];
  workers: string[];
  paid: string[];
  outcomes: string[];
  agreed?: boolean;
}

interface Baseline {
  rawDigests: number;
  canonicalDigests: number;
  canonical: string;
}

/** Three containers of `image` at once, /out read raw (the engine's archive) and canonically. */
async function baseline(image: string, i: number): Promise<Baseline> {
  const one = async (k: number): Promise<{ raw: string; canonical: string }> => {
    const c = await docker.createContainer({
      Image: image,
      Labels: { 'net.zeus.bench': String(process.pid) },
      HostConfig: hostConfigFor({ cpuMillis: 500, memoryMiB: 64 }),
    });
    try {
      await c.start();
      await c.wait();
      const raw = createHash('sha256');
      for await (const chunk of (await c.getArchive({ path: '/out' })) as unknown as AsyncIterable<Buffer>) raw.update(chunk);
      const dir = join(work, `baseline-${i}-${k}`);
      await unpackArchive((await c.getArchive({ path: '/out' })) as unknown as Readable, dir, 64 * 1024 * 1024);
      const canonical = await canonicalDigest(scanResult(dir, 64 * 1024 * 1024));
      rmSync(dir, { recursive: true, force: true });
      return { raw: `sha256:${raw.digest('hex')}`, canonical };
    } finally {
      await c.remove({ force: true, v: true });
    }
  };
  const got = await Promise.all([0, 1, 2].map(one));
  return { rawDigests: new Set(got.map((g) => g.raw)).size, canonicalDigests: new Set(got.map((g) => g.canonical)).size, canonical: got[0].canonical };
}

async function main(): Promise<void> {
  log(`starting a devnet: ${VALIDATORS} bookkeepers, ${R} workers (docker,wasm), ${BLOCK_MS} ms blocks, in ${netDir}…`);
  const net = await startDevnet({
    dir: netDir,
    validators: VALIDATORS,
    workers: R,
    runtime: 'docker',
    blockTimeMs: BLOCK_MS,
    onProgress: (m) => log(`  ${m}`),
  });
  try {
    const node = net.nodes[0];
    const c = new ZeusClient(node.api);
    const params = await c.marketParams();
    const workers = net.workers!.map((w) => w.address);
    const results: Record<string, unknown> = {};
    for (const runtime of RUNTIMES) {
      log(`${runtime}: ${RUNS} runs of ${APP[runtime]} with redundancy ${R}…`);
      const bondsBefore = await Promise.all(workers.map(async (w) => (await c.worker(w)).bond));
      const runs: Run[] = [];
      const base: Baseline[] = [];
      for (let i = 0; i < RUNS; i++) {
        const posted = Date.now();
        const { task } = zeusJson<{ task: string }>(node.home, node.api, [
          'task',
          'post',
          '--from',
          USER_KEY,
          '--app',
          APP[runtime],
          '--runtime',
          runtime,
          '--cpu',
          '0.5',
          '--memory',
          '64MiB',
          '--max-price',
          '1',
          '--redundancy',
          String(R),
          '--bid-window',
          '4',
          '--wait',
        ]);
        const t = await until(
          `three results of run ${i + 1}`,
          async () => {
            const t = await c.task(task);
            return t.leases.length === R && t.leases.every((l) => l.resultDigest !== '') ? t : t.state === 'done' ? t : undefined;
          },
          300_000,
        );
        const run: Run = {
          task,
          posted,
          resultsMs: Date.now() - posted,
          digests: t.leases.map((l) => l.resultDigest),
          workers: t.leases.map((l) => l.worker),
          paid: [],
          outcomes: [],
        };
        runs.push(run);
        const b = runtime === 'docker' ? await baseline('zeusnet/sample-mandelbrot:1', i) : undefined;
        if (b) base.push(b);
        log(
          `  run ${i + 1}/${RUNS}: ${new Set(run.digests).size} digest(s) from ${new Set(run.workers).size} workers in ${(run.resultsMs / 1000).toFixed(1)} s${b ? `; baseline: raw archives ${b.rawDigests} digest(s), canonical ${b.canonicalDigests}` : ''}`,
        );
      }
      for (const run of runs) {
        const t: TaskDetailAnswer = await until(
          `run ${run.task.slice(0, 12)}… done`,
          async () => {
            const t = await c.task(run.task);
            return t.state === 'done' ? t : undefined;
          },
          120_000,
        );
        run.doneMs = Math.max(run.resultsMs, Date.now() - run.posted);
        run.paid = t.leases.map((l) => l.workerPaid);
        run.outcomes = t.leases.map((l) => l.outcome);
        run.agreed =
          new Set(run.digests).size === 1 &&
          run.outcomes.every((o) => o === 'result accepted') &&
          run.paid.every((p) => BigInt(p) > 0n) &&
          new Set(run.workers).size === R;
      }
      const bondsAfter = await Promise.all(workers.map(async (w) => (await c.worker(w)).bond));
      const first = runs[0].digests[0];
      results[runtime] = {
        app: APP[runtime],
        runs: RUNS,
        agreed: runs.filter((r) => r.agreed).length,
        sameDigestAsFirstRun: runs.filter((r) => r.digests.every((d) => d === first)).length,
        digest: first,
        bondsUnchanged: bondsBefore.every((b, i) => b === bondsAfter[i]),
        postToResultsMs: stats(runs.map((r) => r.resultsMs)),
        ...(base.length
          ? {
              baseline: {
                text: 'three concurrent containers of the same image per run: runs whose /out archives gave one digest',
                rawEngineArchive: base.filter((b) => b.rawDigests === 1).length,
                canonical: base.filter((b) => b.canonicalDigests === 1).length,
                canonicalEqualsChain: base.filter((b) => b.canonical === first).length,
              },
            }
          : {}),
        tasks: runs.map((r) => ({
          task: r.task,
          resultsMs: r.resultsMs,
          digests: new Set(r.digests).size,
          paid: r.paid,
          outcomes: r.outcomes,
          agreed: r.agreed,
        })),
      };
      log(
        `${runtime}: ${runs.filter((r) => r.agreed).length}/${RUNS} runs agreed and paid all three; bonds ${bondsBefore.every((b, i) => b === bondsAfter[i]) ? 'unchanged' : 'MOVED'}`,
      );
    }
    const out = {
      benchmark: 'replicas',
      command: `npm run bench:replicas -- --runs ${RUNS} --runtime ${RUNTIMES.join(',')} --validators ${VALIDATORS} --block-time ${BLOCK_MS}`,
      machine: machine(),
      devnet: { validators: VALIDATORS, workers: R, blockTimeMs: BLOCK_MS, reviewBlocks: params.reviewBlocks },
      redundancy: R,
      ...results,
    };
    writeFileSync(args.out!, `${JSON.stringify(out, null, 2)}\n`);
    process.stdout.write(`${JSON.stringify(out, (k, v) => (k === 'tasks' ? undefined : v), 2)}\n`);
  } finally {
    await stopDevnet(netDir);
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
