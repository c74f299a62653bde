import { unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DiskBlobStore, type Digest } from '../src/ddn/index.ts';
import { appOutcomeDigest } from '../src/ledger/index.ts';
import { ZeusClient, type LeaseAnswer, type TaskDetailAnswer, type WorkerAnswer } from '../src/sdk/index.ts';
import { waitFor } from './helpers/processes.ts';
import { okOut, WorkerNet, type WorkerProcess } from './helpers/workerNet.ts';

// Issue 13's fairness scenarios for the user's own faults, end to end on a devnet with two real
// worker processes (carol, dave) on the local Docker engine, each ending with exactly who paid whom
// (docs/MARKET.md, "Fairness: app failures and missing images"):
// - a failing app pays the workers for their time: a batch app that exits 7, run with redundancy 2;
//   both workers report the outcome at once, the outcomes agree, both are paid for their time and the
//   developer its license fee, nobody is slashed or rated down;
// - a ghost image is released without penalty: an app whose image is nowhere gets no bid at all (the
//   workers check before bidding), and an app whose layer vanished is released by each worker that
//   wins it, before starting, penalty-free; the poster gets everything back.

const net = new WorkerNet('zeus-fairness-outcomes-');
const FLAKY = `zeus-test/fairness-flaky:${process.pid}`;
const HOLLOW = `zeus-test/fairness-hollow:${process.pid}`;
let carol: WorkerProcess;
let dave: WorkerProcess;
let c: ZeusClient;

const znc = async (address: string): Promise<bigint> => BigInt((await c.account(address)).balances.ZNC ?? '0');
const logs = (): string => `carol:\n${carol.log()}\ndave:\n${dave.log()}`;

async function balances(names: Record<string, string>): Promise<Record<string, bigint>> {
  return Object.fromEntries(await Promise.all(Object.entries(names).map(async ([n, a]) => [n, await znc(a)] as const)));
}

/** Waits until every account holds exactly what is expected (credits cross chains a height later), then compares all at once. */
async function expectBalances(names: Record<string, string>, expected: Record<string, bigint>): Promise<void> {
  await waitFor(
    async () => {
      const now = await balances(names);
      return Object.keys(expected).every((n) => now[n] === expected[n]);
    },
    15_000,
    'the expected balances',
  ).catch(() => undefined);
  expect(await balances(names)).toEqual(expected);
}

const standing = (w: WorkerAnswer) => ({
  bond: w.bond,
  rating: w.rating,
  failed: w.record.failed,
  abandoned: w.record.abandoned,
  disputesLost: w.record.disputesLost,
  slashed: w.record.slashedTotal,
});

beforeAll(async () => {
  net.start();
  net.buildBusybox(FLAKY, 'echo working; /bin/busybox sleep 2; echo oops >&2; exit 7');
  net.buildBusybox(HOLLOW, 'echo never runs > /out/x');
  carol = await net.startWorker('carol', ['--report-seconds', '1']);
  dave = await net.startWorker('dave', ['--report-seconds', '1']);
  c = new ZeusClient(net.url);
}, 180_000);

afterAll(() => net.stop(['zeus-app/flaky', 'zeus-app/hollow']));

