import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildSampleApps } from '../src/cli/sampleApps.ts';
import { TOTAL_SUPPLY } from '../src/ledger/index.ts';
import { ZeusClient, type LeaseAnswer } from '../src/sdk/index.ts';
import { sleep, waitFor } from './helpers/processes.ts';
import { docker, okOut, WorkerNet } from './helpers/workerNet.ts';

// A service task end to end with real processes: a one-bookkeeper devnet, the sample web app
// (busybox httpd on 8080, FROM scratch) published through the node's registry, `zeus worker
// start` as carol and a service task posted by bob. The worker wins, runs the container with 8080
// published on 127.0.0.1 at a port the engine picks, and records that endpoint on the chain; the
// test gets the page from it. Every report period the chain pays the service at once; the test
// recomputes each payment from the blocks (the report's claimed wall time capped by block time
// since the last settlement, × price, rounded down per period). Then bob cancels: the chain pays
// the time since the last report and refunds the rest, the worker stops and removes the
// container, the endpoint goes quiet, and nothing more is paid.

const net = new WorkerNet('zeus-worker-service-');
const IMAGE = `zeus-test/worker-web:${process.pid}`;
const APP = 'svcweb';
const HOUR_MS = 3_600_000n;

beforeAll(() => {
  buildSampleApps(join(net.dir, 'apps'));
  // Our own tag of the shared sample image: untagging it later leaves zeusnet/sample-web:1 alone.
  docker('tag', 'zeusnet/sample-web:1', IMAGE);
  net.images.push(IMAGE);
  net.start();
}, 120_000);

afterAll(() => net.stop([`zeus-app/${APP}`]));

interface TxView {
  kind: string;
  payload: { task?: string; lease?: number; seq?: number; wallMs?: string; endpoint?: string };
}

/** The task's market transactions in block order, each with its block's time. */
async function taskTxs(c: ZeusClient, chain: number, task: string, from: number, to: number): Promise<{ kind: string; time: bigint; tx: TxView }[]> {
  const out: { kind: string; time: bigint; tx: TxView }[] = [];
  for (let h = from; h <= to; h++) {
    const b = await c.block(h);
    if (b.txs[chain].length === 0) continue;
    const seg = (await (await fetch(`${net.url}/blocks/${h}/chains/${chain}`)).json()) as { txs: TxView[] };
    for (const tx of seg.txs) if (tx.payload.task === task) out.push({ kind: tx.kind, time: BigInt(b.time), tx });
  }
  return out;
}

const payFor = (price: bigint, ms: bigint): bigint => (price * ms) / HOUR_MS;
const znc = async (c: ZeusClient, address: string): Promise<bigint> => BigInt((await c.account(address)).znc.balance);

