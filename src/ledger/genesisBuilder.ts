import {
  addressFromPublicKey,
  addressOf,
  AddressKind,
  addressKind,
  decodeAddress,
  encodeAddress,
  fromHex,
  sha256,
  signBytes,
  toHex,
  utf8,
  verifySignature,
  type KeyPair,
} from '../crypto/portable.ts';
import {
  AllocationRows,
  BookkeeperEntrySchema,
  canonicalJson,
  DEFAULT_PARAMS,
  GenesisDraftSchema,
  GenesisSchema,
  genesisProblems,
  statementMessage,
  type AllocationRow,
  type BookkeeperEntry,
  type BookkeeperStatementBody,
  type Genesis,
} from './genesis.ts';
import { TOTAL_SUPPLY } from './params.ts';
import { z } from 'zod';

// The genesis ceremony (issue 15): operators edit one draft, step by step, each adding what is
// theirs; every bookkeeper adds itself with a statement signed by its own key (a Cosmos gentx);
// the finished file is validated and hashed by every home, and they compare the hash. Pure: the
// CLI reads and writes the files and the keys.

/** The five shares as operators name them, and the allocation row each fills. */
export const GENESIS_SHARES = {
  cornerstone: 'cornerstone',
  pe: 'private-equity',
  market: 'promotion',
  team: 'team',
  reserve: 'development-reserve',
} as const satisfies Record<string, AllocationRow>;
export type GenesisShare = keyof typeof GENESIS_SHARES;
export const GENESIS_SHARE_NAMES = Object.keys(GENESIS_SHARES) as GenesisShare[];

/** The development reserve's multisig address in a genesis (not created by any transaction). */
export function genesisMultisigAddress(chainId: string, name: string): Uint8Array {
  return addressOf(AddressKind.Multisig, sha256(utf8(`zeus/genesis-multisig/${chainId}/${name}`)));
}

/** Name of the development reserve's multisig (and the seed of its address). */
export const RESERVE_MULTISIG = 'development-reserve';

/** A draft has the genesis's shape but may still lack allocations and bookkeepers. */
export type GenesisDraft = Genesis;

/** What one row's share is, in base units. */
export const shareOf = (row: AllocationRow): bigint => (TOTAL_SUPPLY * BigInt(AllocationRows[row].shareBp)) / 10_000n;

/** Reads a draft file's contents; throws with each schema problem. */
export function parseGenesisDraft(input: unknown): GenesisDraft {
  const r = GenesisDraftSchema.safeParse(input);
  if (!r.success) throw new Error(`not a genesis draft:\n${r.error.issues.map((i) => `${i.path.join('.') || 'draft'}: ${i.message}`).join('\n')}`);
  return r.data;
}

/** An empty draft: a chain id, a genesis time (ms since the epoch) and the public network's parameters. */
export function newGenesisDraft(o: { chainId: string; genesisTime: number; params?: Partial<Genesis['params']> }): GenesisDraft {
  if (!/^[a-z0-9][a-z0-9._-]{0,63}$/.test(o.chainId)) {
    throw new Error(`chain id must be 1 to 64 lower-case letters, digits, ".", "_" or "-", starting with a letter or digit; got "${o.chainId}"`);
  }
  if (!Number.isSafeInteger(o.genesisTime) || o.genesisTime < 0) throw new Error(`genesis time must be ms since the epoch, got ${o.genesisTime}`);
  return { chainId: o.chainId, genesisTime: o.genesisTime, params: { ...DEFAULT_PARAMS, ...o.params }, allocations: [], multisigs: [], bookkeepers: [] };
}

/**
 * Sets network parameters of a draft from `name=value` assignments (`market.name=value` for the
 * market's), as the genesis file holds them: whole numbers, amounts in base units. A new draft;
 * throws naming the assignment for an unknown name or a value the genesis schema refuses.
 */
