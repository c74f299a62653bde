import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encode, type ObjectSchema } from '../codec/index.ts';
import { toHex } from '../crypto/index.ts';
import { AppOutcomeSchema } from './appOutcome.ts';
import {
  AccountSchema,
  BookkeeperSetsSchema,
  CandidateSchema,
  EvidenceMarkSchema,
  MultisigSchema,
  ProposalSchema,
  StakeSchema,
  TokenSchema,
  UnbondingQueueSchema,
  VoteRecordSchema,
  type Account,
} from './entries.ts';
import {
  AppNameSchema,
  AppSchema,
  BidRefSchema,
  BidSchema,
  CounterSchema,
  DisputeStateSchema,
  DueSchema,
  LeaseSchema,
  LicenseSchema,
  ReleasedSchema,
  TaskSchema,
  WorkerIndexSchema,
  WorkerSchema,
} from './marketEntries.ts';
import { MarketDriver } from './marketTesting.ts';
import { MAIN_CHAIN } from './params.ts';
import { ChainState, StateOverlay } from './state.ts';
import {
  accounts,
  appNames,
  appOutcomes,
  apps,
  bidRefs,
  bids,
  bookkeeperSets,
  candidates,
  decodeEntry,
  disputes,
  dueCounts,
  govCounter,
  govDeposits,
  govProposals,
  govVotes,
  paramOverrides,
  upgradePlan,
  upgradesDone,
  dues,
  encodeEntry,
  evidence,
  leases,
  licenses,
  multisigs,
  proposals,
  releases,
  stakes,
  STORES,
  storeOf,
  StoreKeyError,
  tasks,
  tokens,
  unbonding,
  votes,
  workerCount,
  workerIndex,
  workers,
} from './stores.ts';
import { TxKind } from './ops/index.ts';

const ADDR = `01${'ab'.repeat(20)}`;
const ADDR2 = `02${'cd'.repeat(20)}`;
const TASK = `03${'ef'.repeat(31)}`;

