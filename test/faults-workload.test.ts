import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addressFromPublicKey, encodeAddress, type KeyPair } from '../src/crypto/index.ts';
import { INNER_CHAINS, validateGenesis, ZNC_UNIT } from '../src/ledger/index.ts';
import type { TaskDetailAnswer } from '../src/sdk/index.ts';
import { bankAccounts, BankWorkload, intendedTransfers } from './faults/bank.ts';
import { FAULT_APP, type FaultCluster, startFaultCluster } from './faults/cluster.ts';
import { readHistory } from './faults/history.ts';
import { intendedMarketOps, MarketWorkload } from './faults/market.ts';
import { httpVia, openHistory } from './faults/workload.ts';
import { hostsSupported, sweepStaleHosts } from './helpers/hosts.ts';
import { ceremonyInProcess } from './helpers/netJoin.ts';
import { P2P_PORT, until } from './helpers/netNodes.ts';
import { sleep } from './helpers/processes.ts';
import { checkBankAgainstNodes } from './helpers/workloadCheck.ts';

// The workloads of a fault run (issue 16, test/faults/bank.ts and market.ts), shown to run and to
// record a history that matches what the nodes hold. No faults here: on four bookkeepers, each on a
// host of its own (test/helpers/hosts.ts), four bank clients (one per bookkeeper, from two client
// hosts) transfer ZNC among 54 accounts on the nine inner chains for 30 s while a user posts wasm
// tasks (and cancels one now and then) that a worker on its own host, beside its own full node, runs.
// The check reads the nodes directly — every block's transfers, every account, the supply — not
// the checker of the fault runs (checker.ts), which it must not depend on to be believed.

process.env.ZEUS_KEYSTORE_FAST_KDF = '1';
const SEED = 16;

