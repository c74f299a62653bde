import { copyFileSync, cpSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Keystore } from '../src/crypto/index.ts';
import { ZNC_UNIT } from '../src/ledger/index.ts';
import { DEV_PASSPHRASE, homePaths, initDevHome, writeConfig, type NodeConfig } from '../src/node/index.ts';
import { generatePeerKey, peerIdFromKey } from '../src/p2p/index.ts';
import type { BlocksAnswer, ConsensusAnswer, StatusAnswer, SubmitAnswer, TxStatusAnswer } from '../src/sdk/wire.ts';
import { api, cleanup, freePort, loadDevKeys, nextNonce, signTransfer, sleep, waitFor, ZeusProcess } from './helpers/processes.ts';

// Discovery and full nodes with real processes on loopback: four bookkeepers and one full node
// (a home without a bookkeeper key), each given ONE bootstrap peer, in a line
// full → bk3 → bk2 → bk1 → bk0 → bk1. Peer exchange must make every bookkeeper meet the other
// three (the consensus needs them directly connected), the full node must follow, serve and relay,
// learn the bookkeepers' API URLs for its DDN, and a killed bookkeeper restarted with the same
// identity must be reconnected to by all.

process.env.ZEUS_KEYSTORE_FAST_KDF = '1';
const dir = mkdtempSync(join(tmpdir(), 'zeus-discovery-'));
const BOOKKEEPERS = 4;
const names = [...Array.from({ length: BOOKKEEPERS }, (_, i) => `bk${i}`), 'full'];
const homes = names.map((n) => join(dir, n));
const procs: ZeusProcess[] = [];
const urls: string[] = [];
let peerIds: string[] = [];
let chainId = '';
let bogusBootstrap = '';

type Consensus = ConsensusAnswer;

async function consensusOf(i: number): Promise<Consensus> {
  const r = await api<StatusAnswer>(urls[i], 'GET', '/status');
  if (!('peerId' in r.json.consensus)) throw new Error(`${urls[i]} runs no p2p network`);
  return r.json.consensus;
}
const connectedTo = (c: Consensus): Set<string> => new Set(c.peers.filter((p) => p.connected).map((p) => p.id));
const height = async (i: number): Promise<number> => (await api<StatusAnswer>(urls[i], 'GET', '/status')).json.height;

async function start(i: number): Promise<void> {
  const p = new ZeusProcess(homes[i], { args: ['--no-console-build', '--log-level', 'info'] });
  procs[i] = p;
  const url = await p.started(60_000);
  urls[i] = url;
}

beforeAll(async () => {
  const apiPorts = await Promise.all(homes.map(() => freePort()));
  const p2pPorts = await Promise.all(homes.map(() => freePort()));
  const { config } = initDevHome(homes[0], {
    apiPort: apiPorts[0],
    blockIntervalMs: 300,
    bookkeepers: BOOKKEEPERS,
    params: { bookkeeperSeats: 4, epochLength: 20 },
  });
  chainId = config.chainId;
  const ks = new Keystore(homePaths(homes[0]).keys);
  const bkIds = await Promise.all(Array.from({ length: BOOKKEEPERS }, (_, i) => peerIdFromKey(ks.load(`bookkeeper-${i}`, DEV_PASSPHRASE).secretKey)));
  const addr = (i: number, id: string): string => `/ip4/127.0.0.1/tcp/${p2pPorts[i]}/p2p/${id}`;
  // Something that is no ZeusNet node: the first bookkeeper's HTTP API port, under a made-up peer id.
  bogusBootstrap = `/ip4/127.0.0.1/tcp/${apiPorts[0]}/p2p/${await peerIdFromKey(generatePeerKey())}`;
  homes.forEach((home, i) => {
    if (i > 0) {
      mkdirSync(home, { recursive: true, mode: 0o700 });
      cpSync(homePaths(homes[0]).keys, homePaths(home).keys, { recursive: true });
      copyFileSync(homePaths(homes[0]).genesis, homePaths(home).genesis);
    }
    const isFull = i === BOOKKEEPERS;
    // One bootstrap peer each, in a line: nobody but bk1 knows bk0 at the start.
    const boot = i === 0 ? [addr(1, bkIds[1])] : [addr(i - 1, bkIds[i - 1])];
    const { bookkeeperKey: _, ...rest } = config;
    const c: NodeConfig = {
      ...rest,
      api: { host: '127.0.0.1', port: apiPorts[i] },
      ...(isFull ? {} : { bookkeeperKey: `bookkeeper-${i}` }),
      p2p: { listen: `/ip4/127.0.0.1/tcp/${p2pPorts[i]}`, bootstrap: isFull ? [...boot, bogusBootstrap] : boot },
    };
    writeConfig(home, c);
  });
  for (let i = 0; i < homes.length; i++) await start(i);
  peerIds = await Promise.all(homes.map(async (_, i) => (await consensusOf(i)).peerId));
  expect(peerIds.slice(0, BOOKKEEPERS)).toEqual(bkIds);
}, 120_000);

