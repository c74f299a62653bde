// npm run bench:worker [-- --tasks 25 --block-time 500 --bid-window 1 --accept]
//
// How fast the real worker flow turns a posted batch task into a running container and a result
// on the chain, next to a plain `docker run` of the same image with the same limits in the same
// run. Real processes throughout: a one-bookkeeper devnet (`zeus devnet start`), an app image
// FROM scratch with busybox published with `zeus app publish`, and a `zeus worker start`
// process as carol. One warm-up task lets the worker fetch the image through the DDN and load it
// into Docker; then `--tasks` tasks are posted one at a time by bob, each after a random pause
// of up to one block interval (a user does not post in phase with block production).
//
// What is timed, all on this host's wall clock (Docker's event times and ours share it):
//   posted   the moment the signed PostTask is sent to the node (POST /txs);
//   running  the Docker engine's `start` event for the lease's container (its process runs);
//   started  the block committing the worker's StartLease arrives on the node's WebSocket;
//   result   the block committing the worker's SubmitResult arrives (the lease is `completed`).
// Chain heights of each step come from the chain itself (the task's postedAt, its bid's height,
// the lease's matchedAt, the `lease-started` event, reviewEnd − reviewBlocks).
// Baselines, interleaved with the tasks: `docker run --rm` with the worker's flags (CLI) and the
// engine API path the agent uses (create with the same HostConfig, start, wait, remove), each
// timed from the call to the `start` event and to the container's end.
// Goal: post→running p50 ≤ 2 block intervals + 1 s (the interval measured from block times).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import Docker from 'dockerode';
import { startDevnet, stopDevnet } from '../src/cli/devnet.ts';
import { postTaskPayload, type TaskFlags } from '../src/cli/marketArgs.ts';
import { addressFromPublicKey, decodeAddress, encodeAddress, fromHex, Keystore, toHex } from '../src/crypto/index.ts';
import { taskIdFor, TxKind } from '../src/ledger/index.ts';
import { DEV_PASSPHRASE } from '../src/node/index.ts';
import { ZeusClient, type TaskDetailAnswer } from '../src/sdk/index.ts';
import { hostConfigFor, LABEL_TASK } from '../src/worker/index.ts';
import { machine, percentile } from './machine.ts';

const { values: args } = parseArgs({
  options: {
    tasks: { type: 'string', default: '25' },
    'block-time': { type: 'string', default: '500' },
    'bid-window': { type: 'string', default: '1' },
    // The poster accepts the first bid (AcceptBid) instead of waiting for the window to close.
    accept: { type: 'boolean', default: false },
    // Random (incompressible) bytes added to the image as a layer: app images are rarely 2 MB.
    'pad-mib': { type: 'string', default: '64' },
    out: { type: 'string', default: 'bench/results/worker.json' },
  },
});
const TASKS = Number(args.tasks);
const BLOCK_MS = Number(args['block-time']);
const WINDOW = Number(args['bid-window']);
const ACCEPT = args.accept === true;
const PAD_MIB = Number(args['pad-mib']);
const ROOT = new URL('..', import.meta.url).pathname;
const ZEUS = join(ROOT, 'bin', 'zeus.js');
const LIMITS = { cpuMillis: 500, memoryMiB: 64 };
/** Baseline containers: the bench's pid, and which run. */
const BENCH_LABEL = 'net.zeus.bench';
const BENCH_RUN = 'net.zeus.bench.run';
const log = (s: string): void => void process.stderr.write(`${s}\n`);
/** Wall-clock milliseconds with sub-millisecond resolution (Docker's event times are wall clock too). */
const now = (): number => performance.timeOrigin + performance.now();
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const work = mkdtempSync(join(tmpdir(), 'zeus-bench-worker-'));
const netDir = join(work, 'net');
const home = join(netDir, 'node0');
const image = `zeus-bench/worker:${process.pid}`;
const env = { ...process.env, ZEUS_KEYSTORE_FAST_KDF: '1' };
process.env.ZEUS_KEYSTORE_FAST_KDF = '1';
const docker = new Docker();

// ------------------------------------------------------------------ event streams

interface ContainerEvent {
  status: string;
  at: number;
  labels: Record<string, string>;
}

