import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { Keystore, WrongPassphraseError, type KeyPair } from '../crypto/index.ts';
import { buildDevGenesis, DEV_GENESIS_KEYS, validateGenesis, type Genesis } from '../ledger/index.ts';

/**
 * A node's home directory: config.json, genesis.json, keys/ (the encrypted keystore) and
 * data/ (the chain store).
 */
const UploadAmounts = z.object({ sessions: z.number().int().min(0), bytes: z.number().int().min(0) });

export const NodeConfigSchema = z.object({
  chainId: z.string(),
  api: z.object({ host: z.string(), port: z.number().int().min(0).max(65535) }),
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
      /** libp2p listen multiaddr, e.g. /ip4/127.0.0.1/tcp/26656. */
      listen: z.string(),
      /** Multiaddrs ending in /p2p/<peer id> of peers to dial. */
      bootstrap: z.array(z.string()).default([]),
      /** Multiaddrs other nodes should dial to reach this one, when not the listen address (NAT, a load balancer). */
      announce: z.array(z.string()).optional(),
    })
    .optional(),
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

export const DEV_PASSPHRASE = 'zeus-devnet-insecure';
export const DEV_ACCOUNTS = ['alice', 'bob', 'carol', 'dave'];
export const DEFAULT_API_PORT = 26_657;

export const homePaths = (home: string) => ({
  config: join(home, 'config.json'),
  genesis: join(home, 'genesis.json'),
  keys: join(home, 'keys'),
  data: join(home, 'data'),
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
