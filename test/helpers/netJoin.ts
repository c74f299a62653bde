import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { addressFromPublicKey, encodeAddress, generateKeyPair, type KeyPair, Keystore, toHex } from '../../src/crypto/index.ts';
import {
  addAllocation,
  addBookkeeper,
  decodeTx,
  finalizeGenesis,
  GENESIS_SHARES,
  genesisHash,
  newGenesisDraft,
  setGenesisParams,
  shareOf,
  signBookkeeperStatement,
  signTx,
  TX_KIND_NAMES,
  validateGenesis,
  type TxKind,
  type TxRequest,
  ZNC_UNIT,
} from '../../src/ledger/index.ts';
import { NodeConfigSchema, writeConfig, writeGenesis } from '../../src/node/index.ts';
import { peerIdFromKey } from '../../src/p2p/index.ts';
import type { AccountAnswer, TxStatusAnswer } from '../../src/sdk/index.ts';
import type { Ceremony } from './ceremony.ts';
import type { Host, Hosts } from './hosts.ts';
import { API_PORT, type ClientAgent, NetNode, P2P_PORT, until } from './netNodes.ts';
import { nodeEnv } from './processes.ts';

// A node joining a running network on a host of its own (issue 15, must show 2): the operator of a
// new host runs `zeus init --genesis URL` and `zeus node start` there, and the `zeus` commands of its
// wallet (stake, candidate register) from the same host (netNodes.ts's zeusOn). Built on the exported API of
// test/helpers/hosts.ts and netNodes.ts; what netNodes.ts lacks for this (extra `zeus node start`
// options per node, a node started from a home it did not configure) is added here instead.

/**
 * Gives a ceremony home (keys and genesis.json, no config yet) a config.json holding its snapshot
 * settings, which startNetwork keeps (it rewrites only the network fields of an existing config).
 * What netNodes.ts could take instead: extra `zeus node start` options per node.
 */
export function writeSnapshotConfig(home: string, snapshots: { interval: number; keep: number; chunkBytes: number }): void {
  const genesis = JSON.parse(readFileSync(join(home, 'genesis.json'), 'utf8')) as { chainId: string };
  writeConfig(
    home,
    NodeConfigSchema.parse({ chainId: genesis.chainId, api: { host: '127.0.0.1', port: API_PORT }, blockIntervalMs: 250, mempoolMax: 10_000, snapshots }),
  );
}

/**
 * A NetNode for a home `zeus init --genesis` made on `host` (its config already names the host's
 * addresses): started with `zeus node start` and `args` (e.g. a trust point). Its peer id is its
 * bookkeeper key's when it has one; a full node's comes from node_key.json, made at its first start
 * (read it from /status).
 */
export async function joinedNode(o: {
  net: Hosts;
  host: Host;
  name: string;
  home: string;
  logDir: string;
  passphrase: string;
  bookkeeperKey?: string;
  args?: string[];
}): Promise<NetNode> {
  const peerId = o.bookkeeperKey ? await peerIdFromKey(new Keystore(join(o.home, 'keys')).load(o.bookkeeperKey, o.passphrase).secretKey) : '';
  return new NetNode({
    name: o.name,
    home: o.home,
    net: o.net,
    host: o.host,
    ip: o.host.ip,
    apiPort: API_PORT,
    p2p: `/ip4/${o.host.ip}/tcp/${P2P_PORT}${peerId ? `/p2p/${peerId}` : ''}`,
    peerId,
    log: join(o.logDir, `${o.name}.log`),
    args: ['--json', 'node', 'start', '--no-console-build', ...(o.args ?? [])],
    env: { ...nodeEnv(), ZEUS_PASSPHRASE: o.passphrase },
  });
}

/**
 * Signs a transaction with the sender's next nonce on the chain it routes to, as `node` reports it,
 * posts it from the client agent's host and waits until it is committed there (throws on a refusal).
 */
export async function sendTxVia<K extends TxKind>(
  agent: ClientAgent,
  node: string,
  key: KeyPair,
  chainId: string,
  kind: K,
  payload: TxRequest<K>['payload'],
  timeoutMs = 30_000,
): Promise<{ hash: string; height: number }> {
  const chain = decodeTx(signTx(key, { chainId, kind, nonce: 0n, payload })).chain;
  const address = encodeAddress(addressFromPublicKey(key.publicKey));
  const account = await agent.get<AccountAnswer>(node, `/accounts/${address}`);
  const nonce = BigInt(account.nonces[chain] ?? '0');
  const bytes = signTx(key, { chainId, kind, nonce, payload });
  const hash = decodeTx(bytes).hashHex;
  const posted = await agent.api(node, 'POST', '/txs', { tx: toHex(bytes) });
  if (posted.status !== 200 && posted.status !== 202) throw new Error(`${TX_KIND_NAMES[kind]} from ${address} refused (${posted.status}): ${posted.text}`);
  return until(`${TX_KIND_NAMES[kind]} ${hash} committed`, timeoutMs, async () => {
    const t = await agent.get<TxStatusAnswer>(node, `/txs/${hash}`);
    if (t.status === 'rejected') throw new Error(`${TX_KIND_NAMES[kind]} ${hash} rejected: ${JSON.stringify(t)}`);
    return t.status === 'committed' ? { hash, height: Number(t.height) } : undefined;
  });
}

