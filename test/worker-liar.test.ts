import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ZeusClient } from '../src/sdk/index.ts';
import { waitFor } from './helpers/processes.ts';
import { APPS, balanceOf, postReplicated, publishSampleApps, waitForDone } from './helpers/replicas.ts';
import { WorkerNet, type WorkerProcess } from './helpers/workerNet.ts';

// Issue 13, Must-show 3, "a liar outvoted": a redundancy-3 task of the deterministic Docker sample
// app on three real worker processes, two honest (bob, carol) and one lying (dave, started with
// the hidden, test-only `--test-corrupt-result`, which makes its agent submit a digest that is not
// its result's). With canonical results the two honest digests agree, so the liar is the minority:
// it is slashed wrongResultSlashBp of its bond and unpaid; the honest two are paid for their time
// and the worker dividend; the poster (alice, who also published the app without a license fee)
// is charged exactly what the honest two were paid — to the base unit.

const net = new WorkerNet('zeus-worker-liar-');
let honest: WorkerProcess[] = [];
let liar: WorkerProcess | undefined;
const logs = (): string => [...honest, ...(liar ? [liar] : [])].map((w) => `--- ${w.address}\n${w.log().split('\n').slice(-20).join('\n')}`).join('\n');

beforeAll(async () => {
  net.start();
  publishSampleApps(net, 'alice');
  honest = await Promise.all(['bob', 'carol'].map((k) => net.startWorker(k, ['--report-seconds', '1'])));
  liar = await net.startWorker('dave', ['--report-seconds', '1', '--test-corrupt-result']);
}, 240_000);

afterAll(() => net.stop([APPS.docker.loaded, APPS.wasm.loaded]));

describe('a liar outvoted by two honest workers', () => {
  it('slashes and leaves unpaid the liar, pays the honest two, and charges the poster exactly that', async () => {
    const c = new ZeusClient(net.url);
    const params = await c.marketParams();
    const alice = net.address('alice');
    const everyone = [alice, ...honest.map((w) => w.address), liar!.address];
    const before = new Map(await Promise.all(everyone.map(async (a) => [a, await balanceOf(c, a)] as const)));
    const liarBefore = await c.worker(liar!.address);

    const task = postReplicated(net, 'alice', 'docker', 3);
    const t = await waitForDone(c, task, 180_000, logs);
    const leaseOf = (w: WorkerProcess) => t.leases.find((l) => l.worker === w.address)!;
    expect(t.leases.map((l) => l.worker).sort()).toEqual([...honest, liar!].map((w) => w.address).sort());
    expect(liar!.log()).toMatch(/TEST ONLY --test-corrupt-result: committing to sha256:[0-9a-f]{64} instead of the result's sha256:[0-9a-f]{64}/);

    // The honest two agree and are accepted; the liar's digest is the odd one out.
    const [h1, h2] = honest.map(leaseOf);
    expect(h1.resultDigest).toBe(h2.resultDigest);
    expect([h1.outcome, h2.outcome]).toEqual(['result accepted', 'result accepted']);
    const lie = leaseOf(liar!);
    expect(lie.resultDigest).not.toBe(h1.resultDigest);
    expect(lie.outcome).toBe('result differs from the majority');
    expect(lie.workerPaid).toBe('0');

    // Pay reaches the workers' home chains a height later; wait until the books stop moving.
    const paid = BigInt(h1.workerPaid) + BigInt(h2.workerPaid);
    expect(BigInt(h1.workerPaid)).toBeGreaterThan(0n);
    expect(BigInt(h2.workerPaid)).toBeGreaterThan(0n);
    const dividend = BigInt(params.dividendPerLease);
    const delta = async (a: string): Promise<bigint> => (await balanceOf(c, a)) - before.get(a)!;
    await waitFor(
      async () =>
        (await delta(honest[0].address)) === BigInt(h1.workerPaid) + dividend && (await delta(honest[1].address)) === BigInt(h2.workerPaid) + dividend,
      30_000,
      'pay and dividends credited',
      250,
    ).catch(async (e: unknown) => {
      throw new Error(
        `${(e as Error).message}: deltas ${await delta(honest[0].address)}, ${await delta(honest[1].address)}; paid ${h1.workerPaid}, ${h2.workerPaid}; dividend ${dividend}`,
      );
    });

    // Who paid whom, to the base unit.
    expect(await delta(alice), 'the poster is charged exactly what the honest two were paid').toBe(-paid);
    expect(await delta(honest[0].address)).toBe(BigInt(h1.workerPaid) + dividend);
    expect(await delta(honest[1].address)).toBe(BigInt(h2.workerPaid) + dividend);
    expect(await delta(liar!.address), 'the liar earns nothing').toBe(0n);
    const slash = (BigInt(liarBefore.bond) * BigInt(params.wrongResultSlashBp)) / 10_000n;
    expect(slash).toBeGreaterThan(0n);
    await waitFor(async () => BigInt((await c.worker(liar!.address)).bond) === BigInt(liarBefore.bond) - slash, 30_000, 'the liar slashed', 250);
    const liarAfter = await c.worker(liar!.address);
    expect(BigInt(liarAfter.record.slashedTotal) - BigInt(liarBefore.record.slashedTotal)).toBe(slash);
    expect(BigInt(liarAfter.record.disputesLost) - BigInt(liarBefore.record.disputesLost)).toBe(1n);
    for (const w of honest) expect(BigInt((await c.worker(w.address)).record.slashedTotal)).toBe(0n);
    expect(liarAfter.rating).toBeLessThan(liarBefore.rating);
  }, 300_000);
});
