import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Keystore } from '../../src/crypto/index.ts';
import {
  addAllocation,
  addBookkeeper,
  finalizeGenesis,
  GENESIS_SHARES,
  genesisHash,
  newGenesisDraft,
  shareOf,
  signBookkeeperStatement,
  ZNC_UNIT,
} from '../../src/ledger/index.ts';
import { type CliResult, NODE_BIN, nodeEnv, ROOT, zeusAsync } from './processes.ts';

// A one-bookkeeper public genesis made the way operators make one, with `zeus genesis …` as
// processes: a key in the operator's home, every share to its address, the reserve as a 1-of-1
// multisig, the operator's signed statement (gentx) added. For tests of `zeus init --genesis`.

/** Runs `zeus --home HOME …` with ZEUS_PASSPHRASE = `passphrase` (fast KDF, no other ZEUS_* variable). */
export function zeusWith(passphrase: string | undefined, home: string, ...args: string[]): CliResult {
  const env = nodeEnv();
  if (passphrase !== undefined) env.ZEUS_PASSPHRASE = passphrase;
  const r = spawnSync(NODE_BIN, [join(ROOT, 'bin', 'zeus.js'), '--home', home, ...args], { env, encoding: 'utf8', timeout: 120_000, cwd: ROOT });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

/**
 * `zeusWith` without blocking this process's event loop: for commands that talk to a server this
 * test process runs itself.
 */
export function zeusWithAsync(passphrase: string | undefined, home: string, ...args: string[]): Promise<CliResult> {
  const env = nodeEnv();
  if (passphrase !== undefined) env.ZEUS_PASSPHRASE = passphrase;
  return zeusAsync(['--home', home, ...args], env, 120_000);
}

export function mustZeus(passphrase: string | undefined, home: string, ...args: string[]): string {
  const r = zeusWith(passphrase, home, ...args);
  if (r.code !== 0) throw new Error(`zeus ${args.join(' ')} failed (${r.code}): ${r.err}${r.out}`);
  return r.out;
}

export interface OneBookkeeperGenesis {
  file: string;
  hash: string;
  chainId: string;
  /** The operator's key name in `home`. */
  key: string;
  address: string;
}

/**
 * Makes key `key` in `home` (under `passphrase`) and a genesis at `file` where it is the only
 * bookkeeper, reachable at `p2p`; checks it with `zeus genesis validate` and returns its hash.
 */
export function oneBookkeeperGenesis(o: { home: string; passphrase: string; file: string; chainId: string; p2p: string; key?: string }): OneBookkeeperGenesis {
  const key = o.key ?? 'op';
  const z = (...args: string[]): string => mustZeus(o.passphrase, o.home, ...args);
  const address = (JSON.parse(z('--json', 'keys', 'new', key)) as { address: string }).address;
  z('genesis', 'new', '--chain-id', o.chainId, '--out', o.file);
  for (const share of ['cornerstone', 'pe', 'market', 'team']) z('genesis', 'add-allocation', o.file, '--share', share, address);
  z('genesis', 'add-allocation', o.file, '--share', 'reserve', '--members', address, '--threshold', '1');
  const statement = join(o.file, '..', `statement-${key}.json`);
  z('genesis', 'gentx', '--key', key, '--genesis', o.file, '--p2p', o.p2p, '--stake', '100000', '--out', statement);
  z('genesis', 'add-bookkeeper', o.file, statement);
  const v = JSON.parse(z('--json', 'genesis', 'validate', o.file)) as { valid: boolean; hash: string };
  if (!v.valid) throw new Error(`the genesis at ${o.file} does not validate`);
  return { file: o.file, hash: v.hash, chainId: o.chainId, key, address };
}

/**
 * The same genesis built in this process with the ceremony's builder (what `zeus genesis` calls),
 * for tests about what comes after the ceremony: nine CLI processes fewer.
 */
export function oneBookkeeperGenesisInProcess(o: {
  home: string;
  passphrase: string;
  file: string;
  chainId: string;
  p2p: string;
  key?: string;
}): OneBookkeeperGenesis {
  const key = o.key ?? 'op';
  const ks = new Keystore(join(o.home, 'keys'));
  const address = ks.create(key, o.passphrase).address;
  let d = newGenesisDraft({ chainId: o.chainId, genesisTime: Date.now() });
  for (const share of ['cornerstone', 'pe', 'market', 'team'] as const) {
    d = addAllocation(d, { share, holders: [{ address, amount: shareOf(GENESIS_SHARES[share]) }] });
  }
  d = addAllocation(d, { share: 'reserve', reserveMembers: [address], threshold: 1 });
  const stake = (100_000n * ZNC_UNIT).toString();
  d = addBookkeeper(d, signBookkeeperStatement(ks.load(key, o.passphrase), { chainId: o.chainId, name: key, p2p: o.p2p, stake }));
  const genesis = finalizeGenesis(d);
  writeFileSync(o.file, `${JSON.stringify(genesis, null, 2)}\n`);
  return { file: o.file, hash: genesisHash(genesis), chainId: o.chainId, key, address };
}