describe('the worker agent runs a service end to end', () => {
  it('publishes the port on loopback, records the endpoint, is paid each period, and stops exactly at the cancel', async () => {
    const c = new ZeusClient(net.url);
    okOut(net.zeus('--json', 'app', 'publish', IMAGE, '--from', 'alice', '--name', APP, '--version', '1.0', '--wait'));
    const w = await net.startWorker('carol', ['--report-seconds', '1']);
    const bob = net.address('bob');
    const carol0 = await znc(c, w.address);
    const bob0 = await znc(c, bob);

    const posted = JSON.parse(
      okOut(
        net.zeus(
          '--json',
          'task',
          'post',
          '--from',
          'bob',
          '--app',
          `${APP}@1.0`,
          '--kind',
          'service',
          '--port',
          '8080',
          '--cpu',
          '0.5',
          '--memory',
          '64MiB',
          '--max-price',
          '1',
          '--bid-window',
          '4',
          '--wait',
        ),
      ),
    ) as { task: string; escrow: string };
    const task = posted.task;
    const escrow = BigInt(posted.escrow);
    expect(escrow).toBe(100_000_000n); // 1 ZNC/h × 1 h × 1 replica
    expect(await znc(c, bob)).toBe(bob0 - escrow);
    const postedAt = (await c.task(task)).postedAt;

    let lease: LeaseAnswer | undefined;
    const failWithLog = (e: unknown): never => {
      throw new Error(`${(e as Error).message}\nworker:\n${w.log()}`);
    };
    await waitFor(async () => (lease = (await c.task(task)).leases[0])?.state === 'running', 60_000, 'lease running', 100).catch(failWithLog);
    expect(lease!.worker).toBe(w.address);
    const price = BigInt(lease!.price);
    expect(price).toBeGreaterThan(0n);

    // The endpoint on the chain: loopback, the port the engine published for the container's 8080.
    const m = /^127\.0\.0\.1:(\d+)$/.exec(lease!.endpoint);
    expect(m, lease!.endpoint).not.toBeNull();
    const [container] = net.containersOf(w.address, [`net.zeus.task=${task}`, 'net.zeus.lease=0']);
    expect(container).toBeDefined();
    expect(docker('port', container, '8080/tcp').trim()).toBe(lease!.endpoint);
    const page = await fetch(`http://${lease!.endpoint}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toMatch(/Hello from a ZeusNet worker/);

    // Watch the lease period by period: each report pays at once, so workerPaid grows with reports.
    const seen = new Map<number, LeaseAnswer>();
    await waitFor(
      async () => {
        const l = await c.lease(task, 0);
        if (!seen.has(l.reports)) seen.set(l.reports, l);
        return l.reports >= 4;
      },
      30_000,
      'four usage reports',
      100,
    ).catch(failWithLog);
    const periods = [...seen.values()].sort((a, b) => a.reports - b.reports);
    for (let i = 1; i < periods.length; i++) expect(BigInt(periods[i].workerPaid)).toBeGreaterThan(BigInt(periods[i - 1].workerPaid));

    const supplyBefore = (await (await fetch(`${net.url}/supply`)).json()) as { total: string; escrow: string };
    const cancelled = JSON.parse(okOut(net.zeus('--json', 'task', 'cancel', task, '--from', 'bob', '--wait'))) as { refund: string; height: number };
    const after = await c.task(task);
    lease = after.leases[0];
    expect(after.state).toBe('cancelled');
    expect(lease.state).toBe('cancelled');
    expect(lease.outcome).toBe("cancelled by the task's poster");
    expect(after.escrow).toBe('0');

    // Every payment recomputed from the blocks: StartLease opens the clock at its block time; each
    // ReportUsage pays min(claimed wall time, block time since the last settlement) × price; the
    // cancel pays the block time since the last report.
    const all = await taskTxs(c, after.chain, task, postedAt, cancelled.height);
    expect(all[0].kind).toBe('Bid');
    const txs = all.slice(1);
    expect(txs[0].kind).toBe('StartLease');
    expect(txs.slice(1, -1).every((t) => t.kind === 'ReportUsage')).toBe(true);
    expect(txs.at(-1)!.kind).toBe('CancelTask');
    let paidUntil = txs[0].time;
    let paid = 0n;
    let wall = 0n;
    const paidAfter = new Map<number, bigint>([[0, 0n]]);
    for (const t of txs.slice(1)) {
      const since = t.time - paidUntil;
      const ms = t.kind === 'ReportUsage' && BigInt(t.tx.payload.wallMs!) < since ? BigInt(t.tx.payload.wallMs!) : since;
      paid += payFor(price, ms);
      wall += ms;
      paidUntil = t.time;
      if (t.kind === 'ReportUsage') paidAfter.set(t.tx.payload.seq!, paid);
    }
    expect(txs.filter((t) => t.kind === 'ReportUsage').length).toBe(lease.reports);
    for (const p of periods) expect(BigInt(p.workerPaid), `after period ${p.reports}`).toBe(paidAfter.get(p.reports));
    expect(BigInt(lease.workerPaid)).toBe(paid);
    expect(BigInt(lease.usage.wallMs)).toBe(wall);
    expect(BigInt(lease.paidUntil!)).toBe(paidUntil);
    expect(BigInt(lease.startedAt!)).toBe(txs[0].time);
    expect(lease.feePaid).toBe('0');

    // The poster gets back the escrow less what was paid; the worker got exactly what was paid.
    expect(BigInt(cancelled.refund)).toBe(escrow - paid);
    expect(await znc(c, bob)).toBe(bob0 - paid);
    // A worker homed on another chain is paid by receipt, applied a height later.
    await waitFor(async () => (await c.status()).height > cancelled.height + 1, 10_000, 'two more heights');
    expect(await znc(c, w.address)).toBe(carol0 + paid);
    const supplyAfter = (await (await fetch(`${net.url}/supply`)).json()) as { total: string; escrow: string };
    expect(BigInt(supplyBefore.total)).toBe(TOTAL_SUPPLY);
    expect(BigInt(supplyAfter.total)).toBe(TOTAL_SUPPLY);
    // No ZNC made or lost: bob's loss is carol's gain, and this was the devnet's only escrow.
    expect(BigInt(supplyBefore.escrow)).toBeGreaterThan(0n);
    expect(supplyAfter.escrow).toBe('0');

    // The worker sees the cancel, stops the container and removes it; the port goes quiet.
    await waitFor(() => net.containersOf(w.address, [`net.zeus.task=${task}`]).length === 0, 20_000, 'the container removed').catch(failWithLog);
    expect(w.log()).toMatch(/cancelled on the chain/);
    await expect(fetch(`http://${lease.endpoint}/`, { signal: AbortSignal.timeout(2000) })).rejects.toThrow();

    // Nothing is paid after the cancel: several report periods later the numbers stand.
    await sleep(3000);
    const later = await c.lease(task, 0);
    expect(later.workerPaid).toBe(lease.workerPaid);
    expect(later.reports).toBe(lease.reports);
    expect(await znc(c, w.address)).toBe(carol0 + paid);
    expect(await znc(c, bob)).toBe(bob0 - paid);
    expect(w.proc.exitCode).toBe(null);
  }, 150_000);
});