describe('stores: key layouts', () => {
  it('make the keys the ledger has always written', () => {
    const cases: [string, string][] = [
      [accounts.key(ADDR), `a/${ADDR}`],
      [multisigs.key(ADDR), `ms/${ADDR}`],
      [proposals.key(ADDR, 7n), `mp/${ADDR}/00000000000000000007`],
      [tokens.key('GOLD'), 'tk/GOLD'],
      [stakes.key(ADDR), `st/${ADDR}`],
      [unbonding.key(), 'ub'],
      [candidates.key(ADDR), `cand/${ADDR}`],
      [votes.key(ADDR), `vote/${ADDR}`],
      [bookkeeperSets.key(), 'bk'],
      [evidence.key(ADDR, 12n, 3, 2), `ev/${ADDR}/12/3/2`],
      [workers.key(ADDR), `wk/${ADDR}`],
      [workerCount.key(), 'wkn'],
      [workerIndex.key(42n), 'wki/0000000042'],
      [apps.key('render', '1.0'), 'app/render@1.0'],
      [appNames.key('render'), 'appn/render'],
      [licenses.key('render', ADDR), `lic/render/${ADDR}`],
      [tasks.key(TASK), `task/${TASK}`],
      [bids.key(TASK, 3), `bid/${TASK}/00003`],
      [bidRefs.key(TASK, ADDR), `bidby/${TASK}/${ADDR}`],
      [leases.key(TASK, 12), `lease/${TASK}/00012`],
      [disputes.key(TASK, 1), `dsp/${TASK}/00001`],
      [dueCounts.key(345), 'duen/000000000345'],
      [dues.key(345n, 9n), 'due/000000000345/00000009'],
      [appOutcomes.key(TASK, 0), `lout/${TASK}/00000`],
      [releases.key(TASK, ADDR), `lrel/${TASK}/${ADDR}`],
      [govProposals.key(7n), 'gprop/000000000007'],
      [govDeposits.key(7n, ADDR), `gdep/000000000007/${ADDR}`],
      [govVotes.key(7n, ADDR), `gvote/000000000007/${ADDR}`],
      [govCounter.key(), 'gnext'],
      [paramOverrides.key(), 'gparams'],
      [upgradePlan.key(), 'gplan'],
      [upgradesDone.key('v2'), 'gdone/v2'],
    ];
    for (const [got, want] of cases) expect(got).toBe(want);
    expect(cases.length).toBe(STORES.length);
  });

  it('parse back the parts they were made of', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 21, maxLength: 21 }),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.nat(99_999),
        fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
        (a, t, i, n) => {
          const addr = toHex(a);
          const task = toHex(t);
          expect(accounts.parse(accounts.key(addr))).toEqual([addr]);
          expect(proposals.parse(proposals.key(addr, n))).toEqual([addr, n]);
          expect(evidence.parse(evidence.key(addr, n, i, 1))).toEqual([addr, n, i, 1]);
          expect(leases.parse(leases.key(task, i))).toEqual([task, i]);
          expect(bidRefs.parse(bidRefs.key(task, addr))).toEqual([task, addr]);
          expect(licenses.parse(licenses.key('my.app', addr))).toEqual(['my.app', addr]);
          expect(dues.parse(dues.key(i, n))).toEqual([i, n]);
          expect(workerIndex.parse(workerIndex.key(n))).toEqual([n]);
        },
      ),
      { numRuns: 200 },
    );
    expect(apps.parse(apps.key('render', '2.0-rc.1'))).toEqual(['render', '2.0-rc.1']);
    expect(() => leases.parse(bids.key(TASK, 1))).toThrow(StoreKeyError);
  });

  it('refuse key parts that break the layout', () => {
    const bad: [string, () => unknown][] = [
      ['short address', () => accounts.key(ADDR.slice(2))],
      ['upper-case address', () => workers.key(ADDR.toUpperCase())],
      ['address with a slash', () => votes.key(`${ADDR.slice(0, 40)}/x`)],
      ['a task id that is an address', () => tasks.key(ADDR)],
      ['non-hex task id', () => leases.key(`zz${TASK.slice(2)}`, 0)],
      ['negative index', () => leases.key(TASK, -1)],
      ['fractional index', () => bids.key(TASK, 1.5)],
      ['NaN index', () => appOutcomes.key(TASK, Number.NaN)],
      ['negative proposal id', () => proposals.key(ADDR, -1n)],
      ['negative height', () => dueCounts.key(-5)],
      ['a bad licensee', () => licenses.key('render', 'x')],
      ['a bad bidder', () => bidRefs.key(TASK, ADDR2.slice(1))],
      ['a bad scope', () => leases.scan(new ChainState(1), 'abc')],
    ];
    for (const [what, f] of bad) expect(f, what).toThrow(StoreKeyError);
    // A name is only looked up: an app that does not exist is absent, not an error.
    expect(apps.get(new ChainState(0), 'no/such', 'app')).toBeUndefined();
  });

  it('know which keys are theirs, and no two stores share a head', () => {
    expect(dueCounts.owns('duen/000000000001')).toBe(true);
    expect(dues.owns('duen/000000000001')).toBe(false);
    expect(bids.owns(bidRefs.key(TASK, ADDR))).toBe(false);
    expect(workers.owns('wkn')).toBe(false);
    expect(new Set(STORES.map((s) => s.head)).size).toBe(STORES.length);
    expect(() => storeOf('nope/1')).toThrow('unknown state key nope/1');
  });
});

// The schema each key head was encoded with before the stores (entries.ts's schemaFor): a store
// bound to another schema would change the state root.
const SCHEMA_OF_HEAD: Record<string, ObjectSchema> = {
  a: AccountSchema,
  ms: MultisigSchema,
  mp: ProposalSchema,
  tk: TokenSchema,
  st: StakeSchema,
  ub: UnbondingQueueSchema,
  cand: CandidateSchema,
  vote: VoteRecordSchema,
  bk: BookkeeperSetsSchema,
  ev: EvidenceMarkSchema,
  wk: WorkerSchema,
  wkn: CounterSchema,
  wki: WorkerIndexSchema,
  app: AppSchema,
  appn: AppNameSchema,
  lic: LicenseSchema,
  task: TaskSchema,
  bid: BidSchema,
  bidby: BidRefSchema,
  lease: LeaseSchema,
  duen: CounterSchema,
  due: DueSchema,
  lout: AppOutcomeSchema,
  lrel: ReleasedSchema,
  dsp: DisputeStateSchema,
};

