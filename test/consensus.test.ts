import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAlive, spawnNode, startDevnet, stopDevnet, type DevnetInfo, type DevnetNode } from '../src/cli/devnet.ts';
import { encodeSignedVote, signTx, signVote, TxKind, VoteType, ZNC_UNIT } from '../src/ledger/index.ts';
import { createP2PNode, generatePeerKey, type P2PNode } from '../src/p2p/index.ts';
import { api, loadDevKeys, nextNonce, signTransfer, sleep, status, waitFor, type NamedKey } from './helpers/node.ts';

// The elected bookkeepers as real processes: four `zeus node start` bookkeepers on loopback,
// talking libp2p, deciding blocks in BFT rounds. Bookkeepers are killed, restarted, made to
// equivocate and sent garbage; the chain must stay one chain and keep going when it can.

process.env.ZEUS_KEYSTORE_FAST_KDF = '1';
const dir = mkdtempSync(join(tmpdir(), 'zeus-bft-'));
let net: DevnetInfo;
let keys: Record<string, NamedKey>;

interface BookkeeperJson {
  name: string;
  address: string;
  inSet: boolean;
  missedTotal: string;
  jailedUntil: number | null;
  slashed: boolean;
  staked: string;
}

const url = (i: number): string => net.nodes[i].api;
const height = async (i: number): Promise<number> => (await status(url(i))).height;
const bookkeeper = async (name: string, via = 0): Promise<BookkeeperJson | undefined> =>
  ((await api(url(via), 'GET', '/bookkeepers')).json.candidates as BookkeeperJson[]).find((c) => c.name === name || c.address === keys[name]?.address);

async function blockHash(i: number, h: number): Promise<string | undefined> {
  const r = await api(url(i), 'GET', `/blocks/${h}`);
  return r.status === 200 ? (r.json.hash as string) : undefined;
}

/** Every listed node holds the same block at every height in [from, to]. */
async function expectOneChain(nodes: number[], from: number, to: number): Promise<void> {
  for (let h = Math.max(1, from); h <= to; h++) {
    const hashes = await Promise.all(nodes.map((i) => blockHash(i, h)));
    expect(new Set(hashes), `block hashes at height ${h}`).toEqual(new Set([hashes[0]]));
    expect(hashes[0]).toBeDefined();
  }
}

async function kill(i: number): Promise<void> {
  const n = net.nodes[i];
  if (isAlive(n.pid)) process.kill(n.pid, 'SIGKILL');
  await waitFor(() => !isAlive(n.pid), 10_000, `${n.name} to die`);
}

async function restart(i: number, args: string[] = []): Promise<DevnetNode> {
  const n = spawnNode(dir, net.nodes[i].name, args);
  net.nodes[i] = n;
  await waitFor(async () => (await api(n.api, 'GET', '/status').catch(() => undefined))?.status === 200, 30_000, `${n.name} API`, 100);
  return n;
}

async function submit(i: number, bytes: Uint8Array): Promise<string> {
  const r = await api(url(i), 'POST', '/txs', bytes, { 'content-type': 'application/octet-stream' });
  expect(r.status, r.text).toBe(202);
  return r.json.hash as string;
}

async function committed(i: number, hash: string, timeoutMs = 30_000): Promise<void> {
  await waitFor(async () => (await api(url(i), 'GET', `/txs/${hash}`)).json?.status === 'committed', timeoutMs, `tx ${hash.slice(0, 12)} committed on node${i}`, 100);
}

beforeAll(async () => {
  net = await startDevnet({ dir, validators: 4, blockTimeMs: 300 });
  keys = loadDevKeys(net.nodes[0].home, ['alice', 'bob', 'carol', 'dave', 'bookkeeper-0', 'bookkeeper-1', 'bookkeeper-2', 'bookkeeper-3']);
}, 120_000);

afterAll(async () => {
  await stopDevnet(dir).catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
});