afterAll(async () => {
  await cleanup();
  rmSync(dir, { recursive: true, force: true });
});

describe('discovery beyond one bootstrap peer, and a full node', () => {
  it('every bookkeeper meets the other three and the full node meets them all; they commit one chain', async () => {
    await waitFor(
      async () => {
        const cs = await Promise.all(homes.map((_, i) => consensusOf(i)));
        return cs.every((c, i) => peerIds.every((id, j) => j === i || connectedTo(c).has(id)));
      },
      30_000,
      'a full mesh of the five nodes',
      250,
    );
    await waitFor(async () => (await Promise.all(homes.map((_, i) => height(i)))).every((h) => h >= 3), 30_000, 'height 3 everywhere', 200);
    const hashes = await Promise.all(homes.map(async (_, i) => (await api<{ hash: string }>(urls[i], 'GET', '/blocks/2')).json.hash));
    expect(new Set(hashes).size).toBe(1);
    // /status shows peers with the addresses they announced and the API URLs they told.
    const c0 = await consensusOf(0);
    const bk3 = c0.peers.find((p) => p.id === peerIds[3]);
    expect(bk3?.addresses.some((a) => a.endsWith(`/p2p/${peerIds[3]}`))).toBe(true);
    expect(bk3?.api).toBe(urls[3]);
  });

  it('the full node follows without signing, serves /status and /blocks, relays a transaction, and finds its DDN peers', async () => {
    const full = BOOKKEEPERS;
    const c = await consensusOf(full);
    expect(c.fullNode).toBe(true);
    expect(c.self).toBe(-1);
    expect(c.synced + (await height(full))).toBeGreaterThan(0);
    const blocks = await api<BlocksAnswer>(urls[full], 'GET', '/blocks');
    expect(blocks.status).toBe(200);
    expect(blocks.json.blocks.length).toBeGreaterThan(0);
    // Not a single vote or proposal carries the full node's key: blocks are proposed by bookkeepers only.
    const keys = loadDevKeys(homes[0], ['alice', 'bob', ...Array.from({ length: BOOKKEEPERS }, (_, i) => `bookkeeper-${i}`)]);
    const setKeys = new Set(Array.from({ length: BOOKKEEPERS }, (_, i) => Buffer.from(keys[`bookkeeper-${i}`].publicKey).toString('hex')));
    for (const b of blocks.json.blocks) expect(setKeys.has(b.proposer)).toBe(true);

    const probe = signTransfer(keys.alice, { chainId, to: keys.bob.address, amount: 1n, nonce: 0n });
    const t = signTransfer(keys.alice, {
      chainId,
      to: keys.bob.address,
      amount: 5n * ZNC_UNIT,
      nonce: await nextNonce(urls[full], keys.alice.address, probe.chain),
    });
    const r = await api<SubmitAnswer>(urls[full], 'POST', '/txs', t.bytes, { 'content-type': 'application/octet-stream' });
    expect(r.status, r.text).toBe(202);
    for (const i of [0, full]) {
      await waitFor(
        async () => (await api<TxStatusAnswer>(urls[i], 'GET', `/txs/${t.hash}`)).json.status === 'committed',
        20_000,
        `transfer committed on node ${i}`,
        100,
      );
    }
    // No DDN peers configured: the bookkeepers' API URLs came by peer exchange.
    const ddn = await api<{ peers: string[] }>(urls[full], 'GET', '/ddn/peers');
    expect(ddn.json.peers.sort()).toEqual(urls.slice(0, BOOKKEEPERS).sort());
    // The bootstrap address that is not a ZeusNet node is named in a warning; the node runs on.
    expect(procs[full].stdout).toContain(bogusBootstrap);
    expect(procs[full].stdout).toMatch(/unreachable or not a ZeusNet node/);
    expect(procs[full].alive).toBe(true);
  });

  it('a bookkeeper killed and restarted with the same identity is reconnected by every node and catches up', async () => {
    const k = 2;
    await procs[k].kill();
    await waitFor(async () => !connectedTo(await consensusOf(0)).has(peerIds[k]), 15_000, 'bk0 to see bk2 gone', 200);
    const before = await height(0);
    await waitFor(async () => (await height(0)) >= before + 3, 20_000, 'the other three to commit without bk2', 200);
    await sleep(1_000);
    await start(k);
    expect((await consensusOf(k)).peerId).toBe(peerIds[k]);
    await waitFor(
      async () => {
        const cs = await Promise.all(homes.map((_, i) => consensusOf(i)));
        return cs.every((c, i) => i === k || connectedTo(c).has(peerIds[k])) && peerIds.every((id, j) => j === k || connectedTo(cs[k]).has(id));
      },
      30_000,
      'every node connected to the restarted bk2 and it to every node',
      250,
    );
    const target = await height(0);
    await waitFor(async () => (await height(k)) >= target, 30_000, 'bk2 to catch up', 200);
    const later = (await height(0)) + 2;
    await waitFor(async () => (await Promise.all(homes.map((_, i) => height(i)))).every((h) => h >= later), 30_000, 'all five to go on', 200);
  });
});
