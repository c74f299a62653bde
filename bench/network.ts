// npm run bench:network [-- --seconds 20 --rate 300 --senders 100 --block-time 250 --order namespaced-first --rounds 1
//                           --sync-blocks 2000 --sync-block-time 20]
//
// Issue 15, must show 6: what real sockets between hosts cost. The same four-bookkeeper network —
// one genesis, the same configs but for the addresses — runs twice in one run: on separate network
// hosts (each bookkeeper in its own Linux network namespace on a virtual switch, test/helpers/hosts.ts,
// p2p and API on the host's own address) and on 127.0.0.1. Both get the same load: the very same
// signed transfers (same genesis, so the same chain id and nonces), offered open-loop at --rate for
// --seconds (a list of rates: one phase each, in turn), a sender always on the same node, measured as bench/consensus.ts measures (bench/load.ts:
// finality = scheduled offer → block event of node 0; committed/s in the window). In both runs the
// requests come from the same client agent process (test/helpers/netAgent.ts), on a host of its own
// in the namespaced run and on loopback in the other, so the measuring path is the same.
// Reports finality p50/p99 and committed transfers/s for each, and namespaced ÷ loopback. With
// --rounds N it measures both N times, alternating which goes first, and reports the median ratio
// (a shared machine's load drifts within minutes).
//
// Then the state-sync join time against replay time: four bookkeepers on hosts grow a chain to
// --sync-blocks blocks (a snapshot every 100), a fifth host joins by state sync from a trust point
// read off a bookkeeper, a sixth replays from genesis (test/helpers/netStateSync.ts); both times and
// the blocks each executed are reported (--sync-blocks 0 skips it).
//
// Needs root (network namespaces). Every namespace is removed at the end, also after a failure.
import { copyFileSync, cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { addressFromPublicKey, encodeAddress, generateKeyPair, Keystore, type KeyPair } from '../src/crypto/index.ts';
import {
  addAllocation,
  addBookkeeper,
  finalizeGenesis,
  genesisHash,
  newGenesisDraft,
  shareOf,
  signBookkeeperStatement,
  ZNC_UNIT,
  type Genesis,
} from '../src/ledger/index.ts';
import type { StatusAnswer } from '../src/sdk/index.ts';
import { assertHostsSupported, createHosts, type Hosts, listNamespaces, PREFIX, sweepStaleHosts } from '../test/helpers/hosts.ts';
import { ClientAgent, type NetNetwork, startNetwork, until } from '../test/helpers/netNodes.ts';
import { type JoinMeasurement, measureJoin } from '../test/helpers/netStateSync.ts';
import { type LoadTransport, type Phase, type PhaseResult, phaseResults, runLoad, signLoad } from './load.ts';
import { machine } from './machine.ts';

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '20' },
    rate: { type: 'string', default: '300' },
    order: { type: 'string', default: 'namespaced-first' },
    rounds: { type: 'string', default: '1' },
    senders: { type: 'string', default: '100' },
    'block-time': { type: 'string', default: '250' },
    out: { type: 'string', default: 'bench/results/network.json' },
    keep: { type: 'boolean', default: false },
    /** Blocks before a late joiner comes (0: the state-sync part is not run). */
    'sync-blocks': { type: 'string', default: '2000' },
    'sync-block-time': { type: 'string', default: '20' },
  },
});
const SECONDS = Number(args.seconds);
const RATES = args.rate!.split(',').map(Number);
const ORDER = args.order!;
const ROUNDS = Number(args.rounds);
const SENDERS = Number(args.senders);
const BLOCK_MS = Number(args['block-time']);
const SYNC_BLOCKS = Number(args['sync-blocks']);
const SYNC_BLOCK_MS = Number(args['sync-block-time']);
const BOOKKEEPERS = 4;
const PASS = 'bench-network';
const CHAIN_ID = 'zeus-bench-net-1';
const log = (s: string): void => void process.stderr.write(`${s}\n`);

for (const [name, v] of [['--seconds', SECONDS], ...RATES.map((r) => ['--rate', r] as const), ['--senders', SENDERS], ['--block-time', BLOCK_MS]] as const) {
  if (!Number.isInteger(v) || v <= 0) throw new Error(`${name} must be a positive whole number, got "${v}"`);
}
if (!Number.isInteger(SYNC_BLOCKS) || SYNC_BLOCKS < 0 || SYNC_BLOCKS % 100 !== 0)
  throw new Error(`--sync-blocks must be a multiple of 100 (the snapshot interval), got "${args['sync-blocks']}"`);
if (!Number.isInteger(SYNC_BLOCK_MS) || SYNC_BLOCK_MS <= 0)
  throw new Error(`--sync-block-time must be a positive whole number, got "${args['sync-block-time']}"`);
