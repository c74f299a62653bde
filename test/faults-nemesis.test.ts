import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { proposerIndex } from '../src/consensus/index.ts';
import type { BlocksAnswer, BookkeepersAnswer } from '../src/sdk/index.ts';
import { compareChains, type FaultNet, heights, startFaultNet, statusOf } from './faults/nemesis.ts';
import { hostsSupported, listNamespaces, PREFIX, sweepStaleHosts } from './helpers/hosts.ts';
import { until } from './helpers/netNodes.ts';
import { sleep } from './helpers/processes.ts';

// Issue 16, the nemesis (test/faults/nemesis.ts) on real processes: four bookkeepers on four hosts
// (network namespaces) and a client host reading their /status. Each network fault is applied
// alone and what it does is measured in heights: 2|2 halves, 3|1, a bridge node, a one-way drop,
// a paused proposer, two paused nodes, a 1 Mbit/s link, and a latency relay. At the end every
// common height has one block hash on every node. Clock skew and a damaged store are in
// test/faults-nemesis-node.test.ts.

/** How long each fault is held while heights are measured. */
const HOLD_MS = 3_000;
/** Time for what was in flight when a fault began (a block whose votes were already out). */
const SETTLE_MS = 1_000;
/** Commits resume (or a node catches up) within this after a fault heals. */
const RESUME_BOUND_MS = 30_000;

process.env.ZEUS_KEYSTORE_FAST_KDF = '1';
const runNamespaces = (run: string): string[] => listNamespaces().filter((n) => n.startsWith(`${PREFIX}${run}-`));
const diff = (a: number[], b: number[]): number[] => b.map((h, i) => h - a[i]);
const report: string[] = [];
const say = (line: string): void => {
  report.push(line);
  console.log(`[faults-nemesis] ${line}`);
};

