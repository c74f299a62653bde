import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32, deflateSync } from 'node:zlib';
import tar from 'tar-stream';
import { Keystore } from '../crypto/index.ts';
import { ZNC } from '../ledger/index.ts';
import { homePaths } from '../node/index.client.ts';
import { ZeusClient, type LeaseAnswer, type TaskDetailAnswer } from '../sdk/index.ts';
import type { DevnetInfo } from './devnet.ts';
import { DEVELOPER_KEY, USER_KEY, zeusJson } from './devnetMarket.ts';
import { znc } from './marketArgs.ts';

// `zeus devnet demo`: the main job on a running devnet, as a user would do it from the command
// line — a render task and a service task posted by the user key, bid on by the devnet's worker
// agents, delivered through the DDN, run, paid. Each step is printed as the chain and the workers
// report it, with the command that did it and where to see it in the web console.

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface DemoTaskReport {
  task: string;
  app: string;
  kind: 'batch' | 'service';
  worker: string;
  leaseState: string;
  userPaid: string;
  workerPaid: string;
  feePaid: string;
  resultDigest?: string;
  resultFile?: string;
  endpoint?: string;
  /** What the service answered over HTTP. */
  served?: string;
}

export interface DemoReport {
  ok: boolean;
  tasks: DemoTaskReport[];
  skipped: string[];
}

interface DemoContext {
  info: DevnetInfo;
  c: ZeusClient;
  say: (line: string) => void;
  t0: number;
  out: string;
  address: (name: string) => string;
  /** Worker name by address. */
  workerName: (address: string) => string;
  /** What has been told of each task so far. */
  seen: Map<string, { bids: number; leases: Map<number, string>; reports: Map<number, number>; logLines: Map<string, number> }>;
}

/** Runs the demo's tasks on a devnet that has workers and the sample apps. */
export async function runMarketDemo(info: DevnetInfo, say: (line: string) => void): Promise<DemoReport> {
  if (!info.workers?.length || !info.apps?.length)
    throw new Error(`the devnet in ${info.dir} has no workers or sample apps; start one with \`zeus devnet start\` (without --workers 0)`);
  const ks = new Keystore(homePaths(info.nodes[0].home).keys);
  const out = join(info.dir, 'demo');
  mkdirSync(out, { recursive: true });
  const ctx: DemoContext = {
    info,
    c: new ZeusClient(info.nodes[0].api),
    say,
    t0: Date.now(),
    out,
    address: (n) => ks.show(n).address,
    workerName: (a) => info.workers?.find((w) => w.address === a)?.name ?? a,
    seen: new Map(),
  };
  const report: DemoReport = { ok: true, tasks: [], skipped: [] };
  const docker = info.workers.some((w) => w.runtime === 'docker');
  const render = docker ? await renderTask(ctx) : await primesTask(ctx);
  report.tasks.push(render);
  if (docker) report.tasks.push(await serviceTask(ctx));
  else {
    const why = 'the service task: a service runs in a container, and no Docker engine answered when the devnet started (its workers run WebAssembly only)';
    report.skipped.push(why);
    say(`\nSkipped ${why}.`);
  }
  report.ok = report.tasks.every((t) => (t.kind === 'batch' ? t.leaseState === 'settled' && !!t.resultDigest : t.leaseState === 'cancelled' && !!t.served));
  return report;
}

/** `zeus --json ARGS` against node0 with the devnet's keys; the command is printed as a user would type it. */
function zeus<T>(ctx: DemoContext, args: string[]): T {
  ctx.say(`   $ zeus ${args.join(' ')}`);
  return zeusJson<T>(ctx.info.nodes[0].home, ctx.info.nodes[0].api, args);
}

function step(ctx: DemoContext, title: string): void {
  ctx.say(`\n== ${title}`);
}

function note(ctx: DemoContext, line: string): void {
  ctx.say(`   [${((Date.now() - ctx.t0) / 1000).toFixed(1).padStart(5)} s] ${line}`);
}

const consoleLink = (ctx: DemoContext, path: string): string => `${ctx.info.console ?? `${ctx.info.nodes[0].api}/`}#/${path}`;

async function balance(ctx: DemoContext, name: string): Promise<bigint> {
  return BigInt((await ctx.c.account(ctx.address(name))).balances[ZNC] ?? '0');
}

/**
 * Follows a task until `done` says so, printing what changes on the chain (bids, lease states,
 * reports, payments) and what the lease's worker logs about it (image delivered, started, …).
 */
