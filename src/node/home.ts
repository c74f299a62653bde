import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { z } from 'zod';
import { DEV_PASSPHRASE, generateKeyPair, keyPairFromSeed, Keystore, toHex, WrongPassphraseError, type KeyPair } from '../crypto/index.ts';
import { buildDevGenesis, DEV_GENESIS_KEYS, validateGenesis, type Genesis } from '../ledger/index.ts';

/**
 * A node's home directory: config.json, genesis.json, keys/ (the encrypted keystore) and
 * data/ (the chain store).
 */
const UploadAmounts = z.object({ sessions: z.number().int().min(0), bytes: z.number().int().min(0) });

export const NodeConfigSchema = z.object({
  chainId: z.string(),
  api: z.object({
    host: z.string(),
    port: z.number().int().min(0).max(65535),
    /**
     * The URL other nodes and users reach this node's API at (behind NAT, a proxy or a load
     * balancer it differs from host:port). Default: http://host:port, unless host is a wildcard.
     */
    announce: z
      .string()
      .regex(/^https?:\/\/[^/\s]+\/?$/, 'must be http(s)://HOST[:PORT]')
      .optional(),
    /** Bytes a /ws client may leave unread before the node closes its socket (default 8 MiB). */
    wsMaxBufferedBytes: z.number().int().positive().optional(),
    /** Open /ws sockets one client (an IPv4 address, an IPv6 /64) may hold (default 64). */
    wsMaxSocketsPerClient: z.number().int().positive().optional(),
    /** Unsent bytes all /ws sockets together may hold before those holding the most are closed (default 256 MiB). */
    wsMaxTotalBufferedBytes: z.number().int().positive().optional(),
    /** Requests one client (an IPv4 address, an IPv6 /64) may have in progress (default 64). */
    maxRequestsPerClient: z.number().int().positive().optional(),
    /** Bytes the bodies of all requests in progress may announce (default 256 MiB). */
    maxBodyBytesInProgress: z.number().int().positive().optional(),
    /** Open connections one client (an IPv4 address, an IPv6 /64) may hold (default 256). */
    maxConnectionsPerClient: z.number().int().positive().optional(),
    /** Open connections all clients together may hold (default half the soft limit of open files, at most 8,192). */
    maxConnections: z.number().int().positive().optional(),
    /** Computing time (ms) one client's uncached whole-collection answers may take per second (default 250), and at once (default 500). */
    scanMsPerSecond: z.number().positive().optional(),
    scanBurstMs: z.number().positive().optional(),
  }),
  blockIntervalMs: z.number().int().positive(),
  /**
   * Keystore name of this node's bookkeeper key. Absent on a full node that holds no key (made by
   * `zeus init --genesis` without --bookkeeper-key).
   */
  bookkeeperKey: z.string().optional(),
  /** The name this node goes by (`zeus init --moniker`): shown to operators, not on the chain. */
  moniker: z.string().optional(),
  mempoolMax: z.number().int().positive(),
  /**
   * Most pending transactions from senders without priority (less than a stake unit staked);
   * the rest of `mempoolMax` stays for staked senders. Default: half of `mempoolMax`.
   */
  mempoolFreeMax: z.number().int().positive().optional(),
  /**
   * Most transactions of senders without priority a block this node proposes takes (default
   * 2,000): a flood of them cannot make every height long, for staked senders too.
   */
  blockMaxFreeTxs: z.number().int().positive().optional(),
  /**
   * Dev homes only: the well-known passphrase of their throwaway keys, so a devnet starts
   * without prompts. Never set on a real network.
   */
  devPassphrase: z.string().optional(),
  /**
   * The peer-to-peer network. When set, blocks are decided by the elected bookkeepers in BFT
   * rounds with these peers; without it, the home's key is the solo bookkeeper of a dev chain.
   */
  p2p: z
    .object({
      /** libp2p listen multiaddr (what is bound), e.g. /ip4/0.0.0.0/tcp/26656. */
      listen: z.string(),
      /**
       * Multiaddrs other nodes should dial (what identify and peer exchange advertise), for a node
       * behind NAT or a load balancer; empty: the bound listen addresses are advertised.
       */
      announce: z.array(z.string()).optional(),
      /** Multiaddrs ending in /p2p/<peer id> of peers to dial first; more are found by peer exchange. */
      bootstrap: z.array(z.string()).default([]),
    })
    .optional(),
  /**
   * This home is one member of a group of nodes that keep one bookkeeper seat together
   * (`zeus node start --signer-group`, docs/OPERATORS.md "A seat kept by a group"): they share the
   * seat's bookkeeper key, etcd elects the one that signs, and each uses its own node key
   * (node_key.json) for everything else. Kept in config.json on purpose: a member restarted
   * without its group would sign alone with the seat's key, beside the member that is active.
   */
  signerGroup: z
    .object({
      /** etcd client URLs (http://HOST:PORT). */
      endpoints: z.array(z.string().regex(/^http:\/\/[^/\s]+$/, 'an etcd endpoint is http://HOST:PORT')).min(1),
      /** The group's name (one per seat); the same on every member. */
      group: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/),
      /** This member's name, unique in the group. */
      member: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/),
      /** The etcd lease of the active member, in whole seconds (default 2). */
      leaseTtlSec: z.number().int().min(1).max(60).optional(),
    })
    .optional(),
  /** State snapshots this node takes and serves to joiners (docs/STATE_SYNC.md). Absent: every 1000 heights, 2 kept. */
  snapshots: z
    .object({
      /** Heights between snapshots; 0 takes none. */
      interval: z.number().int().min(0).default(1000),
      /** How many are kept (the oldest kept bounds pruning). */
      keep: z.number().int().min(1).default(2),
      /** Chunk size; every node of a network must use the same, so their manifests match (default 1 MiB). */
      chunkBytes: z.number().int().min(1024).max(16_777_216).optional(),
    })
    .optional(),
  /** Join by state sync from this trust point when the store is empty, instead of replaying from genesis. */
  stateSync: z
    .object({
      trustHeight: z.number().int().positive(),
      trustHash: z.string().regex(/^[0-9a-f]{64}$/, 'trustHash must be a block hash of 64 lowercase hex digits'),
    })
    .optional(),
  /** Delete block records older than tip − N (never below the oldest kept snapshot); absent: an archive node. */
  pruneKeepBlocks: z.number().int().min(1).optional(),
  /** GET /health/ready: how many blocks behind the best height its peers show a node may be and still be ready. */
  health: z.object({ readyMaxBehind: z.number().int().nonnegative().default(5) }).optional(),
  /** The Docker Deliver Network: other nodes' API URLs this node fetches images from. */
  ddn: z
    .object({
      peers: z.array(z.string().regex(/^https?:\/\//)).default([]),
      /** Bounds of the registry's uploads in progress (docs/DDN.md, "Upload quota"); each one given replaces its default. */
      uploads: z
        .object({
          unfunded: UploadAmounts,
          funded: UploadAmounts,
          perStakeUnit: UploadAmounts,
          maxPerAccount: UploadAmounts,
          node: UploadAmounts,
          idleMs: z.number().int().positive(),
        })
        .partial()
        .optional(),
    })
    .optional(),
});
export type NodeConfig = z.infer<typeof NodeConfigSchema>;

