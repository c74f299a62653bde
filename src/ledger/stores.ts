import { decode, encode, type Infer, type ObjectSchema } from '../codec/index.ts';
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
  type Entry,
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
import {
  GovCounterSchema,
  GovDepositSchema,
  GovProposalSchema,
  GovVoteSchema,
  ParamOverridesSchema,
  UpgradeDoneSchema,
  UpgradePlanSchema,
} from './gov/entries.ts';
import type { StateReader, StateWriter } from './state.ts';

// Typed stores: each kind of state entry is one store that binds its key layout (a head such as
// `lease`, then the key's parts), its value's TypeScript type and its codec. Reading through a
// store is the only place a state value is cast to its type, and the cast is sound because the
// same table decides how every key is encoded (`encodeEntry`, used when a transaction seals its
// writes): a value written under a store's key that does not fit the store's schema fails to
// encode inside the transaction that wrote it. Keys and encodings are exactly the ones the
// ledger always used (the state roots commit to them): a store changes no byte.
//
// Key parts are checked: an address is 42 lowercase hex digits (21 bytes), a task id 64, an index
// or a height a non-negative integer. A wrong part is a bug in the caller, so it throws (inside a
// transaction: INTERNAL_ERROR, the transaction refused alone). Names, versions and token symbols
// are taken as they are: a transaction may name an app that does not exist, and looking it up
// must answer "absent", not fail.
//
// Reading and writing state: `S.get(state, p…)`, `S.has`, `S.set(state, p…, value)`,
// `S.delete(state, p…)`, and `S.scan(state, scope…)` for every entry under a scope, sorted by key.
// The key layouts below are the only ones: nothing else in the code writes a key string.

/** What a store's key is made of. */
type Parts = readonly (string | number | bigint)[];

export interface Store<V extends Entry, P extends Parts, S extends Parts = never> {
  /** The key's first segment (the whole key of a single entry such as `bk`). */
  readonly head: string;
  readonly schema: ObjectSchema;
  key(...parts: P): string;
  /** The parts of a key of this store (a key `key(...parts)` made). */
  parse(key: string): P;
  /** Whether `key` belongs to this store. */
  owns(key: string): boolean;
  get(state: StateReader, ...parts: P): V | undefined;
  has(state: StateReader, ...parts: P): boolean;
  set(state: StateWriter, ...partsAndValue: [...P, V]): void;
  delete(state: StateWriter, ...parts: P): void;
  /** Entries whose key starts with the scope's parts (none: the whole store), sorted by key. */
  scan(state: StateReader, ...scope: S): [P, V][];
  /** The keys `scan` would visit, without reading their values. */
  keys(state: StateReader, ...scope: S): string[];
  encode(value: V): Uint8Array;
  decode(bytes: Uint8Array): V;
}

/** A key part that breaks its store's layout (a caller's bug). */
export class StoreKeyError extends Error {
  override name = 'StoreKeyError';
}

const ADDRESS_HEX = /^[0-9a-f]{42}$/;
const TASK_ID_HEX = /^[0-9a-f]{64}$/;

function addressPart(v: string, what: string): string {
  if (typeof v !== 'string' || !ADDRESS_HEX.test(v))
    throw new StoreKeyError(`${what}: an address in a state key is 42 lowercase hex digits, got ${JSON.stringify(v)}`);
  return v;
}

function taskIdPart(v: string): string {
  if (typeof v !== 'string' || !TASK_ID_HEX.test(v)) throw new StoreKeyError(`a task id in a state key is 64 lowercase hex digits, got ${JSON.stringify(v)}`);
  return v;
}

function textPart(v: string, what: string): string {
  if (typeof v !== 'string') throw new StoreKeyError(`${what} in a state key must be a string, got ${typeof v}`);
  return v;
}

/** A non-negative integer, zero-padded to `width` digits (so keys sort in number order). */
function numberPart(v: number | bigint, width: number, what: string): string {
  const ok = typeof v === 'bigint' ? v >= 0n : Number.isSafeInteger(v) && v >= 0;
  if (!ok) throw new StoreKeyError(`${what} in a state key must be a non-negative integer, got ${String(v)}`);
  return v.toString().padStart(width, '0');
}

const unpadNumber = (s: string): number => Number(s);
const unpadBigint = (s: string): bigint => BigInt(s);

interface Layout<P extends Parts, S extends Parts> {
  key(...parts: P): string;
  /** `rest` is the key after `head/`. */
  parse(rest: string): P;
  /** The key prefix of a scan over `scope`. */
  scope(...scope: S): string;
}