async function follow(ctx: DemoContext, id: string, done: (t: TaskDetailAnswer) => boolean, timeoutMs: number): Promise<TaskDetailAnswer> {
  // Shared by every follow of one task: nothing is told twice.
  let seen = ctx.seen.get(id);
  if (!seen) ctx.seen.set(id, (seen = { bids: 0, leases: new Map(), reports: new Map(), logLines: new Map() }));
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const t = await ctx.c.task(id);
    for (const b of t.bids.slice(seen.bids)) note(ctx, `bid from ${ctx.workerName(b.worker)}: ${znc(b.price)}/h (rating ${b.rating}, height ${b.height})`);
    seen.bids = t.bids.length;
    for (const l of t.leases) {
      if (seen.leases.get(l.index) !== l.state) {
        seen.leases.set(l.index, l.state);
        note(ctx, leaseLine(ctx, l));
      }
      if (l.reports > (seen.reports.get(l.index) ?? 0)) {
        seen.reports.set(l.index, l.reports);
        note(
          ctx,
          `usage report ${l.reports} on the chain: ${(Number(l.usage.wallMs) / 1000).toFixed(1)} s run; worker paid ${znc(l.workerPaid)}, license fees ${znc(l.feePaid)}${BigInt(l.held) > 0n ? `, ${znc(l.held)} held until review` : ''}`,
        );
      }
      workerLog(ctx, l, seen.logLines);
    }
    if (done(t)) return t;
    if (Date.now() > deadline)
      throw new Error(
        `task ${id} did not get there within ${timeoutMs / 1000} s (state ${t.state}, leases ${t.leases.map((l) => l.state).join(', ') || 'none'}); see the worker logs in ${ctx.info.dir}`,
      );
    await sleep(250);
  }
}

function leaseLine(ctx: DemoContext, l: LeaseAnswer): string {
  const w = ctx.workerName(l.worker);
  switch (l.state) {
    case 'matched':
      return `the bid window closed: every bookkeeper leased replica ${l.replica ?? 0} to ${w} at ${znc(l.price)}/h (it must start by height ${l.startBy})`;
    case 'started':
    case 'running':
      return `lease ${l.index} ${l.state} on ${w}${l.endpoint ? `, endpoint ${l.endpoint}` : ''}`;
    case 'completed':
      return `lease ${l.index} completed: ${w} submitted result ${l.resultDigest.slice(0, 19)}…; the review window runs until height ${l.reviewEnd}`;
    default:
      return `lease ${l.index} ${l.state}${l.outcome ? `: ${l.outcome}` : ''}`;
  }
}

/** The worker's own log lines about this lease, once each. */
function workerLog(ctx: DemoContext, l: LeaseAnswer, printed: Map<string, number>): void {
  const w = ctx.info.workers?.find((x) => x.address === l.worker);
  if (!w || !existsSync(w.log)) return;
  const tag = `lease ${l.task.slice(0, 12)}…/${l.index}`;
  // The agent logs JSON lines (pino); what it says is their msg.
  const said = (line: string): string => {
    try {
      return (JSON.parse(line) as { msg?: string }).msg ?? '';
    } catch {
      return line;
    }
  };
  const lines = readFileSync(w.log, 'utf8')
    .split('\n')
    .map(said)
    .filter((x) => x.includes(tag) && !/usage report \d+$/.test(x));
  const from = printed.get(tag) ?? 0;
  for (const x of lines.slice(from)) note(ctx, `${w.name} says: ${x.slice(x.indexOf(tag) + tag.length).replace(/^: /, '')}`);
  printed.set(tag, lines.length);
}

function quoteLine(
  ctx: DemoContext,
  q: { candidates: { worker: string; ask: string }[]; refused: { worker: string; reasons: { message: string }[] }[]; workers: number },
): void {
  note(
    ctx,
    `quote: ${q.candidates.length} of ${q.workers} worker(s) could serve it: ${q.candidates.map((x) => `${ctx.workerName(x.worker)} asks ${znc(x.ask)}/h`).join(', ') || 'none'}`,
  );
  for (const r of q.refused) note(ctx, `  ${ctx.workerName(r.worker)} could not: ${r.reasons.map((x) => x.message).join('; ')}`);
}

async function payments(ctx: DemoContext, before: Record<string, bigint>, lease: LeaseAnswer): Promise<{ userPaid: bigint }> {
  // Transfers to other inner chains land by receipt a height later.
  await sleep(1500);
  const after = { user: await balance(ctx, USER_KEY), developer: await balance(ctx, DEVELOPER_KEY) };
  const userPaid = before.user - after.user;
  note(ctx, `user paid ${znc(userPaid)} in all; the rest of the escrow came back`);
  note(ctx, `${ctx.workerName(lease.worker)} earned ${znc(lease.workerPaid)} for ${(Number(lease.usage.wallMs) / 1000).toFixed(1)} s at ${znc(lease.price)}/h`);
  note(ctx, `developer earned ${znc(lease.feePaid)} in license fees (balance +${znc(after.developer - before.developer)})`);
  return { userPaid };
}

