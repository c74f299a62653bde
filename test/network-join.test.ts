import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeAddress, Keystore } from '../src/crypto/index.ts';
import { TxKind, ZNC, ZNC_UNIT } from '../src/ledger/index.ts';
import type { AccountAnswer, BlockAnswer, BookkeepersAnswer, ConsensusAnswer, StatusAnswer, StateSyncAnswer } from '../src/sdk/index.ts';
import { createHosts, type Hosts, hostsSupported, listNamespaces, PREFIX, sweepStaleHosts } from './helpers/hosts.ts';
import { ceremonyInProcess, joinedNode, sendTxVia, writeSnapshotConfig } from './helpers/netJoin.ts';
import { nodeEnv } from './helpers/processes.ts';
import { API_PORT, ClientAgent, type NetNetwork, type NetNode, P2P_PORT, startNetwork, until, zeusOkOn } from './helpers/netNodes.ts';

// Issue 15, must show 2, on separate network hosts (test/helpers/hosts.ts; nothing on 127.0.0.1).
// Four operators' genesis (the ceremony's shares and signed statements, with a short epoch and four
// seats, built through the builder `zeus genesis` runs: ceremonyInProcess in test/helpers/netJoin.ts,
// since the CLI ceremony alone took ~85 s on the loaded machine and test/network-ceremony.test.ts
// shows it) and four bookkeepers on four hosts, each dialing one bootstrap peer. Once the chain is TARGET blocks
// high, a fifth host joins with `zeus init --genesis http://<a bookkeeper's API>` and `zeus node
// start --trust-height H --trust-hash HASH` read off a bookkeeper's API: it restores a snapshot and
// executes only the blocks after it. A sixth host joins the same way without a trust point and
// replays from genesis, for the comparison. Then, without a restart, the fifth node is funded,
// stakes and registers as a candidate (`zeus stake`, `zeus candidate register` on its host), the
// holders vote it and three of the four bookkeepers in, and at the epoch boundary the set changes:
// the fifth node signs and proposes blocks, and the fourth bookkeeper, voted out, no longer signs
// while its process keeps following the chain.

/**
 * Blocks before the join. The issue asks for 2,000. BLOCK_MS is only the pause after a commit: on
 * the shared two-core machine this was written on (load average 11–18 from other sessions), four
 * bookkeepers on four hosts made 8–10 blocks/s with it, so 2,000 would take ~220 s of a test meant
 * to stay near 150 s; 500 (~55 s) is the largest that does. ZEUS_JOIN_TARGET=2000 runs the
 * issue's number (the rest of the test does not depend on it).
 */
const TARGET = Number(process.env.ZEUS_JOIN_TARGET ?? 500);
const BLOCK_MS = 20;
/** Short epochs so that an election and the takeover one epoch later fit in the test. */
const EPOCH = 50;
/** A snapshot every 100 heights, in 1 KiB chunks (the smallest), so that the chunks spread over peers. */
const SNAPSHOTS = { interval: 100, keep: 2, chunkBytes: 1024 };
const PASS = 'join-passphrase';
/** The environment of the `zeus` commands the operators run on their hosts. */
const cliEnv = { ...nodeEnv(), ZEUS_PASSPHRASE: PASS };
const CHAIN = 'zeus-join-1';
const KEY = 'op';
/** The bookkeeper that serves tampered snapshot chunks, and the joiner's one bootstrap peer. */
const LIAR = 2;

process.env.ZEUS_KEYSTORE_FAST_KDF = '1';
const runNamespaces = (run: string): string[] => listNamespaces().filter((n) => n.startsWith(`${PREFIX}${run}-`));

interface SyncStatus extends StatusAnswer {
  stateSync: StateSyncAnswer;
  consensus: ConsensusAnswer;
}

