import type { ChildProcess } from 'node:child_process';
import { copyFileSync, cpSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Keystore } from '../src/crypto/index.ts';
import { DEV_PASSPHRASE, homePaths, initDevHome, writeConfig, type NodeConfig } from '../src/node/index.ts';
import { peerIdFromKey } from '../src/p2p/index.ts';
import type { ConsensusAnswer, StatusAnswer } from '../src/sdk/wire.ts';
import { createHosts, hostsSupported, type Hosts } from './helpers/hosts.ts';
import { NODE_BIN, nodeEnv, ROOT, sleep, waitFor } from './helpers/processes.ts';

// Discovery on separate network hosts (test/helpers/hosts.ts: one network namespace per node,
// nothing on 127.0.0.1): four bookkeepers and a full node, each given ONE bootstrap peer, find
// each other and commit; bk1 binds 0.0.0.0 and announces its host address (and its API URL), so
// peers must learn only that; a bookkeeper killed and restarted is reconnected by every node.
// Every request to a node is made from inside a namespace (the machine's own reaches none).

const P2P_PORT = 26656;
const API_PORT = 26657;
const BOOKKEEPERS = 4;
const ZEUS = join(ROOT, 'bin', 'zeus.js');
const supported = hostsSupported();
const dir = mkdtempSync(join(tmpdir(), 'zeus-discovery-hosts-'));
const homes = [...Array.from({ length: BOOKKEEPERS }, (_, i) => join(dir, `bk${i}`)), join(dir, 'full')];
let net: Hosts;
const procs: ChildProcess[] = [];
const logs: string[] = [];
let peerIds: string[] = [];

const ipOf = (i: number): string => net.hosts[i].ip;
const apiOf = (i: number): string => `http://${ipOf(i)}:${API_PORT}`;

/**
 * GET a node's API from inside the full node's host (another host than the bookkeepers'). Through
 * net.spawn with stdin ignored: net.exec writes curl's stdin, which fails with EPIPE once curl exited.
 */
async function get<T>(i: number, path: string): Promise<T | undefined> {
  const child = net.spawn(BOOKKEEPERS, 'curl', ['-sf', '--max-time', '3', `${apiOf(i)}${path}`], { stdio: ['ignore', 'pipe', 'ignore'], timeout: 5_000 });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += String(d)));
  const code = await new Promise<number>((resolve) => {
    child.on('error', () => resolve(-1));
    child.on('close', (c) => resolve(c ?? -1));
  });
  return code === 0 ? (JSON.parse(out) as T) : undefined;
}
async function consensusOf(i: number): Promise<ConsensusAnswer | undefined> {
  const s = await get<StatusAnswer>(i, '/status');
  return s && 'peerId' in s.consensus ? s.consensus : undefined;
}
const connectedTo = (c: ConsensusAnswer | undefined): Set<string> => new Set(c?.peers.filter((p) => p.connected).map((p) => p.id));