async function renderTask(ctx: DemoContext): Promise<DemoTaskReport> {
  step(ctx, '1. A render task: the user posts mandelbrot@1 (batch), a worker renders it, everyone is paid');
  const q = await ctx.c.quote({ cpuMillis: 500, memoryMiB: 128, runtime: 'docker', maxPricePerHour: '100000000' });
  quoteLine(ctx, q);
  const before = { user: await balance(ctx, USER_KEY), developer: await balance(ctx, DEVELOPER_KEY) };
  const posted = zeus<{ task: string; escrow: string; closeHeight: number }>(ctx, [
    'task',
    'post',
    '--from',
    USER_KEY,
    '--app',
    'mandelbrot@1',
    '--input',
    'SIZE=96',
    '--cpu',
    '0.5',
    '--memory',
    '128MiB',
    '--max-price',
    '1',
    '--max-hours',
    '1',
    '--bid-window',
    '6',
    '--wait',
  ]);
  note(ctx, `posted task ${posted.task.slice(0, 16)}…: ${znc(posted.escrow)} moved to escrow; it takes bids until height ${posted.closeHeight}`);
  note(ctx, `follow it in the console: ${consoleLink(ctx, `task/${posted.task}`)}`);
  const t = await follow(ctx, posted.task, (x) => x.leases[0]?.state === 'settled' || ['failed', 'cancelled'].includes(x.leases[0]?.state ?? ''), 180_000);
  const l = t.leases[0];
  if (l.state !== 'settled') throw new Error(`the render lease ended ${l.state}: ${l.outcome}`);
  note(ctx, `review window over with no dispute: the ledger released the payment by itself (${l.outcome})`);
  const tarFile = join(ctx.out, `result-${posted.task.slice(0, 12)}.tar`);
  const got = zeus<{ digest: string }>(ctx, ['task', 'result', posted.task, '--out', tarFile]);
  const ppm = (await filesOfTar(readFileSync(tarFile))).get('out/mandelbrot.ppm');
  let resultFile = tarFile;
  if (ppm) {
    resultFile = join(ctx.out, 'mandelbrot.png');
    writeFileSync(resultFile, ppmToPng(ppm));
  }
  note(ctx, `result ${got.digest.slice(0, 19)}… fetched from the node's registry and checked against the chain; the image: ${resultFile}`);
  const paid = await payments(ctx, before, l);
  return {
    task: posted.task,
    app: 'mandelbrot@1',
    kind: 'batch',
    worker: ctx.workerName(l.worker),
    leaseState: l.state,
    userPaid: paid.userPaid.toString(),
    workerPaid: l.workerPaid,
    feePaid: l.feePaid,
    resultDigest: got.digest,
    resultFile,
  };
}

/** Without Docker: the WASI sample computes the sum of the first primes. */
async function primesTask(ctx: DemoContext): Promise<DemoTaskReport> {
  step(ctx, '1. A compute task: the user posts primes@1 (a WASI module), a worker runs it, everyone is paid');
  const before = { user: await balance(ctx, USER_KEY), developer: await balance(ctx, DEVELOPER_KEY) };
  const posted = zeus<{ task: string; escrow: string; closeHeight: number }>(ctx, [
    'task',
    'post',
    '--from',
    USER_KEY,
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
    '--max-hours',
    '1',
    '--bid-window',
    '6',
    '--wait',
  ]);
  note(ctx, `posted task ${posted.task.slice(0, 16)}…: ${znc(posted.escrow)} in escrow; follow it at ${consoleLink(ctx, `task/${posted.task}`)}`);
  const t = await follow(ctx, posted.task, (x) => x.leases[0]?.state === 'settled' || ['failed', 'cancelled'].includes(x.leases[0]?.state ?? ''), 180_000);
  const l = t.leases[0];
  if (l.state !== 'settled') throw new Error(`the lease ended ${l.state}: ${l.outcome}`);
  const tarFile = join(ctx.out, `result-${posted.task.slice(0, 12)}.tar`);
  const got = zeus<{ digest: string }>(ctx, ['task', 'result', posted.task, '--out', tarFile]);
  note(ctx, `result: ${(await filesOfTar(readFileSync(tarFile))).get('out/result.txt')?.toString().trim()} (${tarFile})`);
  const paid = await payments(ctx, before, l);
  return {
    task: posted.task,
    app: 'primes@1',
    kind: 'batch',
    worker: ctx.workerName(l.worker),
    leaseState: l.state,
    userPaid: paid.userPaid.toString(),
    workerPaid: l.workerPaid,
    feePaid: l.feePaid,
    resultDigest: got.digest,
    resultFile: tarFile,
  };
}

