import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ZeusClient, type TaskDetailAnswer } from '../src/sdk/index.ts';
import { sampleModule } from '../src/worker/wasm-sample.ts';
import { nodeEnv, sleep, waitFor, zeusAsync } from './helpers/processes.ts';
import { okOut, WorkerNet, type WorkerProcess } from './helpers/workerNet.ts';

// Bids that must not block (issue 13, item 9) and a worker below the minimum bond (item 8), with
// real worker processes (wasm runtime: no container engine in the way) on a one-bookkeeper devnet
// (500 ms blocks). Two idle workers, each running one lease at a time (the default policy):
// - two tasks posted together are both served, one by each worker (a worker whose bid on the first
//   is outranked takes it back and bids on the second; none wins more than it can run);
// - a task with a 200-block window takes both bids and is cancelled: the next task gets both bids at
//   once and is served; the poster is refunded in full, nobody is slashed;
// - a worker slashed below the minimum bond (it won a lease and never started it) says so once, shows
//   it in `zeus worker status`, does not bid; after `zeus worker update --add-bond` it bids again.

const net = new WorkerNet('zeus-worker-bids-');
const APP = 'primes@1';
let c: ZeusClient;
const workers: WorkerProcess[] = [];

const postArgs = (from: string, window: number): string[] => [
  '--json',
  'task',
  'post',
  '--from',
  from,
  '--app',
  APP,
  '--runtime',
  'wasm',
  '--cpu',
  '0.5',
  '--memory',
  '64MiB',
  '--max-price',
  '1',
  '--bid-window',
  String(window),
  '--wait',
];
const post = (window: number): string => (JSON.parse(okOut(net.zeus(...postArgs('bob', window)))) as { task: string }).task;
/** Two posters at once (two accounts, so no nonce is shared): the tasks land in the same block or the next. */
async function postTogether(window: number): Promise<string[]> {
  const runs = await Promise.all(['alice', 'bob'].map((from) => zeusAsync(['--home', net.home, '--node', net.url, ...postArgs(from, window)], nodeEnv())));
  return runs.map((r) => (JSON.parse(okOut(r)) as { task: string }).task);
}

/** Every live (not withdrawn) bid of the task's current window, by worker address. */
const liveBidders = (t: TaskDetailAnswer): string[] =>
  t.bids.filter((b) => !b.withdrawn && !b.used && b.height >= t.closeHeight - t.bidWindowBlocks).map((b) => b.worker);

const logs = (): string => workers.map((w) => `--- ${w.address}\n${w.log()}`).join('\n');

async function settled(task: string): Promise<TaskDetailAnswer> {
  let t: TaskDetailAnswer | undefined;
  await waitFor(async () => (t = await c.task(task)).state === 'done', 90_000, `task ${task.slice(0, 12)} done`, 250).catch((e: unknown) => {
    throw new Error(
      `${(e as Error).message}: ${JSON.stringify({ state: t?.state, noBidReasons: t?.noBidReasons, leases: t?.leases.map((l) => l.state) })}\n${logs()}`,
    );
  });
  return t!;
}

const balance = async (a: string): Promise<bigint> => BigInt((await c.account(a)).znc.balance);

beforeAll(async () => {
  net.start();
  c = new ZeusClient(net.url);
  const wasm = join(net.dir, 'primes.wasm');
  writeFileSync(wasm, sampleModule());
  okOut(net.zeus('app', 'publish', '--from', 'alice', '--name', 'primes', '--version', '1', '--wasm', wasm, '--arg', '200', '--wait'));
  for (const key of ['carol', 'dave']) workers.push(await net.startWorker(key, ['--runtime', 'wasm', '--report-seconds', '1']));
}, 180_000);

afterAll(() => net.stop());

