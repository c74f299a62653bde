import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import {
  addAllocation,
  addBookkeeper,
  buildDevGenesis,
  DEV_GENESIS_KEYS,
  formatUnits,
  GENESIS_SHARE_NAMES,
  GENESIS_SHARES,
  genesisHash,
  genesisProblems,
  newGenesisDraft,
  parseAmount,
  parseGenesisDraft,
  setGenesisParams,
  shareOf,
  signBookkeeperStatement,
  validateGenesis,
  ZNC_DECIMALS,
  type GenesisDraft,
  type GenesisShare,
} from '../ledger/index.ts';
import { writeGenesis } from '../node/index.client.ts';
import { globalOptions, keystore, loadKey, output, resolveAddress } from './context.ts';

// `zeus genesis …`: the genesis ceremony of a public network. One operator starts a draft
// (`new`), each adds what is theirs (`add-allocation`; bookkeepers sign a statement with their own
// key, `gentx`, which is added with `add-bookkeeper`), and every home checks the finished file and
// compares its hash (`validate`, `hash`). `dev` writes a dev genesis from the home's keys.

const znc = (base: bigint | string): string => `${formatUnits(BigInt(base), ZNC_DECIMALS)} ZNC`;

function readJson(file: string, what: string): unknown {
  if (!existsSync(file)) throw new Error(`no ${what} at ${file}`);
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`${file} is not JSON (${(e as Error).message})`);
  }
}

const writeJson = (file: string, value: unknown): void => writeFileSync(file, `${JSON.stringify(value, null, 2)}\n`);

function parseTime(v: string): number {
  if (/^\d+$/.test(v)) return Number(v);
  const t = Date.parse(v);
  if (Number.isNaN(t)) throw new Error(`--genesis-time takes ms since the epoch or an ISO date such as 2027-01-01T00:00:00Z, got "${v}"`);
  return t;
}

const int =
  (name: string) =>
  (v: string): number => {
    if (!/^\d+$/.test(v)) throw new Error(`${name} must be a whole number, got "${v}"`);
    return Number(v);
  };

function summary(d: GenesisDraft): string {
  const rows = GENESIS_SHARE_NAMES.map((s) => {
    const row = GENESIS_SHARES[s];
    const sum = (d.allocations.find((a) => a.row === row)?.holders ?? []).reduce((t, h) => t + BigInt(h.amount), 0n);
    return `  ${s.padEnd(12)} ${znc(sum)} of ${znc(shareOf(row))}`;
  });
  return [...rows, `  bookkeepers  ${d.bookkeepers.map((b) => b.name).join(', ') || 'none yet'}`].join('\n');
}