/** Every container start/die/destroy the engine reports while the bench runs, with its time. */
const containerEvents: ContainerEvent[] = [];
/** Block height → when its WebSocket event arrived here, and its header time. */
const blocks = new Map<number, { seenAt: number; time: number }>();
/** `lease-started` market events: task id → committed height. */
const leaseStarted = new Map<string, number>();
const wakers = new Set<() => void>();
const wake = (): void => {
  for (const w of wakers) w();
};

/** Resolves once `check` answers something, re-checked on every block and container event. */
async function until<T>(what: string, check: () => T | undefined | Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const got = await check();
    if (got !== undefined) return got;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise<void>((r) => {
      const t = setTimeout(done, 250);
      function done(): void {
        clearTimeout(t);
        wakers.delete(done);
        r();
      }
      wakers.add(done);
    });
  }
}

async function followDocker(): Promise<NodeJS.ReadableStream> {
  const stream = (await docker.getEvents({ filters: { type: ['container'], event: ['start', 'die', 'destroy'] } })) as NodeJS.ReadableStream;
  let buf = '';
  stream.on('data', (chunk: Buffer) => {
    buf += chunk.toString('utf8');
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      if (!line.trim()) continue;
      const e = JSON.parse(line) as { status?: string; Action?: string; timeNano: number; Actor?: { Attributes?: Record<string, string> } };
      // timeNano is a JSON number: past 2^53 it loses the last few hundred nanoseconds, not milliseconds.
      containerEvents.push({ status: e.Action ?? e.status ?? '', at: e.timeNano / 1e6, labels: e.Actor?.Attributes ?? {} });
    }
    wake();
  });
  return stream;
}