interface Codec<V> {
  encode(value: V): Uint8Array;
  decode(bytes: Uint8Array): V;
}

const schemaCodec = <Sc extends ObjectSchema>(schema: Sc): Codec<Infer<Sc>> => ({
  encode: (v) => encode(schema, v),
  decode: (b) => decode(schema, b),
});

const headOf = (key: string): string => {
  const slash = key.indexOf('/');
  return slash === -1 ? key : key.slice(0, slash);
};

function defineStore<V extends Entry, P extends Parts, S extends Parts = never>(
  head: string,
  schema: ObjectSchema,
  layout: Layout<P, S>,
  codec: Codec<V>,
): Store<V, P, S> {
  const prefix = `${head}/`;
  const self: Store<V, P, S> = {
    head,
    schema,
    key: layout.key,
    parse(key) {
      if (!self.owns(key)) throw new StoreKeyError(`${key} is not a key of the ${head} store`);
      return layout.parse(key.slice(prefix.length));
    },
    owns: (key) => headOf(key) === head,
    // The one cast from state to a type: sound because `encodeEntry` encodes every key with its store.
    get: (state, ...parts) => state.get(layout.key(...parts)) as V | undefined,
    has: (state, ...parts) => state.get(layout.key(...parts)) !== undefined,
    set(state, ...partsAndValue) {
      const value = partsAndValue[partsAndValue.length - 1] as V;
      state.set(layout.key(...(partsAndValue.slice(0, -1) as unknown as P)), value);
    },
    delete: (state, ...parts) => state.set(layout.key(...parts), null),
    keys: (state, ...scope) => state.keys(layout.scope(...scope)),
    scan: (state, ...scope) => state.keys(layout.scope(...scope)).map((k) => [self.parse(k), state.get(k) as V]),
    encode: codec.encode,
    decode: codec.decode,
  };
  return self;
}

/** A store of one entry whose key is its head alone. */
function single<Sc extends ObjectSchema>(head: string, schema: Sc): Store<Infer<Sc> & Entry, []> {
  return defineStore<Infer<Sc> & Entry, []>(
    head,
    schema,
    {
      key: () => head,
      parse: () => [],
      scope: () => {
        throw new StoreKeyError(`${head} holds one entry: nothing to scan`);
      },
    },
    schemaCodec(schema) as Codec<Infer<Sc> & Entry>,
  );
}

/** A store keyed by one address: `head/<hex>`. */
function byAddress<V extends Entry>(head: string, schema: ObjectSchema, codec: Codec<V>, what: string): Store<V, [addrHex: string], []> {
  return defineStore<V, [string], []>(
    head,
    schema,
    { key: (hex) => `${head}/${addressPart(hex, what)}`, parse: (rest) => [rest], scope: () => `${head}/` },
    codec,
  );
}

/** A store keyed by a task id and an index: `head/<task>/<index, 5 digits>`. */
function byTaskIndex<Sc extends ObjectSchema>(
  head: string,
  schema: Sc,
  what: string,
): Store<Infer<Sc> & Entry, [taskIdHex: string, index: number], [] | [taskIdHex: string]> {
  return defineStore<Infer<Sc> & Entry, [string, number], [] | [string]>(
    head,
    schema,
    {
      key: (id, i) => `${head}/${taskIdPart(id)}/${numberPart(i, 5, what)}`,
      parse: (rest) => {
        const [id, i] = rest.split('/');
        return [id, unpadNumber(i)];
      },
      scope: (...s) => (s.length === 0 ? `${head}/` : `${head}/${taskIdPart(s[0])}/`),
    },
    schemaCodec(schema) as Codec<Infer<Sc> & Entry>,
  );
}

/** A store keyed by a task id and an address: `head/<task>/<address>`. */
function byTaskAddress<Sc extends ObjectSchema>(
  head: string,
  schema: Sc,
  what: string,
): Store<Infer<Sc> & Entry, [taskIdHex: string, addrHex: string], [] | [taskIdHex: string]> {
  return defineStore<Infer<Sc> & Entry, [string, string], [] | [string]>(
    head,
    schema,
    {
      key: (id, hex) => `${head}/${taskIdPart(id)}/${addressPart(hex, what)}`,
      parse: (rest) => {
        const [id, hex] = rest.split('/');
        return [id, hex];
      },
      scope: (...s) => (s.length === 0 ? `${head}/` : `${head}/${taskIdPart(s[0])}/`),
    },
    schemaCodec(schema) as Codec<Infer<Sc> & Entry>,
  );
}

