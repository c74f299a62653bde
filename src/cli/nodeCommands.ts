import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Option, type Command } from 'commander';
import { readPassphrase } from '../crypto/index.ts';
// The node's runtime (libp2p, the API server, the DDN, the store) is loaded by the commands that run
// it (`node start`, `init --genesis`), not by every `zeus` command: see node/index.client.ts.
import {
  apiAnnounceUrl,
  DEFAULT_P2P_LISTEN,
  homePaths,
  initDevHome,
  LOG_LEVELS,
  nodeLogger,
  parseHostPort,
  readConfig,
  writeConfig,
  type LogLevel,
  type NodeConfig,
} from '../node/index.client.ts';
import { EXIT_STORE_DAMAGED, globalOptions, keystore, output, passphraseFor, type GlobalOptions } from './context.ts';
import { readGenesisSource } from './genesisSource.ts';
import { applyGroupFlags, type GroupFlags } from './groupOptions.ts';
import { applyNetworkFlags, type NetworkFlags } from './netOptions.ts';

const int =
  (name: string) =>
  (v: string): number => {
    if (!/^\d+$/.test(v)) throw new Error(`${name} must be a whole number, got "${v}"`);
    return Number(v);
  };

/** State sync, snapshot and pruning flags of `node start`, saved into the home's config. */
async function applyStateSyncOptions(
  config: NodeConfig,
  o: { trustHeight?: number; trustHash?: string; pruneKeepBlocks?: number; snapshotInterval?: number; snapshotKeep?: number; snapshotChunkBytes?: number },
): Promise<void> {
  if ((o.trustHeight === undefined) !== (o.trustHash === undefined)) throw new Error('--trust-height and --trust-hash go together: give both, or neither');
  const { parseTrustHash } = await import('../node/index.ts');
  if (o.trustHeight !== undefined && o.trustHash !== undefined) {
    if (o.trustHeight < 1) throw new Error('--trust-height must be at least 1');
    parseTrustHash(o.trustHash);
    if (!config.p2p) throw new Error('state sync needs a peer-to-peer network: this home has no p2p section in config.json');
    config.stateSync = { trustHeight: o.trustHeight, trustHash: o.trustHash.toLowerCase() };
  }
  if (o.pruneKeepBlocks !== undefined) {
    if (o.pruneKeepBlocks === 0) delete config.pruneKeepBlocks;
    else config.pruneKeepBlocks = o.pruneKeepBlocks;
  }
  if (o.snapshotInterval !== undefined || o.snapshotKeep !== undefined || o.snapshotChunkBytes !== undefined) {
    config.snapshots = {
      ...config.snapshots,
      interval: o.snapshotInterval ?? config.snapshots?.interval ?? 1000,
      keep: o.snapshotKeep ?? config.snapshots?.keep ?? 2,
      ...(o.snapshotChunkBytes !== undefined ? { chunkBytes: o.snapshotChunkBytes } : {}),
    };
    if (config.snapshots.keep < 1) throw new Error('--snapshot-keep must be at least 1');
    if (config.snapshots.chunkBytes !== undefined && (config.snapshots.chunkBytes < 1024 || config.snapshots.chunkBytes > 16 * 1024 * 1024))
      throw new Error('--snapshot-chunk-bytes must be between 1024 and 16777216');
  }
}

interface InitOptions {
  genesis?: string;
  expectHash?: string;
  moniker?: string;
  p2pListen?: string;
  p2pAnnounce: string[];
  bootstrap: string[];
  bookkeeperKey?: string;
  dev?: boolean;
  chainId: string;
  api: string;
  blockTime: number;
  monthMs?: number;
  accounts: string;
}

/** Comma-separated values; the option may also be repeated. */
const list = (v: string, prev: string[]): string[] => [
  ...prev,
  ...v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean),
];

const flag = (k: string): string => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;