function followNode(url: string): WebSocket {
  const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/ws?events=block,market`);
  ws.addEventListener('message', (m: MessageEvent) => {
    const seenAt = now();
    const e = JSON.parse(String(m.data)) as { type: string; height: number; time?: number; kind?: string; task?: string };
    if (e.type === 'block') blocks.set(e.height, { seenAt, time: e.time ?? 0 });
    if (e.type === 'market' && e.kind === 'lease-started' && e.task) leaseStarted.set(e.task, e.height);
    wake();
  });
  return ws;
}

const eventOf = (status: string, label: string, value: string): ContainerEvent | undefined =>
  containerEvents.find((e) => e.status === status && e.labels[label] === value);

// ------------------------------------------------------------------ the worker flow

interface TaskRun {
  task: string;
  posted: number;
  running: number;
  /** When the block that matched the lease arrived here: from then on it is the agent's move. */
  matchCommitted: number;
  startCommitted: number;
  resultCommitted: number;
  heights: { posted: number; bid: number; matched: number; started: number; result: number };
}

async function runTask(c: ZeusClient, chainId: string, worker: string, bob: ReturnType<Keystore['load']>, reviewBlocks: number): Promise<TaskRun> {
  const flags: TaskFlags = {
    app: 'benchapp@1',
    cpu: String(LIMITS.cpuMillis / 1000),
    memory: `${LIMITS.memoryMiB}MiB`,
    disk: '0',
    bandwidth: '0',
    gpus: '0',
    gpuMemory: '0',
    runtime: 'docker',
    minRating: '0',
    maxPrice: '1',
    maxHours: '1',
    replicas: '1',
    redundancy: '1',
    kind: 'batch',
    bidWindow: String(WINDOW),
    retries: '0',
  };
  const payload = postTaskPayload(flags, 'benchapp', '1');
  const posted = now();
  const sent = await c.send(bob, TxKind.PostTask, payload, chainId);
  const task = toHex(taskIdFor(fromHex(sent.hash), sent.chain));
  postedTasks.add(task);
  if (ACCEPT) {
    // What a poster in a hurry does: take the first bid that fits (the worker's), not wait out the window.
    const first = await until('a bid', async () => (await c.task(task).catch(() => undefined))?.bids[0]);
    await c.send(bob, TxKind.AcceptBid, { task: fromHex(task), worker: decodeAddress(first.worker) }, chainId);
  }
  const start = await until('the container to start', () => eventOf('start', LABEL_TASK, task));
  // The agent removes the container after its SubmitResult committed (or after giving up).
  await until('the container to be removed', () => eventOf('destroy', LABEL_TASK, task));
  const t: TaskDetailAnswer = await c.task(task);
  const l = t.leases[0];
  if (l?.state !== 'completed' || l.reviewEnd === null) throw new Error(`task ${task}: lease ${l ? `${l.state}: ${l.outcome}` : 'missing'}`);
  if (l.worker !== worker) throw new Error(`task ${task} went to ${l.worker}, not the bench worker`);
  const started = await until('lease-started', () => leaseStarted.get(task));
  const result = l.reviewEnd - reviewBlocks;
  const seen = (h: number): number => {
    const b = blocks.get(h);
    if (!b) throw new Error(`no block event for height ${h}`);
    return b.seenAt;
  };
  return {
    task,
    posted,
    running: start.at,
    matchCommitted: seen(l.matchedAt),
    startCommitted: seen(started),
    resultCommitted: seen(result),
    heights: { posted: t.postedAt, bid: t.bids[0]?.height ?? -1, matched: l.matchedAt, started, result },
  };
}

// ------------------------------------------------------------------ baselines

const cliFlags = (): string[] => {
  const h = hostConfigFor(LIMITS);
  return [
    '--cpus',
    String(LIMITS.cpuMillis / 1000),
    '--memory',
    `${LIMITS.memoryMiB}m`,
    '--memory-swap',
    `${LIMITS.memoryMiB}m`,
    '--pids-limit',
    String(h.PidsLimit),
    '--cap-drop',
    'ALL',
    '--security-opt',
    'no-new-privileges',
    '--read-only',
    ...Object.entries(h.Tmpfs ?? {}).flatMap(([p, o]) => ['--tmpfs', `${p}:${o}`]),
    '-v',
    '/out',
    '--network',
    'none',
  ];
};

interface BaselineRun {
  running: number;
  done: number;
}

async function dockerRunCli(img: string, i: number): Promise<BaselineRun> {
  const tag = `cli-${process.pid}-${i}`;
  const t0 = now();
  const child = spawn('docker', ['run', '--rm', '--label', `${BENCH_LABEL}=${process.pid}`, '--label', `${BENCH_RUN}=${tag}`, ...cliFlags(), img], {
    stdio: 'ignore',
  });
  const code = await new Promise<number | null>((r) => child.on('exit', r));
  const done = now();
  if (code !== 0) throw new Error(`docker run exited ${code}`);
  const start = await until('docker run start event', () => eventOf('start', BENCH_RUN, tag));
  return { running: start.at - t0, done: done - t0 };
}

async function dockerApi(img: string, i: number): Promise<BaselineRun> {
  const tag = `api-${process.pid}-${i}`;
  const t0 = now();
  const ctr = await docker.createContainer({
    Image: img,
    Labels: { [BENCH_LABEL]: String(process.pid), [BENCH_RUN]: tag },
    HostConfig: hostConfigFor(LIMITS),
    NetworkDisabled: true,
  });
  await ctr.start();
  await ctr.wait();
  await ctr.remove({ force: true, v: true });
  const done = now();
  const start = await until('API start event', () => eventOf('start', BENCH_RUN, tag));
  return { running: start.at - t0, done: done - t0 };
}

// ------------------------------------------------------------------ main

function stats(xs: number[]): { p50: number; p99: number; min: number; max: number } {
  const s = [...xs].sort((a, b) => a - b);
  const r = (x: number): number => Math.round(x);
  return { p50: r(percentile(s, 50)), p99: r(percentile(s, 99)), min: r(s[0]), max: r(s[s.length - 1]) };
}

let worker: ChildProcess | undefined;
let workerLog = '';
let imageId = '';
/** Tasks this run posted: what cleanup may remove containers of. */
const postedTasks = new Set<string>();

async function main(): Promise<void> {
  await docker.ping().catch(() => {
    throw new Error('no Docker engine answers: start dockerd first');
  });
  const events = await followDocker();
  log(`building ${image} (FROM scratch, busybox, ${PAD_MIB} MiB of random data) in ${work}…`);
  const ctx = join(work, 'ctx');
  mkdirSync(ctx);
  copyFileSync('/bin/busybox', join(ctx, 'busybox'));
  writeFileSync(join(ctx, 'pad'), randomBytes(PAD_MIB * 1024 * 1024));
  // A workload that does its work and exits at once: what is measured is the path around it.
  writeFileSync(
    join(ctx, 'Dockerfile'),
    ['FROM scratch', 'COPY busybox /bin/busybox', 'COPY pad /pad', 'CMD ["/bin/busybox", "sh", "-c", "echo 42 > /out/answer"]', ''].join('\n'),
  );
  execFileSync('docker', ['build', '-q', '-t', image, ctx], { stdio: ['ignore', 'ignore', 'inherit'] });

  log(`starting a one-bookkeeper devnet (${BLOCK_MS} ms blocks)…`);
  const net = await startDevnet({ dir: netDir, blockTimeMs: BLOCK_MS, validators: 1 });
  const url = net.nodes[0].api;
  const c = new ZeusClient(url);
  const ws = followNode(url);
  const zeus = (...a: string[]): string =>
    execFileSync(process.execPath, [ZEUS, '--home', home, '--node', url, ...a], { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const ks = new Keystore(join(home, 'keys'));
  const bob = ks.load('bob', DEV_PASSPHRASE);
  const carol = encodeAddress(addressFromPublicKey(ks.load('carol', DEV_PASSPHRASE).publicKey));
  const params = await c.marketParams();

  log('publishing the app (zeus app publish)…');
  zeus('--json', 'app', 'publish', image, '--from', 'alice', '--name', 'benchapp', '--version', '1', '--wait');
  imageId = (await docker.getImage(image).inspect()).Id;
  // The worker gets the image through the DDN and loads it itself, as a fresh worker would.
  await docker.getImage(image).remove({ force: true });

  log('starting the worker (zeus worker start --key carol)…');
  worker = spawn(process.execPath, [ZEUS, '--home', home, '--node', url, 'worker', 'start', '--key', 'carol'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  worker.stdout!.on('data', (d: Buffer) => (workerLog += String(d)));
  worker.stderr!.on('data', (d: Buffer) => (workerLog += String(d)));
  await until(
    'the worker to follow the market',
    () =>
      workerLog.includes('is following the market') ? true : worker?.exitCode !== null ? Promise.reject(new Error(`worker exited:\n${workerLog}`)) : undefined,
    60_000,
  );

  log('warm-up task: the worker fetches the image through the DDN and loads it…');
  const chainId = net.chainId;
  const warm = await runTask(c, chainId, carol, bob, params.reviewBlocks);
  log(`  warm-up: running after ${(warm.running - warm.posted).toFixed(0)} ms, result after ${(warm.resultCommitted - warm.posted).toFixed(0)} ms`);

  const runs: TaskRun[] = [];
  const cli: BaselineRun[] = [];
  const api: BaselineRun[] = [];
  for (let i = 0; i < TASKS; i++) {
    await sleep(Math.random() * BLOCK_MS);
    const r = await runTask(c, chainId, carol, bob, params.reviewBlocks);
    runs.push(r);
    cli.push(await dockerRunCli(imageId, i));
    api.push(await dockerApi(imageId, i));
    const h = r.heights;
    log(
      `  task ${i + 1}/${TASKS}: match ${(r.matchCommitted - r.posted).toFixed(0)} ms, running ${(r.running - r.posted).toFixed(0)} ms, StartLease ${(r.startCommitted - r.posted).toFixed(0)} ms, result ${(r.resultCommitted - r.posted).toFixed(0)} ms ` +
        `(heights post ${h.posted} bid ${h.bid} match ${h.matched} start ${h.started} result ${h.result}); docker run ${cli[i].running.toFixed(0)}/${cli[i].done.toFixed(0)} ms, API ${api[i].running.toFixed(0)}/${api[i].done.toFixed(0)} ms`,
    );
  }

  // The interval the chain really ran at: consecutive block times over the measured tasks.
  const first = runs[0].heights.posted;
  const last = runs[runs.length - 1].heights.result;
  const gaps: number[] = [];
  for (let h = first + 1; h <= last; h++) {
    const a = blocks.get(h - 1);
    const b = blocks.get(h);
    if (a && b) gaps.push(b.time - a.time);
  }
  const interval = stats(gaps).p50;
  const postToRunning = stats(runs.map((r) => r.running - r.posted));
  const goalMs = 2 * interval + 1000;
  const out = {
    benchmark: 'worker',
    command: `npm run bench:worker -- --tasks ${TASKS} --block-time ${BLOCK_MS} --bid-window ${WINDOW} --pad-mib ${PAD_MIB}${ACCEPT ? ' --accept' : ''}`,
    imageBytes: (await docker.getImage(imageId).inspect()).Size,
    machine: machine(),
    blockIntervalMs: { configured: BLOCK_MS, measuredP50: interval },
    bidWindowBlocks: WINDOW,
    acceptFirstBid: ACCEPT,
    limits: LIMITS,
    warmup: { runningMs: Math.round(warm.running - warm.posted), resultMs: Math.round(warm.resultCommitted - warm.posted) },
    zeus: {
      postToRunningMs: postToRunning,
      postToMatchCommittedMs: stats(runs.map((r) => r.matchCommitted - r.posted)),
      matchToRunningMs: stats(runs.map((r) => r.running - r.matchCommitted)),
      postToStartLeaseCommittedMs: stats(runs.map((r) => r.startCommitted - r.posted)),
      postToResultCommittedMs: stats(runs.map((r) => r.resultCommitted - r.posted)),
      blocks: {
        postToMatch: stats(runs.map((r) => r.heights.matched - r.heights.posted)),
        postToResult: stats(runs.map((r) => r.heights.result - r.heights.posted)),
      },
    },
    dockerRunCli: { toRunningMs: stats(cli.map((r) => r.running)), toExitMs: stats(cli.map((r) => r.done)) },
    dockerApi: { toRunningMs: stats(api.map((r) => r.running)), toExitMs: stats(api.map((r) => r.done)) },
    goal: { text: 'post→running p50 ≤ 2 block intervals + 1 s', limitMs: goalMs, met: postToRunning.p50 <= goalMs },
    tasks: runs.map((r) => ({
      task: r.task,
      matchMs: Math.round(r.matchCommitted - r.posted),
      runningMs: Math.round(r.running - r.posted),
      startLeaseMs: Math.round(r.startCommitted - r.posted),
      resultMs: Math.round(r.resultCommitted - r.posted),
      heights: r.heights,
    })),
  };
  writeFileSync(args.out!, `${JSON.stringify(out, null, 2)}\n`);
  process.stdout.write(`${JSON.stringify({ ...out, tasks: undefined }, null, 2)}\n`);
  log(`post→running p50 ${postToRunning.p50} ms vs goal ${goalMs} ms (2 × ${interval} ms + 1 s): ${out.goal.met ? 'met' : 'NOT met'}`);
  ws.close();
  (events as unknown as { destroy(): void }).destroy();
}

async function cleanup(): Promise<void> {
  if (worker && worker.exitCode === null) worker.kill('SIGTERM');
  await stopDevnet(netDir).catch(() => undefined);
  // Only what this run made: other workers on the engine may sign with the same dev key.
  const mine = [...postedTasks].map((t) => `${LABEL_TASK}=${t}`);
  for (const label of [...mine, `${BENCH_LABEL}=${process.pid}`]) {
    for (const ci of await docker.listContainers({ all: true, filters: { label: [label] } }).catch(() => [])) {
      await docker
        .getContainer(ci.Id)
        .remove({ force: true, v: true })
        .catch(() => undefined);
    }
  }
  // The built image and the worker's tag of it share one id (its config digest, random per run).
  if (imageId)
    await docker
      .getImage(imageId)
      .remove({ force: true })
      .catch(() => undefined);
  else
    await docker
      .getImage(image)
      .remove({ force: true })
      .catch(() => undefined);
  rmSync(work, { recursive: true, force: true });
}

main()
  .then(cleanup)
  .catch(async (e: unknown) => {
    log(String((e as Error).stack ?? e));
    if (workerLog) log(`worker log:\n${workerLog.slice(-4000)}`);
    await cleanup();
    process.exit(1);
  });
