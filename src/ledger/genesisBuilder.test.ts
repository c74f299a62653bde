import { describe, expect, it } from 'vitest';
import { addressFromPublicKey, encodeAddress, keyPairFromSeed, toHex, type KeyPair } from '../crypto/index.ts';
import {
  addAllocation,
  addBookkeeper,
  finalizeGenesis,
  genesisHash,
  newGenesisDraft,
  setGenesisParams,
  shareOf,
  signBookkeeperStatement,
  type GenesisDraft,
} from './genesisBuilder.ts';
import { Ledger } from './ledger.ts';
import { ledgerReader } from './read.ts';
import { balanceOf } from './context.ts';
import { checkSupply } from './supply.ts';
import { TOTAL_SUPPLY, ZNC, ZNC_UNIT } from './params.ts';
import { canonicalJson, genesisProblems, ledgerParams, validateGenesis } from './genesis.ts';
import { buildDevGenesis, DEV_GENESIS_KEYS } from './devGenesis.ts';

const key = (i: number): KeyPair => keyPairFromSeed(new Uint8Array(32).fill(i + 1));
const addr = (k: KeyPair): string => encodeAddress(addressFromPublicKey(k.publicKey));
const CHAIN = 'zeus-test-1';
const STAKE = (100_000n * ZNC_UNIT).toString();

/** Four operators, each with one key; keys 4.. hold the investors' shares. */
const ops = [0, 1, 2, 3].map(key);
const holder = (i: number): string => addr(key(10 + i));

function allocated(d: GenesisDraft): GenesisDraft {
  let g = addAllocation(d, { share: 'cornerstone', holders: [{ address: holder(0), amount: shareOf('cornerstone') }] });
  g = addAllocation(g, {
    share: 'pe',
    holders: [
      { address: holder(1), amount: shareOf('private-equity') / 2n },
      { address: holder(2), amount: shareOf('private-equity') / 2n },
    ],
  });
  // The market share: the operators get what they stake; the rest to one holder.
  const each = 1_000_000n * ZNC_UNIT;
  g = addAllocation(g, { share: 'market', holders: ops.map((k) => ({ address: addr(k), amount: each })) });
  g = addAllocation(g, { share: 'market', holders: [{ address: holder(3), amount: shareOf('promotion') - 4n * each }] });
  g = addAllocation(g, { share: 'team', holders: [{ address: holder(4), amount: shareOf('team') }] });
  return addAllocation(g, { share: 'reserve', reserveMembers: ops.slice(0, 3).map(addr), threshold: 2 });
}

/** The same value with every object's keys in reverse order. */
const reversedKeys = (v: unknown): unknown =>
  Array.isArray(v)
    ? v.map(reversedKeys)
    : v && typeof v === 'object'
      ? Object.fromEntries(
          Object.entries(v)
            .reverse()
            .map(([k, x]) => [k, reversedKeys(x)]),
        )
      : v;

/** One home's run of the ceremony: the same steps, in the order the statements arrived there. */
function ceremony(order: number[]): GenesisDraft {
  return ceremonyFrom(newGenesisDraft({ chainId: CHAIN, genesisTime: 1_800_000_000_000 }), order);
}

function ceremonyFrom(start: GenesisDraft, order: number[]): GenesisDraft {
  let d = allocated(start);
  const statements = ops.map((k, i) => signBookkeeperStatement(k, { chainId: CHAIN, name: `op-${i}`, p2p: `/ip4/10.0.0.${i + 1}/tcp/26656`, stake: STAKE }));
  for (const i of order) d = addBookkeeper(d, JSON.parse(JSON.stringify(statements[i])));
  return d;
}

