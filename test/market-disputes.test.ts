import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEV_MARKET, startDevnet } from '../src/cli/devnet.ts';
import { payFor } from '../src/ledger/market/escrow.ts';
import { ZeusClient, type LeaseAnswer } from '../src/sdk/index.ts';
import { ensureDockerd } from './helpers/docker.ts';
import { waitFor } from './helpers/processes.ts';
import { okOut, WorkerNet, type WorkerProcess } from './helpers/workerNet.ts';

// Disputes on a devnet with real worker processes (docs/MARKET.md, "Fairness: disputes and
// verifiers"). bob is the user; carol the honest worker (cheapest, so she wins the tasks); dave
// and alice honest workers the chain may draw as verifiers; eve a worker that lies about every
// result (--test-corrupt-result) and sides with bob. The devnet seats three verifiers for every
// dispute (singleVerifierMaxPayZnc 0), so the draw takes everyone eligible and the outcome does
// not depend on the seed. Each scenario ends with who paid whom, to the base unit.
//
// The app writes the same bytes on every run and pins its files' mtimes, so two honest runs give
// the same result digest whoever runs them and whenever.

const net = new WorkerNet('zeus-disputes-');
const IMAGE = `zeus-test/disputes:${process.pid}`;
let c: ZeusClient;
let dividend = 0n;
const workers: Record<string, WorkerProcess> = {};
const addr: Record<string, string> = {};

beforeAll(async () => {
  ensureDockerd();
  const info = await startDevnet({
    dir: net.devnet,
    validators: 1,
    blockTimeMs: 500,
    accounts: ['alice', 'bob', 'carol', 'dave', 'eve'],
    params: { market: { ...DEV_MARKET, singleVerifierMaxPayZnc: 0 } },
  });
  net.url = info.nodes[0].api;
  c = new ZeusClient(net.url);
  dividend = BigInt((await c.marketParams()).dividendPerLease);
  for (const k of ['alice', 'bob', 'carol', 'dave', 'eve']) addr[k] = net.address(k);
  net.buildBusybox(
    IMAGE,
    'echo 42 > /out/answer; /bin/busybox seq 1 500 | /bin/busybox sha256sum > /out/sums; /bin/busybox sleep 2; /bin/busybox touch -d @0 /out/answer /out/sums /out',
  );
  okOut(net.zeus('--json', 'app', 'publish', IMAGE, '--from', 'alice', '--name', 'verify', '--version', '1.0', '--wait'));
  const cheap = join(net.dir, 'cheap.json');
  const dear = join(net.dir, 'dear.json');
  writeFileSync(cheap, JSON.stringify({ prices: { cpuCoreHour: '0.01', memoryGiBHour: '0.001' } }));
  writeFileSync(dear, JSON.stringify({ prices: { cpuCoreHour: '0.2', memoryGiBHour: '0.01' } }));
  const args = ['--report-seconds', '1', '--runtime', 'docker'];
  workers.carol = await net.startWorker('carol', ['--policy', cheap, ...args]);
  workers.dave = await net.startWorker('dave', ['--policy', dear, ...args]);
  workers.alice = await net.startWorker('alice', ['--policy', dear, ...args]);
}, 240_000);

afterAll(() => net.stop(['zeus-app/verify']));

const logs = (): string =>
  Object.entries(workers)
    .map(([k, w]) => `--- ${k}\n${w.log()}`)
    .join('\n');
const znc = async (who: string): Promise<bigint> => BigInt((await c.account(addr[who])).balances.ZNC ?? '0');
async function balances(names: string[]): Promise<Record<string, bigint>> {
  return Object.fromEntries(await Promise.all(names.map(async (n) => [n, await znc(n)] as const)));
}
const nameOf = (address: string): string => Object.keys(addr).find((k) => addr[k] === address)!;

