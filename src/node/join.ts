import { randomBytes } from 'node:crypto';
import { parseTcpMultiaddr } from './netAddresses.ts';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fromHex, Keystore, type StoredKey } from '../crypto/index.ts';
import { bookkeeperAddress, genesisHash, genesisProblems, validateGenesis, type Genesis } from '../ledger/index.ts';
import { DEFAULT_API_PORT, DEFAULT_P2P_LISTEN, homePaths, NodeConfigSchema, loadKeyWithAny, type NodeConfig } from './home.ts';
import { peerIdFromEd25519PublicKey } from '../p2p/index.ts';

// `zeus init --genesis`: a home that joins a public network. Everything it writes is first made in
// a staging directory inside the home and moved into place at the end, config.json last (the file
// that makes a directory a home), so that an error at any step leaves the home as it was: a genesis
// that does not validate, a hash that differs, a wrong passphrase for an existing key never leave a
// half-made home that a later `zeus node start` would run.

const MONIKER_RE = /^[A-Za-z0-9][A-Za-z0-9 _.-]{0,63}$/;

export interface JoinOptions {
  /** The genesis as read (JSON), not yet validated. */
  genesis: unknown;
  /** Where the genesis came from, for messages. */
  source: string;
  /** Refuse a genesis whose hash is not this one (what the operators compared). */
  expectHash?: string;
  moniker: string;
  p2pListen?: string;
  p2pAnnounce?: string[];
  /** Peers to dial first; none given: the genesis bookkeepers' statements (genesisBootstrap). */
  bootstrap?: string[];
  apiHost?: string;
  apiPort?: number;
  /** The pause after a commit before the next height (config.json blockIntervalMs; default 1000). */
  blockIntervalMs?: number;
  /** Keystore name of the bookkeeper key: an existing one is used, else one is made. Absent: a full node. */
  bookkeeperKey?: string;
  /** The passphrase the user gave; the only one a key of this home is made or opened with. */
  passphrase?: string;
}

export interface JoinResult {
  config: NodeConfig;
  /** Whence the bootstrap peers: the options, or the genesis's statements when none were given. */
  bootstrapFrom: 'options' | 'genesis';
  genesis: Genesis;
  hash: string;
  key?: StoredKey & { created: boolean; genesisBookkeeper: boolean };
}

/** What a home must not hold yet to be initialized: any of these means it already is (or was). */
function initializedBy(home: string): string | undefined {
  const p = homePaths(home);
  return [p.config, p.genesis, p.data].find((f) => existsSync(f));
}

/**
 * Checks a genesis as a node joining a public network must: the schema, the allocation table, and
 * every bookkeeper's signed statement (`zeus genesis validate`); then its hash against the one
 * expected. Throws with every problem, naming where the genesis came from.
 */
export function checkJoinGenesis(input: unknown, source: string, expectHash?: string): { genesis: Genesis; hash: string } {
  const problems = genesisProblems(input, { requireStatements: true });
  if (problems.length) {
    throw new Error(
      `${source} is not a valid genesis (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n${problems.map((p) => `  - ${p}`).join('\n')}`,
    );
  }
  const genesis = validateGenesis(input);
  const hash = genesisHash(genesis);
  if (expectHash !== undefined && hash !== expectHash.toLowerCase()) {
    throw new Error(
      `the genesis from ${source} (chain ${genesis.chainId}) has hash ${hash}, not the expected ${expectHash}: it is another chain's genesis or was altered; compare the hash with the network's operators`,
    );
  }
  return { genesis, hash };
}