export function setGenesisParams(draft: GenesisDraft, assignments: readonly string[]): GenesisDraft {
  const d = structuredClone(draft);
  const params = d.params as unknown as Record<string, unknown>;
  for (const a of assignments) {
    const m = /^([A-Za-z]+)(?:\.([A-Za-z]+))?=(.*)$/.exec(a);
    if (!m) throw new Error(`parameter "${a}" is not NAME=VALUE (e.g. epochLength=1000, market.reviewBlocks=600)`);
    const [, first, second, raw] = m;
    const names = (o: object): string =>
      Object.keys(o)
        .filter((k) => k !== 'market')
        .join(', ');
    let target = params;
    let name = first;
    if (second !== undefined) {
      if (first !== 'market') throw new Error(`parameter "${first}.${second}": only market parameters are nested (market.NAME)`);
      target = params.market as Record<string, unknown>;
      name = second;
    }
    if (!(name in target) || (second === undefined && name === 'market')) {
      throw new Error(
        `unknown parameter "${second === undefined ? name : `market.${name}`}": one of ${names(target)}${second === undefined ? ', or market.NAME' : ''}`,
      );
    }
    if (!/^\d+$/.test(raw)) throw new Error(`parameter "${a}": the value must be a whole number${typeof target[name] === 'string' ? ' (base units)' : ''}`);
    if (typeof target[name] !== 'string' && !Number.isSafeInteger(Number(raw))) throw new Error(`parameter "${a}": the value is too large`);
    target[name] = typeof target[name] === 'string' ? raw : Number(raw);
  }
  const r = GenesisDraftSchema.safeParse(d);
  if (!r.success) {
    throw new Error(r.error.issues.map((i) => `parameter ${i.path.slice(1).join('.')}: ${i.message}`).join('\n'));
  }
  return r.data;
}

export interface AllocationInput {
  share: GenesisShare;
  /** Holders and their amounts in base units; the reserve has none (it is held by its multisig). */
  holders?: { address: string; amount: bigint | string; name?: string }[];
  /** The reserve: its multisig's member addresses, and how many must approve. */
  reserveMembers?: string[];
  threshold?: number;
  /** The reserve: its amount (default: the whole share). */
  amount?: bigint | string;
}

function checkAddress(text: string, what: string): string {
  try {
    return encodeAddress(decodeAddress(text));
  } catch (e) {
    throw new Error(`${what} "${text}" is not a znc1… address (${(e as Error).message})`);
  }
}

function checkAmount(v: bigint | string, what: string): bigint {
  const n = typeof v === 'bigint' ? v : /^\d+$/.test(v) ? BigInt(v) : -1n;
  if (n <= 0n) throw new Error(`${what} must be a positive whole number of base units, got "${v}"`);
  return n;
}

/**
 * Adds holders to a share (a new draft, the given one unchanged). Refuses what can never validate:
 * an unknown share, a bad address or amount, a holder already in the row, more than the share.
 */
export function addAllocation(draft: GenesisDraft, input: AllocationInput): GenesisDraft {
  const row = GENESIS_SHARES[input.share];
  if (!row) throw new Error(`unknown share "${input.share}": one of ${GENESIS_SHARE_NAMES.join(', ')}`);
  const d = structuredClone(draft);
  let holders: { address: string; amount: bigint; name?: string }[];
  if (input.share === 'reserve') {
    if (input.holders?.length) throw new Error('the reserve is held by its multisig: give its members and threshold, not holders');
    const members = (input.reserveMembers ?? []).map((m) => checkAddress(m, 'reserve member'));
    if (members.length === 0) throw new Error('the reserve needs its multisig members (--members A,B,C)');
    if (new Set(members).size !== members.length) throw new Error('a reserve member is listed twice');
    for (const m of members) if (addressKind(decodeAddress(m)) !== AddressKind.Key) throw new Error(`reserve member ${m} must be a key's address (a person's)`);
    const threshold = input.threshold ?? 0;
    if (!Number.isInteger(threshold) || threshold < 1 || threshold > members.length) {
      throw new Error(`the reserve's threshold must be between 1 and ${members.length} (its members), got ${input.threshold ?? 'none'}`);
    }
    if (d.multisigs.some((m) => m.name === RESERVE_MULTISIG)) throw new Error('the reserve is already in the draft');
    const address = encodeAddress(genesisMultisigAddress(d.chainId, RESERVE_MULTISIG));
    d.multisigs.push({ name: RESERVE_MULTISIG, address, members, threshold });
    holders = [{ name: RESERVE_MULTISIG, address, amount: input.amount === undefined ? shareOf(row) : checkAmount(input.amount, 'the reserve amount') }];
  } else {
    if (input.reserveMembers || input.threshold !== undefined) throw new Error(`members and threshold are for the reserve only, not "${input.share}"`);
    if (!input.holders?.length) throw new Error(`share "${input.share}" needs at least one holder`);
    holders = input.holders.map((h) => ({
      ...(h.name ? { name: h.name } : {}),
      address: checkAddress(h.address, 'holder'),
      amount: checkAmount(h.amount, `the amount for ${h.address}`),
    }));
  }
  let alloc = d.allocations.find((a) => a.row === row);
  if (!alloc) d.allocations.push((alloc = { row, holders: [] }));
  for (const h of holders) {
    if (alloc.holders.some((x) => x.address === h.address)) throw new Error(`${h.address} already holds part of "${input.share}"`);
    alloc.holders.push({ ...(h.name ? { name: h.name } : {}), address: h.address, amount: h.amount.toString() });
  }
  const sum = alloc.holders.reduce((s, h) => s + BigInt(h.amount), 0n);
  if (sum > shareOf(row)) throw new Error(`share "${input.share}" would hold ${sum} base units; it is exactly ${shareOf(row)}`);
  // Rows in the table's order, so the same allocations give the same file whoever added them first.
  const order = Object.values(GENESIS_SHARES) as AllocationRow[];
  d.allocations.sort((a, b) => order.indexOf(a.row) - order.indexOf(b.row));
  return d;
}

