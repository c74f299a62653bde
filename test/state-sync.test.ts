import { randomBytes } from 'node:crypto';
import { copyFileSync, cpSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDevnet, stopDevnet, type DevnetInfo } from '../src/cli/devnet.ts';
import { addressFromPublicKey } from '../src/crypto/index.ts';
import { homePaths, readConfig, writeConfig } from '../src/node/index.ts';
import { ChainStore, LevelKvStore } from '../src/store/index.ts';
import { api, cleanup, freePort, loadDevKeys, signTransfer, sleep, waitFor, zeus, ZeusProcess, type StatusJson } from './helpers/processes.ts';

// State sync for late joiners against real processes on loopback: four bookkeepers take a
// snapshot every 20 heights (small chunks, so that every peer serves some); one of them lies, and
// serves its first chunks with a flipped byte; another prunes its old blocks. A fifth node joins
// from a trust point read off node0's API: it restores the newest snapshot at or below it, executes
// only the blocks after it, penalizes the liar and follows with the others' state roots. A sixth
// node joins without a trust point (replay from genesis) and executes every block, fetching the
// early ones from a node that still has them. A wrong trust hash is refused by name and leaves the
// home's store empty.

process.env.ZEUS_KEYSTORE_FAST_KDF = '1';
const dir = mkdtempSync(join(tmpdir(), 'zeus-statesync-'));
const INTERVAL = 20;
const SNAP = ['--snapshot-interval', String(INTERVAL), '--snapshot-keep', '6', '--snapshot-chunk-bytes', '1024'];
let net: DevnetInfo;

interface SyncStatus extends StatusJson {
  consensus: { peerId: string; synced: number };
  stateSync: {
    joined: string;
    restoredFrom?: number;
    trustHeight?: number;
    blocksExecuted?: number;
    restoreMs?: number;
    lowestBlock: number;
    snapshots: number[];
    penalizedPeers?: string[];
  };
}
const statusOf = async (url: string): Promise<SyncStatus> => (await api<SyncStatus>(url, 'GET', '/status')).json;
const block = async (url: string, h: number) => api<{ hash: string; segments: { stateRoot: string }[]; message?: string }>(url, 'GET', `/blocks/${h}`);

beforeAll(async () => {
  net = await startDevnet({
    dir,
    validators: 4,
    blockTimeMs: 100,
    nodeArgs: {
      node0: SNAP,
      // A liar of the other kind: snapshots of a wrong state (chunks consistent with its manifest, a root no
      // block has), taken more often, so that its snapshot is the newest at or below the trust height.
      // Kept for 320 heights (~30 s): it must still offer one at or below the trust height when the
      // joiner asks, after the refused start and the join's wait for peers, on a loaded machine.
      node1: ['--snapshot-interval', '5', '--snapshot-keep', '64', '--snapshot-chunk-bytes', '1024', '--test-lie-snapshot-state'],
      node2: [...SNAP, '--prune-keep-blocks', '30'],
      node3: [...SNAP, '--test-corrupt-snapshot-chunks', '3'],
    },
  });
}, 120_000);

afterAll(async () => {
  await cleanup();
  await stopDevnet(dir).catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
});

/** A home beside the devnet's: its genesis and dev keys, its own ports, following with a key outside the set. */
async function joinerHome(name: string, key: string, bootstrap: string[]): Promise<string> {
  const home = join(dir, name);
  const from = net.nodes[0].home;
  mkdirSync(home, { recursive: true, mode: 0o700 });
  cpSync(homePaths(from).keys, homePaths(home).keys, { recursive: true });
  copyFileSync(homePaths(from).genesis, homePaths(home).genesis);
  const c = readConfig(from);
  writeConfig(home, {
    ...c,
    api: { host: '127.0.0.1', port: await freePort() },
    bookkeeperKey: key,
    p2p: { listen: `/ip4/127.0.0.1/tcp/${await freePort()}`, bootstrap },
    ddn: { peers: [] },
    snapshots: { interval: 0, keep: 2 },
  });
  return home;
}

