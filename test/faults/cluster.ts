import { copyFileSync, cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEV_MARKET } from '../../src/cli/devnet.ts';
import { addressFromPublicKey, encodeAddress, type KeyPair, Keystore } from '../../src/crypto/index.ts';
import { ZNC_UNIT } from '../../src/ledger/index.ts';
import { DEV_PASSPHRASE, homePaths, initDevHome, readConfig } from '../../src/node/index.ts';
import { peerIdFromKey } from '../../src/p2p/index.ts';
import type { StatusAnswer } from '../../src/sdk/index.ts';
import { sampleModule } from '../../src/worker/wasm-sample.ts';
import { createHosts, type Host, type Hosts } from '../helpers/hosts.ts';
import { fullNode, type HostWorker, startHostWorker } from '../helpers/netMarket.ts';
import { ClientAgent, type NetNetwork, type NetNode, P2P_PORT, startNetwork, until, zeusOkOn } from '../helpers/netNodes.ts';
import { nodeEnv } from '../helpers/processes.ts';
import { type BankAccount, bankAccounts, fundAccounts } from './bank.ts';
import { Nemesis } from './nemesis.ts';
import type { Endpoint } from './workload.ts';

// The network a fault run works on (issue 16): bookkeepers on hosts of their own, workers each on
// a host beside their own full node (wasm runtime: no Docker engine needed), two client hosts for
// the workloads' clients, the bank's accounts funded and a sample app published. Used by the fault
// tests and by `npm run faults` (run.ts), so that both exercise the same system.

export const FAULT_APP = 'faultprimes';

export interface ClusterOptions {
  dir: string;
  /** Goes into the namespaces' names (up to 4 letters). */
  name: string;
  seed: number;
  bookkeepers?: number;
  workers?: number;
  blockTimeMs?: number;
  /** Each bank account's funding (ZNC base units). */
  fundEach?: bigint;
  log?: (line: string) => void;
  /** Where the nemesis logs each fault (default `<dir>/nemesis.jsonl`). */
  nemesisLog?: string;
  /** The bookkeepers take a state snapshot every N heights (default: the node's, 1,000). */
  snapshotInterval?: number;
}

export interface WorkerOnHost {
  host: Host;
  node: NetNode;
  key: string;
  address: string;
  process: HostWorker;
  /** Starts the worker process again with the same command line (after a kill). */
  restart: () => Promise<void>;
}

export interface FaultCluster {
  net: Hosts;
  chainId: string;
  bookkeepers: NetNode[];
  workers: WorkerOnHost[];
  agents: ClientAgent[];
  nemesis: Nemesis;
  accounts: BankAccount[];
  /** The endpoint of bookkeeper i, through a client host. */
  endpoint: (i: number) => Endpoint;
  /** The market's user (posts and cancels tasks). */
  user: KeyPair;
  key: (name: string) => KeyPair;
  close: () => Promise<void>;
}

const DEV_WORKER_KEYS = ['carol', 'erin', 'frank', 'grace'];