/** A bookkeeper's signed statement, as `zeus genesis gentx` writes it. */
export interface BookkeeperStatement extends BookkeeperStatementBody {
  signature: string;
}
export const BookkeeperStatementSchema = z.object({
  chainId: z.string().min(1),
  name: BookkeeperEntrySchema.shape.name,
  publicKey: BookkeeperEntrySchema.shape.publicKey,
  p2p: BookkeeperEntrySchema.shape.p2p.unwrap(),
  stake: BookkeeperEntrySchema.shape.stake.unwrap(),
  signature: BookkeeperEntrySchema.shape.signature.unwrap(),
});

/** Signs a statement with the bookkeeper's own key (its public key is the key's). */
export function signBookkeeperStatement(key: KeyPair, body: Omit<BookkeeperStatementBody, 'publicKey'>): BookkeeperStatement {
  const full: BookkeeperStatementBody = { chainId: body.chainId, name: body.name, publicKey: toHex(key.publicKey), p2p: body.p2p, stake: body.stake };
  const entry = BookkeeperEntrySchema.safeParse({ name: full.name, publicKey: full.publicKey, p2p: full.p2p, stake: full.stake });
  if (!entry.success) throw new Error(entry.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('\n'));
  return { ...full, signature: toHex(signBytes(key.secretKey, statementMessage(full))) };
}

/**
 * Adds a bookkeeper from its signed statement. Refuses a statement for another chain, one whose
 * signature is not its own key's (nobody can add someone else's key), and a key already present.
 */
export function addBookkeeper(draft: GenesisDraft, statement: unknown): GenesisDraft {
  const r = BookkeeperStatementSchema.safeParse(statement);
  if (!r.success) throw new Error(`not a bookkeeper statement:\n${r.error.issues.map((i) => `${i.path.join('.') || 'statement'}: ${i.message}`).join('\n')}`);
  const s = r.data;
  if (s.chainId !== draft.chainId) throw new Error(`the statement of "${s.name}" is for chain "${s.chainId}"; this genesis is for "${draft.chainId}"`);
  const entry: BookkeeperEntry = { name: s.name, publicKey: s.publicKey, p2p: s.p2p, stake: s.stake, signature: s.signature };
  if (!verifySignature(fromHex(s.publicKey), statementMessage(s), fromHex(s.signature))) {
    throw new Error(`the statement of "${s.name}" is not signed by its key ${s.publicKey} (signed by another key, or altered since)`);
  }
  const dup = draft.bookkeepers.find((b) => b.publicKey === s.publicKey);
  if (dup) throw new Error(`key ${s.publicKey} is already a bookkeeper ("${dup.name}")`);
  if (draft.bookkeepers.some((b) => b.name === s.name)) throw new Error(`a bookkeeper is already named "${s.name}"`);
  const minStake = BigInt(draft.params.minCandidateStake);
  if (BigInt(s.stake) < minStake) throw new Error(`"${s.name}" stakes ${s.stake} base units; a candidate needs at least ${minStake}`);
  const d = structuredClone(draft);
  d.bookkeepers.push(entry);
  return d;
}

/** The finished genesis; throws with every problem, one a line, when it is not complete and valid. */
export function finalizeGenesis(draft: GenesisDraft): Genesis {
  const problems = genesisProblems(draft, { requireStatements: true });
  if (problems.length) throw new Error(problems.join('\n'));
  return GenesisSchema.parse(draft);
}

/**
 * The hash everyone in a ceremony compares: sha256 of the canonical JSON (see `canonicalJson`) of
 * the genesis as parsed, defaults filled in, so formatting, key order and spelled-out defaults do
 * not change it, and any change of content does.
 */
export function genesisHash(genesis: Genesis): string {
  return toHex(sha256(utf8(canonicalJson(GenesisSchema.parse(genesis)))));
}

/** The address a bookkeeper's key holds (to give it an allocation for its stake). */
export const bookkeeperAddress = (publicKeyHex: string): string => encodeAddress(addressFromPublicKey(fromHex(publicKeyHex)));
