import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BlocksAnswer, BookkeepersAnswer } from '../src/sdk/index.ts';
import { type CorruptMode, compareChains, type FaultNet, heights, startFaultNet, statusOf } from './faults/nemesis.ts';
import { hostsSupported, listNamespaces, PREFIX, sweepStaleHosts } from './helpers/hosts.ts';
import { until } from './helpers/netNodes.ts';
import { sleep } from './helpers/processes.ts';

// Issue 16, the nemesis's faults of one node on real processes (four bookkeepers on four hosts, a
// client host): its clock 30 s ahead and 30 s behind (libfaketime on a restart), and the last write
// of its LevelDB store damaged while it is down (a torn log record, a flipped byte in it, flipped
// bytes in its newest table, a truncated table). After each: the others went on, the node either
// refused to start with a clear message or caught up to blocks equal to the others', and at the
// end every common height has one block hash on every node.

const HOLD_MS = 6_000;
const RESUME_BOUND_MS = 30_000;
/** How far ahead of a validator's clock a proposed block's time may be (src/consensus/host.ts). */
const MAX_DRIFT_MS = 5_000;

process.env.ZEUS_KEYSTORE_FAST_KDF = '1';
const runNamespaces = (run: string): string[] => listNamespaces().filter((n) => n.startsWith(`${PREFIX}${run}-`));
const report: string[] = [];
const say = (line: string): void => {
  report.push(line);
  console.log(`[faults-nemesis-node] ${line}`);
};