// The keystore's (src/crypto), where the SDK reaches it too; named here for the node's callers.
export { DEV_PASSPHRASE };
export const DEV_ACCOUNTS = ['alice', 'bob', 'carol', 'dave'];
export const DEFAULT_API_PORT = 26_657;
export const DEFAULT_P2P_PORT = 26_656;
/** Where a joined node listens for peers unless told otherwise: every interface, the p2p port. */
export const DEFAULT_P2P_LISTEN = `/ip4/0.0.0.0/tcp/${DEFAULT_P2P_PORT}`;

export const homePaths = (home: string) => ({
  config: join(home, 'config.json'),
  nodeKey: join(home, 'node_key.json'),
  genesis: join(home, 'genesis.json'),
  keys: join(home, 'keys'),
  data: join(home, 'data'),
  /** The double-sign guard's record, apart from the chain's store (src/store/fileRecords.ts). */
  signer: join(home, 'signer'),
});

function writeJsonAtomic(path: string, value: unknown): void {
  writeFileSync(`${path}.tmp`, `${JSON.stringify(value, null, 2)}\n`, { mode: 0o600 });
  renameSync(`${path}.tmp`, path);
}

export function readConfig(home: string): NodeConfig {
  const p = homePaths(home).config;
  if (!existsSync(p)) throw new Error(`${home} is not a node home (no config.json); run \`zeus init --home ${home} --dev\` first`);
  return NodeConfigSchema.parse(JSON.parse(readFileSync(p, 'utf8')));
}

export function writeConfig(home: string, config: NodeConfig): void {
  writeJsonAtomic(homePaths(home).config, NodeConfigSchema.parse(config));
}

/** The API URL this node tells others: the configured announce URL, or its host:port unless that is a wildcard. */
export function apiAnnounceUrl(api: NodeConfig['api'], boundPort = api.port): string | undefined {
  if (api.announce !== undefined) return api.announce.replace(/\/+$/, '');
  if (api.host === '0.0.0.0' || api.host === '::' || api.host === '') return undefined;
  return `http://${isIP(api.host) === 6 ? `[${api.host}]` : api.host}:${boundPort}`;
}

/**
 * The p2p identity of a node that holds no bookkeeper key (a full node). Like CometBFT's
 * node_key.json beside priv_validator_key.json, it is kept apart from any signing key and
 * unencrypted: it only authenticates the transport (it holds no funds and signs nothing the
 * chain counts), so a full node restarts unattended, without a passphrase. Made on first use.
 */