// An account's balances are a record in memory and a sorted array of non-zero balances on the
// wire: the encoding does not depend on the order balances were added, and a zero balance is
// the same state as none.
const accountCodec: Codec<Account> = {
  encode(acc) {
    const balances = Object.keys(acc.balances)
      .filter((t) => acc.balances[t] !== 0n)
      .sort()
      .map((token) => ({ token, amount: acc.balances[token] }));
    return encode(AccountSchema, { balances, vesting: acc.vesting, nonce: acc.nonce, quotaWindow: acc.quotaWindow, quotaUsed: acc.quotaUsed });
  },
  decode(bytes) {
    const raw = decode(AccountSchema, bytes);
    const balances: Record<string, bigint> = {};
    for (const b of raw.balances) balances[b.token] = b.amount;
    return { balances, vesting: raw.vesting, nonce: raw.nonce, quotaWindow: raw.quotaWindow, quotaUsed: raw.quotaUsed };
  },
};

// ---------------------------------------------------------------- ledger (every chain / main)

/** `a/<address>`: balances, vesting, nonce and quota of an account on the chain that holds it. */
export const accounts = byAddress('a', AccountSchema, accountCodec, 'account');
/** `ms/<address>` (main): a multisig account's members and threshold. */
export const multisigs = byAddress('ms', MultisigSchema, schemaCodec(MultisigSchema), 'multisig');
/** `mp/<multisig>/<id, 20 digits>` (main): a multisig's proposals. */
export const proposals = defineStore<Infer<typeof ProposalSchema>, [multisigHex: string, id: bigint], [] | [multisigHex: string]>(
  'mp',
  ProposalSchema,
  {
    key: (hex, id) => `mp/${addressPart(hex, 'multisig')}/${numberPart(id, 20, 'proposal id')}`,
    parse: (rest) => {
      const [hex, id] = rest.split('/');
      return [hex, unpadBigint(id)];
    },
    scope: (...s) => (s.length === 0 ? 'mp/' : `mp/${addressPart(s[0], 'multisig')}/`),
  },
  schemaCodec(ProposalSchema),
);
/** `tk/<symbol>` (main): a sub-token's registry entry. */
export const tokens = defineStore<Infer<typeof TokenSchema>, [symbol: string], []>(
  'tk',
  TokenSchema,
  { key: (symbol) => `tk/${textPart(symbol, 'token symbol')}`, parse: (rest) => [rest], scope: () => 'tk/' },
  schemaCodec(TokenSchema),
);
/** `st/<address>` (main): ZNC staked and unbonding. */
export const stakes = byAddress('st', StakeSchema, schemaCodec(StakeSchema), 'staker');
/** `ub` (main): the unbonding queue, in release order. */
export const unbonding = single('ub', UnbondingQueueSchema);
/** `cand/<address>` (main): a bookkeeper candidate. */
export const candidates = byAddress('cand', CandidateSchema, schemaCodec(CandidateSchema), 'candidate');
/** `vote/<address>` (main): a voter's candidates and proxy. */
export const votes = byAddress('vote', VoteRecordSchema, schemaCodec(VoteRecordSchema), 'voter');
/** `bk` (main): the bookkeeper sets elected, by the height they take effect. */
export const bookkeeperSets = single('bk', BookkeeperSetsSchema);
/** `ev/<address>/<height>/<round>/<vote type>` (main): an equivocation already punished. */
export const evidence = defineStore<Infer<typeof EvidenceMarkSchema>, [offenderHex: string, height: bigint, round: number, voteType: number], []>(
  'ev',
  EvidenceMarkSchema,
  {
    // Unpadded numbers: the layout the ledger has always written.
    key: (hex, height, round, type) =>
      `ev/${addressPart(hex, 'offender')}/${numberPart(height, 0, 'height')}/${numberPart(round, 0, 'round')}/${numberPart(type, 0, 'vote type')}`,
    parse: (rest) => {
      const [hex, height, round, type] = rest.split('/');
      return [hex, unpadBigint(height), unpadNumber(round), unpadNumber(type)];
    },
    scope: () => 'ev/',
  },
  schemaCodec(EvidenceMarkSchema),
);

// ---------------------------------------------------------------- market: main chain