if (ORDER !== 'namespaced-first' && ORDER !== 'loopback-first') throw new Error(`--order is namespaced-first or loopback-first, got "${ORDER}"`);

/**
 * The bench's genesis, built with the ceremony's own functions (what `zeus genesis …` runs): four
 * operators each stake from the market share; the senders get the rest of it, liquid at genesis.
 * Only the free quota is raised (as in bench/consensus.ts) so that the senders can offer the load.
 */
function benchGenesis(ops: KeyPair[], p2p: string[], senders: KeyPair[], perSender: number): Genesis {
  const addr = (k: KeyPair): string => encodeAddress(addressFromPublicKey(k.publicKey));
  let d = newGenesisDraft({ chainId: CHAIN_ID, genesisTime: Date.now(), params: { freeQuota: perSender + 10, quotaWindowMs: 3_600_000 } });
  d = addAllocation(d, { share: 'cornerstone', holders: [{ address: addr(ops[0]), amount: shareOf('cornerstone') }] });
  d = addAllocation(d, { share: 'pe', holders: [{ address: addr(ops[1]), amount: shareOf('private-equity') }] });
  d = addAllocation(d, { share: 'team', holders: [{ address: addr(ops[3]), amount: shareOf('team') }] });
  d = addAllocation(d, { share: 'reserve', reserveMembers: ops.slice(0, 3).map(addr), threshold: 2 });
  const opEach = 1_000_000n * ZNC_UNIT;
  const senderEach = 1_000_000n * ZNC_UNIT;
  const market = shareOf('promotion');
  d = addAllocation(d, {
    share: 'market',
    holders: [
      ...ops.slice(0, 3).map((k) => ({ address: addr(k), amount: opEach })),
      ...senders.map((k) => ({ address: addr(k), amount: senderEach })),
      { address: addr(ops[3]), amount: market - 3n * opEach - BigInt(senders.length) * senderEach },
    ],
  });
  ops.forEach((k, i) => {
    d = addBookkeeper(d, signBookkeeperStatement(k, { chainId: CHAIN_ID, name: `op-${i}`, p2p: p2p[i], stake: (100_000n * ZNC_UNIT).toString() }));
  });
  return finalizeGenesis(d);
}

/** A copy of the operators' homes (keys and genesis, fresh chain data) for one network. */
function homesFor(dir: string, sources: string[]): string[] {
  return sources.map((src, i) => {
    const home = join(dir, `op-${i}`);
    mkdirSync(home, { recursive: true, mode: 0o700 });
    cpSync(join(src, 'keys'), join(home, 'keys'), { recursive: true });
    copyFileSync(join(src, 'genesis.json'), join(home, 'genesis.json'));
    return home;
  });
}

function agentTransport(agent: ClientAgent, network: NetNetwork): LoadTransport {
  const apis = network.nodes.map((n) => n.api);
  return {
    postTxs: async (node, hexes) => {
      const r = await agent.api<{ results: { error?: { code: string } }[] }>(apis[node], 'POST', '/txs', { txs: hexes });
      if (!r.json?.results) throw new Error(`POST /txs answered ${r.status}: ${r.text.slice(0, 200)}`);
      return r.json;
    },
    watchBlocks: (onBlock) => agent.watch(apis[0], '/ws?events=block', (data) => onBlock(JSON.parse(data))),
    blockTxs: async (height) => (await agent.get<{ txs: string[][] }>(apis[0], `/blocks/${height}`)).txs.flat(),
  };
}

interface NetworkResult {
  where: 'namespaced' | 'loopback';
  phases: PhaseResult[];
  refused: Record<string, number>;
  retriedAfterMempoolFull: number;
  /** Seconds from starting the processes to all four committing together. */
  startupSeconds: number;
  heightAtEnd: number;
}

