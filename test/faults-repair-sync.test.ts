import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readConfig } from '../src/node/index.ts';
import type { StateSyncAnswer, StatusAnswer } from '../src/sdk/index.ts';
import { BankWorkload } from './faults/bank.ts';
import { checkRun, formatVerdict } from './faults/checker.ts';
import { type FaultCluster, startFaultCluster } from './faults/cluster.ts';
import { collectFinalState } from './faults/finalState.ts';
import { readHistory } from './faults/history.ts';
import { Operator } from './faults/run.ts';
import { openHistory } from './faults/workload.ts';
import { hostsSupported, listNamespaces, PREFIX, sweepStaleHosts } from './helpers/hosts.ts';
import { until } from './helpers/netNodes.ts';

// Issue 16, docs/RELIABILITY.md "What to do next" 5: the fault run's operator repairs a bookkeeper
// that refuses its damaged store by state sync from a trust point read off a live bookkeeper, not
// by a replay from genesis. Four bookkeepers on hosts of their own taking a snapshot every 50
// heights, the bank workload recording a history; bk2's newest table is cut once the chain passed a
// snapshot. The node refuses it (exit code 4), the operator moves the data aside and starts it with
// --trust-height/--trust-hash: it reports a join from a snapshot, commits again, and the checker
// finds nothing wrong with the history against the final state (transactions read from a node that
// holds every block, not from a node holding none below its snapshot). Then bk2 is damaged again
// with no snapshot to join from: the operator removes the saved trust point and replays.

process.env.ZEUS_KEYSTORE_FAST_KDF = '1';
const SNAPSHOT_INTERVAL = 50;

type SyncStatus = StatusAnswer & { stateSync: StateSyncAnswer };