describe("fairness: the user's own faults cost the worker nothing", () => {
  it('a failing app pays the workers for their time: redundancy 2, both outcomes agree, both paid, the developer paid its fee, nobody slashed', async () => {
    okOut(net.zeus('--json', 'app', 'publish', FLAKY, '--from', 'alice', '--name', 'flaky', '--version', '1', '--license-fee', '0.5', '--wait'));
    const names = { alice: net.address('alice'), bob: net.address('bob'), carol: carol.address, dave: dave.address };
    const before = await balances(names);
    const workersBefore = { carol: await c.worker(carol.address), dave: await c.worker(dave.address) };
    const posted = JSON.parse(
      okOut(
        net.zeus(
          '--json',
          'task',
          'post',
          '--from',
          'bob',
          '--app',
          'flaky@1',
          '--cpu',
          '0.5',
          '--memory',
          '64MiB',
          '--max-price',
          '1',
          '--redundancy',
          '2',
          '--bid-window',
          '6',
          '--wait',
        ),
      ),
    ) as { task: string };
    let t: TaskDetailAnswer | undefined;
    await waitFor(async () => (t = await c.task(posted.task)).state === 'done', 90_000, 'task done', 250).catch((e: unknown) => {
      throw new Error(`${(e as Error).message}: ${JSON.stringify(t?.leases)}\n${logs()}`);
    });
    const leases = t!.leases;
    expect(leases.map((l) => l.state)).toEqual(['settled', 'settled']);
    expect(new Set(leases.map((l) => l.worker))).toEqual(new Set([carol.address, dave.address]));
    const digest = appOutcomeDigest({ exitCode: 7, oomKilled: false, cause: '' });
    for (const l of leases) {
      expect(l.resultDigest).toBe(digest);
      expect(l.appOutcome).toMatchObject({ exitCode: 7, oomKilled: false, cause: '' });
      expect(l.outcome).toBe('app outcome accepted: the app exited 7');
    }
    const paidTo = (w: string): bigint => BigInt(leases.find((l) => l.worker === w)!.workerPaid);
    const fees = leases.reduce((s, l) => s + BigInt(l.feePaid), 0n);
    expect(paidTo(carol.address)).toBeGreaterThan(0n);
    expect(paidTo(dave.address)).toBeGreaterThan(0n);
    expect(fees).toBeGreaterThan(0n);
    // bob paid exactly the two workers' time and the license fee for it; nothing else moved.
    await expectBalances(names, {
      alice: before.alice + fees,
      bob: before.bob - paidTo(carol.address) - paidTo(dave.address) - fees,
      carol: before.carol + paidTo(carol.address),
      dave: before.dave + paidTo(dave.address),
    });
    for (const [name, w] of [
      ['carol', carol],
      ['dave', dave],
    ] as const) {
      const now = await c.worker(w.address);
      expect(standing(now)).toEqual(standing(workersBefore[name]));
      expect(now.record.appFailures).toBe(String(BigInt(workersBefore[name].record.appFailures) + 1n));
    }
    expect((await c.app('flaky')).versions[0]).toMatchObject({ failures: '2', releases: '0' });
    expect(okOut(net.zeus('app', 'show', 'flaky'))).toMatch(/failed on its own in 2 lease\(s\)/);
  }, 150_000);

  it('a ghost image is released without penalty: nowhere at all, nobody bids; its layer gone, each winner releases before starting; the poster gets everything back', async () => {
    const names = { bob: net.address('bob'), carol: carol.address, dave: dave.address };
    const workersBefore = { carol: await c.worker(carol.address), dave: await c.worker(dave.address) };

    // An image nowhere on the network: the workers check before bidding, so nobody wins a lease it can only fail.
    okOut(net.zeus('--json', 'app', 'publish', '--digest', `sha256:${'0d'.repeat(32)}`, '--from', 'alice', '--name', 'ghost', '--version', '1', '--wait'));
    const before = await balances(names);
    const ghost = JSON.parse(
      okOut(
        net.zeus(
          '--json',
          'task',
          'post',
          '--from',
          'bob',
          '--app',
          'ghost@1',
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
    let t: TaskDetailAnswer | undefined;
    await waitFor(async () => (t = await c.task(ghost.task)).state === 'expired', 30_000, 'ghost task expired', 250).catch((e: unknown) => {
      throw new Error(`${(e as Error).message}: ${JSON.stringify(t)}\n${logs()}`);
    });
    expect(t!.leaseCount).toBe(0);
    expect(t!.noBidReasons).toMatchObject({ FIT_BUT_NO_BID: 2 });
    for (const w of [carol, dave])
      expect(w.log()).toMatch(
        new RegExp(`task ${ghost.task.slice(0, 12)}…: not bidding: its image ghost@sha256:(0d){32} cannot be fetched \\(MANIFEST_UNAVAILABLE`),
      );
    await expectBalances(names, before);

    // An image whose manifest and config are there but whose layer vanished from the network.
    const published = JSON.parse(okOut(net.zeus('--json', 'app', 'publish', HOLLOW, '--from', 'alice', '--name', 'hollow', '--version', '1', '--wait'))) as {
      digest: string;
    };
    const manifest = (await (
      await fetch(`${net.url}/v2/hollow/manifests/${published.digest}`, {
        headers: { accept: 'application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json' },
      })
    ).json()) as { layers: { digest: Digest }[] };
    const store = await DiskBlobStore.open(join(net.home, 'ddn'));
    for (const l of manifest.layers) unlinkSync((await store.path(l.digest))!);
    const hollow = JSON.parse(
      okOut(
        net.zeus(
          '--json',
          'task',
          'post',
          '--from',
          'bob',
          '--app',
          'hollow@1',
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
    await waitFor(async () => (t = await c.task(hollow.task)).state === 'done', 90_000, 'hollow task done', 250).catch((e: unknown) => {
      throw new Error(`${(e as Error).message}: ${JSON.stringify(t)}\n${logs()}`);
    });
    // Each worker won it once and gave it back before starting; neither could bid again.
    expect(t!.leases.map((l: LeaseAnswer) => l.state)).toEqual(['cancelled', 'cancelled']);
    expect(new Set(t!.leases.map((l) => l.worker))).toEqual(new Set([carol.address, dave.address]));
    for (const l of t!.leases) {
      expect(l.outcome).toMatch(/^released by its worker before starting: (NO_MAP|NO_SOURCE)$/);
      expect(l.startedAt).toBe(null);
      expect(l.workerPaid).toBe('0');
    }
    await expectBalances(names, before);
    for (const [name, w] of [
      ['carol', carol],
      ['dave', dave],
    ] as const) {
      const now = await c.worker(w.address);
      expect(standing(now)).toEqual(standing(workersBefore[name]));
      expect(now.record.released).toBe(String(BigInt(workersBefore[name].record.released) + 1n));
    }
    // Counted against the app version, so a developer whose images vanish shows.
    expect((await c.app('hollow')).versions[0]).toMatchObject({ releases: '2', failures: '0' });
    expect(okOut(net.zeus('app', 'show', 'hollow'))).toMatch(/2 lease\(s\) released: image not fetchable/);
    expect(okOut(net.zeus('worker', 'show', 'carol'))).toMatch(/1 released before starting/);
  }, 180_000);
});