describe.skipIf(!hostsSupported())('a fifth host joins by state sync and is elected into the bookkeeper set', () => {
  const dir = mkdtempSync(join(tmpdir(), 'zeus-netjoin-'));
  const logDir = join(dir, 'logs');
  let net: Hosts;
  let network: NetNetwork | undefined;
  const extra: NetNode[] = [];
  let client: ClientAgent | undefined;

  beforeAll(async () => {
    sweepStaleHosts();
    // h0..h3 bookkeepers, h4 the joiner, h5 the replaying node, h6 the client.
    net = await createHosts(7, { name: 'join' });
  });
  afterAll(async () => {
    client?.close();
    await Promise.all(extra.map((n) => n.stop(5_000)));
    for (const n of extra) n.closeLog();
    await network?.stop();
    const run = net?.run;
    net?.destroy();
    if (run) expect(runNamespaces(run)).toEqual([]);
    if (!process.env.ZEUS_KEEP_TEST_DIR) rmSync(dir, { recursive: true, force: true });
  });

  it(`joins after ${TARGET} blocks by state sync (not replay), follows, is voted in at the epoch boundary and signs; a bookkeeper voted out stops signing`, async () => {
    const t0 = Date.now();
    const mark = (what: string): void => console.log(`[network-join] ${((Date.now() - t0) / 1000).toFixed(1)} s: ${what}`);
    const bk = net.hosts.slice(0, 4);
    const [joinHost, replayHost, clientHost] = [net.hosts[4], net.hosts[5], net.hosts[6]];
    const c = ceremonyInProcess({
      dir,
      operators: 4,
      chainId: CHAIN,
      passphrase: PASS,
      keyName: KEY,
      p2p: (i) => `/ip4/${bk[i].ip}/tcp/${P2P_PORT}`,
      params: [`epochLength=${EPOCH}`, 'bookkeeperSeats=4'],
      // ~60 accounts more in the state: a snapshot of ~9 KiB, more chunks than offerers.
      holders: 60,
    });
    expect(new Set(c.hashes).size).toBe(1);
    mark('genesis built');
    for (const h of c.homes) writeSnapshotConfig(h, SNAPSHOTS);
    network = await startNetwork({
      net,
      hosts: bk,
      // op-2 lies to joiners (must show 4 on hosts): every snapshot chunk it serves has a flipped
      // byte. It is the joiner's bootstrap peer, so it is surely among the offerers, and each
      // offerer is asked for at least one chunk when there are as many chunks as offerers (checked below).
      homes: c.homes.map((home, i) => ({ home, key: KEY, name: `op-${i}`, ...(i === LIAR ? { args: ['--test-corrupt-snapshot-chunks', '1000000'] } : {}) })),
      passphrase: PASS,
      logDir,
      bootstrap: 'one',
      blockTimeMs: BLOCK_MS,
    });
    const nodes = network.nodes;
    client = await ClientAgent.start({ net, host: clientHost, log: join(logDir, 'client.log') });
    const agent = client;
    const status = (n: NetNode): Promise<SyncStatus> => agent.get<SyncStatus>(n.api, '/status');
    const keys = c.homes.map((h) => new Keystore(join(h, 'keys')).load(KEY, PASS));
    mark('network started');

    // Voters' weight is their stake: three holders stake while the chain grows.
    const staking = Promise.all([0, 1, 2].map((i) => sendTxVia(agent, nodes[i].api, keys[i], CHAIN, TxKind.Stake, { amount: 1_000n * ZNC_UNIT }, 60_000)));

    // While the chain grows, the fifth host's operator prepares its home with `zeus init --genesis
    // <a bookkeeper's URL>` (a new bookkeeper key, one bootstrap peer), and so does the sixth's, which
    // will replay from genesis for the comparison (a full node).
    const joinHome = join(dir, 'op-4');
    const replayHome = join(dir, 'replay');
    const [initOut] = await Promise.all([
      zeusOkOn(
        net,
        joinHost,
        joinHome,
        [
          '--json',
          'init',
          '--genesis',
          nodes[2].api,
          '--expect-hash',
          c.hashes[0],
          '--moniker',
          'op-4',
          '--p2p-listen',
          `/ip4/${joinHost.ip}/tcp/${P2P_PORT}`,
          '--bootstrap',
          nodes[LIAR].p2p,
          '--api',
          `${joinHost.ip}:${API_PORT}`,
          '--block-time',
          String(BLOCK_MS),
          '--bookkeeper-key',
          KEY,
        ],
        cliEnv,
      ),
      zeusOkOn(
        net,
        replayHost,
        replayHome,
        [
          'init',
          '--genesis',
          nodes[3].api,
          '--moniker',
          'replay',
          '--p2p-listen',
          `/ip4/${replayHost.ip}/tcp/${P2P_PORT}`,
          '--bootstrap',
          nodes[3].p2p,
          '--api',
          `${replayHost.ip}:${API_PORT}`,
          '--block-time',
          String(BLOCK_MS),
        ],
        cliEnv,
      ),
    ]);
    const init = JSON.parse(initOut) as { genesisHash: string; bookkeeperKey: { address: string; publicKey: string; created: boolean } };
    expect(init.genesisHash).toBe(c.hashes[0]);
    expect(init.bookkeeperKey.created).toBe(true);
    mark('homes of the fifth and sixth hosts made');

    // The chain grows to TARGET, and half a snapshot interval on: the trust point is then about 50
    // blocks above the newest snapshot, which the joiner executes.
    const grown = TARGET + SNAPSHOTS.interval / 2;
    let last = { at: Date.now(), height: 0 };
    await until(
      `height ${grown}`,
      400_000,
      async () => {
        const s = await status(nodes[0]);
        if (Date.now() - last.at > 10_000) {
          mark(`height ${s.height} (${((s.height - last.height) / ((Date.now() - last.at) / 1000)).toFixed(1)} blocks/s)`);
          last = { at: Date.now(), height: s.height };
        }
        return s.height >= grown ? s : undefined;
      },
      500,
    );
    mark(`height ${grown} reached`);
    await staking;

    // The trust point, as an operator reads it off a bookkeeper's API (from the client host).
    const tip = await status(nodes[1]);
    const H = tip.height;
    const trustHash = (await agent.get<BlockAnswer>(nodes[1].api, `/blocks/${H}`)).hash;
    const S = Math.floor(H / SNAPSHOTS.interval) * SNAPSHOTS.interval;
    await until(`the bookkeepers' snapshot at ${S}`, 20_000, async () =>
      (await Promise.all(nodes.map(status))).every((s) => s.stateSync.snapshots.includes(S)) ? true : undefined,
    );

    const joinerAddr = init.bookkeeperKey.address;
    const joinerKey = init.bookkeeperKey.publicKey;
    const joiner = await joinedNode({
      net,
      host: joinHost,
      name: 'op-4',
      home: joinHome,
      logDir,
      passphrase: PASS,
      bookkeeperKey: KEY,
      args: ['--trust-height', String(H), '--trust-hash', trustHash],
    });
    extra.push(joiner);
    const joinStart = Date.now();
    await joiner.start(120_000);
    const joinMs = Date.now() - joinStart;
    const joinerPid = joiner.pid;
    const js = await status(joiner);
    mark(`joined by state sync in ${joinMs} ms`);
    expect(js.stateSync.joined).toBe('snapshot');
    expect(js.stateSync.trustHeight).toBe(H);
    expect(js.stateSync.restoredFrom).toBe(S);
    expect(js.stateSync.blocksExecuted).toBe(H - S);
    expect(js.stateSync.lowestBlock).toBe(S);
    // The liar was scored down for its tampered chunks alone, and the snapshot came from the honest ones.
    expect(js.stateSync.penalizedPeers).toEqual([nodes[LIAR].peerId]);
    expect((await agent.get<BlockAnswer>(joiner.api, `/blocks/${H}`)).hash).toBe(trustHash);
    // Given one bootstrap peer, the join found the others by peer exchange and fetched the chunks from several.
    const joinLog = readFileSync(joiner.log, 'utf8');
    const joinPeers = Number(/state sync: connected to (\d+) peer/.exec(joinLog)?.[1]);
    expect(joinPeers).toBeGreaterThanOrEqual(3);
    const fetching = /state sync: fetching snapshot \S+ \((\d+) chunks, \d+ bytes\) from (\d+) peer/.exec(joinLog);
    const [chunks, offerers] = [Number(fetching?.[1]), Number(fetching?.[2])];
    expect(offerers).toBeGreaterThanOrEqual(3);
    // Chunk i is asked first of offerer i mod n: with at least as many chunks, the liar is asked.
    expect(chunks).toBeGreaterThanOrEqual(offerers);
    expect(joinLog).toMatch(new RegExp(`peer ${nodes[LIAR].peerId} penalized: snapshot \\S+: chunk \\d+ does not hash to the manifest`));

    // The sixth host joins from the same genesis URL without a trust point: a replay from genesis.
    const replayer = await joinedNode({ net, host: replayHost, name: 'replay', home: replayHome, logDir, passphrase: PASS });
    extra.push(replayer);
    const replayStart = Date.now();
    await replayer.start(60_000);
    const rs = await until(`the replaying node to reach ${H}`, 300_000, async () => {
      const s = await status(replayer);
      return s.height >= H ? s : undefined;
    });
    const replayMs = Date.now() - replayStart;
    expect(rs.stateSync.joined).toBe('genesis');
    const replayed = rs.consensus.synced;
    expect(replayed).toBeGreaterThanOrEqual(H);
    expect(js.stateSync.blocksExecuted!).toBeGreaterThanOrEqual(SNAPSHOTS.interval / 2);
    expect(js.stateSync.blocksExecuted!).toBeLessThan(replayed / 4);
    const report = `state sync: snapshot ${S}, ${js.stateSync.blocksExecuted} block(s) executed to the trust height ${H}, ${(joinMs / 1000).toFixed(1)} s from start to API (restore ${js.stateSync.restoreMs} ms); replay from genesis: ${replayed} block(s) to reach ${H}, ${(replayMs / 1000).toFixed(1)} s`;
    mark(report);
    await replayer.stop();

    // It follows: the same block as the bookkeepers a few heights on.
    const on = (await status(nodes[0])).height + 5;
    await until(`the joiner to follow to ${on}`, 30_000, async () => ((await status(joiner)).height >= on ? true : undefined));
    const [a, b] = await Promise.all([agent.get<BlockAnswer>(joiner.api, `/blocks/${on}`), agent.get<BlockAnswer>(nodes[0].api, `/blocks/${on}`)]);
    expect(a.hash).toBe(b.hash);

    // Funded by a genesis holder (posted from the client host), seen on its own node.
    await sendTxVia(agent, nodes[0].api, keys[0], CHAIN, TxKind.Transfer, { to: decodeAddress(joinerAddr), token: ZNC, amount: 200_000n * ZNC_UNIT, memo: '' });
    await until('the funds on the joiner', 20_000, async () => {
      const acct = await agent.get<AccountAnswer>(joiner.api, `/accounts/${joinerAddr}`);
      return BigInt(acct.znc.balance) === 200_000n * ZNC_UNIT ? true : undefined;
    });
    // Its operator stakes and declares candidacy with `zeus` on the fifth host, through its own node.
    await zeusOkOn(net, joinHost, joinHome, ['stake', '--from', KEY, '--amount', '150000', '--wait'], cliEnv);
    await zeusOkOn(net, joinHost, joinHome, ['candidate', 'register', '--from', KEY, '--name', 'op-4', '--wait'], cliEnv);
    mark('staked and registered');
    // The holders vote for it and three of the genesis bookkeepers: op-3 gets no vote.
    const ballot = [joinerAddr, ...c.addresses.slice(0, 3)].map(decodeAddress);
    const votes = await Promise.all([0, 1, 2].map((i) => sendTxVia(agent, nodes[i].api, keys[i], CHAIN, TxKind.VoteBookkeepers, { candidates: ballot })));
    // The first vote in decides the election: op-3, with no vote, is last whichever votes are in.
    const voted = Math.min(...votes.map((v) => v.height));
    mark(`votes committed by height ${voted}`);

    // The election at the next epoch boundary schedules the new set one epoch later.
    const election = Math.ceil((voted + 1) / EPOCH) * EPOCH;
    const sched = await until('the new set to be scheduled', 60_000, async () => {
      const bks = await agent.get<BookkeepersAnswer>(joiner.api, '/bookkeepers');
      return bks.scheduled.find((s) => s.keys.includes(joinerKey));
    });
    const from = sched.fromHeight;
    expect(from).toBe(election + EPOCH);
    const op3Key = keys[3].publicKey;
    const hex = (k: Uint8Array): string => Buffer.from(k).toString('hex');
    expect(sched.keys).not.toContain(hex(op3Key));
    expect(sched.keys.sort()).toEqual([joinerKey, ...keys.slice(0, 3).map((k) => hex(k.publicKey))].sort());
    mark(`new set from height ${from}`);

    // After the switch: the joiner signs and proposes, op-3 does neither and keeps following.
    const after = from + 12;
    await until(`height ${after} on the joiner`, 90_000, async () => ((await status(joiner)).height >= after ? true : undefined), 250);
    const bks = await agent.get<BookkeepersAnswer>(joiner.api, '/bookkeepers');
    expect(bks.set.sort()).toEqual(sched.keys.sort());
    expect(bks.candidates.find((x) => x.publicKey === joinerKey)?.inSet).toBe(true);
    expect(bks.candidates.find((x) => x.publicKey === hex(op3Key))?.inSet).toBe(false);
    const set = [...sched.keys].sort();
    const signersOf = async (h: number, keysAt: string[]): Promise<{ signers: string[]; proposer: string }> => {
      // Block h+1 carries the certificate of h: the signers are indexes into the set of h.
      const blk = await agent.get<BlockAnswer>(joiner.api, `/blocks/${h}`);
      const cert = blk.certificate as unknown as { signers: number[] };
      return { signers: cert.signers.map((i) => keysAt[i]), proposer: blk.proposer };
    };
    // Before the switch op-3 signed: the genesis set (in genesis order) decided those heights.
    const genesisSet = (JSON.parse(readFileSync(c.genesisFile, 'utf8')) as { bookkeepers: { publicKey: string }[] }).bookkeepers.map((x) => x.publicKey);
    let op3Signed = 0;
    for (let h = from - 12; h < from; h++) if ((await signersOf(h, genesisSet)).signers.includes(hex(op3Key))) op3Signed++;
    expect(op3Signed).toBeGreaterThan(0);
    let joinerSigned = 0;
    let joinerProposed = 0;
    for (let h = from; h < after; h++) {
      const s = await signersOf(h, set);
      expect(s.signers).not.toContain(hex(op3Key));
      if (s.signers.includes(joinerKey)) joinerSigned++;
      if (s.proposer === joinerKey) joinerProposed++;
    }
    expect(joinerSigned).toBeGreaterThan(0);
    expect(joinerProposed).toBeGreaterThan(0);
    const js2 = await status(joiner);
    expect(js2.consensus.self).toBeGreaterThanOrEqual(0);
    // The same process all along: no restart between the join and signing.
    expect(joiner.alive).toBe(true);
    expect(joiner.pid).toBe(joinerPid);
    // op-3 before the switch signed (its index in the genesis set), after it it only follows.
    const o3 = await status(nodes[3]);
    expect(nodes[3].alive).toBe(true);
    expect(o3.consensus.self).toBe(-1);
    await until('op-3 to keep following', 30_000, async () => ((await status(nodes[3])).height > o3.height + 3 ? true : undefined));
    mark(`done: joiner signed ${joinerSigned} and proposed ${joinerProposed} of ${after - from} blocks after the switch`);
    console.log(report);
  }, 600_000);
});