/** `zeus init --genesis`: a home that joins a network (src/node/join.ts does the writing). */
async function initJoin(g: GlobalOptions, o: InitOptions, chainIdGiven: boolean): Promise<void> {
  if (o.dev) throw new Error('--dev makes its own genesis: give either --dev or --genesis, not both');
  if (o.moniker === undefined) throw new Error('--moniker NAME is needed with --genesis: the name this node goes by');
  if (o.expectHash !== undefined && !/^[0-9a-fA-F]{64}$/.test(o.expectHash)) {
    throw new Error(`--expect-hash must be a genesis hash, 64 hex characters (\`zeus genesis hash FILE\`), got "${o.expectHash}"`);
  }
  const api = parseHostPort(o.api);
  // Refused before anything is fetched or asked: a home that exists stays as it is.
  const p = homePaths(g.home);
  for (const f of [p.config, p.genesis, p.data]) if (existsSync(f)) throw new Error(`${g.home} is already a node home (it has ${f}); choose another --home`);
  const { json, source } = await readGenesisSource(o.genesis!);
  const { checkJoinGenesis, initJoinHome } = await import('../node/index.ts');
  // Checked before a passphrase is asked for: a wrong genesis needs no key.
  const { genesis } = checkJoinGenesis(json, source, o.expectHash);
  if (chainIdGiven && genesis.chainId !== o.chainId) {
    throw new Error(`the genesis from ${source} is for chain "${genesis.chainId}", not --chain-id "${o.chainId}": a foreign genesis`);
  }
  let passphrase: string | undefined;
  if (o.bookkeeperKey !== undefined) {
    const exists = keystore(g).has(o.bookkeeperKey);
    passphrase = await readPassphrase(exists ? `Passphrase of key "${o.bookkeeperKey}": ` : `New passphrase for bookkeeper key "${o.bookkeeperKey}": `, {
      confirm: !exists,
    });
  }
  const r = initJoinHome(g.home, {
    genesis: json,
    source,
    expectHash: o.expectHash,
    moniker: o.moniker,
    p2pListen: o.p2pListen,
    p2pAnnounce: o.p2pAnnounce,
    bootstrap: o.bootstrap,
    apiHost: api.host,
    apiPort: api.port,
    blockIntervalMs: o.blockTime,
    bookkeeperKey: o.bookkeeperKey,
    passphrase,
  });
  const c = r.config;
  output(g, { home: g.home, chainId: c.chainId, genesisHash: r.hash, moniker: c.moniker, api: c.api, p2p: c.p2p, bookkeeperKey: r.key ?? null }, () =>
    [
      `Initialized ${g.home} to join ${c.chainId} as "${c.moniker}"`,
      `  genesis hash ${r.hash}  (compare it with the network's operators)`,
      `  p2p: listen ${c.p2p!.listen}${c.p2p!.announce?.length ? `, announce ${c.p2p!.announce.join(', ')}` : ''}; ${c.p2p!.bootstrap.length} bootstrap peer(s)${r.bootstrapFrom === 'genesis' ? " (the genesis bookkeepers' addresses: no --bootstrap given)" : ''}`,
      `  API will listen on http://${c.api.host}:${c.api.port}`,
      r.key
        ? `  bookkeeper key "${r.key.name}" ${r.key.created ? 'created' : 'in the home'} (${r.key.address})${r.key.genesisBookkeeper ? ', a genesis bookkeeper' : ''}; encrypted under your passphrase: back up ${join(p.keys, `${r.key.name}.json`)} and the passphrase`
        : '  no bookkeeper key: a full node (give --bookkeeper-key to stand for election later)',
      `Start it with: ZEUS_PASSPHRASE=… zeus node start --home ${g.home}`,
    ].join('\n'),
  );
}