describe('workload intentions and funding (no processes)', () => {
  it('derives 54 accounts from the seed, six on each inner chain, the same ones for the same seed', () => {
    const a = bankAccounts({ seed: SEED });
    expect(a).toHaveLength(6 * INNER_CHAINS);
    for (let c = 1; c <= INNER_CHAINS; c++) expect(a.filter((x) => x.chain === c)).toHaveLength(6);
    expect(new Set(a.map((x) => x.address)).size).toBe(a.length);
    expect(bankAccounts({ seed: SEED }).map((x) => x.address)).toEqual(a.map((x) => x.address));
    expect(bankAccounts({ seed: SEED + 1 }).map((x) => x.address)).not.toEqual(a.map((x) => x.address));
  });

  it("the seed fixes every client's intended operations; clients and seeds differ", () => {
    const all = bankAccounts({ seed: SEED });
    const take = (seed: number, client: number) => {
      const g = intendedTransfers({ seed, client, name: `c${client}`, own: all.filter((_, i) => i % 4 === client), all, maxAmount: ZNC_UNIT });
      return Array.from({ length: 200 }, () => {
        const t = g.next().value!;
        return `${t.op} ${t.from.address}>${t.to.address} ${t.amount}`;
      });
    };
    expect(take(SEED, 0)).toEqual(take(SEED, 0));
    expect(take(SEED, 0)).not.toEqual(take(SEED, 1));
    expect(take(SEED, 0)).not.toEqual(take(SEED + 1, 0));
    const g = intendedTransfers({ seed: SEED, client: 2, name: 'c2', own: all.filter((_, i) => i % 4 === 2), all, maxAmount: ZNC_UNIT });
    const ts = Array.from({ length: 500 }, () => g.next().value!);
    expect(ts.every((t) => t.from !== t.to && t.amount >= 1n && t.amount <= ZNC_UNIT && all.indexOf(t.from) % 4 === 2)).toBe(true);
    // Most pairs cross inner chains (8 in 9 at random): those settle by receipt.
    expect(ts.filter((t) => t.from.chain !== t.to.chain).length).toBeGreaterThan(400);
    const m = (seed: number) => {
      const it = intendedMarketOps({ seed, client: 0, name: 'm', cancelChance: 0.25 });
      return Array.from({ length: 50 }, () => it.next().value!.kind);
    };
    expect(m(SEED)).toEqual(m(SEED));
    expect(m(SEED).filter((k) => k === 'cancel-task').length).toBeGreaterThan(3);
  });

  it("ceremonyInProcess gives the market share's given holders their amount at genesis", () => {
    const dir = mkdtempSync(join(tmpdir(), 'zeus-wl-genesis-'));
    try {
      const holders = bankAccounts({ seed: SEED, perChain: 2 }).map((a) => a.address);
      const c = ceremonyInProcess({
        dir,
        operators: 4,
        chainId: 'wl-genesis',
        passphrase: 'pw',
        p2p: (i) => `/ip4/10.0.0.${i + 1}/tcp/${P2P_PORT}`,
        holders,
        holderAmount: 5n * ZNC_UNIT,
      });
      const g = validateGenesis(JSON.parse(readFileSync(c.genesisFile, 'utf8')));
      const given = new Map(g.allocations.flatMap((a) => a.holders.map((h) => [h.address, BigInt(h.amount)] as const)));
      for (const h of holders) expect(given.get(h)).toBe(5n * ZNC_UNIT);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

const BLOCK_MS = 500;
const RUN_MS = 30_000;

describe.skipIf(!hostsSupported())('the bank and market workloads on four bookkeepers on their own hosts', () => {
  const dir = mkdtempSync(join(tmpdir(), 'zeus-faults-workload-'));
  let c: FaultCluster | undefined;
  const t0 = Date.now();
  const marks: string[] = [];
  const mark = (what: string): void => void marks.push(`${((Date.now() - t0) / 1000).toFixed(1)} s ${what}`);

  beforeAll(() => sweepStaleHosts());

  afterAll(async () => {
    console.log(`workloads on hosts, steps:\n  ${marks.join('\n  ')}`);
    await c?.close();
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('every ok transfer is in a block once, balances are the header plus the committed transfers, supply is exact; tasks complete', async () => {
    // The network every fault run uses (test/faults/cluster.ts), here with one worker and no fault:
    // four bookkeepers, the worker (carol) beside its own full node, two client hosts, the app
    // (a WASI module of seconds of work: no Docker anywhere) published and the 54 accounts funded.
    c = await startFaultCluster({ dir, name: 'wl', seed: SEED, workers: 1, blockTimeMs: BLOCK_MS, log: mark });
    const { chainId, accounts, endpoint: ep } = c;
    const bk = c.bookkeepers;
    const a0 = c.agents[0];
    const worker = c.workers[0];
    const carol = worker.address;
    const addressOf = (k: KeyPair): string => encodeAddress(addressFromPublicKey(k.publicKey));

    // One history for both workloads; its header: every bank account's balance and the user's.
    const bob = c.user;
    const file = join(dir, 'history.jsonl');
    const writer = await openHistory(file, { chainId, seed: SEED, ep: ep(0), addresses: [...accounts.map((a) => a.address), addressOf(bob)] });
    const bank = new BankWorkload({ chainId, accounts, clients: bk.map((_, i) => ep(i)), seed: SEED, opsPerSecond: 8, history: writer });
    const market = new MarketWorkload({
      chainId,
      clients: [{ ...ep(1), user: bob }],
      task: { app: FAULT_APP, version: '1', runtime: 'wasm' },
      seed: SEED,
      opsPerMinute: 20,
      maxTasks: 4,
      history: writer,
    });
    await Promise.all([bank.start(), market.start()]);
    mark('workloads started');
    await sleep(RUN_MS);
    const [bankCounts, marketRun] = await Promise.all([bank.stop(), market.stop()]);
    writer.close();
    mark(`workloads stopped: bank ${JSON.stringify(bankCounts)}, market ${JSON.stringify({ ...marketRun, tasks: marketRun.tasks.length })}`);

    // The history holds every operation once, as the workloads counted them.
    const history = readHistory(file);
    const bankRecs = history.records.filter((r) => r.kind === 'transfer');
    expect(bankRecs).toHaveLength(bankCounts.invoked);
    expect(history.records).toHaveLength(bankCounts.invoked + marketRun.invoked);
    expect(new Set(history.records.map((r) => r.op)).size).toBe(history.records.length);
    // 8 ops/s asked for 30 s (each client waits for one to commit before the next), nothing failing: every transfer ok, from all four clients.
    expect(bankCounts.ok, JSON.stringify(bankCounts)).toBe(bankCounts.invoked);
    expect(bankCounts.invoked).toBeGreaterThan(60);
    expect(Object.values(bankCounts.clients).every((c) => c.ok > 10)).toBe(true);

    // What the nodes hold, read from them: see checkBankAgainstNodes.
    const { top } = await checkBankAgainstNodes(
      (n) => httpVia(ep(bk.findIndex((x) => x.api === n)).agent),
      bk.map((n) => n.api),
      history,
    );
    mark(`checked ${bankRecs.length} transfers over ${top} heights on ${bk.length} nodes`);

    // The market: every task posted ok is on the chain; those cancelled ok are cancelled; the others
    // run on the worker and end done, their lease settled.
    expect(marketRun.tasks.length).toBeGreaterThan(0);
    const posted = marketRun.tasks.filter((t) => t.outcome === 'ok');
    expect(posted).toHaveLength(marketRun.tasks.length);
    let seen: TaskDetailAnswer[] = [];
    const ended = (t: TaskDetailAnswer): boolean =>
      ['cancelled', 'done', 'expired'].includes(t.state) && t.leases.every((l) => ['settled', 'cancelled', 'failed'].includes(l.state));
    const finals = await until(
      'every task posted to end',
      40_000,
      async () => {
        seen = await Promise.all(posted.map((t) => a0.get<TaskDetailAnswer>(bk[1].api, `/tasks/${t.id}`)));
        return seen.every(ended) ? seen : undefined;
      },
      500,
    ).catch((e: unknown) => {
      const states = seen.map((t) => ({ id: t.id.slice(0, 12), state: t.state, leases: t.leases.map((l) => l.state), escrow: t.escrow }));
      throw new Error(`${(e as Error).message}: ${JSON.stringify(states)}\nworker:\n${worker.process.log().slice(-3000)}`);
    });
    for (const [i, t] of posted.entries()) {
      expect(finals[i].owner).toBe(addressOf(bob));
      if (t.cancel?.outcome === 'ok') expect(finals[i].state, t.id).toBe('cancelled');
      if (finals[i].state === 'done') expect(finals[i].leases[0].worker).toBe(carol);
      expect(BigInt(finals[i].escrow), t.id).toBe(0n);
    }
    const done = finals.filter((t) => t.state === 'done');
    expect(done.length).toBeGreaterThan(0);
    // ~700,000 primes take the module seconds: the worker reported usage while it ran.
    expect(done.some((t) => t.leases[0].reports > 0)).toBe(true);
    const marketRecs = history.records.filter((r) => r.kind !== 'transfer');
    expect(marketRecs.filter((r) => r.kind === 'post-task').map((r) => r.task)).toEqual(marketRun.tasks.map((t) => t.id));
    mark(`market: ${finals.map((t) => `${t.state}${t.noBidReasons ? ` (no bid: ${JSON.stringify(t.noBidReasons)})` : ''}`).join(', ')}`);
  }, 170_000);
});