describe.skipIf(!hostsSupported())('the operator repairs a damaged store by state sync', () => {
  const dir = mkdtempSync(join(tmpdir(), 'zeus-faults-repair-'));
  let c: FaultCluster | undefined;
  let bank: BankWorkload | undefined;
  afterAll(async () => {
    await bank?.stop().catch(() => undefined);
    await c?.close();
    if (!process.env.ZEUS_KEEP_TEST_DIR) rmSync(dir, { recursive: true, force: true });
  });

  it('bk2 refuses its store past a snapshot height; it joins from a trust point, commits again, the verdict is valid', async () => {
    sweepStaleHosts();
    const t0 = Date.now();
    c = await startFaultCluster({ dir: join(dir, 'net'), name: 'frs', seed: 5, workers: 0, snapshotInterval: SNAPSHOT_INTERVAL });
    const cl = c;
    const nm = cl.nemesis;
    const agent = cl.agents[0];
    const status = (i: number): Promise<SyncStatus> => agent.get<SyncStatus>(cl.bookkeepers[i].api, '/status');
    const historyFile = join(dir, 'history.jsonl');
    const writer = await openHistory(historyFile, { chainId: cl.chainId, seed: 5, ep: cl.endpoint(0), addresses: cl.accounts.map((a) => a.address) });
    bank = new BankWorkload({
      chainId: cl.chainId,
      accounts: cl.accounts,
      clients: cl.bookkeepers.map((_, i) => cl.endpoint(i)),
      seed: 5,
      opsPerSecond: 6,
      history: writer,
    });
    await bank.start();
    const op = new Operator(cl, dir);

    // A table file to cut: LevelDB writes its log into one when it opens the store again.
    await nm.kill(2);
    await nm.start(2);
    await until(`a snapshot past height ${SNAPSHOT_INTERVAL} on every other bookkeeper`, 60_000, async () => {
      const s = await Promise.all([0, 1, 3].map(status));
      return s.every((x) => x.height > SNAPSHOT_INTERVAL + 5 && x.stateSync.snapshots.length > 0) ? true : undefined;
    });
    await nm.kill(2);
    const cut = nm.corruptStore(2, 'truncate-table');
    expect(cut.file).toMatch(/\.ldb$/);

    const t = Date.now();
    await op.startOrRepair(2);
    const repairMs = Date.now() - t;
    const notes = readFileSync(join(dir, 'faults.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { note: string; repair?: string; trust?: { height: number; hash: string }; startMs?: number });
    const repaired = notes.find((x) => x.repair !== undefined);
    expect(repaired?.repair, JSON.stringify(notes, null, 2)).toBe('state-sync');
    expect(op.repairs).toBe(1);
    expect(op.syncRepairs).toBe(1);
    const js = (await status(2)).stateSync;
    console.log(
      `[faults-repair-sync] bk2 repaired in ${repairMs} ms (start ${repaired?.startMs} ms) from trust point ${repaired?.trust?.height}: ` +
        `${JSON.stringify({ joined: js.joined, restoredFrom: js.restoredFrom, blocksExecuted: js.blocksExecuted, restoreMs: js.restoreMs, lowestBlock: js.lowestBlock })}`,
    );
    expect(js.joined).toBe('snapshot');
    expect(js.trustHeight).toBe(repaired?.trust?.height);
    expect(js.restoredFrom).toBeGreaterThanOrEqual(SNAPSHOT_INTERVAL);
    expect(js.blocksExecuted).toBeLessThan(SNAPSHOT_INTERVAL);

    // It commits again, with the others: past the height every node is at now.
    const now = Math.max(...(await Promise.all([0, 1, 3].map(status))).map((s) => s.height));
    await until('bk2 to commit past the others', 30_000, async () => ((await status(2)).height > now + 3 ? true : undefined), 250);

    // The fallback: with no snapshot to join from (here: bk2 is started with a snapshot interval
    // beyond the chain, which its start saves in config.json, where the operator reads it), the
    // operator replays from genesis, and first removes the trust point the last repair saved in
    // config.json, or the empty store would join from it again.
    // The restored store is a new LevelDB with only its log: opened again, it has a table to cut.
    await nm.kill(2);
    await nm.start(2);
    await nm.kill(2);
    const cut2 = nm.corruptStore(2, 'truncate-table');
    expect(cut2.file).toMatch(/\.ldb$/);
    expect(readConfig(cl.bookkeepers[2].home).stateSync?.trustHeight).toBe(repaired?.trust?.height);
    const args = cl.bookkeepers[2].args;
    args[args.indexOf('--snapshot-interval') + 1] = '1000000';
    await op.startOrRepair(2);
    expect(op.repairs).toBe(2);
    expect(op.syncRepairs).toBe(1);
    expect(readConfig(cl.bookkeepers[2].home).stateSync).toBeUndefined();
    const replayed = (await status(2)).stateSync;
    console.log(
      `[faults-repair-sync] bk2 damaged again, no snapshot to join from: ${JSON.stringify({ joined: replayed.joined, lowestBlock: replayed.lowestBlock })}`,
    );
    expect(replayed.joined).toBe('genesis');
    const now2 = Math.max(...(await Promise.all([0, 1, 3].map(status))).map((s) => s.height));
    await until('bk2 to commit past the others after its replay', 30_000, async () => ((await status(2)).height > now2 + 3 ? true : undefined), 250);

    await bank.stop();
    bank = undefined;
    writer.close();
    const history = readHistory(historyFile);
    const final = await collectFinalState({
      get: (node, path) => agent.get(node, path),
      nodes: cl.bookkeepers.map((b) => b.api),
      history,
      file: join(dir, 'final.json'),
      settleMs: 30_000,
    });
    // The transactions come from a bookkeeper that holds the chain from its first block.
    expect(final.nodes.find((n) => n.node === final.txsFrom)?.blocks[0]?.height).toBe(1);
    const verdict = checkRun(history, final, { heals: [{ fault: 'disk', healedAt: t + repairMs }] });
    console.log(`[faults-repair-sync] ${formatVerdict(verdict)} (${((Date.now() - t0) / 1000).toFixed(1)} s in all)`);
    expect(verdict.violations, JSON.stringify(verdict.violations.slice(0, 5), null, 2)).toEqual([]);
    expect(verdict.valid).toBe(true);
    expect(verdict.counts.all.ok).toBeGreaterThan(20);

    await c.close();
    c = undefined;
    expect(listNamespaces().filter((n) => n.startsWith(`${PREFIX}frs`))).toEqual([]);
  }, 240_000);
});