describe('bids that do not block', () => {
  it('two tasks posted together with two idle workers: both are served, one by each worker', async () => {
    const [a, b] = await postTogether(16);
    const [ta, tb] = [await settled(a), await settled(b)];
    const winners = [ta, tb].map((t) => t.leases.filter((l) => l.state === 'settled').map((l) => l.worker));
    expect(winners[0]).toHaveLength(1);
    expect(winners[1]).toHaveLength(1);
    // One each: neither worker won more than the one lease it runs at a time.
    expect(new Set(winners.flat()).size).toBe(2);
    // Nor did either ever hold two bids at once: a bid on the second task only after it took back
    // the one on the first (withdrawn), never both standing.
    for (const w of workers) {
      const standing = [ta, tb].filter((t) => t.bids.some((x) => x.worker === w.address && !x.withdrawn));
      expect(standing.length, `${w.address} held bids on both tasks\n${logs()}`).toBeLessThanOrEqual(1);
    }
  }, 240_000);

  it('a cancel frees every bidder at once: the next task gets every bid and is served; exact balances', async () => {
    const [carol, dave] = workers.map((w) => w.address);
    const bob = net.address('bob');
    const params = await c.marketParams();
    // The last test's pay and dividend reach the workers by receipt, a height or two after its lease
    // settled: the balances are taken once they stay the same over a few heights.
    const balances = async (): Promise<{ bob: bigint; carol: bigint; dave: bigint }> => ({
      bob: await balance(bob),
      carol: await balance(carol),
      dave: await balance(dave),
    });
    let before = await balances();
    const steady = Date.now() + 20_000;
    for (let same = 0; same < 3 && Date.now() < steady; ) {
      await sleep(500);
      const now = await balances();
      same = now.bob === before.bob && now.carol === before.carol && now.dave === before.dave ? same + 1 : 0;
      before = now;
    }
    const bonds = { carol: (await c.worker(carol)).bond, dave: (await c.worker(dave)).bond };

    const long = post(200);
    await waitFor(async () => liveBidders(await c.task(long)).length === 2, 30_000, 'both workers to bid on the long window').catch((e: unknown) => {
      throw new Error(`${(e as Error).message}\n${logs()}`);
    });
    okOut(net.zeus('task', 'cancel', long, '--from', 'bob', '--wait'));
    expect(await balance(bob)).toBe(before.bob); // the whole escrow came back
    const next = post(16);
    // Both bid in the new window: the cancelled task's bids no longer hold them.
    await waitFor(
      async () => liveBidders(await c.task(next)).length === 2 || (await c.task(next)).state !== 'open',
      30_000,
      'both workers to bid on the next task',
    );
    expect((await c.task(next)).bids.map((b) => b.worker).sort()).toEqual([carol, dave].sort());
    const t = await settled(next);
    const lease = t.leases.find((l) => l.state === 'settled')!;
    const paid = BigInt(lease.workerPaid);
    expect(paid).toBeGreaterThan(0n);
    const winner = lease.worker === carol ? 'carol' : 'dave';
    const expected = {
      bob: before.bob - paid,
      carol: before.carol + (winner === 'carol' ? paid + BigInt(params.dividendPerLease) : 0n),
      dave: before.dave + (winner === 'dave' ? paid + BigInt(params.dividendPerLease) : 0n),
    };
    // The pay and the dividend reach the worker's home chain by receipt: a height or two later.
    await waitFor(async () => (await balance(lease.worker)) === expected[winner], 15_000, 'the pay to arrive').catch(() => undefined);
    expect({ bob: await balance(bob), carol: await balance(carol), dave: await balance(dave) }).toEqual(expected);
    expect({ carol: (await c.worker(carol)).bond, dave: (await c.worker(dave)).bond }).toEqual(bonds);
    expect(logs()).toMatch(/bid freed: the task was cancelled/);
  }, 240_000);

  it('a worker slashed below the minimum bond says so once, shows it in status and does not bid; a top-up lifts it', async () => {
    const params = await c.marketParams();
    const min = BigInt(params.minWorkerBond);
    // alice registers by hand (no agent yet) at the minimum bond, in a region only her trap task names;
    // she wins its lease and never starts it: the start deadline fails it and slashes 5 % of her bond.
    okOut(
      net.zeus(
        'worker',
        'register',
        '--from',
        'alice',
        '--cpu',
        '1',
        '--memory',
        '1024',
        '--runtime',
        'wasm',
        '--region',
        'zz',
        '--endpoint',
        '127.0.0.1:7999',
        '--price-cpu',
        '0.1',
        '--wait',
      ),
    );
    const alice = net.address('alice');
    const trap = (
      JSON.parse(
        okOut(
          net.zeus(
            '--json',
            'task',
            'post',
            '--from',
            'bob',
            '--app',
            APP,
            '--runtime',
            'wasm',
            '--cpu',
            '0.5',
            '--memory',
            '64MiB',
            '--max-price',
            '1',
            '--region',
            'zz',
            '--bid-window',
            '12',
            '--wait',
          ),
        ),
      ) as { task: string }
    ).task;
    okOut(net.zeus('bid', trap, '--from', 'alice', '--wait'));
    await waitFor(async () => BigInt((await c.worker(alice)).bond) < min, 60_000, 'the missed start to slash alice', 250);
    const bond = BigInt((await c.worker(alice)).bond);
    expect(bond).toBe(min - (min * BigInt(params.failSlashBp)) / 10_000n);
    expect(await c.worker(alice)).toMatchObject({ active: true, leasable: false, bondShortfall: (min - bond).toString() });

    const w = await net.startWorker('alice', ['--runtime', 'wasm', '--report-seconds', '1']);
    workers.push(w);
    const notice =
      /bond 95 ZNC is below the chain's minimum of 100 ZNC: not bidding, and not leased, until 5 ZNC more is bonded \(zeus worker update --from KEY --add-bond 5\)/g;
    await waitFor(() => notice.test(w.log()), 20_000, 'the agent to say it is below the minimum');
    // The admin endpoint of the agent started last on this home is alice's.
    const status = okOut(net.zeus('worker', 'status'));
    expect(status).toContain(
      "NOT LEASED: its bond of 95 ZNC is below the chain's minimum; it does not bid until 5 ZNC more is bonded: zeus worker update --from KEY --add-bond 5",
    );
    // A task it fits: the others bid, alice does not (and does not repeat the notice).
    const fits = post(6);
    await waitFor(async () => (await c.task(fits)).state !== 'open', 30_000, 'the window to close');
    expect((await c.task(fits)).bids.map((b) => b.worker)).not.toContain(alice);
    expect(w.log().match(notice)?.length).toBe(1);

    okOut(net.zeus('worker', 'update', '--from', 'alice', '--add-bond', '5', '--wait'));
    expect(await c.worker(alice)).toMatchObject({ bond: min.toString(), leasable: true, bondShortfall: '0' });
    await waitFor(() => /bond 100 ZNC is at the minimum again: bidding again/.test(w.log()), 20_000, 'the agent to bid again');
    expect(okOut(net.zeus('worker', 'status'))).not.toContain('NOT LEASED');
    const after = post(6);
    await waitFor(async () => (await c.task(after)).bids.some((b) => b.worker === alice), 30_000, 'alice to bid again').catch((e: unknown) => {
      throw new Error(`${(e as Error).message}\n${w.log()}`);
    });
  }, 240_000);
});