/** bob posts the app, carol runs it, bob disputes her result; resolves once the task is done and its receipts landed. */
async function disputeCarolsResult(): Promise<LeaseAnswer[]> {
  const posted = JSON.parse(
    okOut(
      net.zeus(
        '--json',
        'task',
        'post',
        '--from',
        'bob',
        '--app',
        'verify@1.0',
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
  ) as { task: string };
  const task = posted.task;
  await waitFor(async () => (await c.task(task)).leases[0]?.state === 'completed', 90_000, "carol's result", 250).catch((e: unknown) => {
    throw new Error(`${(e as Error).message}\n${logs()}`);
  });
  expect(nameOf((await c.task(task)).leases[0].worker)).toBe('carol');
  okOut(net.zeus('--json', 'task', 'dispute', task, '--from', 'bob', '--lease', '0', '--wait'));
  await waitFor(async () => (await c.task(task)).state === 'done', 150_000, 'the dispute decided and the task done', 500).catch(async (e: unknown) => {
    throw new Error(`${(e as Error).message}\n${JSON.stringify((await c.task(task)).leases, null, 1)}\n${logs()}`);
  });
  // Outcomes reach main by receipt (record, slash, dividend); credits come back by another.
  const h = (await c.status()).height;
  await waitFor(async () => (await c.status()).height >= h + 4, 20_000, 'receipts to land');
  const leases = (await c.task(task)).leases;
  for (const l of leases) {
    // Each lease was paid at most its price for the block time it ran (each period rounds down).
    expect(BigInt(l.workerPaid)).toBeLessThanOrEqual(payFor(BigInt(l.price), BigInt(l.usage.wallMs)));
  }
  return leases;
}

describe('disputes with real workers: verifiers drawn by the chain', () => {
  it("a dispute against an honest result is lost by the disputer: its deposit pays the verifiers and carol's wait", async () => {
    const names = ['alice', 'bob', 'carol', 'dave'];
    const before = await balances(names);
    const leases = await disputeCarolsResult();
    const [carol, ...verifiers] = leases;
    expect(verifiers.map((v) => nameOf(v.worker)).sort()).toEqual(['alice', 'dave']);
    for (const v of verifiers) {
      expect(v.verifies).toBe(0);
      expect(v.resultDigest).toBe(carol.resultDigest);
      expect(v.outcome).toMatch(/with the majority/);
    }
    expect(carol.outcome).toMatch(/decided for the worker: 2 of 3 verifiers/);
    const pay = BigInt(carol.workerPaid);
    expect(pay).toBeGreaterThan(0n);
    const fees = leases.reduce((s, l) => s + BigInt(l.feePaid), 0n);
    const vpay = (who: string): bigint => BigInt(verifiers.find((v) => nameOf(v.worker) === who)!.workerPaid);
    const after = await balances(names);
    // carol: her pay, as much again from bob's deposit for the wait, the dividend. bob: all of it.
    expect(Object.fromEntries(names.map((n) => [n, after[n] - before[n]]))).toEqual({
      bob: -(2n * pay) - vpay('alice') - vpay('dave') - fees,
      carol: 2n * pay + dividend,
      dave: vpay('dave') + dividend,
      alice: vpay('alice') + dividend + fees,
    });
  }, 300_000);

  it('a colluding verifier cannot choose its seat: drawn with the others, it is outvoted, slashed and unpaid', async () => {
    workers.eve = await net.startWorker('eve', [
      '--policy',
      join(net.dir, 'dear.json'),
      '--report-seconds',
      '1',
      '--runtime',
      'docker',
      '--test-corrupt-result',
    ]);
    const names = ['alice', 'bob', 'carol', 'dave', 'eve'];
    const before = await balances(names);
    const eveBond = BigInt((await c.worker(addr.eve)).bond);
    const carolBond = BigInt((await c.worker(addr.carol)).bond);
    const leases = await disputeCarolsResult();
    const [carol, ...verifiers] = leases;
    expect(verifiers.map((v) => nameOf(v.worker)).sort()).toEqual(['alice', 'dave', 'eve']);
    const eve = verifiers.find((v) => nameOf(v.worker) === 'eve')!;
    expect(eve.resultDigest).not.toBe(carol.resultDigest);
    expect(eve.outcome).toMatch(/outvoted/);
    expect(eve.workerPaid).toBe('0');
    expect(carol.outcome).toMatch(/decided for the worker: 2 of 3 verifiers/);
    const eveNow = await c.worker(addr.eve);
    expect(BigInt(eveNow.bond)).toBe(eveBond - (eveBond * 2_000n) / 10_000n);
    expect(eveNow.record.disputesLost).toBe('1');
    expect(BigInt((await c.worker(addr.carol)).bond)).toBe(carolBond);
    const pay = BigInt(carol.workerPaid);
    const fees = leases.filter((l) => l !== eve).reduce((s, l) => s + BigInt(l.feePaid), 0n);
    const vpay = (who: string): bigint => BigInt(verifiers.find((v) => nameOf(v.worker) === who)!.workerPaid);
    const after = await balances(names);
    expect(Object.fromEntries(names.map((n) => [n, after[n] - before[n]]).filter(([, d]) => d !== 0n))).toEqual({
      bob: -(2n * pay) - vpay('alice') - vpay('dave') - fees,
      carol: 2n * pay + dividend,
      dave: vpay('dave') + dividend,
      alice: vpay('alice') + dividend + fees,
    });
    expect(workers.eve.log()).toMatch(/drawn by the chain to verify lease 0/);
  }, 300_000);
});
