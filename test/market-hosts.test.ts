import { createHash } from 'node:crypto';
import { copyFileSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEV_MARKET } from '../src/cli/devnet.ts';
import { addressFromPublicKey, encodeAddress, Keystore } from '../src/crypto/index.ts';
import { DEV_PASSPHRASE, homePaths, initDevHome, readConfig } from '../src/node/index.ts';
import { peerIdFromKey } from '../src/p2p/index.ts';
import type { ImageJob } from '../src/ddn/index.ts';
import type { ConsensusAnswer, LeaseAnswer, StatusAnswer, TaskDetailAnswer, WorkerAnswer } from '../src/sdk/index.ts';
import { dockerInstalled, ensureDockerd } from './helpers/docker.ts';
import { createHosts, type Hosts, hostsSupported, listNamespaces, PREFIX, sweepStaleHosts } from './helpers/hosts.ts';
import {
  buildBusyboxImageAsync,
  connectedTo,
  fullNode,
  type HostWorker,
  listening,
  removeHostWorkerLeftovers,
  startHostWorker,
  workerAdminUrl,
} from './helpers/netMarket.ts';
import { API_PORT, ClientAgent, type NetNetwork, type NetNode, P2P_PORT, startNetwork, until, zeusOkOn } from './helpers/netNodes.ts';
import { nodeEnv } from './helpers/processes.ts';
import { tarTextFiles } from './helpers/tar.ts';
import { docker } from './helpers/worker.ts';

// Issue 15, must show 3, on separate network hosts (test/helpers/hosts.ts): four bookkeepers on
// hosts 0–3, each dialling one bootstrap peer; the developer, on host 5 (U), publishes an app to
// the registry of the node on host 2 (P) with `zeus app publish IMAGE --direct`; a worker on host 4 (W) runs its own full node, which dials only
// bookkeeper 0, and `zeus worker start` beside it; a user on host 5 (U) posts a batch task to
// bookkeeper 1. The worker's node fetches the image through the DDN from P, a peer it learned by
// peer exchange (no DDN peer is configured anywhere); the lease runs and is paid; the user fetches
// the result with `zeus task result` through bookkeeper 3, which does not hold it, so the CLI
// falls back to the worker's registered endpoint — W's address — and checks the bytes against the
// chain's digest. Nothing binds or dials 127.0.0.1 but the worker's admin endpoint, which is
// meant for its own host only. Docker stays in the root namespace, reached over its unix socket.

const BOOKKEEPERS = 4;
const P = 2;
const BLOCK_MS = 500;
const IMAGE = `zeus-test/market-hosts:${process.pid}`;
const APP = 'hostsum';
// Deterministic output the test computes too; long enough for a usage report.
const CMD = 'echo 42 > /out/answer; /bin/busybox seq 1 500 | /bin/busybox sha256sum > /out/sums; /bin/busybox sleep 2; echo finished';
const expectedSums = `${createHash('sha256')
  .update(`${Array.from({ length: 500 }, (_, i) => i + 1).join('\n')}\n`)
  .digest('hex')}  -\n`;

const runNamespaces = (run: string): string[] => listNamespaces().filter((n) => n.startsWith(`${PREFIX}${run}-`));
const supported = hostsSupported() && dockerInstalled();