describe('the genesis ceremony builder', () => {
  it('builds, from four operators, a genesis that validates, holds the whole supply and hashes the same in every home', () => {
    const homes = [ceremony([0, 1, 2, 3]), ceremony([0, 1, 2, 3]), ceremony([0, 1, 2, 3]), ceremony([0, 1, 2, 3])];
    const finals = homes.map(finalizeGenesis);
    const hashes = finals.map(genesisHash);
    expect(new Set(hashes).size).toBe(1);
    expect(hashes[0]).toMatch(/^[0-9a-f]{64}$/);
    // What each home writes to disk and reads back (another key order, other whitespace) hashes the same.
    const reread = validateGenesis(JSON.parse(JSON.stringify(reversedKeys(finals[1]), null, 3)));
    expect(genesisHash(reread)).toBe(hashes[0]);
    expect(finals[0].bookkeepers.map((b) => b.name)).toEqual(['op-0', 'op-1', 'op-2', 'op-3']);
    const ledger = Ledger.fromGenesis(finals[0]);
    expect(checkSupply(ledger).total).toBe(TOTAL_SUPPLY);
    // Any change of content changes the hash, and the order bookkeepers were added is content.
    expect(genesisHash(finalizeGenesis(ceremony([1, 0, 2, 3])))).not.toBe(hashes[0]);
    expect(genesisHash({ ...finals[0], genesisTime: finals[0].genesisTime + 1 })).not.toBe(hashes[0]);
  });

  it("bonds each bookkeeper's declared stake at genesis, from its own vested allocation", () => {
    const g = finalizeGenesis(ceremony([0, 1, 2, 3]));
    const read = ledgerReader(Ledger.fromGenesis(g));
    for (const k of ops) {
      const hex = toHex(addressFromPublicKey(k.publicKey));
      expect(read.stake(hex)).toEqual({ staked: BigInt(STAKE), unbonding: 0n });
      // 1,000,000 ZNC of the market share, less what is bonded.
      expect(balanceOf(read.account(hex), ZNC)).toBe(1_000_000n * ZNC_UNIT - BigInt(STAKE));
    }
    const supply = read.supply();
    expect(supply.staked).toBe(4n * BigInt(STAKE));
    expect(supply.total).toBe(TOTAL_SUPPLY);
    // A stake covered only by tokens that vest later is refused: unstaking would free them early.
    const start = newGenesisDraft({ chainId: CHAIN, genesisTime: 1_800_000_000_000 });
    let d = addAllocation(start, { share: 'cornerstone', holders: [{ address: addr(ops[0]), amount: shareOf('cornerstone') }] });
    d = addAllocation(d, { share: 'pe', holders: [{ address: holder(1), amount: shareOf('private-equity') }] });
    d = addAllocation(d, { share: 'market', holders: ops.slice(1).map((k) => ({ address: addr(k), amount: 1_000_000n * ZNC_UNIT })) });
    d = addAllocation(d, { share: 'market', holders: [{ address: holder(3), amount: shareOf('promotion') - 3n * 1_000_000n * ZNC_UNIT }] });
    d = addAllocation(d, { share: 'team', holders: [{ address: holder(4), amount: shareOf('team') }] });
    d = addAllocation(d, { share: 'reserve', reserveMembers: ops.slice(1).map(addr), threshold: 2 });
    for (const [i, k] of ops.entries()) {
      d = addBookkeeper(d, signBookkeeperStatement(k, { chainId: CHAIN, name: `op-${i}`, p2p: `/ip4/10.0.0.${i + 1}/tcp/26656`, stake: STAKE }));
    }
    expect(() => finalizeGenesis(d)).toThrow(/"op-0" stakes .* holds 0 vested at genesis .*only vested ZNC/);
    // Nor does a node start from a file, not made by the builder, whose signed stakes exceed what is held.
    const big = signBookkeeperStatement(ops[0], { chainId: CHAIN, name: 'op-0', p2p: '/ip4/10.0.0.1/tcp/26656', stake: (2_000_000n * ZNC_UNIT).toString() });
    const { chainId: _c, ...entry } = big;
    expect(() => Ledger.fromGenesis({ ...g, bookkeepers: [entry, ...g.bookkeepers.slice(1)] })).toThrow(
      /"op-0" stakes 200000000000000 base units but its address \S+ holds 100000000000000/,
    );
  });

  it('hashes a canonical encoding: keys sorted at every depth, no whitespace, only safe integers', () => {
    expect(canonicalJson({ b: 1, a: { d: [2, { f: null, e: 'x' }], c: true }, z: undefined })).toBe('{"a":{"c":true,"d":[2,{"e":"x","f":null}]},"b":1}');
    expect(() => canonicalJson({ a: 0.5 })).toThrow(/safe integers/);
    expect(() => canonicalJson({ a: 1n })).toThrow(/cannot hold a bigint/);
  });

  it('says what is missing in an unfinished draft', () => {
    const d = newGenesisDraft({ chainId: CHAIN, genesisTime: 0 });
    expect(() => finalizeGenesis(d)).toThrow(/exactly one "cornerstone" allocation/);
    const problems = genesisProblems({ ...allocated(d), bookkeepers: [{ name: 'x', publicKey: '00'.repeat(32) }] }, { requireStatements: true });
    expect(problems).toEqual(['bookkeeper "x" has no signed statement (add it with `zeus genesis add-bookkeeper`)']);
    expect(() => finalizeGenesis(allocated(d))).toThrow(/no bookkeeper yet/);
  });

  it('refuses each bad input with its own message', () => {
    const d = newGenesisDraft({ chainId: CHAIN, genesisTime: 0 });
    expect(() => newGenesisDraft({ chainId: 'Bad Id', genesisTime: 0 })).toThrow(/chain id must be/);
    expect(() => addAllocation(d, { share: 'cornerstone', holders: [{ address: holder(0), amount: shareOf('cornerstone') + 1n }] })).toThrow(
      /share "cornerstone" would hold 100000000000000001 base units; it is exactly 100000000000000000/,
    );
    expect(() => addAllocation(d, { share: 'team', holders: [{ address: 'znc1nope', amount: 1n }] })).toThrow(/holder "znc1nope" is not a znc1… address/);
    expect(() => addAllocation(d, { share: 'team', holders: [{ address: holder(0), amount: '1.5' }] })).toThrow(/positive whole number/);
    expect(() => addAllocation(d, { share: 'bonus' as 'team', holders: [{ address: holder(0), amount: 1n }] })).toThrow(/unknown share "bonus"/);
    const once = addAllocation(d, { share: 'team', holders: [{ address: holder(0), amount: 1n }] });
    expect(() => addAllocation(once, { share: 'team', holders: [{ address: holder(0), amount: 1n }] })).toThrow(/already holds part of "team"/);
    expect(() => addAllocation(d, { share: 'reserve', reserveMembers: [holder(0), holder(1)], threshold: 3 })).toThrow(/threshold must be between 1 and 2/);
    expect(() => addAllocation(d, { share: 'reserve', reserveMembers: [] })).toThrow(/needs its multisig members/);
    const pool = 'znc1qt02zq9kujcty3uu5yqkl3kvwsg8ftkqvs6vzc8h'; // the rewards pool, a system account
    expect(() => addAllocation(d, { share: 'reserve', reserveMembers: [holder(0), pool], threshold: 1 })).toThrow(/must be a key's address/);
    expect(() => addAllocation(d, { share: 'team', holders: [{ address: holder(0), amount: 1n }], threshold: 2 })).toThrow(/reserve only/);

    // A genesis short of the supply, or with a row over its share, names the row and the total.
    const full = finalizeGenesis(ceremony([0, 1, 2, 3]));
    const short = structuredClone(full);
    short.allocations[0].holders[0].amount = (shareOf('cornerstone') - 1n).toString();
    expect(genesisProblems(short)).toEqual([
      'allocation "cornerstone" is 99999999999999999 base units; it must be exactly 100000000000000000',
      `allocations add up to ${TOTAL_SUPPLY - 1n} base units; they must add up to the total supply, exactly ${TOTAL_SUPPLY}`,
    ]);
    expect(genesisProblems({ ...full, chainId: '' })[0]).toMatch(/^chainId: /);
  });

  it('refuses a statement not signed by its own key, for another chain, or a key added twice', () => {
    const d = allocated(newGenesisDraft({ chainId: CHAIN, genesisTime: 0 }));
    const mine = signBookkeeperStatement(ops[0], { chainId: CHAIN, name: 'op-0', p2p: '/ip4/10.0.0.1/tcp/26656', stake: STAKE });
    // Someone signs a statement naming operator 1's key with their own key.
    const forged = {
      ...signBookkeeperStatement(ops[2], { chainId: CHAIN, name: 'op-1', p2p: '/ip4/10.9.9.9/tcp/26656', stake: STAKE }),
      publicKey: mine.publicKey,
    };
    expect(() => addBookkeeper(d, forged)).toThrow(/is not signed by its key/);
    expect(() => addBookkeeper(d, { ...mine, stake: (BigInt(STAKE) + 1n).toString() })).toThrow(/is not signed by its key/);
    const foreign = signBookkeeperStatement(ops[0], { chainId: 'zeus-other-1', name: 'op-0', p2p: '/ip4/10.0.0.1/tcp/26656', stake: STAKE });
    expect(() => addBookkeeper(d, foreign)).toThrow(/is for chain "zeus-other-1"; this genesis is for "zeus-test-1"/);
    const once = addBookkeeper(d, mine);
    const again = signBookkeeperStatement(ops[0], { chainId: CHAIN, name: 'again', p2p: '/ip4/10.0.0.9/tcp/26656', stake: STAKE });
    expect(() => addBookkeeper(once, again)).toThrow(/already a bookkeeper \("op-0"\)/);
    expect(() => addBookkeeper(d, { ...mine, p2p: 'localhost:26656' })).toThrow(/p2p: a multiaddr/);
    const low = signBookkeeperStatement(ops[0], { chainId: CHAIN, name: 'op-0', p2p: '/ip4/10.0.0.1/tcp/26656', stake: '1' });
    expect(() => addBookkeeper(d, low)).toThrow(/a candidate needs at least/);

    // The same checks hold for a file edited by hand, past the builder: validation finds them all.
    const edited = structuredClone(finalizeGenesis(ceremony([0, 1, 2, 3])));
    edited.bookkeepers[1] = { ...edited.bookkeepers[1], publicKey: edited.bookkeepers[0].publicKey };
    edited.bookkeepers[2] = { ...edited.bookkeepers[2], p2p: '/ip4/10.6.6.6/tcp/1' };
    const problems = genesisProblems(edited);
    expect(problems).toContain(`bookkeeper "op-1" has the same public key as "op-0" (${edited.bookkeepers[0].publicKey}): a key can be in the genesis once`);
    expect(problems.filter((p) => /signature is not its key's/.test(p)).map((p) => /"(op-\d)"/.exec(p)![1])).toEqual(['op-1', 'op-2']);
    expect(
      genesisProblems({ ...finalizeGenesis(ceremony([0, 1, 2, 3])), chainId: 'zeus-other-1' }).filter((p) => /for chain "zeus-other-1"/.test(p)),
    ).toHaveLength(4);
    expect(() => validateGenesis(edited)).toThrow(/same public key/);

    // A stake its key's address does not hold at genesis.
    const poor = structuredClone(finalizeGenesis(ceremony([0, 1, 2, 3])));
    const market = poor.allocations.find((a) => a.row === 'promotion')!;
    const op3 = market.holders.find((h) => h.address === addr(ops[3]))!;
    market.holders.find((h) => h.address === holder(3))!.amount = (
      BigInt(market.holders.find((h) => h.address === holder(3))!.amount) +
      BigInt(op3.amount) -
      1n
    ).toString();
    op3.amount = '1';
    expect(genesisProblems(poor)).toEqual([
      `bookkeeper "op-3" stakes ${STAKE} base units but its address ${addr(ops[3])} holds 1 in the allocations; give it an allocation first`,
    ]);
  });

  it('makes the dev genesis as a preset, with the content it had before the builder (pinned by its hash)', () => {
    const keys: Record<string, Uint8Array> = {};
    [...DEV_GENESIS_KEYS, 'alice', 'bob', 'bookkeeper-0', 'bookkeeper-1'].forEach((n, i) => (keys[n] = key(i).publicKey));
    const bookkeepers = ['bookkeeper-0', 'bookkeeper-1'].map((name) => ({ name, publicKey: keys[name] }));
    const dev = (o: object) => buildDevGenesis({ genesisTime: 1_700_000_000_000, keys, devAccounts: ['alice', 'bob'], bookkeepers, ...o });
    // Pinned again when the parameters gained their governance section (issue 17), and again when
    // the market's gained matchedWaitBp (session 14); nothing else changed.
    expect(genesisHash(dev({}))).toBe('fcfc80685cc48d2cd6f3f2c366c83e3c84502f0579aa5cdee32ada93fb6f92b6');
    expect(genesisHash(dev({ chainId: 'zeus-devnet-7', monthMs: 60000, foundation: ['alice', 'bob', 'cornerstone'] }))).toBe(
      'cd3b589b4c4097829e172b7823e8f3f68778f4a5cdfd63fb97174f663e534682',
    );
  });

  it('funds as many dev accounts as the promotion share allows, the last of them taking what was left of it', () => {
    const names = Array.from({ length: 100 }, (_, i) => `dev-${i}`);
    const keys: Record<string, Uint8Array> = {};
    [...DEV_GENESIS_KEYS, ...names, 'bookkeeper-0'].forEach((n, i) => (keys[n] = key(100 + i).publicKey));
    const make = (devAccounts: string[]) =>
      buildDevGenesis({ genesisTime: 0, keys, devAccounts, bookkeepers: [{ name: 'bookkeeper-0', publicKey: keys['bookkeeper-0'] }] });
    const g = make(names);
    expect(genesisProblems(g)).toEqual([]);
    const holders = g.allocations.flatMap((a) => a.holders.map((h) => h.name));
    expect(holders.filter((n) => n?.startsWith('dev-'))).toHaveLength(100);
    expect(holders).not.toContain('promotion');
    expect(() => make([...names, 'bookkeeper-0'])).toThrow(/exceeds the promotion share/);
  });

  it('still accepts the dev genesis, whose bookkeepers carry no statement', () => {
    const keys: Record<string, Uint8Array> = {};
    [...DEV_GENESIS_KEYS, 'alice', 'bookkeeper-0'].forEach((n, i) => (keys[n] = key(40 + i).publicKey));
    const g = buildDevGenesis({ genesisTime: 0, keys, devAccounts: ['alice'], bookkeepers: [{ name: 'bookkeeper-0', publicKey: keys['bookkeeper-0'] }] });
    expect(genesisProblems(g)).toEqual([]);
    expect(genesisProblems(g, { requireStatements: true })).toEqual([expect.stringMatching(/"bookkeeper-0" has no signed statement/)]);
  });

  it('sets network parameters of a draft by name, and refuses unknown names and bad values by name', () => {
    const d = newGenesisDraft({ chainId: CHAIN, genesisTime: 0 });
    const p = setGenesisParams(d, ['epochLength=50', 'bookkeeperSeats=4', 'minCandidateStake=7', 'market.reviewBlocks=9']);
    expect(p.params.epochLength).toBe(50);
    expect(p.params.bookkeeperSeats).toBe(4);
    expect(p.params.minCandidateStake).toBe('7');
    expect(p.params.market.reviewBlocks).toBe(9);
    expect(d.params.epochLength).toBe(1000);
    // They are what the ledger runs with.
    const lp = ledgerParams(finalizeGenesis(ceremonyFrom(setGenesisParams(d, ['epochLength=50', 'bookkeeperSeats=4', 'market.reviewBlocks=9']), [0, 1, 2, 3])));
    expect([lp.epochLength, lp.bookkeeperSeats, lp.market.reviewBlocks]).toEqual([50, 4, 9]);
    expect(() => setGenesisParams(d, ['epochLenght=5'])).toThrow(/unknown parameter "epochLenght": one of monthMs, .*epochLength/);
    expect(() => setGenesisParams(d, ['market.nope=5'])).toThrow(/unknown parameter "market.nope"/);
    expect(() => setGenesisParams(d, ['market=5'])).toThrow(/unknown parameter "market"/);
    expect(() => setGenesisParams(d, ['epochLength'])).toThrow(/"epochLength" is not NAME=VALUE/);
    expect(() => setGenesisParams(d, ['epochLength=-1'])).toThrow(/"epochLength=-1": the value must be a whole number/);
    expect(() => setGenesisParams(d, ['epochLength=0'])).toThrow(/parameter epochLength: /);
    expect(() => setGenesisParams(d, ['slashBp=10001'])).toThrow(/parameter slashBp: /);
    expect(() => setGenesisParams(d, ['epochLength=99999999999999999999'])).toThrow(/too large/);
  });
});