/**
 * The genesis runCeremony (test/helpers/ceremony.ts) makes, with the same shares, statements and
 * checks, built in this process through the builder the `zeus genesis` commands call
 * (src/ledger/genesisBuilder.ts): each `zeus` process costs seconds on a loaded machine, ~85 s
 * for a whole ceremony, and test/network-ceremony.test.ts already shows the commands. Each home
 * `<dir>/op-<i>` gets its key (under `passphrase`) and genesis.json.
 */
export function ceremonyInProcess(o: {
  dir: string;
  operators: number;
  chainId: string;
  passphrase: string;
  keyName?: string;
  p2p: (i: number) => string;
  params?: string[];
  /**
   * Holders of the market share besides the operators, `holderAmount` each (default 1,000 ZNC) from
   * the last operator's part: a number of fresh random addresses (a genesis of many accounts, so that
   * a snapshot of its state spans more 1 KiB chunks than there are peers to fetch them from), or
   * the given addresses (the accounts of a fault run's bank workload, test/faults/bank.ts).
   */
  holders?: number | string[];
  holderAmount?: bigint;
}): Ceremony {
  const key = o.keyName ?? 'op';
  const homes = Array.from({ length: o.operators }, (_, i) => join(o.dir, `op-${i}`));
  const stored = homes.map((h) => {
    mkdirSync(h, { recursive: true, mode: 0o700 });
    return new Keystore(join(h, 'keys')).create(key, o.passphrase);
  });
  const addresses = stored.map((k) => k.address);
  const last = o.operators - 1;
  let d = setGenesisParams(newGenesisDraft({ chainId: o.chainId, genesisTime: Date.now() }), o.params ?? []);
  d = addAllocation(d, { share: 'cornerstone', holders: [{ address: addresses[0], amount: shareOf(GENESIS_SHARES.cornerstone) }] });
  const pe = addresses.slice(1, Math.min(3, last + 1));
  d = addAllocation(d, { share: 'pe', holders: pe.map((address) => ({ address, amount: shareOf(GENESIS_SHARES.pe) / BigInt(pe.length) })) });
  const each = 1_000_000n * ZNC_UNIT;
  d = addAllocation(d, { share: 'market', holders: addresses.slice(0, last).map((address) => ({ address, amount: each })) });
  const holders = Array.isArray(o.holders)
    ? o.holders
    : Array.from({ length: o.holders ?? 0 }, () => encodeAddress(addressFromPublicKey(generateKeyPair().publicKey)));
  const small = o.holderAmount ?? 1_000n * ZNC_UNIT;
  if (holders.length > 0) d = addAllocation(d, { share: 'market', holders: holders.map((address) => ({ address, amount: small })) });
  d = addAllocation(d, {
    share: 'market',
    holders: [{ address: addresses[last], amount: shareOf(GENESIS_SHARES.market) - BigInt(last) * each - BigInt(holders.length) * small }],
  });
  d = addAllocation(d, { share: 'team', holders: [{ address: addresses[last], amount: shareOf(GENESIS_SHARES.team) }] });
  const members = addresses.slice(0, Math.min(3, o.operators));
  d = addAllocation(d, { share: 'reserve', reserveMembers: members, threshold: Math.min(2, members.length) });
  for (const [i, h] of homes.entries()) {
    const pair = new Keystore(join(h, 'keys')).load(key, o.passphrase);
    d = addBookkeeper(d, signBookkeeperStatement(pair, { chainId: o.chainId, name: `op-${i}`, p2p: o.p2p(i), stake: (100_000n * ZNC_UNIT).toString() }));
  }
  const genesis = finalizeGenesis(d);
  const genesisFile = join(o.dir, 'genesis.json');
  writeGenesis(genesisFile, genesis);
  for (const h of homes) writeGenesis(join(h, 'genesis.json'), genesis);
  // Every home checks its own copy, as `zeus genesis validate` does.
  const hashes = homes.map((h) => genesisHash(validateGenesis(JSON.parse(readFileSync(join(h, 'genesis.json'), 'utf8')))));
  return { homes, addresses, keyName: key, genesisFile, hashes };
}