describe('bookkeepers as separate processes (4 on loopback)', () => {
  it('commit one chain together; a transaction sent to any node commits on all', async () => {
    const c = net.chainId;
    const t1 = signTransfer(keys.alice, { chainId: c, to: keys.bob.address, amount: 7n * ZNC_UNIT, nonce: await nextNonce(url(1), keys.alice.address, await homeOf(keys.alice.address)) });
    const t2 = signTransfer(keys.carol, { chainId: c, to: keys.dave.address, amount: 3n * ZNC_UNIT, nonce: await nextNonce(url(2), keys.carol.address, await homeOf(keys.carol.address)) });
    await submit(1, t1.bytes);
    await submit(2, t2.bytes);
    for (const i of [0, 3]) {
      await committed(i, t1.hash);
      await committed(i, t2.hash);
    }
    const h = Math.min(...(await Promise.all([0, 1, 2, 3].map(height))));
    await expectOneChain([0, 1, 2, 3], 1, h);
    const s = await status(url(0));
    expect(s).toMatchObject({ consensus: { validators: 4 } });
    expect((s as unknown as { consensus: { peers: { connected: boolean }[] } }).consensus.peers.filter((p) => p.connected).length).toBe(3);
  });

  it('with two of four down nothing commits; with them back the chain resumes, unforked', async () => {
    await kill(2);
    await kill(3);
    await sleep(1_500);
    const stalled = await height(0);
    await sleep(3_000);
    expect(await height(0)).toBe(stalled);
    expect(await height(1)).toBe(stalled);
    await restart(2);
    await restart(3);
    await waitFor(async () => Math.min(...(await Promise.all([0, 1, 2, 3].map(height)))) >= stalled + 3, 60_000, 'commits to resume on all four', 200);
    await expectOneChain([0, 1, 2, 3], stalled - 2, stalled + 3);
  });

  it('with one of four down the others go on; after 10 missed proposals it is jailed and leaves the set; restarted, it catches up from peers', async () => {
    const before = await height(0);
    await kill(3);
    await waitFor(async () => (await bookkeeper('bookkeeper-3'))?.jailedUntil != null, 90_000, 'bookkeeper-3 jailed', 500);
    const b3 = (await bookkeeper('bookkeeper-3'))!;
    expect(Number(b3.missedTotal)).toBeGreaterThanOrEqual(10);
    await waitFor(async () => (await bookkeeper('bookkeeper-3'))?.inSet === false, 10_000, 'bookkeeper-3 out of the set', 200);
    const afterJail = await height(0);
    expect(afterJail).toBeGreaterThan(before + 30);
    // The set of three decides in round 0 again.
    await waitFor(async () => (await height(0)) >= afterJail + 5, 20_000, 'blocks from the remaining three', 100);
    const target = await height(0);
    await restart(3);
    await waitFor(async () => (await height(3)) >= target, 30_000, 'node3 to catch up', 100);
    const s3 = (await status(url(3))) as unknown as { consensus: { synced: number; self: number } };
    expect(s3.consensus.synced).toBeGreaterThan(0);
    expect(s3.consensus.self).toBe(-1); // jailed: it follows, it does not vote
    await expectOneChain([0, 3], before, target);
  });

  it('an equivocating bookkeeper is reported by the others, slashed, and loses its seat', async () => {
    // Give bookkeeper-2 a stake to lose.
    const c = net.chainId;
    const bk2 = keys['bookkeeper-2'];
    const fund = signTransfer(keys.alice, { chainId: c, to: bk2.address, amount: 1_000n * ZNC_UNIT, nonce: await nextNonce(url(0), keys.alice.address, await homeOf(keys.alice.address)) });
    await submit(0, fund.bytes);
    await committed(0, fund.hash);
    await sleep(1_000); // the credit lands on bookkeeper-2's home chain a height later
    const home = await homeOf(bk2.address);
    const stake = signTx(bk2, { chainId: c, kind: TxKind.Stake, nonce: await nextNonce(url(0), bk2.address, home), payload: { amount: 500n * ZNC_UNIT } });
    const stakeHash = await submit(0, stake);
    await committed(0, stakeHash);
    await waitFor(async () => (await bookkeeper('bookkeeper-2'))?.staked === (500n * ZNC_UNIT).toString(), 10_000, 'stake to land', 200);
    // Restart it as an equivocator: every prevote comes with a conflicting second one.
    await kill(2);
    await restart(2, ['--test-equivocate']);
    await waitFor(async () => (await bookkeeper('bookkeeper-2'))?.slashed === true, 60_000, 'bookkeeper-2 slashed', 300);
    const b2 = (await bookkeeper('bookkeeper-2'))!;
    expect(BigInt(b2.staked)).toBe(450n * ZNC_UNIT); // 10 % slashed
    await waitFor(async () => (await bookkeeper('bookkeeper-2'))?.inSet === false, 10_000, 'bookkeeper-2 out of the set', 200);
    const h = await height(0);
    await waitFor(async () => (await height(1)) >= h + 3, 20_000, 'the two honest bookkeepers to go on', 100);
    await expectOneChain([0, 1], h - 3, h + 3);
  });

  it('a peer that sends garbage is scored down and cut off; the bookkeepers go on', async () => {
    const target = net.nodes[0];
    const peerId = ((await status(target.api)) as unknown as { consensus: { peerId: string } }).consensus.peerId;
    const rogue: P2PNode = await createP2PNode({ listen: '/ip4/127.0.0.1/tcp/0', bootstrap: [`${target.p2p}/p2p/${peerId}`], privateKey: generatePeerKey(), chainId: net.chainId, serveBlocks: async () => [] });
    await rogue.start();
    try {
      await waitFor(() => rogue.peers().some((p) => p.connected), 10_000, 'rogue connected');
      const before = await height(0);
      const stranger = loadDevKeys(net.nodes[0].home, ['dave']).dave;
      const h = BigInt(before + 1);
      // A vote by a key outside the set, then undecodable bytes: both invalid in themselves.
      await rogue.publish('votes', encodeSignedVote(signVote(stranger, { chainId: net.chainId, type: VoteType.Prevote, height: h, round: 0, blockHash: new Uint8Array(32), validator: stranger.publicKey })));
      for (let i = 0; i < 4; i++) await rogue.publish('votes', new Uint8Array([0xff, 0x00, i, 0x13, 0x37]));
      await waitFor(
        async () => {
          const s = (await status(target.api)) as unknown as { consensus: { peers: { id: string; banned: boolean; connected: boolean }[] } };
          const me = s.consensus.peers.find((p) => p.id === rogue.peerId);
          return !!me && me.banned && !me.connected;
        },
        15_000,
        'the rogue peer to be banned',
        100,
      );
      await waitFor(async () => (await height(0)) >= before + 3, 20_000, 'blocks after the garbage', 100);
    } finally {
      await rogue.stop();
    }
  });
});

async function homeOf(address: string): Promise<number> {
  return (await api(url(0), 'GET', `/accounts/${address}`)).json.homeChain as number;
}