/** Starts the network (on `net`'s hosts, or loopback), offers the load, stops it; always stops what it started. */
async function measure(o: {
  where: 'namespaced' | 'loopback';
  net?: Hosts;
  homes: string[];
  logDir: string;
  offered: ReturnType<typeof signLoad>;
  phases: Phase[];
}): Promise<NetworkResult> {
  const t0 = performance.now();
  let network: NetNetwork | undefined;
  let agent: ClientAgent | undefined;
  try {
    log(
      `${o.where}: starting ${BOOKKEEPERS} bookkeepers${
        o.net
          ? ` on hosts ${o.net.hosts
              .slice(0, BOOKKEEPERS)
              .map((h) => h.ip)
              .join(', ')}`
          : ' on 127.0.0.1'
      }…`,
    );
    network = await startNetwork({
      net: o.net,
      hosts: o.net?.hosts.slice(0, BOOKKEEPERS),
      homes: o.homes.map((home, i) => ({ home, key: 'op', name: `op-${i}` })),
      passphrase: PASS,
      logDir: o.logDir,
      blockTimeMs: BLOCK_MS,
    });
    agent = await ClientAgent.start({ net: o.net, host: o.net?.hosts[BOOKKEEPERS], log: join(o.logDir, 'client.log') });
    const a = agent;
    const nodes = network.nodes;
    const heights = async (): Promise<number[]> => (await Promise.all(nodes.map((n) => a.get<StatusAnswer>(n.api, '/status')))).map((s) => s.height);
    const h0 = Math.max(...(await until('the four APIs', 30_000, heights)));
    await until('blocks committed by all four', 60_000, async () => ((await heights()).every((h) => h >= h0 + 2) ? true : undefined));
    const startupSeconds = Number(((performance.now() - t0) / 1000).toFixed(1));
    log(`${o.where}: committing together after ${startupSeconds} s`);
    const run = await runLoad({ offered: o.offered, phases: o.phases, nodes: BOOKKEEPERS, transport: agentTransport(a, network), log });
    const phases = phaseResults(o.phases, o.offered, run);
    const heightAtEnd = Math.min(...(await heights()));
    for (const r of phases)
      log(
        `${o.where}, ${r.offeredPerSecond}/s offered: ${r.committedPerSecond} committed/s, finality p50 ${r.finalityMs.p50} ms, p99 ${r.finalityMs.p99} ms (${r.committed}/${r.offered} committed)`,
      );
    return { where: o.where, phases, refused: run.refused, retriedAfterMempoolFull: run.retriedAfterMempoolFull, startupSeconds, heightAtEnd };
  } finally {
    agent?.close();
    await network?.stop();
  }
}

/**
 * A late joiner against a replay, on separate hosts (test/helpers/netStateSync.ts): four bookkeepers
 * grow a chain to --sync-blocks blocks (a snapshot every 100), then one host joins by state sync
 * from a trust point and another replays from genesis.
 */
async function measureStateSync(dir: string): Promise<({ measured: true } & JoinMeasurement) | { measured: false; note: string }> {
  if (SYNC_BLOCKS === 0) return { measured: false, note: 'not measured in this run (--sync-blocks 0)' };
  const net = await createHosts(BOOKKEEPERS + 3, { name: 'bsync' });
  let agent: ClientAgent | undefined;
  try {
    const h = net.hosts;
    agent = await ClientAgent.start({ net, host: h[BOOKKEEPERS + 2], log: join(dir, 'sync-agent.log') });
    log(`state sync: growing a chain to ${SYNC_BLOCKS} blocks on ${BOOKKEEPERS} hosts (a block every ${SYNC_BLOCK_MS} ms at most)…`);
    const m = await measureJoin({
      net,
      hosts: { bookkeepers: h.slice(0, BOOKKEEPERS), joiner: h[BOOKKEEPERS], replayer: h[BOOKKEEPERS + 1] },
      agent,
      dir: join(dir, 'sync'),
      target: SYNC_BLOCKS,
      blockMs: SYNC_BLOCK_MS,
      snapshotInterval: 100,
      log,
    });
    return { measured: true, ...m };
  } finally {
    agent?.close();
    net.destroy();
  }
}

