import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type CliResult, nodeEnv, zeusAsync } from './processes.ts';

// The genesis ceremony of a public network run as `zeus genesis …` processes (issue 15): operators,
// each with a home and a key, build one draft; every bookkeeper signs its own statement (gentx);
// every home validates the finished file and compares its hash. test/network-ceremony.test.ts checks
// the commands' refusals between the steps, then starts a network from the result. Steps that do not depend on each other run at once (each CLI process
// loads the whole program, ~2 s).

/** `zeus --home HOME …` as a process, without blocking the event loop; ZEUS_PASSPHRASE is `passphrase`. */
export function zeusCli(home: string, passphrase: string, args: string[], timeoutMs = 120_000): Promise<CliResult> {
  return zeusAsync(['--home', home, ...args], { ...nodeEnv(), ZEUS_PASSPHRASE: passphrase }, timeoutMs);
}

/** zeusCli that must exit 0; returns stdout. */
export async function zeusOk(home: string, passphrase: string, args: string[]): Promise<string> {
  const r = await zeusCli(home, passphrase, args);
  if (r.code !== 0) throw new Error(`zeus ${args.join(' ')} exited ${r.code}: ${r.err.trim()}${r.out.trim()}`);
  return r.out;
}

export interface CeremonyOptions {
  /** Operators' homes are `<dir>/op-<i>`; the draft and statements go in `dir` too. */
  dir: string;
  operators: number;
  chainId: string;
  passphrase: string;
  /** Each bookkeeper's p2p address in its statement. */
  p2p: (i: number) => string;
  /** The key every operator makes in its home (default "op"). */
  keyName?: string;
  /** ZNC each bookkeeper stakes (default 100000, the public minimum). */
  stake?: string;
  /** ZNC of the market share each operator but the last gets (liquid at genesis; the last gets the rest). */
  marketEach?: string;
  /** Network parameters instead of the public defaults (`zeus genesis new --param NAME=VALUE`), e.g. ['epochLength=100']. */
  params?: string[];
  /** Genesis time (default: now). */
  genesisTime?: string;
  /** Called with the draft's path once every share but the reserve is in (a test checks the unfinished draft). */
  beforeReserve?: (draft: string) => Promise<void> | void;
  /** Called with the signed statements before any is added (a test tries a forged one). */
  beforeBookkeepers?: (draft: string, statements: string[]) => Promise<void> | void;
}

export interface Ceremony {
  homes: string[];
  addresses: string[];
  keyName: string;
  /** The draft everyone signed off; each home holds a validated copy as genesis.json. */
  genesisFile: string;
  /** The hash each home's `zeus genesis validate` printed, in home order. */
  hashes: string[];
}

/**
 * Runs the whole ceremony: keys, draft, the five shares (cornerstone to operator 0, pe split between
 * operators 1 and 2, market to every operator, team to the last, the reserve to a 2-of-3 multisig
 * of the first three, or of all when fewer), a signed statement per operator (named op-<i>), then
 * every home validates its own copy (its genesis.json).
 */
export async function runCeremony(o: CeremonyOptions): Promise<Ceremony> {
  if (o.operators < 2) throw new Error('a ceremony needs at least 2 operators');
  const key = o.keyName ?? 'op';
  const pass = o.passphrase;
  mkdirSync(o.dir, { recursive: true });
  const homes = Array.from({ length: o.operators }, (_, i) => join(o.dir, `op-${i}`));
  const draft = join(o.dir, 'genesis.json');
  const last = o.operators - 1;
  const first = homes[0];
  const genesis = (...args: string[]): Promise<string> => zeusOk(first, pass, ['genesis', ...args]);
  // The draft needs no key, and a statement needs only the chain id: each runs beside what it does not depend on.
  const [addresses] = await Promise.all([
    Promise.all(homes.map(async (h) => (JSON.parse(await zeusOk(h, pass, ['--json', 'keys', 'new', key])) as { address: string }).address)),
    genesis(
      'new',
      '--chain-id',
      o.chainId,
      '--genesis-time',
      o.genesisTime ?? new Date().toISOString(),
      ...(o.params ?? []).flatMap((p) => ['--param', p]),
      '--out',
      draft,
    ),
  ]);
  const signing = Promise.all(
    homes.map(async (h, i) => {
      const file = join(o.dir, `statement-${i}.json`);
      const args = ['genesis', 'gentx', '--key', key, '--name', `op-${i}`, '--chain-id', o.chainId, '--p2p', o.p2p(i)];
      await zeusOk(h, pass, [...args, '--stake', o.stake ?? '100000', '--out', file]);
      return file;
    }),
  );
  const allocating = (async (): Promise<void> => {
    await genesis('add-allocation', draft, '--share', 'cornerstone', addresses[0]);
    // The private-equity share split between two operators when there are three or more.
    const pe = addresses.slice(1, Math.min(3, last + 1));
    await genesis('add-allocation', draft, '--share', 'pe', ...pe, ...(pe.length > 1 ? ['--amount', String(3_000_000_000 / pe.length)] : []));
    await genesis('add-allocation', draft, '--share', 'market', ...addresses.slice(0, last), '--amount', o.marketEach ?? '1000000');
    await genesis('add-allocation', draft, '--share', 'market', addresses[last]);
    await genesis('add-allocation', draft, '--share', 'team', addresses[last]);
    await o.beforeReserve?.(draft);
    const members = addresses.slice(0, Math.min(3, o.operators));
    await genesis('add-allocation', draft, '--share', 'reserve', '--members', members.join(','), '--threshold', String(Math.min(2, members.length)));
  })();
  const [statements] = await Promise.all([signing, allocating]);
  await o.beforeBookkeepers?.(draft, statements);
  for (const s of statements) await genesis('add-bookkeeper', draft, s);
  // Every operator gets a copy into its home and checks it there.
  const hashes = await Promise.all(
    homes.map(async (h) => {
      const copy = join(h, 'genesis.json');
      copyFileSync(draft, copy);
      const v = JSON.parse(await zeusOk(h, pass, ['--json', 'genesis', 'validate', copy])) as { valid: boolean; hash: string };
      if (!v.valid) throw new Error(`${h}: genesis not valid`);
      return v.hash;
    }),
  );
  return { homes, addresses, keyName: key, genesisFile: draft, hashes };
}