function start(i: number, extra: string[] = []): void {
  logs[i] = '';
  const p = net.spawn(i, NODE_BIN, [ZEUS, '--home', homes[i], '--json', 'node', 'start', '--no-console-build', ...extra], {
    env: nodeEnv(),
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  p.stdout?.on('data', (d: Buffer) => (logs[i] += String(d)));
  p.stderr?.on('data', (d: Buffer) => (logs[i] += String(d)));
  procs[i] = p;
}

describe.skipIf(!supported)('discovery on separate hosts', () => {
  beforeAll(async () => {
    process.env.ZEUS_KEYSTORE_FAST_KDF = '1';
    net = await createHosts(homes.length, { name: 'disc' });
    const { config } = initDevHome(homes[0], { blockIntervalMs: 300, bookkeepers: BOOKKEEPERS, params: { bookkeeperSeats: 4, epochLength: 20 } });
    const ks = new Keystore(homePaths(homes[0]).keys);
    const bkIds = await Promise.all(Array.from({ length: BOOKKEEPERS }, (_, i) => peerIdFromKey(ks.load(`bookkeeper-${i}`, DEV_PASSPHRASE).secretKey)));
    const { bookkeeperKey: _, ...rest } = config;
    homes.forEach((home, i) => {
      if (i > 0) {
        mkdirSync(home, { recursive: true, mode: 0o700 });
        cpSync(homePaths(homes[0]).keys, homePaths(home).keys, { recursive: true });
        copyFileSync(homePaths(homes[0]).genesis, homePaths(home).genesis);
      }
      const boot = i === 0 ? 1 : i - 1;
      const c: NodeConfig = {
        ...rest,
        api: { host: ipOf(i), port: API_PORT },
        ...(i < BOOKKEEPERS ? { bookkeeperKey: `bookkeeper-${i}` } : {}),
        p2p: { listen: `/ip4/${ipOf(i)}/tcp/${P2P_PORT}`, bootstrap: [`/ip4/${ipOf(boot)}/tcp/${P2P_PORT}/p2p/${bkIds[boot]}`] },
      };
      writeConfig(home, c);
    });
    // bk1 binds every interface (so also 127.0.0.1 in its namespace) and announces its host address.
    const announceArgs = ['--p2p-listen', `/ip4/0.0.0.0/tcp/${P2P_PORT}`, '--p2p-announce', `/ip4/${ipOf(1)}/tcp/${P2P_PORT}`];
    const apiArgs = ['--api', `0.0.0.0:${API_PORT}`, '--api-announce', apiOf(1)];
    for (let i = 0; i < homes.length; i++) start(i, i === 1 ? [...announceArgs, ...apiArgs] : []);
    await waitFor(async () => (await Promise.all(homes.map((_, i) => consensusOf(i)))).every((c) => c !== undefined), 60_000, 'every API', 500);
    peerIds = await Promise.all(homes.map(async (_, i) => (await consensusOf(i))!.peerId));
    expect(peerIds.slice(0, BOOKKEEPERS)).toEqual(bkIds);
  }, 120_000);

  afterAll(async () => {
    for (const p of procs) p?.kill('SIGKILL');
    net?.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  it('each with one bootstrap peer, all five meet, over host addresses only, and commit one chain', async () => {
    await waitFor(
      async () => {
        const cs = await Promise.all(homes.map((_, i) => consensusOf(i)));
        return cs.every((c, i) => peerIds.every((id, j) => j === i || connectedTo(c).has(id)));
      },
      40_000,
      'a full mesh of the five hosts',
      500,
    );
    for (let i = 0; i < homes.length; i++) {
      const c = (await consensusOf(i))!;
      for (const p of c.peers) {
        expect(p.addresses.length, `${i}'s view of ${p.id}`).toBeGreaterThan(0);
        for (const a of p.addresses) expect(a, `an address node ${i} holds for a peer`).toMatch(/^\/ip4\/10\./);
        if (p.id === peerIds[1]) expect(p.api).toBe(apiOf(1));
      }
    }
    expect((await consensusOf(1))!.listen).toEqual([`/ip4/${ipOf(1)}/tcp/${P2P_PORT}/p2p/${peerIds[1]}`]);
    await waitFor(
      async () => (await Promise.all(homes.map((_, i) => get<StatusAnswer>(i, '/status')))).every((s) => (s?.height ?? 0) >= 3),
      30_000,
      'height 3',
      500,
    );
    const hashes = await Promise.all(homes.map(async (_, i) => (await get<{ hash: string }>(i, '/blocks/2'))?.hash));
    expect(new Set(hashes).size).toBe(1);
    expect(hashes[0]).toBeDefined();
    const ddn = await get<{ peers: string[] }>(BOOKKEEPERS, '/ddn/peers');
    expect(ddn?.peers.sort()).toEqual(
      homes
        .slice(0, BOOKKEEPERS)
        .map((_, i) => apiOf(i))
        .sort(),
    );
  });

  it('a bookkeeper killed and restarted on its host is reconnected by every node', async () => {
    const k = 3;
    procs[k].kill('SIGKILL');
    await waitFor(async () => !connectedTo(await consensusOf(0)).has(peerIds[k]), 20_000, 'bk0 to see bk3 gone', 500);
    await sleep(2_000);
    start(k);
    await waitFor(
      async () => {
        const cs = await Promise.all(homes.map((_, i) => consensusOf(i)));
        return cs.every((c, i) => (i === k ? peerIds.every((id, j) => j === k || connectedTo(c).has(id)) : connectedTo(c).has(peerIds[k])));
      },
      40_000,
      'every node connected to the restarted bk3',
      500,
    );
    const target = (await get<StatusAnswer>(0, '/status'))!.height;
    await waitFor(async () => ((await get<StatusAnswer>(k, '/status'))?.height ?? 0) >= target + 2, 30_000, 'bk3 to catch up and go on', 500);
  });
});