describe('state sync', () => {
  it('joins from a trust point with a snapshot, not a replay, despite a lying peer; a wrong trust hash is refused', async () => {
    const url0 = net.nodes[0].api;
    const keys = loadDevKeys(net.nodes[0].home, ['alice', 'bob']);
    const chainId = net.chainId;
    // Transfers while the chain grows past a few snapshots.
    const nonces = new Map<string, bigint>();
    let sending = true;
    let sent = 0;
    // Alice pays fresh addresses (each a new state entry: a state of many chunks, so every peer
    // is asked for some), and bob pays alice.
    const load = (async () => {
      while (sending) {
        for (const [from, to] of [
          ['alice', () => addressFromPublicKey(new Uint8Array(randomBytes(32)))],
          ['bob', () => keys.alice.address],
        ] as const) {
          for (let i = 0; i < 8; i++) {
            const nonce = nonces.get(from) ?? 0n;
            const t = signTransfer(keys[from], { chainId, to: to(), amount: 1000n + BigInt(i), nonce });
            const r = await api(url0, 'POST', '/txs', { tx: t.hex });
            if (r.status === 200 || r.status === 202) {
              nonces.set(from, nonce + 1n);
              sent++;
            }
          }
        }
        await sleep(150);
      }
    })();
    const target = 4 * INTERVAL + 15;
    await waitFor(async () => (await statusOf(url0)).height >= target, 90_000, `node0 to reach height ${target}`, 250);
    sending = false;
    await load;
    expect(sent).toBeGreaterThan(50);

    // The trust point: a committed block of node0, as an operator would read it.
    // A height with one of node1's (lying) snapshots above the honest one: H mod 20 at least 5.
    let H = (await statusOf(url0)).height;
    if (H % INTERVAL < 5) H -= (H % INTERVAL) + 1;
    const trustHash = (await block(url0, H)).json.hash;
    const S = Math.floor(H / INTERVAL) * INTERVAL;
    await waitFor(async () => (await statusOf(url0)).stateSync.snapshots.includes(S), 10_000, `node0's snapshot at ${S}`);
    const addrs = net.nodes.map((n) => `${n.p2p}/p2p/${n.peerId}`);
    const home = await joinerHome('joiner', 'dave', addrs);

    // A trust hash no peer's block has: a clear error, and nothing written in the store.
    const wrong = `${trustHash.slice(0, 63)}${trustHash.endsWith('0') ? '1' : '0'}`;
    const bad = new ZeusProcess(home, { args: ['--trust-height', String(H), '--trust-hash', wrong, '--no-console-build'] });
    await bad.exited;
    expect(bad.exit?.code).not.toBe(0);
    expect(bad.stderr + bad.stdout).toMatch(new RegExp(`trust hash ${wrong} matches no peer's block at height ${H}`));
    const kv = await LevelKvStore.open(homePaths(home).data);
    expect(await new ChainStore(kv).genesis()).toBeUndefined();
    await kv.close();

    // The real join.
    const joiner = new ZeusProcess(home, { args: ['--trust-height', String(H), '--trust-hash', trustHash, '--no-console-build'] });
    const urlJ = await joiner.started(60_000);
    const st = await statusOf(urlJ);
    expect(st.stateSync.joined).toBe('snapshot');
    expect(st.stateSync.restoredFrom).toBe(S);
    expect(st.stateSync.trustHeight).toBe(H);
    expect(st.stateSync.blocksExecuted).toBe(H - S);
    expect(st.stateSync.lowestBlock).toBe(S);
    // Both liars were caught and penalized, and the join went on with the honest peers: node1's snapshot
    // (the newest offered) restored to a state whose root is not block S's; node3 served a tampered chunk.
    expect(st.stateSync.penalizedPeers).toEqual([net.nodes[1].peerId, net.nodes[3].peerId]);
    expect(joiner.stdout).toMatch(
      new RegExp(`peer ${net.nodes[1].peerId} penalized: snapshot \\S+ does not match block \\d+: snapshot state of chain 0 has root`),
    );
    expect(joiner.stdout).toMatch(new RegExp(`peer ${net.nodes[3].peerId} penalized: snapshot \\S+: chunk \\d+ does not hash`));
    expect(joiner.stdout).toMatch(/state sync: chunks (\d+)\/\1/);
    const chunks = Number(/state sync: fetching snapshot \S+ \((\d+) chunks/.exec(joiner.stdout)?.[1]);
    expect(chunks).toBeGreaterThanOrEqual(net.nodes.length);

    // So do `zeus chain status` and the metrics.
    expect(zeus(home, '--node', urlJ, 'chain', 'status').out).toMatch(
      new RegExp(`joined by state sync from snapshot ${S} \\(trust height ${H}, ${H - S} blocks executed\\); blocks from ${S}`),
    );
    // The bookkeepers count the snapshots they took and served.
    const metric = async (url: string, name: string): Promise<number> =>
      Number(new RegExp(`^${name} (\\S+)$`, 'm').exec((await api(url, 'GET', '/metrics')).text)?.[1]);
    expect(await metric(urlJ, 'zeus_state_sync_blocks_executed')).toBe(H - S);
    expect(await metric(urlJ, 'zeus_state_sync_restore_seconds')).toBeGreaterThan(0);
    expect(await metric(url0, 'zeus_snapshots_taken_total')).toBeGreaterThanOrEqual(4);
    expect(await metric(net.nodes[3].api, 'zeus_snapshot_chunks_served_total')).toBeGreaterThan(0);

    // It follows: same blocks and state roots as the bookkeepers at the same heights.
    const later = (await statusOf(url0)).height + 5;
    await waitFor(async () => (await statusOf(urlJ)).height >= later, 30_000, `the joiner to follow to ${later}`, 100);
    const sj = await statusOf(urlJ);
    // With 100 ms blocks the joiner can be a height ahead of node0 for a moment: compare once node0 has it too.
    await waitFor(async () => (await statusOf(url0)).height >= sj.height, 10_000, `node0 to reach ${sj.height}`, 50);
    const at = await block(url0, sj.height);
    expect(at.status, at.text).toBe(200);
    expect(sj.chains.map((c) => c.stateRoot)).toEqual(at.json.segments.map((s) => s.stateRoot));
    expect((await block(urlJ, H)).json.hash).toBe(trustHash);
    // Blocks before its snapshot are not held, and it says why.
    const early = await block(urlJ, 5);
    expect(early.status).toBe(404);
    expect(early.text).toMatch(new RegExp(`joined by state sync at height ${S}`));

    // The pruning bookkeeper deleted blocks older than tip − 30, but none of its kept snapshots' blocks.
    const s2 = await statusOf(net.nodes[2].api);
    expect(s2.stateSync.lowestBlock).toBeGreaterThan(1);
    expect(s2.stateSync.lowestBlock).toBeLessThanOrEqual(Math.min(...s2.stateSync.snapshots));
    expect((await block(net.nodes[2].api, 1)).text).toMatch(/pruned blocks below height/);

    // Replay from genesis, in the same run: a node without a trust point executes every block,
    // fetching the early ones from a peer that has them (the joiner answers none below S).
    const replayHome = await joinerHome('replayer', 'carol', [
      `/ip4/127.0.0.1/tcp/${readConfig(home).p2p!.listen.split('/')[4]}/p2p/${sj.consensus.peerId}`,
      addrs[1],
    ]);
    const t0 = Date.now();
    const replayer = new ZeusProcess(replayHome, { args: ['--no-console-build'] });
    const urlR = await replayer.started(30_000);
    await waitFor(async () => (await statusOf(urlR)).height >= H, 60_000, `the replaying node to reach ${H}`, 100);
    const replayMs = Date.now() - t0;
    const sr = await statusOf(urlR);
    expect(sr.stateSync.joined).toBe('genesis');
    const replayed = sr.consensus.synced;
    expect(replayed).toBeGreaterThanOrEqual(H);
    expect(st.stateSync.blocksExecuted!).toBeLessThan(replayed);
    console.log(
      `state sync: restored snapshot ${S}, executed ${st.stateSync.blocksExecuted} block(s) to the trust height ${H} in ${st.stateSync.restoreMs} ms; replay from genesis executed ${replayed} block(s) to reach ${H} in ${replayMs} ms`,
    );
    await replayer.stop();
    // Restarted, the joined node starts from its own store (no second join) and follows on.
    const before = (await statusOf(urlJ)).height;
    await joiner.stop();
    const again = new ZeusProcess(home, { args: ['--no-console-build'] });
    const urlJ2 = await again.started(30_000);
    await waitFor(async () => (await statusOf(urlJ2)).height > before + 3, 30_000, 'the restarted joiner to follow', 100);
    expect((await statusOf(urlJ2)).stateSync.restoredFrom).toBe(S);
    expect(again.stdout).not.toMatch(/joining from trust point/);
    await again.stop();
  }, 240_000);
});