async function serviceTask(ctx: DemoContext): Promise<DemoTaskReport> {
  step(ctx, '2. A service task: the user runs web@1, a worker serves it, it is paid every period until cancelled');
  const before = { user: await balance(ctx, USER_KEY), developer: await balance(ctx, DEVELOPER_KEY) };
  const posted = zeus<{ task: string; escrow: string; closeHeight: number }>(ctx, [
    'task',
    'post',
    '--from',
    USER_KEY,
    '--app',
    'web@1',
    '--kind',
    'service',
    '--port',
    '8080',
    '--cpu',
    '0.25',
    '--memory',
    '64MiB',
    '--max-price',
    '1',
    '--max-hours',
    '1',
    '--bid-window',
    '6',
    '--wait',
  ]);
  note(ctx, `posted task ${posted.task.slice(0, 16)}…: ${znc(posted.escrow)} in escrow; follow it at ${consoleLink(ctx, `task/${posted.task}`)}`);
  let t = await follow(ctx, posted.task, (x) => (x.leases[0]?.reports ?? 0) >= 2 || ['failed', 'cancelled'].includes(x.leases[0]?.state ?? ''), 180_000);
  const l = t.leases[0];
  if (l.reports < 2) throw new Error(`the service lease ended ${l.state}: ${l.outcome}`);
  const url = `http://${l.endpoint}/`;
  const res = await fetch(url);
  const body = await res.text();
  const served = /<h1>([^<]*)<\/h1>/.exec(body)?.[1] ?? body.slice(0, 60);
  note(ctx, `GET ${url} → HTTP ${res.status}: "${served}"`);
  const cancelled = zeus<{ refund?: string }>(ctx, ['task', 'cancel', posted.task, '--from', USER_KEY, '--wait']);
  note(
    ctx,
    `cancelled: the worker stops the container; ${cancelled.refund !== undefined ? `${znc(cancelled.refund)} of escrow came back` : 'the unused escrow came back'}`,
  );
  t = await follow(ctx, posted.task, (x) => x.leases[0]?.state === 'cancelled', 60_000);
  const end = t.leases[0];
  const closed = await waitClosed(url, 20_000);
  note(ctx, closed ? `${url} no longer answers: the container is gone` : `${url} still answers 20 s after the cancel`);
  const paid = await payments(ctx, before, end);
  return {
    task: posted.task,
    app: 'web@1',
    kind: 'service',
    worker: ctx.workerName(end.worker),
    leaseState: end.state,
    userPaid: paid.userPaid.toString(),
    workerPaid: end.workerPaid,
    feePaid: end.feePaid,
    endpoint: l.endpoint,
    served: closed ? served : undefined,
  };
}

async function waitClosed(url: string, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const up = await fetch(url, { signal: AbortSignal.timeout(1000) }).then(
      () => true,
      () => false,
    );
    if (!up) return true;
    await sleep(250);
  }
  return false;
}

async function filesOfTar(bytes: Uint8Array): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  const extract = tar.extract();
  const done = new Promise<void>((resolve, reject) => {
    extract.on('entry', (h, stream, next) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: unknown) => void chunks.push(c as Buffer));
      stream.on('end', () => {
        if (h.type === 'file') files.set(h.name, Buffer.concat(chunks));
        next();
      });
    });
    extract.on('finish', resolve);
    extract.on('error', reject);
  });
  extract.end(Buffer.from(bytes));
  await done;
  return files;
}

/** An ASCII PPM (P3, 8 bits) as a PNG: what a person can open. */
export function ppmToPng(ppm: Uint8Array): Buffer {
  const nums = Buffer.from(ppm)
    .toString('ascii')
    .replace(/#[^\n]*/g, ' ')
    .trim()
    .split(/\s+/);
  if (nums[0] !== 'P3') throw new Error('not an ASCII PPM (P3)');
  const [w, h, max] = [Number(nums[1]), Number(nums[2]), Number(nums[3])];
  const raw = Buffer.alloc(h * (1 + w * 3));
  for (let y = 0; y < h; y++) {
    raw[y * (1 + w * 3)] = 0; // filter: none
    for (let i = 0; i < w * 3; i++) raw[y * (1 + w * 3) + 1 + i] = Math.round((Number(nums[4 + y * w * 3 + i]) * 255) / max);
  }
  const chunk = (type: string, data: Buffer): Buffer => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([len, body, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8-bit RGB
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}