/** Prepares a home that joins the network of `o.genesis`; on any error the home is left as it was. */
export function initJoinHome(home: string, o: JoinOptions): JoinResult {
  const already = initializedBy(home);
  if (already) throw new Error(`${home} is already a node home (it has ${already}); choose another --home, or remove it first`);
  if (!MONIKER_RE.test(o.moniker))
    throw new Error(`--moniker: "${o.moniker}" must be 1-64 letters, digits, spaces, "_", "." or "-", starting with a letter or digit`);
  const { genesis, hash } = checkJoinGenesis(o.genesis, o.source, o.expectHash);
  const listen = parseTcpMultiaddr(o.p2pListen ?? DEFAULT_P2P_LISTEN, '--p2p-listen', 'forbidden');
  const announce = (o.p2pAnnounce ?? []).map((a) => parseTcpMultiaddr(a, '--p2p-announce', 'optional'));
  const given = (o.bootstrap ?? []).map((a) => parseTcpMultiaddr(a, '--bootstrap', 'required'));

  const createdHome = !existsSync(home);
  mkdirSync(home, { recursive: true, mode: 0o700 });
  const stage = join(home, `.init-${process.pid}-${randomBytes(4).toString('hex')}`);
  const moved: string[] = [];
  try {
    mkdirSync(stage, { mode: 0o700 });
    const paths = homePaths(home);
    let key: JoinResult['key'];
    if (o.bookkeeperKey !== undefined) {
      const name = o.bookkeeperKey;
      if (o.passphrase === undefined) throw new Error(`--bookkeeper-key ${name}: no passphrase; set ZEUS_PASSPHRASE or run in a terminal`);
      const homeKeys = new Keystore(paths.keys);
      let stored: StoredKey;
      let created = false;
      if (homeKeys.has(name)) {
        // An existing key (made for the ceremony, or imported with `zeus keys import`): it must
        // open with the passphrase given, or the node would not start later.
        loadKeyWithAny(homeKeys, name, [o.passphrase]);
        stored = homeKeys.show(name);
      } else {
        stored = new Keystore(join(stage, 'keys')).create(name, o.passphrase);
        created = true;
      }
      const genesisBookkeeper = genesis.bookkeepers.some((b) => bookkeeperAddress(b.publicKey) === stored.address);
      key = { ...stored, created, genesisBookkeeper };
    }
    const bootstrapFrom = given.length > 0 ? 'options' : 'genesis';
    const bootstrap = given.length > 0 ? given : genesisBootstrap(genesis, key?.publicKey);
    const config = NodeConfigSchema.parse({
      chainId: genesis.chainId,
      api: { host: o.apiHost ?? '127.0.0.1', port: o.apiPort ?? DEFAULT_API_PORT },
      blockIntervalMs: o.blockIntervalMs ?? 1000,
      ...(o.bookkeeperKey !== undefined ? { bookkeeperKey: o.bookkeeperKey } : {}),
      moniker: o.moniker,
      mempoolMax: 100_000,
      p2p: { listen, bootstrap, announce },
    } satisfies NodeConfig);
    writeFileSync(join(stage, 'genesis.json'), `${JSON.stringify(genesis, null, 2)}\n`, { mode: 0o600 });
    writeFileSync(join(stage, 'config.json'), `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });

    // Into place: the new key, the genesis, config.json last.
    if (key?.created) {
      const from = join(stage, 'keys', `${key.name}.json`);
      if (existsSync(paths.keys)) {
        renameSync(from, join(paths.keys, `${key.name}.json`));
        moved.push(join(paths.keys, `${key.name}.json`));
      } else {
        renameSync(join(stage, 'keys'), paths.keys);
        moved.push(paths.keys);
      }
    }
    renameSync(join(stage, 'genesis.json'), paths.genesis);
    moved.push(paths.genesis);
    renameSync(join(stage, 'config.json'), paths.config);
    return { config, bootstrapFrom, genesis, hash, key };
  } catch (e) {
    for (const m of moved.reverse()) rmSync(m, { recursive: true, force: true });
    throw e;
  } finally {
    rmSync(stage, { recursive: true, force: true });
    if (createdHome && !existsSync(homePaths(home).config)) removeIfEmpty(home);
  }
}

/**
 * Where a node finds its network when given no --bootstrap: every genesis bookkeeper's signed
 * statement names its p2p address, and a bookkeeper node's peer id is its key's, so the genesis
 * alone says whom to dial (its own statement left out). Peer exchange finds the rest.
 */
export function genesisBootstrap(genesis: Genesis, ownPublicKey?: string): string[] {
  return genesis.bookkeepers
    .filter((b) => b.p2p !== undefined && b.publicKey !== ownPublicKey)
    .map((b) => `${b.p2p}/p2p/${peerIdFromEd25519PublicKey(fromHex(b.publicKey))}`);
}

function removeIfEmpty(dir: string): void {
  try {
    if (readdirSync(dir).length === 0) rmdirSync(dir);
  } catch {
    // Nothing to tidy: it never existed or holds something of someone else's.
  }
}