export function registerNodeCommands(program: Command): void {
  program
    .command('init')
    .description(
      'Prepare a node home: join a network from its genesis (--genesis FILE|URL --moniker NAME), or make a dev chain (--dev: one bookkeeper, funded accounts)',
    )
    .option('--genesis <file|url>', "the network's genesis: a file, a running node's API URL (its GET /genesis), or a URL of the genesis JSON")
    .option('--expect-hash <hash>', 'refuse the genesis unless its hash (`zeus genesis hash`) is this one: the hash the operators compared')
    .option('--moniker <name>', 'the name this node goes by (with --genesis)')
    .option('--p2p-listen <multiaddr>', `where the node listens for peers (with --genesis; default ${DEFAULT_P2P_LISTEN})`)
    .option(
      '--p2p-announce <multiaddrs>',
      'comma-separated multiaddrs peers should dial to reach this node, when not the listen address (NAT, a load balancer)',
      list,
      [],
    )
    .option('--bootstrap <multiaddrs>', 'comma-separated multiaddrs, each ending in /p2p/<peer id>, of nodes to dial first', list, [])
    .option(
      '--bookkeeper-key <name>',
      'with --genesis: the key this node signs blocks with once elected, encrypted under ZEUS_PASSPHRASE (or a prompt): one already in the home (`zeus keys new|import`) is used, else it is created; without it the node is a full node',
    )
    .option('--dev', 'create a dev chain: keys for every genesis holder and dev account, funded from the promotion share')
    .option('--chain-id <id>', 'chain id (--dev; with --genesis, refuse a genesis of another chain)', 'zeus-dev-1')
    .option('--api <host:port>', 'API listen address', '127.0.0.1:26657')
    .option(
      '--block-time <ms>',
      'block interval in milliseconds (with --genesis: the pause after each commit, as the network agreed)',
      int('--block-time'),
      1000,
    )
    .option('--month-ms <ms>', 'length of a vesting month in ms of block time (scale down to watch vesting)', int('--month-ms'))
    .option('--accounts <names>', 'comma-separated dev account names', 'alice,bob,carol,dave')
    .addHelpText(
      'after',
      `
Joining a network (docs/OPERATORS.md):
  zeus init --home /var/lib/zeus --genesis http://SEED:26657 --expect-hash HASH --moniker my-node \
    --p2p-listen /ip4/0.0.0.0/tcp/26656 --p2p-announce /ip4/PUBLIC_IP/tcp/26656 \
    --bootstrap /ip4/SEED/tcp/26656/p2p/PEER_ID [--bookkeeper-key bookkeeper]
The home gets the genesis (its hash is printed: compare it), config.json and, with --bookkeeper-key,
the key under your passphrase; nothing else, and nothing at all if any step fails.`,
    )
    .action(async (o: InitOptions, cmd: Command) => {
      const g = globalOptions(cmd);
      const given = (k: string): boolean => cmd.getOptionValueSource(k) === 'cli';
      if (o.genesis !== undefined) {
        const devOnly = ['monthMs', 'accounts'].filter(given);
        if (devOnly.length) throw new Error(`${devOnly.map(flag).join(', ')} ${devOnly.length === 1 ? 'goes' : 'go'} with --dev: the genesis decides them`);
        return initJoin(g, o, given('chainId'));
      }
      const joinOnly = Object.entries({
        moniker: o.moniker,
        p2pListen: o.p2pListen,
        expectHash: o.expectHash,
        bookkeeperKey: o.bookkeeperKey,
        p2pAnnounce: o.p2pAnnounce.length ? o.p2pAnnounce : undefined,
        bootstrap: o.bootstrap.length ? o.bootstrap : undefined,
      })
        .filter(([, v]) => v !== undefined)
        .map(([k]) => k);
      if (!o.dev)
        throw new Error(
          'give --genesis FILE|URL --moniker NAME to join a network (the genesis comes from its ceremony, `zeus genesis --help`), or --dev for a dev chain',
        );
      if (joinOnly.length) throw new Error(`${joinOnly.map(flag).join(', ')} ${joinOnly.length === 1 ? 'goes' : 'go'} with --genesis, not --dev`);
      const api = parseHostPort(o.api);
      const { config, genesis } = initDevHome(g.home, {
        chainId: o.chainId,
        apiHost: api.host,
        apiPort: api.port,
        blockIntervalMs: o.blockTime,
        monthMs: o.monthMs,
        accounts: o.accounts
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean),
      });
      const keys = keystore(g).list();
      output(g, { home: g.home, chainId: config.chainId, api: config.api, keys }, () =>
        [
          `Initialized dev home ${g.home} for chain ${genesis.chainId}`,
          `  API will listen on http://${config.api.host}:${config.api.port}`,
          `  ${keys.length} keys (dev passphrase, insecure): ${keys.map((k) => k.name).join(', ')}`,
          `Start it with: zeus node start --home ${g.home}`,
        ].join('\n'),
      );
    });

  const node = program.command('node').description('Run a ZeusNet node');
  node
    .command('start')
    .description(
      'Run the node of a home: the chain store, block production (solo bookkeeper on a dev chain, BFT with the elected bookkeepers on a network; a home without a bookkeeper key is a full node that follows) and the HTTP API. Network options are saved into config.json.',
    )
    .option('--api <host:port>', 'API listen address (default: from config.json)')
    .option(
      '--api-announce <url>',
      'the URL other nodes and users reach this API at (behind NAT or a proxy); default http://HOST:PORT of --api unless HOST is 0.0.0.0',
    )
    .option('--p2p-listen <multiaddr>', 'libp2p address to bind, e.g. /ip4/0.0.0.0/tcp/26656')
    .option(
      '--p2p-announce <multiaddr,...>',
      'addresses other nodes should dial (public IP or DNS name of a node behind NAT or a load balancer), e.g. /dns4/node.example.org/tcp/26656',
    )
    .option(
      '--bootstrap <multiaddr,...>',
      'peers to dial first, each /ip4|dns4/HOST/tcp/PORT/p2p/PEER_ID; more are found by peer exchange ("" clears the list)',
    )
    .option('--block-time <ms>', 'block interval in milliseconds (default: from config.json)', int('--block-time'))
    .option(
      '--signer-group <etcd://host:port,...>',
      'keep this node\'s bookkeeper seat as one member of a group (same key on each member; see below): the etcd cluster that elects the member that signs ("" leaves the group; saved)',
    )
    .option('--group <name>', 'with --signer-group: the seat group’s name, the same on each of its members (saved)')
    .option('--group-member <name>', 'with --signer-group: this member’s name, unique in its group (default: the moniker, else the host name; saved)')
    .option('--group-lease-ttl <s>', "with --signer-group: the active member's etcd lease in seconds (default 2; saved)", int('--group-lease-ttl'))
    .addOption(
      new Option('--log-level <level>', 'how much the node logs, as JSON lines on stdout (debug adds every block; silent none)')
        .choices([...LOG_LEVELS])
        .default('info'),
    )
    .option(
      '--trust-height <height>',
      'join by state sync from this block height you trust (with --trust-hash; used while the store is empty; saved)',
      int('--trust-height'),
    )
    .option('--trust-hash <hash>', "join by state sync: that block's hash, 64 hex digits, from a node you trust (GET /blocks/<height>; saved)")
    .option(
      '--prune-keep-blocks <n>',
      'delete block records older than the tip minus N, never below the oldest kept snapshot (0: keep all, an archive node; saved)',
      int('--prune-keep-blocks'),
    )
    .option('--snapshot-interval <n>', 'take a state snapshot for joiners every N heights (0: none; default 1000; saved)', int('--snapshot-interval'))
    .option('--snapshot-keep <n>', 'how many snapshots to keep and offer (default 2; saved)', int('--snapshot-keep'))
    .option('--no-console-build', 'do not build the web console (dist/web) when it is missing or older than its sources')
    .option(
      '--upgrade-module <file>',
      "an ES module exporting `upgrades`, handlers by upgrade name, that this node runs at a passed upgrade proposal's height (repeatable; see docs/GOVERNANCE.md). Without the handler a node stops at that height and says so",
      (v: string, prev: string[] | undefined) => [...(prev ?? []), v],
    )
    .option(
      '--execution-threads <n>',
      'threads that execute received blocks: above 1, the inner chains run on worker threads, with the same result as one after another (default 1, or ZEUS_EXECUTION_THREADS)',
      int('--execution-threads'),
    )
    .addOption(new Option('--test-equivocate', 'TEST ONLY: sign a conflicting second prevote each round, to show evidence and slashing').hideHelp())
    .addOption(
      new Option('--test-halt-at <height>', 'TEST ONLY: fail to build the block of this height, to show the liveness alarm of a node whose consensus stopped')
        .argParser(int('--test-halt-at'))
        .hideHelp(),
    )
    .addOption(
      // Hidden: every node of a network must cut chunks alike (their manifests must match); tests use small ones.
      new Option('--snapshot-chunk-bytes <n>', 'snapshot chunk size in bytes (default 1 MiB; the same on every node of a network; saved)')
        .argParser(int('--snapshot-chunk-bytes'))
        .hideHelp(),
    )
    .addOption(
      new Option('--test-corrupt-snapshot-chunks <n>', 'TEST ONLY: serve the first N snapshot chunks with a flipped byte, to show joiners drop such a peer')
        .argParser(int('--test-corrupt-snapshot-chunks'))
        .hideHelp(),
    )
    .addOption(
      new Option(
        '--test-lie-snapshot-state',
        'TEST ONLY: take snapshots of a wrong state (consistent chunks, a wrong root), to show joiners drop such a peer',
      ).hideHelp(),
    )
    .addOption(new Option('--test-withhold-proposals', 'TEST ONLY: never propose, so that rounds fail while every node votes').hideHelp())
    .addOption(
      new Option('--test-corrupt-pieces <n>', 'TEST ONLY: serve the first N delivery pieces with a flipped byte, to show fetchers drop such a peer')
        .argParser(int('--test-corrupt-pieces'))
        .hideHelp(),
    )
    .addHelpText(
      'after',
      `
A seat kept by a group (docs/OPERATORS.md): run the same home's bookkeeper key on 2-3 machines of one site, each
  zeus node start --signer-group etcd://10.0.0.1:2379,10.0.0.2:2379,10.0.0.3:2379 --group seat-a --group-member a1
with a different --group-member and its own node key (node_key.json, made on first start: its peer id). etcd elects
the member that signs; before every signature it advances the group's mark in etcd (a compare-and-swap) and signs only
if that succeeds; the others follow as full nodes and take over once the active member's lease (--group-lease-ttl)
ends. Without etcd's quorum the seat signs nothing (it misses its slots) rather than risk signing twice.`,
    )
    .action(
      async (
        o: NetworkFlags &
          GroupFlags & {
            blockTime?: number;
            consoleBuild?: boolean;
            logLevel: LogLevel;
            testEquivocate?: boolean;
            testHaltAt?: number;
            executionThreads?: number;
            testWithholdProposals?: boolean;
            testCorruptPieces?: number;
            trustHeight?: number;
            trustHash?: string;
            pruneKeepBlocks?: number;
            snapshotInterval?: number;
            snapshotKeep?: number;
            snapshotChunkBytes?: number;
            testCorruptSnapshotChunks?: number;
            testLieSnapshotState?: boolean;
            upgradeModule?: string[];
          },
        cmd: Command,
      ) => {
        const g = globalOptions(cmd);
        if (!existsSync(homePaths(g.home).config)) throw new Error(`${g.home} is not a node home; run \`zeus init --home ${g.home} --dev\` first`);
        const config = applyGroupFlags(applyNetworkFlags(readConfig(g.home), o), o);
        if (o.blockTime) config.blockIntervalMs = o.blockTime;
        await applyStateSyncOptions(config, o);
        writeConfig(g.home, config);
        // A full node holds no secret that needs a passphrase (its node key is a plain file).
        const passphrase = config.bookkeeperKey === undefined ? undefined : await passphraseFor(g, `Passphrase for bookkeeper key "${config.bookkeeperKey}": `);
        const logger = nodeLogger(o.logLevel, { chainId: config.chainId });
        const { loadUpgradeModules, parseTrustHash, SignerGroup, Snapshotter, trustPointJoiner, ZeusNode } = await import('../node/index.ts');
        const { createApi, ensureConsole } = await import('../api/index.ts');
        const { DEFAULT_UPLOAD_LIMITS, openNodeDdn } = await import('../ddn/index.ts');
        // Loaded before the store is opened: a bad module stops the start with nothing done.
        const upgrades = await loadUpgradeModules(o.upgradeModule ?? []);
        if (upgrades.size > 0) logger.info({ upgrades: [...upgrades.keys()] }, `upgrade handlers loaded: ${[...upgrades.keys()].join(', ')}`);
        const trust = config.stateSync && { height: config.stateSync.trustHeight, hash: parseTrustHash(config.stateSync.trustHash) };
        const join = trust && config.p2p ? trustPointJoiner({ trust, p2p: config.p2p, chainId: config.chainId, log: logger, upgrades }) : undefined;
        // Set below, once there is an API and a store to close before exiting.
        let storeDamaged = (e: Error): void => {
          process.stderr.write(`error: ${e.message}\n`);
          process.exit(EXIT_STORE_DAMAGED);
        };
        const executionThreads = o.executionThreads ?? Number(process.env.ZEUS_EXECUTION_THREADS ?? 1);
        if (!Number.isInteger(executionThreads) || executionThreads < 1)
          throw new Error('--execution-threads (or ZEUS_EXECUTION_THREADS) must be a whole number of at least 1');
        const zn = await ZeusNode.open(g.home, {
          passphrase,
          logger,
          testHaltAt: o.testHaltAt,
          join,
          upgrades,
          executionThreads,
          onStoreDamaged: (e) => storeDamaged(e),
        });
        const snapshots = new Snapshotter(zn, g.home, {
          interval: config.snapshots?.interval ?? 1000,
          keep: config.snapshots?.keep ?? 2,
          chunkBytes: config.snapshots?.chunkBytes,
          pruneKeepBlocks: config.pruneKeepBlocks,
          testCorruptChunks: o.testCorruptSnapshotChunks,
          testLieState: o.testLieSnapshotState,
        });
        zn.stateSync = snapshots;
        zn.config.api = config.api;
        zn.config.blockIntervalMs = config.blockIntervalMs;
        let selfUrl: string | undefined;
        // The DDN's peers: the configured ones, and the API URLs the connected p2p peers told us.
        const ddnPeers = (): string[] => [...new Set([...(config.ddn?.peers ?? []), ...zn.networkApiUrls()])].filter((u) => u !== selfUrl);
        const { store, ddn } = await openNodeDdn(g.home, { testCorruptPieces: o.testCorruptPieces, peers: ddnPeers });
        const app = await createApi(zn, { ...config.api, ddn, registry: store, uploadLimits: { ...DEFAULT_UPLOAD_LIMITS, ...config.ddn?.uploads } });
        const addr = app.server.address();
        const port = typeof addr === 'object' && addr ? addr.port : config.api.port;
        selfUrl = apiAnnounceUrl(config.api, port);
        const log = (msg: string): void => logger.info(msg);
        let mode: string;
        // Joined before consensus starts (it campaigns in the background); left last when stopping.
        const sg = config.signerGroup;
        const group = sg
          ? {
              group: await SignerGroup.join({
                endpoints: sg.endpoints,
                chainId: config.chainId,
                group: sg.group,
                member: sg.member,
                leaseTtlSec: sg.leaseTtlSec,
                log: (m) => logger.info(m),
              }),
              name: sg.group,
              endpoints: sg.endpoints,
            }
          : undefined;
        if (config.p2p) {
          const bft = await zn.startConsensus({
            listen: config.p2p.listen,
            announce: config.p2p.announce,
            bootstrap: config.p2p.bootstrap,
            apiUrl: selfUrl,
            commitDelayMs: config.blockIntervalMs,
            equivocate: o.testEquivocate,
            withholdProposals: o.testWithholdProposals,
            protocols: [snapshots.protocol()],
            log,
            logger,
            ...(group ? { signerGroup: group } : {}),
          });
          const st = bft.status();
          const role = group
            ? `bookkeeper network, member ${sg!.member} of signer group ${sg!.group} (etcd ${sg!.endpoints.join(', ')}): signs only while its group's active member`
            : zn.signs
              ? 'bookkeeper network'
              : 'full node (no bookkeeper key: follows, never signs)';
          const announced = config.p2p.announce?.length ? `, announcing ${config.p2p.announce.join(', ')}` : '';
          mode = `${role}: peer id ${st.peerId}, listening on ${config.p2p.listen}${announced}, ${config.p2p.bootstrap.length} bootstrap peers; a block every ${config.blockIntervalMs} ms`;
        } else {
          zn.startProducing();
          mode = `solo bookkeeper: a block every ${config.blockIntervalMs} ms while there is work`;
        }
        const url = `http://${config.api.host}:${port}`;
        output(
          g,
          { event: 'started', chainId: zn.chainId, height: zn.ledger.height, api: url, console: `${url}/`, p2p: zn.consensusStatus()?.peerId },
          () => `ZeusNet node for ${zn.chainId} at height ${zn.ledger.height}; API ${url}; web console ${url}/; ${mode}`,
        );
        // What this node acknowledged before it last stopped and did not see to its end: taken back
        // and passed on again (in the background, once a peer is connected to pass them to).
        void zn
          .resubmitAcked()
          .then(
            (r) =>
              r.resubmitted + r.gone > 0 &&
              logger.info(
                r,
                `transactions acknowledged before the last stop: ${r.resubmitted} admitted and passed on again, ${r.gone} committed or refused since`,
              ),
          )
          .catch((e: unknown) => logger.error(`could not resubmit the transactions acknowledged before the last stop: ${(e as Error).message}`));
        // In the background: the node serves its API at once, and a "being built" page at / until then.
        if (o.consoleBuild !== false) void ensureConsole((line) => logger.info(line));
        zn.events.on('event', (e) => {
          if (e.type === 'block') {
            const n = e.txCounts.reduce((a, b) => a + b, 0);
            // Every block at debug; at info the ones with something in them, extra rounds, and a heartbeat.
            const notable = n > 0 || e.round > 0 || e.height % 50 === 0;
            logger[notable ? 'info' : 'debug']({ height: e.height, hash: e.hash, round: e.round, txs: n }, 'block committed');
          } else if (e.type === 'market') logger.info({ height: e.height, chain: e.chain, kind: e.kind, task: e.task, lease: e.lease }, 'market');
          else if (e.type === 'tx' && e.status === 'rejected') logger.debug({ hash: e.hash, chain: e.chain, code: e.error?.code }, 'transaction rejected');
        });
        let stopping = false;
        const stop = async (code = 0): Promise<void> => {
          if (stopping) return;
          stopping = true;
          await ddn?.fetches.close();
          await app.close();
          await snapshots.settled();
          await zn.close().catch((e: unknown) => logger.error({ err: e }, 'closing the node failed'));
          // After consensus stopped: resigning ends the lease at once, so another member takes over without waiting for it.
          await group?.group.close().catch((e: unknown) => logger.error({ err: e }, 'leaving the signer group failed'));
          process.exit(code);
        };
        storeDamaged = (e) => {
          if (stopping) return;
          process.stderr.write(`error: ${e.message}\n`);
          process.exitCode = EXIT_STORE_DAMAGED;
          void stop(EXIT_STORE_DAMAGED);
        };
        process.on('SIGINT', () => void stop());
        process.on('SIGTERM', () => void stop());
      },
    );
}