export function loadOrCreateNodeKey(home: string): KeyPair {
  const p = homePaths(home).nodeKey;
  if (existsSync(p)) {
    let json: unknown;
    try {
      json = JSON.parse(readFileSync(p, 'utf8'));
    } catch (e) {
      throw new Error(`${p} is not a node key (not JSON: ${(e as Error).message})`);
    }
    const parsed = z.object({ type: z.literal('ed25519-seed'), seed: z.string().regex(/^[0-9a-f]{64}$/) }).safeParse(json);
    if (!parsed.success) throw new Error(`${p} is not a node key ({"type":"ed25519-seed","seed":"<64 hex>"}): ${parsed.error.issues[0]?.message}`);
    return keyPairFromSeed(Uint8Array.from(Buffer.from(parsed.data.seed, 'hex')));
  }
  const key = generateKeyPair();
  writeJsonAtomic(p, { type: 'ed25519-seed', seed: toHex(key.secretKey) });
  return key;
}

export function readGenesis(home: string): Genesis {
  return validateGenesis(JSON.parse(readFileSync(homePaths(home).genesis, 'utf8')));
}

export function writeGenesis(path: string, genesis: Genesis): void {
  writeJsonAtomic(path, validateGenesis(genesis));
}

export interface InitDevOptions {
  chainId?: string;
  apiHost?: string;
  apiPort?: number;
  blockIntervalMs?: number;
  monthMs?: number;
  accounts?: string[];
  genesisTime?: number;
  params?: Partial<Genesis['params']>;
  /** ZNC base units each dev account receives (default 10,000,000 ZNC). */
  devFunding?: bigint;
  /** Encrypt the dev keys with this instead of the well-known dev passphrase. */
  passphrase?: string;
  /** How many genesis bookkeepers (keys bookkeeper-0 …), default 1. */
  bookkeepers?: number;
}

/** Prepares a dev home: keys for every genesis holder and dev account, a dev genesis, a config. */
export function initDevHome(home: string, o: InitDevOptions = {}): { config: NodeConfig; genesis: Genesis } {
  if (existsSync(homePaths(home).config)) throw new Error(`${home} is already initialized`);
  mkdirSync(home, { recursive: true, mode: 0o700 });
  const passphrase = o.passphrase ?? DEV_PASSPHRASE;
  const ks = new Keystore(homePaths(home).keys);
  const accounts = o.accounts ?? DEV_ACCOUNTS;
  const bookkeepers = Array.from({ length: o.bookkeepers ?? 1 }, (_, i) => `bookkeeper-${i}`);
  const names = [...DEV_GENESIS_KEYS, ...accounts, ...bookkeepers];
  const keys: Record<string, Uint8Array> = {};
  for (const n of names) {
    const k = ks.has(n) ? ks.show(n) : ks.create(n, passphrase);
    keys[n] = Uint8Array.from(Buffer.from(k.publicKey, 'hex'));
  }
  const genesis = buildDevGenesis({
    chainId: o.chainId,
    genesisTime: o.genesisTime ?? Date.now(),
    keys,
    devAccounts: accounts,
    devFunding: o.devFunding,
    bookkeepers: bookkeepers.map((name) => ({ name, publicKey: keys[name] })),
    monthMs: o.monthMs,
    params: o.params,
  });
  writeGenesis(homePaths(home).genesis, genesis);
  const config: NodeConfig = {
    chainId: genesis.chainId,
    api: { host: o.apiHost ?? '127.0.0.1', port: o.apiPort ?? DEFAULT_API_PORT },
    blockIntervalMs: o.blockIntervalMs ?? 1000,
    bookkeeperKey: 'bookkeeper-0',
    mempoolMax: 100_000,
    ...(o.passphrase === undefined ? { devPassphrase: DEV_PASSPHRASE } : {}),
  };
  writeConfig(home, config);
  return { config, genesis };
}

/**
 * The passphrases to try for a key of a home, in order. A dev home (config.json has
 * devPassphrase) made its keys under that well-known passphrase, so it comes first whatever
 * ZEUS_PASSPHRASE says: a devnet must start in a shell where ZEUS_PASSPHRASE is exported for the
 * user's real keys. The passphrase the user gave (ZEUS_PASSPHRASE or a prompt) comes next, for
 * keys they created in a dev home under their own. A home without devPassphrase gets only what
 * the user gave: nothing the user did not type is ever tried on a real key.
 */
export function keyPassphrases(config: Pick<NodeConfig, 'devPassphrase'> | undefined, given: string | undefined): string[] {
  const out: string[] = [];
  if (config?.devPassphrase !== undefined) out.push(config.devPassphrase);
  if (given !== undefined && !out.includes(given)) out.push(given);
  return out;
}

/** Opens a key with the first of `passphrases` that fits; when none does, says which were tried. */
export function loadKeyWithAny(ks: Keystore, name: string, passphrases: readonly string[]): KeyPair {
  if (passphrases.length === 0) throw new Error(`no passphrase for key "${name}": set ZEUS_PASSPHRASE or run in a terminal`);
  for (const p of passphrases) {
    try {
      return ks.load(name, p);
    } catch (e) {
      if (!(e instanceof WrongPassphraseError)) throw e;
    }
  }
  const tried = passphrases.length > 1 ? " (tried the dev home's passphrase and ZEUS_PASSPHRASE)" : '';
  throw new WrongPassphraseError(name, tried);
}