describe.skipIf(!supported)('a batch task on a worker of its own host, the image through the DDN from discovered peers', () => {
  const dir = mkdtempSync(join(tmpdir(), 'zeus-market-hosts-'));
  const logs = join(dir, 'logs');
  const env = { ...nodeEnv(), ZEUS_PASSPHRASE: DEV_PASSPHRASE };
  let net: Hosts;
  let network: NetNetwork | undefined;
  let wNode: NetNode | undefined;
  let worker: HostWorker | undefined;
  let client: ClientAgent | undefined;
  let carol = '';
  // How long each step took (printed at the end: the budget of this file is tight on a busy machine).
  const t0 = Date.now();
  const marks: string[] = [];
  const mark = (what: string): void => void marks.push(`${((Date.now() - t0) / 1000).toFixed(1)} s ${what}`);

  beforeAll(async () => {
    sweepStaleHosts();
    ensureDockerd();
    net = await createHosts(6, { name: 'mkt' });
    mkdirSync(logs, { recursive: true });
    mark('hosts and Docker');
  }, 120_000);

  afterAll(async () => {
    console.log(`market on hosts, steps:\n  ${marks.join('\n  ')}`);
    worker?.stop();
    client?.close();
    await Promise.all([network?.stop(), wNode?.stop(5_000)]);
    wNode?.closeLog();
    const run = net?.run;
    net?.destroy();
    removeHostWorkerLeftovers(carol, dir, [IMAGE], [APP]);
    if (run) expect(runNamespaces(run)).toEqual([]);
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('registers the worker, runs the task on it with the image from P, and the user gets the result from another host', async () => {
    const [bkHosts, W, U] = [net.hosts.slice(0, BOOKKEEPERS), net.hosts[4], net.hosts[5]];
    // One dev genesis (the dev preset of the genesis builder: funded dev accounts, devnet market rules).
    const homes = Array.from({ length: BOOKKEEPERS }, (_, i) => join(dir, `bk${i}`));
    const [wHome, uHome] = [join(dir, 'w'), join(dir, 'u')];
    initDevHome(homes[0], {
      blockIntervalMs: BLOCK_MS,
      bookkeepers: BOOKKEEPERS,
      // A review of 10 blocks (the devnet's 20 would be half of this test's wait).
      params: { bookkeeperSeats: BOOKKEEPERS, epochLength: 1_000, market: { ...DEV_MARKET, reviewBlocks: 10 } },
    });
    for (const h of [...homes.slice(1), wHome, uHome]) {
      mkdirSync(h, { recursive: true, mode: 0o700 });
      cpSync(homePaths(homes[0]).keys, homePaths(h).keys, { recursive: true });
      if (h !== uHome) copyFileSync(homePaths(homes[0]).genesis, homePaths(h).genesis);
    }
    mark('homes');

    // Four bookkeepers, each dialling the next one only, and W's own full node beside them, given
    // bookkeeper 0 as its one peer (dialled again until it answers).
    const keys = new Keystore(homePaths(homes[0]).keys);
    const bk0 = `/ip4/${bkHosts[0].ip}/tcp/${P2P_PORT}/p2p/${await peerIdFromKey(keys.load('bookkeeper-0', DEV_PASSPHRASE).secretKey)}`;
    wNode = fullNode({ net, host: W, home: wHome, base: readConfig(homes[0]), bootstrap: [bk0], blockTimeMs: BLOCK_MS, log: join(logs, 'w-node.log'), env });
    const [started] = await Promise.all([
      startNetwork({
        net,
        hosts: bkHosts,
        homes: homes.map((home, i) => ({ home, key: `bookkeeper-${i}`, name: `bk${i}` })),
        passphrase: DEV_PASSPHRASE,
        logDir: logs,
        bootstrap: 'one',
        blockTimeMs: BLOCK_MS,
      }),
      wNode.start(),
      buildBusyboxImageAsync(IMAGE, dir, CMD),
    ]);
    network = started;
    const bk = network.nodes;
    expect(bk[0].p2p).toBe(bk0);
    mark("four bookkeepers and W's node started, image built");
    const wn = wNode;
    client = await ClientAgent.start({ net, host: U, log: join(logs, 'client.log') });
    const agent = client;
    const get = <T>(n: { api: string }, path: string): Promise<T> => agent.get<T>(n.api, path);
    for (const h of [...homes, wHome]) expect(readConfig(h).ddn?.peers, `${h}/config.json`).toBeUndefined();
    expect(readConfig(wHome).p2p?.bootstrap).toEqual([bk[0].p2p]);

    // W's node learns every bookkeeper's API URL for its DDN from the network, P's among them.
    const bkApis = bk.map((n) => n.api).sort();
    await until(
      'W to learn every bookkeeper as a DDN peer',
      60_000,
      async () => {
        const peers = (await get<{ peers: string[] }>(wn, '/ddn/peers')).peers;
        return bkApis.every((u) => peers.includes(u)) ? peers : undefined;
      },
      500,
    );
    await until('the chain to move on W', 30_000, async () => ((await get<StatusAnswer>(wn, '/status')).height > 2 ? true : undefined), 500);
    mark('W found every bookkeeper');
    // A full node, connected to P although it was given bookkeeper 0 alone.
    const wStatus = (await get<StatusAnswer>(wn, '/status')).consensus as ConsensusAnswer;
    expect(wStatus.fullNode).toBe(true);
    expect(wStatus.peers.filter((p) => p.connected).map((p) => p.id)).toContain(bk[P].peerId);

    // The developer (alice) pushes the image from U into P's registry and publishes it on the chain
    // while the worker (carol) on W, beside its node, registers itself with W's address as its endpoint.
    const publish = async (): Promise<string> => {
      // --direct: this process pushes over the registry API (the Docker engine, in the machine's own
      // namespace, could not reach P, and would not push to it over plain HTTP anyway).
      const published = JSON.parse(
        await zeusOkOn(
          net,
          U,
          uHome,
          ['--node', bk[P].api, '--json', 'app', 'publish', IMAGE, '--direct', '--from', 'alice', '--name', APP, '--version', '1.0', '--wait'],
          env,
        ),
      ) as { digest: string };
      const digest = published.digest;
      expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);
      docker('rmi', '-f', IMAGE); // the worker must get the image through the DDN, not from the shared engine
      mark('app published');
      // Only P holds it; W does not.
      expect((await agent.api(bk[P].api, 'HEAD', `/v2/${APP}/manifests/${digest}`)).status).toBe(200);
      expect((await agent.api(wn.api, 'HEAD', `/v2/${APP}/manifests/${digest}`)).status).toBe(404);
      return digest;
    };
    const startWorker = async (): Promise<void> => {
      worker = await startHostWorker({
        net,
        host: W,
        home: wHome,
        nodeUrl: wn.api,
        key: 'carol',
        address: carol,
        policy: { bindAddress: W.ip, announceAddress: W.ip, maxCpuCores: 1, maxMemoryMiB: 1024, maxDiskMiB: 2048 },
        env,
        args: ['--report-seconds', '1', '--runtime', 'docker'],
        logFile: join(logs, 'worker.log'),
      });
      mark('worker started');
    };
    carol = encodeAddress(addressFromPublicKey(keys.load('carol', DEV_PASSPHRASE).publicKey));
    const [digest] = await Promise.all([publish(), startWorker()]);
    const running = worker!;
    const registered = await until(
      'the worker registered, seen from bookkeeper 1',
      20_000,
      async () => {
        const w = await agent.api<WorkerAnswer>(bk[1].api, 'GET', `/workers/${carol}`);
        return w.status === 200 && w.json.active ? w.json : undefined;
      },
      500,
    );
    expect(registered.endpoint).toBe(`${W.ip}:${API_PORT}`);

    // The user (bob) on U posts a batch task to bookkeeper 1.
    const posted = JSON.parse(
      await zeusOkOn(
        net,
        U,
        uHome,
        [
          '--node',
          bk[1].api,
          '--json',
          'task',
          'post',
          '--from',
          'bob',
          '--app',
          `${APP}@1.0`,
          '--cpu',
          '0.5',
          '--memory',
          '64MiB',
          '--max-price',
          '1',
          '--bid-window',
          '6',
          '--wait',
        ],
        env,
      ),
    ) as { task: string };
    mark('task posted');
    let lease: LeaseAnswer | undefined;
    await until(
      'the lease paid after review',
      90_000,
      async () => {
        const was = lease?.state;
        lease = (await get<TaskDetailAnswer>(bk[1], `/tasks/${posted.task}`)).leases[0];
        if (lease && lease.state !== was) mark(`lease ${lease.state}`);
        // Settled, or ended otherwise (then the expectation below says how).
        return lease && ['settled', 'failed', 'cancelled'].includes(lease.state) ? lease : undefined;
      },
      500,
    ).catch((e: unknown) => {
      throw new Error(`${(e as Error).message}: lease ${JSON.stringify(lease)}\nworker:\n${worker?.log()}`);
    });
    expect(lease!.state, `${lease!.outcome}\nworker:\n${running.log()}`).toBe('settled');
    expect(lease!.worker).toBe(carol);
    expect(BigInt(lease!.workerPaid)).toBeGreaterThan(0n);
    expect(lease!.resultDigest).toMatch(/^sha256:[0-9a-f]{64}$/);

    // W's node fetched the image through the DDN, with P (never configured on W) as its source.
    const image = await get<ImageJob>(wn, `/ddn/images/${digest}`);
    expect(image.state).toBe('done');
    expect(image.origin).toBe(bk[P].api);
    for (const blob of [image.config!, ...image.layers!]) {
      const f = await get<{ state: string; progress: { sources: { url: string }[] } }>(wn, `/ddn/fetches/${blob}`);
      expect(f.state).toBe('done');
      expect(f.progress.sources.map((s) => s.url)).toContain(bk[P].api);
    }
    expect(readConfig(wHome).ddn?.peers).toBeUndefined();

    // The user fetches the result from U through bookkeeper 3: it does not hold it (the worker
    // pushed it to W's node), so the CLI goes on to the worker's endpoint on the chain.
    expect((await agent.api(bk[3].api, 'HEAD', `/v2/${carol}/results/blobs/${lease!.resultDigest}`)).status).not.toBe(200);
    mark('the DDN fetch checked');
    const out = join(dir, 'result.tar');
    const fetched = JSON.parse(await zeusOkOn(net, U, uHome, ['--node', bk[3].api, '--json', 'task', 'result', posted.task, '--out', out], env)) as {
      digest: string;
      bytes: number;
    };
    expect(fetched.digest).toBe(lease!.resultDigest);
    mark('result fetched');
    const bytes = readFileSync(out);
    expect(`sha256:${createHash('sha256').update(bytes).digest('hex')}`).toBe(lease!.resultDigest);
    const files = await tarTextFiles(bytes);
    expect(files.get('out/answer')).toBe('42\n');
    expect(files.get('out/sums')).toBe(expectedSums);

    // Sockets: every node listens on its host's address only; the worker's admin endpoint on its
    // own host's loopback (for `zeus worker status` there); every connection goes between hosts.
    for (const n of bk) expect(await listening(net, n.host!)).toEqual([`${n.ip}:${P2P_PORT}`, `${n.ip}:${API_PORT}`].sort());
    const admin = new URL(workerAdminUrl(wHome)!);
    expect(admin.hostname).toBe('127.0.0.1');
    expect(await listening(net, W)).toEqual([`${W.ip}:${P2P_PORT}`, `${W.ip}:${API_PORT}`, `127.0.0.1:${admin.port}`].sort());
    const ips = net.hosts.map((h) => h.ip);
    for (const h of net.hosts) for (const r of await connectedTo(net, h)) expect(ips, `a connection of ${h.name}`).toContain(r);
  }, 240_000);
});