describe.skipIf(!hostsSupported())("the nemesis on one node's clock and store, four bookkeepers on four hosts", () => {
  const dir = mkdtempSync(join(tmpdir(), 'zeus-nemnode-'));
  let f: FaultNet | undefined;
  let run = '';

  beforeAll(async () => {
    sweepStaleHosts();
    f = await startFaultNet({ dir, name: 'nemn' });
    run = f.net.run;
  });
  afterAll(async () => {
    await f?.close();
    if (run) expect(runNamespaces(run)).toEqual([]);
    console.log(report.join('\n'));
    if (!process.env.ZEUS_KEEP_TEST_DIR) rmSync(dir, { recursive: true, force: true });
  });

  /** ms until node `i` is at or above the highest of the others' heights when called. */
  const catchUp = async (i: number, what: string, boundMs = RESUME_BOUND_MS): Promise<{ ms: number; target: number }> => {
    const t = Date.now();
    const target = Math.max(...(await heights(f!.client, f!.nodes)).filter((_, j) => j !== i));
    await until(what, boundMs, async () => ((await statusOf(f!.client, f!.nodes[i]))?.height ?? -1) >= target || undefined).catch((e: unknown) => {
      // What the node was doing is the finding: its own words, with the heights it was asked to reach.
      throw new Error(`${(e as Error).message} (target ${target}); ${f!.nodes[i].name}'s log ends:\n${f!.nodes[i].tail(40)}`);
    });
    return { ms: Date.now() - t, target };
  };

  /** Where each node's log ends now (to read what it writes from here on). */
  const logEnds = (): number[] => f!.nodes.map((n) => readFileSync(n.log).length);
  /**
   * How far in the future node `i` found the blocks it refused since `from` (its log offset): the
   * validator's "block … is timed N ms in the future: prevoting nil" lines. Against a skewed clock
   * they measure the skew itself, as Date.now() in the node sees it.
   */
  const futureBy = (i: number, from: number): number[] =>
    [
      ...readFileSync(f!.nodes[i].log)
        .subarray(from)
        .toString('utf8')
        .matchAll(/is timed (\d+) ms in the future: prevoting nil/g),
    ].map((m) => Number(m[1]));
  const median = (xs: number[]): number => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)] ?? Number.NaN;

  it('a bookkeeper 30 s ahead, then 30 s behind: the others go on, no block is stamped beyond the bound', async () => {
    const { client, nodes, nemesis } = f!;
    await until('height 5 on every node', 60_000, async () => ((await heights(client, nodes)).every((h) => h >= 5) ? true : undefined));
    const set = (await client.get<BookkeepersAnswer>(nodes[0].api, '/bookkeepers')).set;
    const key3 = (await statusOf(client, nodes[3]))?.bookkeeper;

    for (const offset of [30_000, -30_000]) {
      const ends = logEnds();
      await nemesis.skewClock(3, offset);
      const a = await heights(client, nodes);
      await sleep(HOLD_MS);
      const b = await heights(client, nodes);
      const now = Date.now();
      // The blocks the others committed meanwhile: who proposed them, and when they say they were made.
      const held = (await client.get<BlocksAnswer>(nodes[0].api, `/blocks?from=${b[0]}&limit=${Math.max(1, Math.min(100, b[0] - a[0]))}`)).blocks;
      const own = held.filter((x) => x.proposer === key3).length;
      const turns = held.filter((x) => set[x.height % set.length] === key3).length;
      const latest = Math.max(...held.map((x) => x.time - now));
      // Ahead: the others refuse bk3's blocks, stamped by its clock. Behind: bk3 refuses theirs.
      const refused = offset > 0 ? [0, 1, 2].flatMap((i) => futureBy(i, ends[i])) : futureBy(3, ends[3]);
      say(
        `clock ${offset > 0 ? '+' : ''}${offset / 1000} s on bk3: heights ${a.join('/')} -> ${b.join('/')} in ${HOLD_MS} ms; ` +
          `${held.length} blocks, ${turns} at bk3's turn, ${own} proposed by bk3; newest block time ${latest} ms from the true clock; ` +
          `${refused.length} prevotes nil for blocks from the future by ${offset > 0 ? 'bk0..bk2' : 'bk3'} (median ${median(refused)} ms ahead)`,
      );
      // Node 24 under libfaketime sees the skew: the refusals measure it (less the time a block travels).
      expect(refused.length).toBeGreaterThan(0);
      expect(median(refused)).toBeGreaterThan(Math.abs(offset) - 3_000);
      expect(median(refused)).toBeLessThan(Math.abs(offset) + 1_000);
      for (const i of [0, 1, 2]) expect(b[i] - a[i]).toBeGreaterThan(0);
      // No block is stamped beyond what a validator's own clock allows.
      expect(latest).toBeLessThanOrEqual(MAX_DRIFT_MS);
      // Ahead, its blocks were refused: its turns went to the next proposer.
      if (offset > 0) expect(own).toBe(0);
    }
    await nemesis.skewClock(3, 0);
    const back = await catchUp(3, 'bk3 on the true clock to catch up');
    say(`bk3 on the true clock again: caught up to ${back.target} in ${back.ms} ms`);
    const cmp = await compareChains(client, nodes);
    expect(cmp.forks).toEqual([]);
  }, 120_000);

  it('a damaged store tail: the node refuses to start with a clear message, or catches up to the same blocks', async () => {
    const { client, nodes, nemesis } = f!;
    const modes: CorruptMode[] = ['truncate-log', 'flip-log', 'flip-table', 'truncate-table'];
    /** Damage the node noticed: a refusal to start, or blocks it will not give. */
    let noticed = 0;
    for (const mode of modes) {
      const was = (await heights(client, nodes))[2];
      await nemesis.kill(2);
      // The others go on while it is down: it has blocks to fetch when it is back.
      await sleep(1_000);
      const r = nemesis.corruptStore(2, mode);
      let outcome: string;
      try {
        await nemesis.start(2, 60_000);
        const at = (await statusOf(client, nodes[2]))?.height ?? -1;
        // Once, in a full suite run on the loaded machine, bk2 took more than 30 s to catch up after
        // flip-table (not seen again in a dozen runs alone; its log is printed if it happens again).
        const up = await catchUp(2, `bk2 to catch up after ${mode}`, 2 * RESUME_BOUND_MS);
        const cmp = await compareChains(client, nodes);
        outcome = `started at height ${at} (was ${was} when killed), caught up to ${up.target} in ${up.ms} ms; ${cmp.forks.length} heights disagree`;
        if (cmp.unreadable.length > 0) noticed++;
        if (cmp.unreadable.length > 0) outcome += `; it refuses to give ${cmp.unreadable.length} damaged block(s): ${cmp.unreadable[0].answer}`;
        expect(cmp.forks).toEqual([]);
        // A block its store finds damaged is not given out, and the answer says why.
        for (const u of cmp.unreadable) expect(u.answer).toMatch(/damaged/i);
      } catch (e) {
        const msg = (e as Error).message;
        if (!/exited .* before starting/.test(msg)) throw e;
        const said = nodes[2].tail(5);
        outcome = `refused to start: ${said.split('\n').at(-1)}`;
        noticed++;
        // A clear message names the store and what to do about it.
        expect(said).toMatch(/store/i);
        // The operator's remedy: move the damaged data away; the node replays from its peers.
        rmSync(join(nodes[2].home, 'data'), { recursive: true, force: true });
        await nemesis.start(2, 60_000);
        const up = await catchUp(2, `bk2 to resync after ${mode}`);
        outcome += `; with its data moved away it resynced to ${up.target} in ${up.ms} ms`;
      }
      say(
        `${mode} (${r.file.split('/').at(-1)}, ${r.sizeBefore} -> ${r.sizeAfter} bytes${r.flipped.length ? `, flipped at ${r.flipped[0]}` : ''}): ${outcome}`,
      );
    }
    // A truncated table cannot be read at all: that one, at least, the node must have refused.
    expect(noticed).toBeGreaterThan(0);
    // What the bookkeeper signed is kept apart from the chain's store (HOME/signer): neither the
    // damage nor the data moved away took it (the 60-minute run of seed 2026 saw a second proposal
    // signed when it lived in the store).
    for (const n of nodes) expect(existsSync(join(n.home, 'signer', 'consensus%2Fsigner')), n.home).toBe(true);
    const cmp = await compareChains(client, nodes);
    say(`no fork: heights ${cmp.heights.join('/')}, ${cmp.common} common heights, ${cmp.forks.length} disagreeing, ${cmp.unreadable.length} unreadable`);
    expect(cmp.forks).toEqual([]);
  }, 240_000);
});