describe.skipIf(!hostsSupported())('the nemesis on four bookkeepers on four hosts', () => {
  const dir = mkdtempSync(join(tmpdir(), 'zeus-nemesis-'));
  let f: FaultNet | undefined;
  let run = '';

  beforeAll(async () => {
    sweepStaleHosts();
    f = await startFaultNet({ dir, name: 'nem' });
    run = f.net.run;
  });
  afterAll(async () => {
    await f?.close();
    if (run) expect(runNamespaces(run)).toEqual([]);
    console.log(report.join('\n'));
    if (!process.env.ZEUS_KEEP_TEST_DIR) rmSync(dir, { recursive: true, force: true });
  });

  /** Heights across a hold of `ms` (after `settle`): before, after and the difference per node. */
  const hold = async (ms = HOLD_MS, settle = SETTLE_MS): Promise<{ a: number[]; b: number[]; d: number[] }> => {
    const { client, nodes } = f!;
    await sleep(settle);
    const a = await heights(client, nodes);
    await sleep(ms);
    const b = await heights(client, nodes);
    return { a, b, d: diff(a, b) };
  };
  /** ms until every node in `which` is above `above` (commits resumed / caught up). */
  const resumed = async (what: string, above: number, which = f!.nodes.map((_, i) => i)): Promise<number> => {
    const t = Date.now();
    await until(what, RESUME_BOUND_MS, async () => {
      const hs = await heights(f!.client, f!.nodes);
      return which.every((i) => hs[i] > above) ? true : undefined;
    });
    return Date.now() - t;
  };

  /**
   * ms until every node is connected to all three others again. A heal restores the links, but a
   * connection that died during the fault is redialed with a backoff (up to 5 s): a node that has
   * caught up may still hear the chain through one peer only. The next fault must start from a
   * whole mesh, or it cuts more than it says (a one-way drop of that one peer deafens the node).
   */
  const meshed = async (what: string): Promise<number> => {
    const t = Date.now();
    await until(what, RESUME_BOUND_MS, async () => {
      const all = await Promise.all(f!.nodes.map((n) => statusOf(f!.client, n)));
      return all.every((st) => st && 'peers' in st.consensus && st.consensus.peers.filter((p) => p.connected).length >= f!.nodes.length - 1) ? true : undefined;
    });
    return Date.now() - t;
  };

  it('partitions, pauses, a capped link and a latency relay each do what they say; no fork', async () => {
    const { client, nodes, nemesis, net } = f!;
    const all = [0, 1, 2, 3];
    await until('height 5 on every node', 60_000, async () => ((await heights(client, nodes)).every((h) => h >= 5) ? true : undefined));
    const base = await hold(3_000, 0);
    const rate = Math.min(...base.d) / 3;
    say(`baseline: ${base.d.join('/')} blocks in 3 s on bk0..bk3 (${rate.toFixed(1)} blocks/s)`);
    expect(Math.min(...base.d)).toBeGreaterThan(0);

    // 2|2: neither half has the 3 votes of 4 it needs. No commits on either side, no fork.
    await nemesis.halves();
    const halves = await hold();
    say(`2|2 partition: heights ${halves.a.join('/')} -> ${halves.b.join('/')} in ${HOLD_MS} ms`);
    expect(halves.d).toEqual([0, 0, 0, 0]);
    expect((await compareChains(client, nodes)).forks).toEqual([]);
    await nemesis.heal();
    const afterHalves = await resumed('commits after the 2|2 heal', Math.max(...halves.b) + 1);
    say(`  healed: commits resumed on all four within ${afterHalves} ms`);
    await meshed('the mesh after the 2|2 heal');

    // 3|1: the three keep committing, the isolated one stands still, then catches up.
    await nemesis.isolate(3);
    const iso = await hold();
    say(`3|1 partition (bk3 alone): +${iso.d.join('/+')} blocks in ${HOLD_MS} ms`);
    for (const i of [0, 1, 2]) expect(iso.d[i]).toBeGreaterThan(0);
    expect(iso.d[3]).toBe(0);
    await nemesis.heal();
    const target = Math.max(...(await heights(client, nodes)));
    const catchUp = await resumed('bk3 to catch up after the 3|1 heal', target - 1, [3]);
    say(`  healed: bk3 caught up ${target - iso.b[3]} blocks in ${catchUp} ms`);
    await meshed('the mesh after the 3|1 heal');

    // A bridge: bk1 and {bk2, bk3} do not hear each other, bk0 hears both. {bk0, bk2, bk3} is a
    // quorum that hears itself whole, so commits go on; bk1 hears the chain only through bk0.
    await nemesis.bridge(0, [1], [2, 3]);
    const br = await hold();
    say(`bridge (bk0 between bk1 | bk2,bk3): +${br.d.join('/+')} blocks in ${HOLD_MS} ms`);
    for (const i of [0, 2, 3]) expect(br.d[i]).toBeGreaterThan(0);
    await nemesis.heal();
    await resumed('every node after the bridge heal', Math.max(...br.b), all);
    say(`  healed: every node connected to the three others again within ${await meshed('the mesh after the bridge heal')} ms`);

    // One way: bk1 no longer hears bk0, bk0 still hears bk1 (its SYN-ACKs, its data… once the
    // connection is up). Three of the four still hear each other both ways.
    await nemesis.dropOneWay(0, 1);
    const ow = await hold();
    say(`one-way drop (bk1 does not hear bk0): +${ow.d.join('/+')} blocks in ${HOLD_MS} ms`);
    for (const i of [1, 2, 3]) expect(ow.d[i]).toBeGreaterThan(0);
    await nemesis.heal();
    await resumed('every node after the one-way heal', Math.max(...ow.b), all);
    await meshed('the mesh after the one-way heal');

    // Pause of the proposer of the next height: its rounds time out, the next proposer takes them.
    const s0 = await statusOf(client, nodes[0]);
    if (!s0) throw new Error('bk0 does not answer');
    const set = (await client.get<BookkeepersAnswer>(nodes[0].api, '/bookkeepers')).set;
    const keys = await Promise.all(nodes.map(async (n) => (await statusOf(client, n))?.bookkeeper));
    const next = proposerIndex(s0.height + 2, 0, set.length);
    const victim = keys.indexOf(set[next]);
    expect(victim).toBeGreaterThanOrEqual(0);
    await nemesis.pause(victim);
    // After the settle: a block it proposed just before it stopped may still commit.
    const pp = await hold();
    const others = all.filter((i) => i !== victim);
    say(
      `pause of the proposer of height ${s0.height + 2} (${nodes[victim].name}): +${pp.d.join('/+')} blocks in ${HOLD_MS} ms (it answers nothing: ${pp.b[victim]})`,
    );
    for (const i of others) expect(pp.d[i]).toBeGreaterThan(0);
    expect(pp.b[victim]).toBe(-1);
    // Its turns were taken by the next in the ring (round 1): no block of the hold is its own.
    const o = others[0];
    const held = (await client.get<BlocksAnswer>(nodes[o].api, `/blocks?from=${pp.b[o]}&limit=${Math.max(1, Math.min(100, pp.d[o]))}`)).blocks;
    const byVictim = held.filter((b) => b.proposer === set[next]).length;
    const turns = held.filter((b) => proposerIndex(b.height, 0, set.length) === next).length;
    say(`  ${held.length} blocks committed while paused, ${turns} at its turn, ${byVictim} proposed by it`);
    expect(byVictim).toBe(0);
    if (held.length >= set.length) expect(turns).toBeGreaterThan(0);
    await nemesis.resume(victim);
    const back = await resumed(`${nodes[victim].name} to catch up after its resume`, Math.max(...pp.b) - 1, [victim]);
    say(`  resumed: ${nodes[victim].name} caught up within ${back} ms`);
    await meshed(`the mesh after ${nodes[victim].name}'s resume`);

    // Pause of two: 2 of 4 cannot commit. Commits stop and resume after the resume.
    await nemesis.pause(2);
    await nemesis.pause(3);
    const p2 = await hold();
    say(`pause of bk2 and bk3: +${p2.d[0]}/+${p2.d[1]} blocks on bk0/bk1 in ${HOLD_MS} ms`);
    expect([p2.d[0], p2.d[1]]).toEqual([0, 0]);
    await nemesis.resume(2);
    await nemesis.resume(3);
    const afterP2 = await resumed('commits after resuming two', Math.max(...p2.b) + 1);
    say(`  resumed: commits on all four within ${afterP2} ms`);
    await meshed('the mesh after resuming two');

    // A 1 Mbit/s link on bk0's host, both ways: what the client downloads from bk0 comes at that
    // rate (it is measured), and consensus goes on over it.
    const download = async (): Promise<{ kbit: number; bytes: number; ms: number }> => {
      const t = Date.now();
      let bytes = 0;
      // Enough bytes that the bucket's 32 KiB burst is a small part of them.
      for (let k = 0; k < 40 && bytes < 400_000; k++)
        bytes += (await client.api(nodes[0].api, 'GET', '/blocks?limit=100', undefined, { timeoutMs: 20_000 })).text.length;
      const ms = Date.now() - t;
      return { kbit: (bytes * 8) / ms, bytes, ms };
    };
    const free = await download();
    await nemesis.capBandwidth(0, '1mbit');
    const capped = await download();
    const bw = await hold(HOLD_MS, 0);
    say(
      `1 Mbit/s on bk0's link: a ${capped.bytes}-byte download from bk0 at ${capped.kbit.toFixed(0)} kbit/s (${free.kbit.toFixed(0)} kbit/s uncapped); +${bw.d.join('/+')} blocks in ${HOLD_MS} ms`,
    );
    expect(capped.kbit).toBeLessThan(1_200);
    expect(free.kbit).toBeGreaterThan(2 * capped.kbit);
    expect(Math.min(...bw.d)).toBeGreaterThan(0);
    await nemesis.clearBandwidth(0);

    // Latency: a relay on the client host, 150 ± 20 ms each way, in front of bk0's API.
    const clientHost = net.hosts[4];
    const relay = await nemesis.relay({ on: clientHost, listenPort: 18_657, target: `${nodes[0].ip}:26657`, delayMs: 150, jitterMs: 20 });
    const timeGet = async (base: string): Promise<number> => {
      const t = performance.now();
      const r = await client.api(base, 'GET', '/status');
      expect(r.status).toBe(200);
      return performance.now() - t;
    };
    const median = (xs: number[]): number => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
    const direct: number[] = [];
    const relayed: number[] = [];
    for (let k = 0; k < 5; k++) {
      direct.push(await timeGet(nodes[0].api));
      relayed.push(await timeGet(`http://${relay.address}`));
    }
    const added = median(relayed) - median(direct);
    say(
      `relay 150 ± 20 ms each way: GET /status ${median(direct).toFixed(0)} ms direct, ${median(relayed).toFixed(0)} ms through it (+${added.toFixed(0)} ms)`,
    );
    // A request and its answer each wait 130..170 ms.
    expect(added).toBeGreaterThan(2 * 130 - 20);
    expect(added).toBeLessThan(2 * 170 + 400);
    await relay.stop();

    // No fork: one block hash per height on every node.
    await resumed('every node after the last fault', Math.max(...(await heights(client, nodes))) - 1, all);
    const cmp = await compareChains(client, nodes);
    say(`no fork: heights ${cmp.heights.join('/')}, ${cmp.common} common heights compared, ${cmp.forks.length} disagreeing`);
    expect(cmp.forks).toEqual([]);
    expect(cmp.unreadable).toEqual([]);
    expect(cmp.common).toBeGreaterThan(20);

    // Every fault and heal is in the nemesis log, in order.
    const logged = readFileSync(join(dir, 'nemesis.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { kind: string; at: number });
    expect(logged.map((r) => r.kind)).toEqual([
      'partition',
      'heal',
      'partition',
      'heal',
      'bridge',
      'heal',
      'drop-one-way',
      'heal',
      'pause',
      'resume',
      'pause',
      'pause',
      'resume',
      'resume',
      'bandwidth',
      'bandwidth-clear',
      'relay',
      'relay-stop',
    ]);
  }, 180_000);
});