/** `wk/<address>` (main): a registered worker. */
export const workers = byAddress('wk', WorkerSchema, schemaCodec(WorkerSchema), 'worker');
/** `wkn` (main): how many workers ever registered. */
export const workerCount = single('wkn', CounterSchema);
/** `wki/<n, 10 digits>` (main): the n-th worker to register (the order the market scans them in). */
export const workerIndex = defineStore<Infer<typeof WorkerIndexSchema>, [n: bigint], []>(
  'wki',
  WorkerIndexSchema,
  { key: (n) => `wki/${numberPart(n, 10, 'worker number')}`, parse: (rest) => [unpadBigint(rest)], scope: () => 'wki/' },
  schemaCodec(WorkerIndexSchema),
);
/** `app/<name>@<version>` (main): a published app version. */
export const apps = defineStore<Infer<typeof AppSchema>, [name: string, version: string], [] | [name: string]>(
  'app',
  AppSchema,
  {
    key: (name, version) => `app/${textPart(name, 'app name')}@${textPart(version, 'app version')}`,
    parse: (rest) => {
      // A version holds no "@" (PublishApp's rule), so the last one separates it.
      const at = rest.lastIndexOf('@');
      return [rest.slice(0, at), rest.slice(at + 1)];
    },
    scope: (...s) => (s.length === 0 ? 'app/' : `app/${textPart(s[0], 'app name')}@`),
  },
  schemaCodec(AppSchema),
);
/** `appn/<name>` (main): who owns an app's name and how many versions it published. */
export const appNames = defineStore<Infer<typeof AppNameSchema>, [name: string], []>(
  'appn',
  AppNameSchema,
  { key: (name) => `appn/${textPart(name, 'app name')}`, parse: (rest) => [rest], scope: () => 'appn/' },
  schemaCodec(AppNameSchema),
);
/** `lic/<app name>/<address>` (main): a user's license for an app. */
export const licenses = defineStore<Infer<typeof LicenseSchema>, [name: string, userHex: string], [] | [name: string]>(
  'lic',
  LicenseSchema,
  {
    key: (name, hex) => `lic/${textPart(name, 'app name')}/${addressPart(hex, 'licensee')}`,
    parse: (rest) => {
      const slash = rest.lastIndexOf('/');
      return [rest.slice(0, slash), rest.slice(slash + 1)];
    },
    scope: (...s) => (s.length === 0 ? 'lic/' : `lic/${textPart(s[0], 'app name')}/`),
  },
  schemaCodec(LicenseSchema),
);

// ---------------------------------------------------------------- market: a task's inner chain

/** `task/<id>`: a task, on the inner chain its id's first byte names. */
export const tasks = defineStore<Infer<typeof TaskSchema>, [taskIdHex: string], []>(
  'task',
  TaskSchema,
  { key: (id) => `task/${taskIdPart(id)}`, parse: (rest) => [rest], scope: () => 'task/' },
  schemaCodec(TaskSchema),
);
/** `bid/<task>/<index>`: the task's bids in arrival order. */
export const bids = byTaskIndex('bid', BidSchema, 'bid index');
/** `bidby/<task>/<worker>`: a worker's latest bid on the task. */
export const bidRefs = byTaskAddress('bidby', BidRefSchema, 'bidder');
/** `lease/<task>/<index>`: the task's leases in match order. */
export const leases = byTaskIndex('lease', LeaseSchema, 'lease index');
/** `dsp/<task>/<lease>`: a dispute under way about a lease's result. */
export const disputes = byTaskIndex('dsp', DisputeStateSchema, 'disputed lease');
/** `lout/<task>/<lease>`: a lease's app outcome (src/ledger/appOutcome.ts). */
export const appOutcomes = byTaskIndex('lout', AppOutcomeSchema, 'lease index');
/** `lrel/<task>/<worker>`: that a worker released a lease of the task (it may not bid on it again). */
export const releases = byTaskAddress('lrel', ReleasedSchema, 'releasing worker');

// ---------------------------------------------------------------- market: scheduled work (every chain)

/** `duen/<height, 12 digits>`: how many things are due at a height. */
export const dueCounts = defineStore<Infer<typeof CounterSchema>, [height: number | bigint], []>(
  'duen',
  CounterSchema,
  { key: (h) => `duen/${numberPart(h, 12, 'height')}`, parse: (rest) => [unpadNumber(rest)], scope: () => 'duen/' },
  schemaCodec(CounterSchema),
);
/** `due/<height, 12 digits>/<i, 8 digits>`: the i-th thing due at a height. */
export const dues = defineStore<Infer<typeof DueSchema>, [height: number | bigint, i: bigint], [] | [height: number | bigint]>(
  'due',
  DueSchema,
  {
    key: (h, i) => `due/${numberPart(h, 12, 'height')}/${numberPart(i, 8, 'due index')}`,
    parse: (rest) => {
      const [h, i] = rest.split('/');
      return [unpadNumber(h), unpadBigint(i)];
    },
    scope: (...s) => (s.length === 0 ? 'due/' : `due/${numberPart(s[0], 12, 'height')}/`),
  },
  schemaCodec(DueSchema),
);

