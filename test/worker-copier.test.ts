import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ZeusClient } from '../src/sdk/index.ts';
import { waitFor } from './helpers/processes.ts';
import { APPS, balanceOf, postReplicated, publishSampleApps, waitForDone } from './helpers/replicas.ts';
import { WorkerNet, type WorkerProcess } from './helpers/workerNet.ts';

// Commit and reveal with real worker processes (docs/MARKET.md, "Fairness: commit and reveal"): a
// redundancy-3 task of the Docker sample app on two honest workers (bob, carol) and a lazy one
// (dave, started with the hidden, test-only `--test-copy-result`: it runs nothing and copies
// whatever another seat of its group shows on the chain). Before, it found the first honest digest
// and was paid like the honest two. Now it finds only a commitment, which it commits as its own and
// cannot open: it is unpaid and slashed wrongResultSlashBp; the honest two are paid, to the base unit.

const net = new WorkerNet('zeus-worker-copier-');
let honest: WorkerProcess[] = [];
let copier: WorkerProcess | undefined;
const logs = (): string => [...honest, ...(copier ? [copier] : [])].map((w) => `--- ${w.address}\n${w.log().split('\n').slice(-20).join('\n')}`).join('\n');

beforeAll(async () => {
  net.start();
  publishSampleApps(net, 'alice');
  honest = await Promise.all(['bob', 'carol'].map((k) => net.startWorker(k, ['--report-seconds', '1'])));
  copier = await net.startWorker('dave', ['--report-seconds', '1', '--test-copy-result']);
}, 240_000);

afterAll(() => net.stop([APPS.docker.loaded, APPS.wasm.loaded]));

describe('a copier in a redundancy group', () => {
  it('finds no digest to copy; its copied commitment is refused at the reveal; it is slashed and unpaid, the honest two paid', async () => {
    const c = new ZeusClient(net.url);
    const params = await c.marketParams();
    const alice = net.address('alice');
    const everyone = [alice, ...honest.map((w) => w.address), copier!.address];
    const before = new Map(await Promise.all(everyone.map(async (a) => [a, await balanceOf(c, a)] as const)));
    const copierBefore = await c.worker(copier!.address);

    const task = postReplicated(net, 'alice', 'docker', 3);
    const t = await waitForDone(c, task, 180_000, logs);
    const leaseOf = (w: WorkerProcess) => t.leases.find((l) => l.worker === w.address)!;
    expect(t.leases.map((l) => l.worker).sort()).toEqual([...honest, copier!].map((w) => w.address).sort());
    expect(copier!.log()).toMatch(/TEST ONLY --test-copy-result: committing lease \d+'s commitment as its own/);
    expect(copier!.log()).toMatch(
      /TEST ONLY --test-copy-result: reveal of sha256:[0-9a-f]{64} refused: this digest and salt do not match lease \d+'s commitment/,
    );

    const [h1, h2] = honest.map(leaseOf);
    expect(h1.resultDigest).toBe(h2.resultDigest);
    expect([h1.outcome, h2.outcome]).toEqual(['result accepted', 'result accepted']);
    const copy = leaseOf(copier!);
    expect(copy.resultDigest).toBe('');
    expect(copy.outcome).toMatch(/not revealed/);
    expect(copy.workerPaid).toBe('0');

    const dividend = BigInt(params.dividendPerLease);
    const delta = async (a: string): Promise<bigint> => (await balanceOf(c, a)) - before.get(a)!;
    await waitFor(
      async () =>
        (await delta(honest[0].address)) === BigInt(h1.workerPaid) + dividend && (await delta(honest[1].address)) === BigInt(h2.workerPaid) + dividend,
      30_000,
      'pay and dividends credited',
      250,
    );
    expect(await delta(alice)).toBe(-(BigInt(h1.workerPaid) + BigInt(h2.workerPaid)));
    expect(await delta(copier!.address), 'the copier earns nothing').toBe(0n);
    const slash = (BigInt(copierBefore.bond) * BigInt(params.wrongResultSlashBp)) / 10_000n;
    await waitFor(async () => BigInt((await c.worker(copier!.address)).bond) === BigInt(copierBefore.bond) - slash, 30_000, 'the copier slashed', 250);
  }, 300_000);
});