export async function startFaultCluster(o: ClusterOptions): Promise<FaultCluster> {
  const n = o.bookkeepers ?? 4;
  const w = o.workers ?? 2;
  if (w > DEV_WORKER_KEYS.length) throw new Error(`at most ${DEV_WORKER_KEYS.length} workers`);
  const blockMs = o.blockTimeMs ?? 250;
  const log = o.log ?? (() => {});
  const logs = join(o.dir, 'logs');
  mkdirSync(logs, { recursive: true });
  const net = await createHosts(n + w + 2, { name: o.name });
  const env = { ...nodeEnv(), ZEUS_PASSPHRASE: DEV_PASSPHRASE };
  let network: NetNetwork | undefined;
  const workerNodes: NetNode[] = [];
  const workers: WorkerOnHost[] = [];
  const agents: ClientAgent[] = [];
  const close = async (): Promise<void> => {
    for (const x of workers) x.process.stop();
    for (const a of agents) a.close();
    await Promise.all([network?.stop(), ...workerNodes.map((x) => x.stop(5_000))]);
    for (const x of workerNodes) x.closeLog();
    net.destroy();
  };
  try {
    const bkHosts = net.hosts.slice(0, n);
    const wHosts = net.hosts.slice(n, n + w);
    const [c0, c1] = [net.hosts[n + w], net.hosts[n + w + 1]];
    const homes = bkHosts.map((_, i) => join(o.dir, `bk${i}`));
    const wHomes = wHosts.map((_, i) => join(o.dir, `w${i}`));
    const uHome = join(o.dir, 'u');
    const { genesis } = initDevHome(homes[0], {
      accounts: ['alice', 'bob', 'carol', 'dave', ...DEV_WORKER_KEYS.slice(1)],
      blockIntervalMs: blockMs,
      bookkeepers: n,
      // Jail for downtime long against the faults tested, as a public network's threshold is long
      // against a routine restart: with 4 seats and 300 ms blocks, 10 missed turns (the public
      // default, made for 1 s blocks and many seats) is a 20 s kill; 100 is two minutes and more.
      // A bookkeeper jailed all the same is out for 30 s of block time, then the run's operator
      // unjails it (run.ts): a day, the public default, would leave the rest of the run with no
      // fault to spare.
      params: { bookkeeperSeats: n, epochLength: 1_000, missedToJail: 100, jailMs: 30_000, market: { ...DEV_MARKET, reviewBlocks: 10 } },
    });
    for (const h of [...homes.slice(1), ...wHomes, uHome]) {
      mkdirSync(h, { recursive: true, mode: 0o700 });
      cpSync(homePaths(homes[0]).keys, homePaths(h).keys, { recursive: true });
      if (h !== uHome) copyFileSync(homePaths(homes[0]).genesis, homePaths(h).genesis);
    }
    const keys = new Keystore(homePaths(homes[0]).keys);
    const key = (name: string): KeyPair => keys.load(name, DEV_PASSPHRASE);
    const addressOf = (k: KeyPair): string => encodeAddress(addressFromPublicKey(k.publicKey));
    const bk0 = `/ip4/${bkHosts[0].ip}/tcp/${P2P_PORT}/p2p/${await peerIdFromKey(key('bookkeeper-0').secretKey)}`;
    for (const [i, h] of wHosts.entries()) {
      workerNodes.push(
        fullNode({ net, host: h, home: wHomes[i], base: readConfig(homes[0]), bootstrap: [bk0], blockTimeMs: blockMs, log: join(logs, `w${i}-node.log`), env }),
      );
    }
    const [started, a0, a1] = await Promise.all([
      startNetwork({
        net,
        hosts: bkHosts,
        homes: homes.map((home, i) => ({
          home,
          key: `bookkeeper-${i}`,
          name: `bk${i}`,
          args: o.snapshotInterval === undefined ? [] : ['--snapshot-interval', String(o.snapshotInterval)],
        })),
        passphrase: DEV_PASSPHRASE,
        logDir: logs,
        blockTimeMs: blockMs,
      }),
      ClientAgent.start({ net, host: c0, log: join(logs, 'client0.log') }),
      ClientAgent.start({ net, host: c1, log: join(logs, 'client1.log') }),
      ...workerNodes.map((x) => x.start()),
    ]);
    network = started;
    agents.push(a0, a1);
    const bk = started.nodes;
    const endpoint = (i: number): Endpoint => ({ node: bk[i].api, agent: i % 2 === 0 ? a0 : a1 });
    log(`${n} bookkeepers, ${w} worker nodes and two client hosts started`);
    for (const x of workerNodes) {
      await until(`the chain to move on ${x.name}`, 30_000, async () => ((await a0.get<StatusAnswer>(x.api, '/status')).height > 2 ? true : undefined), 250);
    }

    // The app, a WASI module of seconds of work; the workers beside their nodes; the accounts funded by dave.
    const wasm = join(o.dir, 'primes.wasm');
    writeFileSync(wasm, sampleModule());
    const accounts = bankAccounts({ seed: o.seed });
    const publish = zeusOkOn(
      net,
      c0,
      uHome,
      ['--node', bk[0].api, '--json', 'app', 'publish', '--wasm', wasm, '--arg', '700000', '--from', 'alice', '--name', FAULT_APP, '--version', '1', '--wait'],
      env,
    );
    const startWorker = async (i: number): Promise<HostWorker> =>
      startHostWorker({
        net,
        host: wHosts[i],
        home: wHomes[i],
        nodeUrl: workerNodes[i].api,
        key: DEV_WORKER_KEYS[i],
        address: addressOf(key(DEV_WORKER_KEYS[i])),
        policy: { bindAddress: wHosts[i].ip, announceAddress: wHosts[i].ip, maxCpuCores: 2, maxMemoryMiB: 1024, maxDiskMiB: 2048, maxConcurrentLeases: 2 },
        env,
        args: ['--report-seconds', '1', '--runtime', 'wasm'],
        logFile: join(logs, `worker${i}.log`),
      });
    const fund = fundAccounts({
      ep: endpoint(0),
      chainId: genesis.chainId,
      from: key('dave'),
      to: accounts.map((a) => a.address),
      amount: o.fundEach ?? 1_000n * ZNC_UNIT,
    });
    const [, procs] = await Promise.all([publish, Promise.all(wHosts.map((_, i) => startWorker(i))), fund]);
    for (const [i, p] of procs.entries()) {
      const entry: WorkerOnHost = {
        host: wHosts[i],
        node: workerNodes[i],
        key: DEV_WORKER_KEYS[i],
        address: p.address,
        process: p,
        restart: async () => {
          entry.process = await startWorker(i);
        },
      };
      workers.push(entry);
    }
    log(`app ${FAULT_APP} published, ${w} workers following the market, ${accounts.length} accounts funded`);
    const nemesis = new Nemesis({ net, nodes: bk, logFile: o.nemesisLog ?? join(o.dir, 'nemesis.jsonl') });
    return { net, chainId: genesis.chainId, bookkeepers: bk, workers, agents, nemesis, accounts, endpoint, user: key('bob'), key, close };
  } catch (e) {
    await close();
    throw e;
  }
}