/** A ledger after a little of everything the market writes. */
function marketLedger(): MarketDriver {
  const m = new MarketDriver(['alice', 'dev', 'w1', 'w2']);
  m.registerWorker('w1');
  m.registerWorker('w2');
  m.next([
    m.tx('dev', TxKind.PublishApp, {
      name: 'render',
      version: '1.0',
      digest: `sha256:${'cd'.repeat(32)}`,
      developer: new Uint8Array(),
      feeToken: 'ZNC',
      licenseFeePerHour: 0n,
      requiresLicense: false,
    }),
  ]);
  const id = m.postTask('alice', { app: 'render', version: '1.0', image: '' });
  m.next([m.tx('w1', TxKind.Bid, { task: id, price: 1_000n }), m.tx('w2', TxKind.Bid, { task: id, price: 2_000n })]);
  return m;
}

describe('stores: values', () => {
  it('encode every entry of a ledger with the schema its key head always had, and decode it back', () => {
    const m = marketLedger();
    const heads = new Set<string>();
    for (const chain of m.t.ledger.chains) {
      for (const key of chain.keys()) {
        const store = storeOf(key);
        heads.add(store.head);
        const value = chain.get(key)!;
        const bytes = encodeEntry(key, value);
        if (store.head !== 'a') expect(bytes).toEqual(encode(SCHEMA_OF_HEAD[store.head], value as never));
        expect(store.schema).toBe(SCHEMA_OF_HEAD[store.head]);
        expect(encodeEntry(key, decodeEntry(key, bytes))).toEqual(bytes);
      }
    }
    // The scenario reached the market's stores, not only accounts.
    for (const h of ['a', 'cand', 'wk', 'wkn', 'wki', 'app', 'appn', 'task', 'bid', 'bidby', 'duen', 'due']) expect(heads, h).toContain(h);
  });

  it('encode an account independently of the order of its balances, without zero balances', () => {
    const acc = (balances: Record<string, bigint>): Account => ({ balances, vesting: [], nonce: 3n, quotaWindow: 1n, quotaUsed: 2 });
    const key = accounts.key(ADDR);
    const a = encodeEntry(key, acc({ ZNC: 5n, GOLD: 7n }));
    expect(encodeEntry(key, acc({ GOLD: 7n, ZNC: 5n, SILVER: 0n }))).toEqual(a);
    expect(a).toEqual(
      encode(AccountSchema, {
        balances: [
          { token: 'GOLD', amount: 7n },
          { token: 'ZNC', amount: 5n },
        ],
        vesting: [],
        nonce: 3n,
        quotaWindow: 1n,
        quotaUsed: 2,
      }),
    );
    expect(accounts.decode(a)).toEqual(acc({ GOLD: 7n, ZNC: 5n }));
  });

  it('read, write, delete and scan through an overlay as the committed state would', () => {
    const m = marketLedger();
    const main = m.t.ledger.chains[MAIN_CHAIN];
    const o = new StateOverlay(main);
    const [[first], w1] = workers.scan(o)[0];
    expect(workers.get(o, first)).toBe(w1);
    workers.set(o, first, { ...w1, rating: w1.rating + 1 });
    expect(workers.get(o, first)!.rating).toBe(w1.rating + 1);
    expect(workers.get(main, first)!.rating).toBe(w1.rating);
    workers.delete(o, first);
    expect(workers.has(o, first)).toBe(false);
    expect(workers.scan(o).map(([[hex]]) => hex)).toEqual(
      workers
        .scan(main)
        .map(([[hex]]) => hex)
        .filter((h) => h !== first),
    );
    votes.set(o, ADDR2, { candidates: [], proxy: new Uint8Array() });
    votes.set(o, ADDR, { candidates: [], proxy: new Uint8Array() });
    expect(votes.keys(o)).toEqual([votes.key(ADDR), votes.key(ADDR2)]);
    expect(votes.keys(main)).toEqual([]);
    // A task's bids, and only that task's.
    const [[[task]]] = m.t.ledger.chains.flatMap((c) => tasks.scan(c));
    const chain = m.t.ledger.chains[Number.parseInt(task.slice(0, 2), 16)];
    expect(bids.scan(chain, task).map(([[, i], b]) => [i, b.price])).toEqual([
      [0, 1_000n],
      [1, 2_000n],
    ]);
    expect(bids.scan(chain, `ff${task.slice(2)}`)).toEqual([]);
  });
});