// ---------------------------------------------------------------- governance (main)

/** A proposal's key part: its id, zero-padded so proposals sort in id order. */
const proposalPart = (id: bigint): string => numberPart(id, 12, 'proposal id');

/** `gprop/<id>` (main): a governance proposal. */
export const govProposals = defineStore<Infer<typeof GovProposalSchema>, [id: bigint], []>(
  'gprop',
  GovProposalSchema,
  { key: (id) => `gprop/${proposalPart(id)}`, parse: (rest) => [unpadBigint(rest)], scope: () => 'gprop/' },
  schemaCodec(GovProposalSchema),
);
/** A store keyed by a proposal id and an address: `head/<id>/<address>`. */
function byProposalAddress<Sc extends ObjectSchema>(
  head: string,
  schema: Sc,
  what: string,
): Store<Infer<Sc> & Entry, [id: bigint, addrHex: string], [id: bigint]> {
  return defineStore<Infer<Sc> & Entry, [bigint, string], [bigint]>(
    head,
    schema,
    {
      key: (id, hex) => `${head}/${proposalPart(id)}/${addressPart(hex, what)}`,
      parse: (rest) => {
        const [id, hex] = rest.split('/');
        return [unpadBigint(id), hex];
      },
      scope: (id) => `${head}/${proposalPart(id)}/`,
    },
    schemaCodec(schema) as Codec<Infer<Sc> & Entry>,
  );
}
/** `gdep/<id>/<address>` (main): what one account deposited on a proposal. */
export const govDeposits = byProposalAddress('gdep', GovDepositSchema, 'depositor');
/** `gvote/<id>/<address>` (main): a voter's option on a proposal. */
export const govVotes = byProposalAddress('gvote', GovVoteSchema, 'voter');
/** `gnext` (main): the next proposal id. */
export const govCounter = single('gnext', GovCounterSchema);
/** `gparams` (main): the parameters governance changed, with their values now. */
export const paramOverrides = single('gparams', ParamOverridesSchema);
/** `gplan` (main): the upgrade scheduled by a passed proposal. */
export const upgradePlan = single('gplan', UpgradePlanSchema);
/** `gdone/<name>` (main): an upgrade carried out. */
export const upgradesDone = defineStore<Infer<typeof UpgradeDoneSchema>, [name: string], []>(
  'gdone',
  UpgradeDoneSchema,
  { key: (name) => `gdone/${textPart(name, 'upgrade name')}`, parse: (rest) => [rest], scope: () => 'gdone/' },
  schemaCodec(UpgradeDoneSchema),
);

/** Every store, so that a key alone says how its value is encoded. */
export const STORES = [
  accounts,
  multisigs,
  proposals,
  tokens,
  stakes,
  unbonding,
  candidates,
  votes,
  bookkeeperSets,
  evidence,
  workers,
  workerCount,
  workerIndex,
  apps,
  appNames,
  licenses,
  tasks,
  bids,
  bidRefs,
  leases,
  disputes,
  appOutcomes,
  releases,
  dueCounts,
  dues,
  govProposals,
  govDeposits,
  govVotes,
  govCounter,
  paramOverrides,
  upgradePlan,
  upgradesDone,
] as const;

// Stores differ in their value type; the registry only ever hands a value to the store its key names.
type AnyStore = Pick<Store<Entry, Parts>, 'head' | 'schema'> & Codec<Entry>;

const BY_HEAD: ReadonlyMap<string, AnyStore> = (() => {
  const m = new Map<string, AnyStore>();
  for (const s of STORES as readonly AnyStore[]) {
    if (m.has(s.head)) throw new Error(`two stores use the key head ${s.head}`);
    m.set(s.head, s);
  }
  return m;
})();

/** The store a state key belongs to. */
export function storeOf(key: string): AnyStore {
  const s = BY_HEAD.get(headOf(key));
  if (!s) throw new Error(`unknown state key ${key}`);
  return s;
}

/** The canonical encoding of a state entry (what the state root commits to). */
export function encodeEntry(key: string, value: Entry): Uint8Array {
  return storeOf(key).encode(value);
}

export function decodeEntry(key: string, bytes: Uint8Array): Entry {
  return storeOf(key).decode(bytes);
}
