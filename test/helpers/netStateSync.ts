import { join } from 'node:path';
import type { BlockAnswer, ConsensusAnswer, StateSyncAnswer, StatusAnswer } from '../../src/sdk/index.ts';
import type { Host, Hosts } from './hosts.ts';
import { nodeEnv } from './processes.ts';
import { ceremonyInProcess, joinedNode, writeSnapshotConfig } from './netJoin.ts';
import { API_PORT, type ClientAgent, type NetNetwork, type NetNode, P2P_PORT, startNetwork, until, zeusOkOn } from './netNodes.ts';

// A late joiner on separate hosts, measured (issue 15, must show 6): four bookkeepers on four hosts
// grow a chain to `target` blocks; one host joins by state sync from a trust point read off a
// bookkeeper, another replays from genesis; both from `zeus init --genesis <a bookkeeper's URL>`.
// What `npm run bench:network` reports as "state-sync join against replay".

export interface JoinMeasurement {
  target: number;
  /** The trust height H and the snapshot S the joiner restored. */
  trustHeight: number;
  snapshotHeight: number;
  /** Blocks the state-sync joiner executed (H − S), and its time from start to a served API. */
  joinBlocksExecuted: number;
  joinSeconds: number;
  restoreMs: number;
  /** Blocks the replaying node executed to reach H, and its time from start to H. */
  replayBlocks: number;
  replaySeconds: number;
}

interface SyncStatus extends StatusAnswer {
  stateSync: StateSyncAnswer;
  consensus: ConsensusAnswer;
}

const PASS = 'measure-join';
const KEY = 'op';

/**
 * On `hosts` (four bookkeepers, a joiner, a replayer) with `agent` on a host of its own: the
 * network is started here and stopped before returning.
 */
export async function measureJoin(o: {
  net: Hosts;
  hosts: { bookkeepers: Host[]; joiner: Host; replayer: Host };
  agent: ClientAgent;
  dir: string;
  target: number;
  blockMs: number;
  snapshotInterval: number;
  log: (line: string) => void;
}): Promise<JoinMeasurement> {
  const { net, agent } = o;
  const bk = o.hosts.bookkeepers;
  const logDir = join(o.dir, 'logs');
  const c = ceremonyInProcess({
    dir: o.dir,
    operators: bk.length,
    chainId: 'zeus-measure-join-1',
    passphrase: PASS,
    keyName: KEY,
    p2p: (i) => `/ip4/${bk[i].ip}/tcp/${P2P_PORT}`,
    params: [],
  });
  for (const h of c.homes) writeSnapshotConfig(h, { interval: o.snapshotInterval, keep: 2, chunkBytes: 64 * 1024 });
  const extra: NetNode[] = [];
  let network: NetNetwork | undefined;
  try {
    network = await startNetwork({
      net,
      hosts: bk,
      homes: c.homes.map((home, i) => ({ home, key: KEY, name: `op-${i}` })),
      passphrase: PASS,
      logDir,
      bootstrap: 'one',
      blockTimeMs: o.blockMs,
    });
    const nodes = network.nodes;
    const status = (n: NetNode): Promise<SyncStatus> => agent.get<SyncStatus>(n.api, '/status');
    const home = (name: string, host: Host, bootstrap: NetNode): Promise<string> =>
      zeusOkOn(
        net,
        host,
        join(o.dir, name),
        [
          'init',
          '--genesis',
          bootstrap.api,
          '--moniker',
          name,
          '--p2p-listen',
          `/ip4/${host.ip}/tcp/${P2P_PORT}`,
          '--bootstrap',
          bootstrap.p2p,
          '--api',
          `${host.ip}:${API_PORT}`,
          '--block-time',
          String(o.blockMs),
        ],
        { ...nodeEnv(), ZEUS_PASSPHRASE: PASS },
      );
    await Promise.all([home('joiner', o.hosts.joiner, nodes[2]), home('replayer', o.hosts.replayer, nodes[3])]);
    // Half a snapshot interval past the target: the joiner restores the snapshot at the target and executes the rest.
    const grown = o.target + o.snapshotInterval / 2;
    let last = { at: Date.now(), height: 0 };
    await until(
      `height ${grown}`,
      1_800_000,
      async () => {
        const s = await status(nodes[0]);
        if (Date.now() - last.at > 15_000) {
          o.log(`  height ${s.height} of ${grown}`);
          last = { at: Date.now(), height: s.height };
        }
        return s.height >= grown ? s : undefined;
      },
      500,
    );
    const H = (await status(nodes[1])).height;
    const trustHash = (await agent.get<BlockAnswer>(nodes[1].api, `/blocks/${H}`)).hash;
    const S = Math.floor(H / o.snapshotInterval) * o.snapshotInterval;
    await until(`the snapshot at ${S}`, 60_000, async () =>
      (await Promise.all(nodes.map(status))).every((s) => s.stateSync.snapshots.includes(S)) ? true : undefined,
    );

    const joiner = await joinedNode({
      net,
      host: o.hosts.joiner,
      name: 'joiner',
      home: join(o.dir, 'joiner'),
      logDir,
      passphrase: PASS,
      args: ['--trust-height', String(H), '--trust-hash', trustHash],
    });
    extra.push(joiner);
    const joinStart = Date.now();
    await joiner.start(300_000);
    const joinSeconds = (Date.now() - joinStart) / 1000;
    const js = (await status(joiner)).stateSync;
    if (js.joined !== 'snapshot' || js.restoredFrom !== S) throw new Error(`the joiner did not restore the snapshot at ${S}: ${JSON.stringify(js)}`);

    const replayer = await joinedNode({ net, host: o.hosts.replayer, name: 'replayer', home: join(o.dir, 'replayer'), logDir, passphrase: PASS });
    extra.push(replayer);
    const replayStart = Date.now();
    await replayer.start(120_000);
    const rs = await until(`the replaying node to reach ${H}`, 1_800_000, async () => {
      const s = await status(replayer);
      return s.height >= H ? s : undefined;
    });
    return {
      target: o.target,
      trustHeight: H,
      snapshotHeight: S,
      joinBlocksExecuted: js.blocksExecuted ?? H - S,
      joinSeconds: Number(joinSeconds.toFixed(1)),
      restoreMs: js.restoreMs ?? 0,
      replayBlocks: rs.consensus.synced,
      replaySeconds: Number(((Date.now() - replayStart) / 1000).toFixed(1)),
    };
  } finally {
    await Promise.all(extra.map((n) => n.stop(5_000)));
    for (const n of extra) n.closeLog();
    await network?.stop();
  }
}