export function register(program: Command): void {
  const genesis = program
    .command('genesis')
    .description(
      'The genesis ceremony: build a public genesis step by step (new, add-allocation, gentx, add-bookkeeper), then validate it and compare its hash',
    )
    .addHelpText(
      'after',
      `
A ceremony: one operator runs \`genesis new\` and passes the draft around; each adds its share with
\`genesis add-allocation\`; every bookkeeper signs a statement with its own key (\`genesis gentx\`)
that is added with \`genesis add-bookkeeper\`; every home then runs \`genesis validate\` on the final
file and all compare the hash it prints.`,
    );

  genesis
    .command('new')
    .description('Start a genesis draft: chain id, genesis time and the public network parameters, no allocations or bookkeepers yet')
    .requiredOption('--chain-id <id>', 'the chain id, e.g. zeus-1 (lower-case letters, digits, ".", "_", "-")')
    .option('--genesis-time <time>', 'when the chain starts: ms since the epoch or an ISO date (default: now)', parseTime)
    .option(
      '--param <name=value>',
      "set a network parameter instead of the public default, as the genesis file holds it (whole numbers; amounts in base units; market.NAME for the market's), e.g. epochLength=1000 or bookkeeperSeats=21; repeatable",
      (v: string, prev: string[]) => [...prev, v],
      [] as string[],
    )
    .option('--out <file>', 'write the draft here (default: print it)')
    .option('--force', 'overwrite --out if it exists')
    .action((o: { chainId: string; genesisTime?: number; param: string[]; out?: string; force?: boolean }, cmd: Command) => {
      const g = globalOptions(cmd);
      const d = setGenesisParams(newGenesisDraft({ chainId: o.chainId, genesisTime: o.genesisTime ?? Date.now() }), o.param);
      if (!o.out) return void process.stdout.write(`${JSON.stringify(d, null, 2)}\n`);
      if (existsSync(o.out) && !o.force) throw new Error(`${o.out} exists (pass --force to overwrite it)`);
      writeJson(o.out, d);
      output(g, { out: o.out, chainId: d.chainId, genesisTime: d.genesisTime }, () => `Wrote a genesis draft for ${d.chainId} to ${o.out}`);
    });

  genesis
    .command('add-allocation <file> [addresses...]')
    .description(
      'Add holders to one of the five shares of the draft FILE: each ADDRESS (or key name) gets --amount ZNC; the reserve is instead held by an M-of-N multisig (--members, --threshold)',
    )
    .requiredOption('--share <share>', `the share: ${GENESIS_SHARE_NAMES.join(', ')} (cornerstone 10%, pe 30%, market 20%, team 20%, reserve 20%)`)
    .option('--amount <znc>', 'ZNC for each address (default: what is left of the share, for a single address or the reserve)')
    .option('--members <addresses>', 'reserve only: comma-separated member addresses (or key names) of its multisig')
    .option('--threshold <m>', 'reserve only: approvals its multisig needs', int('--threshold'))
    .action((file: string, addresses: string[], o: { share: string; amount?: string; members?: string; threshold?: number }, cmd: Command) => {
      const g = globalOptions(cmd);
      if (!(GENESIS_SHARE_NAMES as string[]).includes(o.share)) throw new Error(`--share must be one of ${GENESIS_SHARE_NAMES.join(', ')}, got "${o.share}"`);
      const share = o.share as GenesisShare;
      const draft = parseGenesisDraft(readJson(file, 'genesis draft'));
      const row = GENESIS_SHARES[share];
      const left = shareOf(row) - (draft.allocations.find((a) => a.row === row)?.holders ?? []).reduce((t, h) => t + BigInt(h.amount), 0n);
      const amount = o.amount === undefined ? undefined : parseAmount(o.amount, ZNC_DECIMALS);
      if (amount === undefined && left === 0n && share !== 'reserve') throw new Error(`share "${share}" is already full (${znc(shareOf(row))})`);
      let next: GenesisDraft;
      if (share === 'reserve') {
        if (addresses.length) throw new Error('the reserve is held by its multisig: give --members and --threshold, not addresses');
        const members = (o.members ?? '')
          .split(',')
          .map((m) => m.trim())
          .filter(Boolean)
          .map((m) => resolveAddress(g, m));
        next = addAllocation(draft, { share, reserveMembers: members, threshold: o.threshold, amount: amount ?? left });
      } else {
        if (o.members || o.threshold !== undefined) throw new Error('--members and --threshold are for --share reserve only');
        if (!addresses.length) throw new Error('give at least one ADDRESS (or key name) to hold the share');
        if (amount === undefined && addresses.length > 1) throw new Error('--amount is needed with more than one address');
        next = addAllocation(draft, { share, holders: addresses.map((a) => ({ address: resolveAddress(g, a), amount: amount ?? left })) });
      }
      writeJson(file, next);
      output(g, { file, share, allocations: next.allocations, multisigs: next.multisigs }, () => `Updated ${file}\n${summary(next)}`);
    });

  genesis
    .command('gentx')
    .description("Sign this bookkeeper's statement with its own key: chain id, name, public key, p2p address and stake (give it to whoever holds the draft)")
    .requiredOption('--key <name>', 'the bookkeeper key in this home (--home) that signs and is put in the genesis')
    .requiredOption('--p2p <multiaddr>', 'where other bookkeepers reach this node, e.g. /ip4/203.0.113.7/tcp/26656')
    .requiredOption('--stake <znc>', 'ZNC this bookkeeper stakes (at least the minimum candidate stake)')
    .option('--chain-id <id>', 'the chain id (or --genesis)')
    .option('--genesis <file>', 'the draft, to take the chain id from')
    .option('--name <moniker>', 'the name shown for this bookkeeper (default: the key name)')
    .option('--out <file>', 'write the statement here (default: print it)')
    .action(async (o: { key: string; p2p: string; stake: string; chainId?: string; genesis?: string; name?: string; out?: string }, cmd: Command) => {
      const g = globalOptions(cmd);
      const chainId = o.chainId ?? (o.genesis ? parseGenesisDraft(readJson(o.genesis, 'genesis draft')).chainId : undefined);
      if (!chainId) throw new Error('give the chain id: --chain-id ID or --genesis DRAFT_FILE');
      const key = await loadKey(g, o.key);
      const statement = signBookkeeperStatement(key, {
        chainId,
        name: o.name ?? o.key,
        p2p: o.p2p,
        stake: parseAmount(o.stake, ZNC_DECIMALS).toString(),
      });
      if (!o.out) return void process.stdout.write(`${JSON.stringify(statement, null, 2)}\n`);
      writeJson(o.out, statement);
      output(g, { out: o.out, statement }, () => `Wrote the signed statement of "${statement.name}" (${statement.publicKey}) for ${chainId} to ${o.out}`);
    });

  genesis
    .command('add-bookkeeper <file> <statement>')
    .description(
      'Add a bookkeeper to the draft FILE from its signed STATEMENT file (`zeus genesis gentx`); refuses a statement not signed by its own key or for another chain',
    )
    .action((file: string, statementFile: string, _o: unknown, cmd: Command) => {
      const g = globalOptions(cmd);
      const next = addBookkeeper(parseGenesisDraft(readJson(file, 'genesis draft')), readJson(statementFile, 'statement'));
      writeJson(file, next);
      const b = next.bookkeepers[next.bookkeepers.length - 1];
      output(g, { file, bookkeeper: b }, () => `Added bookkeeper "${b.name}" (${b.p2p}, stakes ${znc(b.stake ?? '0')}) to ${file}\n${summary(next)}`);
    });

  genesis
    .command('validate <file>')
    .description('Check a genesis FILE: exactly 10,000,000,000 ZNC, each share exact, every signature; print its hash, or every problem and exit 1')
    .option('--allow-unsigned', 'accept bookkeepers without a signed statement (a dev genesis)')
    .action((file: string, o: { allowUnsigned?: boolean }, cmd: Command) => {
      const g = globalOptions(cmd);
      const input = readJson(file, 'genesis');
      const problems = genesisProblems(input, { requireStatements: !o.allowUnsigned });
      if (problems.length) {
        if (g.json) process.stdout.write(`${JSON.stringify({ valid: false, problems }, null, 2)}\n`);
        else
          process.stderr.write(
            `error: ${file} is not a valid genesis (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n${problems.map((p) => `  - ${p}`).join('\n')}\n`,
          );
        process.exitCode = 1;
        return;
      }
      const gen = validateGenesis(input);
      const hash = genesisHash(gen);
      output(
        g,
        { valid: true, hash, chainId: gen.chainId, bookkeepers: gen.bookkeepers.length },
        () => `${file} is a valid genesis for ${gen.chainId}: ${gen.bookkeepers.length} bookkeepers, 10,000,000,000 ZNC\nhash ${hash}`,
      );
    });

  genesis
    .command('hash <file>')
    .description('Print the hash of a genesis FILE (sha256 of its canonical JSON), the value every home compares; fails if the file is not a valid genesis')
    .action((file: string, _o: unknown, cmd: Command) => {
      const g = globalOptions(cmd);
      const hash = genesisHash(validateGenesis(readJson(file, 'genesis')));
      output(g, { hash }, () => hash);
    });

  genesis
    .command('dev')
    .description('Write a dev genesis file from keys in the keystore (all five allocations, rewards pool, dev accounts)')
    .requiredOption('--out <file>', 'where to write the genesis JSON')
    .option('--chain-id <id>', 'chain id', 'zeus-dev-1')
    .option('--accounts <names>', 'comma-separated names of funded dev accounts', 'alice,bob,carol,dave')
    .option('--bookkeepers <names>', 'comma-separated key names of the bookkeepers', 'bookkeeper-0')
    .option('--month-ms <ms>', 'vesting month in ms of block time', int('--month-ms'))
    .option('--genesis-time <ms>', 'genesis time in ms since the epoch (default: now)', int('--genesis-time'))
    .action((o: { out: string; chainId: string; accounts: string; bookkeepers: string; monthMs?: number; genesisTime?: number }, cmd: Command) => {
      const g = globalOptions(cmd);
      const ks = keystore(g);
      const accounts = o.accounts.split(',').filter(Boolean);
      const bks = o.bookkeepers.split(',').filter(Boolean);
      const keys: Record<string, Uint8Array> = {};
      for (const n of [...DEV_GENESIS_KEYS, ...accounts, ...bks]) {
        if (!ks.has(n)) throw new Error(`genesis needs a key named "${n}": create it with \`zeus keys new ${n}\``);
        keys[n] = Uint8Array.from(Buffer.from(ks.show(n).publicKey, 'hex'));
      }
      const gen = buildDevGenesis({
        chainId: o.chainId,
        genesisTime: o.genesisTime ?? Date.now(),
        keys,
        devAccounts: accounts,
        bookkeepers: bks.map((n) => ({ name: n, publicKey: keys[n] })),
        monthMs: o.monthMs,
      });
      writeGenesis(o.out, gen);
      output(g, { out: o.out, chainId: gen.chainId }, () => `Wrote genesis for ${gen.chainId} to ${o.out} (10,000,000,000 ZNC)`);
    });
}