async function main(): Promise<void> {
  assertHostsSupported();
  sweepStaleHosts();
  process.env.ZEUS_KEYSTORE_FAST_KDF = '1';
  const phases: Phase[] = RATES.map((rate) => ({ rate, seconds: SECONDS, kind: 'step' }));
  const total = phases.reduce((a, p) => a + p.rate * p.seconds, 0);
  const perSender = Math.ceil(total / SENDERS);
  const dir = mkdtempSync(join(tmpdir(), 'zeus-bench-net-'));
  let net: Hosts | undefined;
  try {
    // Four bookkeeper hosts and a client host.
    net = await createHosts(BOOKKEEPERS + 1, { name: 'bnet' });
    const hosts = net.hosts;
    const sources = Array.from({ length: BOOKKEEPERS }, (_, i) => join(dir, 'operators', `op-${i}`));
    const ops = sources.map((home) => {
      const ks = new Keystore(join(home, 'keys'));
      ks.create('op', PASS);
      return ks.load('op', PASS);
    });
    const senders = Array.from({ length: SENDERS }, () => generateKeyPair());
    // One genesis for both networks: its statements name the hosts' addresses, which nodes do not
    // dial today (they dial their config's bootstrap list). If nodes come to dial the genesis's
    // addresses, the loopback run needs a genesis of its own (same content, 127.0.0.1 statements).
    const genesis = benchGenesis(
      ops,
      hosts.slice(0, BOOKKEEPERS).map((h) => `/ip4/${h.ip}/tcp/26656`),
      senders,
      perSender,
    );
    for (const home of sources) writeFileSync(join(home, 'genesis.json'), `${JSON.stringify(genesis, null, 2)}\n`);
    log(`genesis ${genesisHash(genesis)} (${BOOKKEEPERS} bookkeepers, ${SENDERS} senders); signing ${total} transfers in advance…`);
    const recipients = Array.from({ length: 1000 }, () => addressFromPublicKey(generateKeyPair().publicKey));
    const offered = signLoad({ keys: senders, chainId: CHAIN_ID, phases, nodes: BOOKKEEPERS, recipients });

    const run = net.run;
    const hostsNet = net;
    // Rounds alternate the order, so that a machine whose load drifts does not favour one side.
    const rounds: { order: string; namespaced: NetworkResult; loopback: NetworkResult; loadAverage: number[] }[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      const nsFirst = (ORDER === 'namespaced-first') === (r % 2 === 0);
      const at = join(dir, `round-${r}`);
      const one = (where: 'namespaced' | 'loopback'): Promise<NetworkResult> =>
        measure({
          where,
          net: where === 'namespaced' ? hostsNet : undefined,
          homes: homesFor(join(at, where), sources),
          logDir: join(at, where, 'logs'),
          offered,
          phases,
        });
      log(
        `round ${r + 1} of ${ROUNDS} (${nsFirst ? 'namespaced' : 'loopback'} first; load average ${loadavg()
          .map((x) => x.toFixed(1))
          .join(' ')})`,
      );
      const first = await one(nsFirst ? 'namespaced' : 'loopback');
      const second = await one(nsFirst ? 'loopback' : 'namespaced');
      const [namespaced, loopback] = nsFirst ? [first, second] : [second, first];
      rounds.push({ order: nsFirst ? 'namespaced-first' : 'loopback-first', namespaced, loopback, loadAverage: loadavg().map((x) => Number(x.toFixed(1))) });
      if (!args.keep) rmSync(at, { recursive: true, force: true });
    }
    hostsNet.destroy();
    net = undefined;
    const stateSync = await measureStateSync(dir);
    log(
      stateSync.measured
        ? `state-sync join: snapshot ${stateSync.snapshotHeight}, ${stateSync.joinBlocksExecuted} blocks executed, ${stateSync.joinSeconds} s; replay: ${stateSync.replayBlocks} blocks, ${stateSync.replaySeconds} s`
        : `state-sync join vs replay: ${stateSync.note}`,
    );
    const left = listNamespaces().filter((n) => n.startsWith(`${PREFIX}${run}-`));
    if (left.length) throw new Error(`namespaces left behind: ${left.join(', ')}`);

    const ratio = (a: number, b: number): number => Number((a / b).toFixed(2));
    const median = (xs: number[]): number => {
      const v = [...xs].sort((x, y) => x - y);
      return v.length % 2 ? v[(v.length - 1) / 2] : Number(((v[v.length / 2 - 1] + v[v.length / 2]) / 2).toFixed(2));
    };
    const ratios = rounds.map(({ namespaced, loopback }) =>
      namespaced.phases.map((n, i) => {
        const l = loopback.phases[i];
        return {
          offeredPerSecond: n.offeredPerSecond,
          committedPerSecond: ratio(n.committedPerSecond, l.committedPerSecond),
          finalityP50: ratio(n.finalityMs.p50, l.finalityMs.p50),
          finalityP99: ratio(n.finalityMs.p99, l.finalityMs.p99),
        };
      }),
    );
    const result = {
      benchmark: 'network',
      command: `npm run bench:network -- --seconds ${SECONDS} --rate ${RATES.join(',')} --senders ${SENDERS} --block-time ${BLOCK_MS} --order ${ORDER} --rounds ${ROUNDS} --sync-blocks ${SYNC_BLOCKS} --sync-block-time ${SYNC_BLOCK_MS}`,
      machine: machine(),
      bookkeepers: BOOKKEEPERS,
      blockTimeMs: BLOCK_MS,
      genesisHash: genesisHash(genesis),
      rounds: rounds.map((r, i) => ({ ...r, namespacedOverLoopback: ratios[i] })),
      /** Per phase, the median over the rounds of namespaced ÷ loopback. */
      namespacedOverLoopback: phases.map((p, i) => ({
        offeredPerSecond: p.rate,
        committedPerSecond: median(ratios.map((r) => r[i].committedPerSecond)),
        finalityP50: median(ratios.map((r) => r[i].finalityP50)),
        finalityP99: median(ratios.map((r) => r[i].finalityP99)),
      })),
      stateSync,
      namespacesLeft: 0,
    };
    writeFileSync(args.out!, `${JSON.stringify(result, null, 2)}\n`);
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } finally {
    net?.destroy();
    if (args.keep) log(`homes and logs kept in ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

await main();
