import { z } from 'zod';
import {
  addressFromPublicKey,
  AddressKind,
  addressKind,
  decodeAddress,
  encodeAddress,
  fromHex,
  systemAddress,
  toHex,
  utf8,
  verifySignature,
} from '../crypto/portable.ts';
import { newCandidate } from './election.ts';
import { emptyAccount } from './context.ts';
import type { Account, Tranche } from './entries.ts';
import { validateMultisigDefinition } from './ops/multisig.ts';
import { MAIN_CHAIN, PUBLIC_PARAMS, TOTAL_SUPPLY, ZNC, type GovernanceParams, type LedgerParams, type MarketParams } from './params.ts';
import type { StateOverlay } from './state.ts';
import { accounts, candidates, multisigs, stakes } from './stores.ts';
import { homeChain } from './routing.ts';
import { isSystemAccount, REWARDS_POOL_NAME, SYSTEM_ACCOUNT_NAMES } from './systemAccounts.ts';

/**
 * The five genesis allocations (DESIGN.md, "ZNC"). A release "in month m" happens at the start
 * of month m, i.e. (m − 1) × monthMs after genesis; a year is 12 months.
 */
export const AllocationRows = {
  cornerstone: {
    shareBp: 1000,
    schedule: [
      [6, 15],
      [7, 15],
      [8, 15],
      [9, 15],
      [10, 15],
      [11, 25],
    ],
  },
  'private-equity': {
    shareBp: 3000,
    schedule: [
      [0, 15],
      [1, 15],
      [2, 15],
      [3, 15],
      [4, 15],
      [5, 25],
    ],
  },
  promotion: { shareBp: 2000, schedule: [] },
  team: {
    shareBp: 2000,
    schedule: [
      [0, 25],
      [12, 25],
      [24, 25],
      [36, 25],
    ],
  },
  'development-reserve': { shareBp: 2000, schedule: [] },
} as const satisfies Record<string, { shareBp: number; schedule: readonly (readonly [number, number])[] }>;
export type AllocationRow = keyof typeof AllocationRows;
export const ALLOCATION_ROWS = Object.keys(AllocationRows) as AllocationRow[];

/** Name of the ledger-owned account that pays bookkeeper rewards and the worker dividend. */
export { REWARDS_POOL_NAME as REWARDS_POOL } from './systemAccounts.ts';
export const rewardsPoolAddress = (): Uint8Array => systemAddress(REWARDS_POOL_NAME);

const amount = z.string().regex(/^\d+$/, 'amount in base units as a decimal string');
const address = z.string().refine((s) => {
  try {
    decodeAddress(s);
    return true;
  } catch {
    return false;
  }
}, 'a znc1… address');

const M = PUBLIC_PARAMS.market;
const MarketParamsSchema = z.object({
  minWorkerBond: amount.default(M.minWorkerBond.toString()),
  workerUnbondingBlocks: z.number().int().nonnegative().default(M.workerUnbondingBlocks),
  startDeadlineBlocks: z.number().int().positive().default(M.startDeadlineBlocks),
  reportDeadlineBlocks: z.number().int().positive().default(M.reportDeadlineBlocks),
  reviewBlocks: z.number().int().positive().default(M.reviewBlocks),
  graceBlocks: z.number().int().positive().default(M.graceBlocks),
  lowEscrowMs: z.number().int().nonnegative().default(M.lowEscrowMs),
  maxBidWindowBlocks: z.number().int().positive().default(M.maxBidWindowBlocks),
  maxBidsPerTask: z.number().int().positive().max(10_000).default(M.maxBidsPerTask),
  failSlashBp: z.number().int().min(0).max(10_000).default(M.failSlashBp),
  wrongResultSlashBp: z.number().int().min(0).max(10_000).default(M.wrongResultSlashBp),
  dividendPerLease: amount.default(M.dividendPerLease.toString()),
  reasonScanLimit: z.number().int().nonnegative().default(M.reasonScanLimit),
  singleVerifierMaxPayZnc: z.number().int().nonnegative().default(M.singleVerifierMaxPayZnc),
  maxVerifierDraws: z.number().int().min(1).max(64).default(M.maxVerifierDraws),
  verifierScanLimit: z.number().int().positive().default(M.verifierScanLimit),
  revealDeadlineBlocks: z.number().int().positive().default(M.revealDeadlineBlocks),
  // Absent from a genesis made before the rule: off there, so that its chain replays alike.
  matchedWaitBp: z.number().int().min(0).max(10_000).default(0),
});

function marketParamsJson(m: MarketParams): z.output<typeof MarketParamsSchema> {
  return { ...m, minWorkerBond: m.minWorkerBond.toString(), dividendPerLease: m.dividendPerLease.toString() };
}

const G = PUBLIC_PARAMS.governance;
const GovernanceParamsSchema = z.object({
  minDeposit: amount.default(G.minDeposit.toString()),
  depositPeriodBlocks: z.number().int().positive().default(G.depositPeriodBlocks),
  votingPeriodBlocks: z.number().int().positive().default(G.votingPeriodBlocks),
  quorumBp: z.number().int().min(1).max(10_000).default(G.quorumBp),
  thresholdBp: z.number().int().min(5_000).max(10_000).default(G.thresholdBp),
  vetoBp: z.number().int().min(1).max(10_000).default(G.vetoBp),
  executionDelayBlocks: z.number().int().positive().default(G.executionDelayBlocks),
});

function governanceParamsJson(g: GovernanceParams): z.output<typeof GovernanceParamsSchema> {
  return { ...g, minDeposit: g.minDeposit.toString() };
}

/**
 * A genesis bookkeeper. `p2p`, `stake` and `signature` come from the bookkeeper's signed statement
 * (`zeus genesis gentx`, see genesisBuilder.ts); a dev genesis, made by one person holding every
 * key, has none of them.
 */
export const BookkeeperEntrySchema = z.object({
  name: z.string().min(1).max(64),
  publicKey: z.string().regex(/^[0-9a-f]{64}$/, 'an Ed25519 public key as 64 lower-case hex characters'),
  p2p: z
    .string()
    .regex(/^\/(ip4|ip6|dns|dns4|dns6)\/[^/\s]+\/(tcp|udp)\/\d{1,5}(\/[^\s]*)?$/, 'a multiaddr such as /ip4/203.0.113.7/tcp/26656 or /dns4/host/tcp/26656')
    .optional(),
  stake: amount.optional(),
  signature: z
    .string()
    .regex(/^[0-9a-f]{128}$/, 'an Ed25519 signature as 128 lower-case hex characters')
    .optional(),
});
export type BookkeeperEntry = z.infer<typeof BookkeeperEntrySchema>;

export const GenesisSchema = z.object({
  chainId: z.string().min(1).max(64),
  genesisTime: z.number().int().nonnegative(),
  params: z.object({
    monthMs: z.number().int().positive(),
    quotaWindowMs: z.number().int().positive(),
    freeQuota: z.number().int().nonnegative(),
    quotaStakeUnit: amount,
    unbondingMs: z.number().int().nonnegative(),
    maxTxsPerSegment: z.number().int().positive(),
    bookkeeperSeats: z.number().int().positive().default(PUBLIC_PARAMS.bookkeeperSeats),
    epochLength: z.number().int().positive().default(PUBLIC_PARAMS.epochLength),
    minCandidateStake: amount.default(PUBLIC_PARAMS.minCandidateStake.toString()),
    missedToJail: z.number().int().positive().default(PUBLIC_PARAMS.missedToJail),
    jailMs: z.number().int().nonnegative().default(PUBLIC_PARAMS.jailMs),
    blockReward: amount.default(PUBLIC_PARAMS.blockReward.toString()),
    workerDividendPerBlock: amount.default(PUBLIC_PARAMS.workerDividendPerBlock.toString()),
    slashBp: z.number().int().min(0).max(10_000).default(PUBLIC_PARAMS.slashBp),
    reporterBp: z.number().int().min(0).max(10_000).default(PUBLIC_PARAMS.reporterBp),
    market: MarketParamsSchema.default(marketParamsJson(PUBLIC_PARAMS.market)),
    governance: GovernanceParamsSchema.default(governanceParamsJson(PUBLIC_PARAMS.governance)),
  }),
  allocations: z.array(
    z.object({
      row: z.enum(ALLOCATION_ROWS as [AllocationRow, ...AllocationRow[]]),
      holders: z.array(z.object({ name: z.string().optional(), address, amount })).min(1),
    }),
  ),
  multisigs: z.array(z.object({ name: z.string(), address, members: z.array(address).min(1), threshold: z.number().int().positive() })),
  bookkeepers: z.array(BookkeeperEntrySchema).min(1),
});
export type Genesis = z.infer<typeof GenesisSchema>;
/** A genesis being built in a ceremony: the same file, but it may have no bookkeeper yet. */
export const GenesisDraftSchema = GenesisSchema.extend({ bookkeepers: z.array(BookkeeperEntrySchema) });

export function ledgerParams(g: Genesis): LedgerParams {
  const p = g.params;
  return {
    ...p,
    quotaStakeUnit: BigInt(p.quotaStakeUnit),
    minCandidateStake: BigInt(p.minCandidateStake),
    blockReward: BigInt(p.blockReward),
    workerDividendPerBlock: BigInt(p.workerDividendPerBlock),
    market: { ...p.market, minWorkerBond: BigInt(p.market.minWorkerBond), dividendPerLease: BigInt(p.market.dividendPerLease) },
    governance: { ...p.governance, minDeposit: BigInt(p.governance.minDeposit) },
  };
}

export function paramsJson(p: LedgerParams): Genesis['params'] {
  return {
    ...p,
    quotaStakeUnit: p.quotaStakeUnit.toString(),
    minCandidateStake: p.minCandidateStake.toString(),
    blockReward: p.blockReward.toString(),
    workerDividendPerBlock: p.workerDividendPerBlock.toString(),
    market: { ...p.market, minWorkerBond: p.market.minWorkerBond.toString(), dividendPerLease: p.market.dividendPerLease.toString() },
    governance: governanceParamsJson(p.governance),
  };
}

export const DEFAULT_PARAMS = paramsJson(PUBLIC_PARAMS);

/** Splits an allocation into its release tranches; the last takes the rounding remainder. */
export function vestingTranches(row: AllocationRow, total: bigint, genesisTime: number, monthMs: number): Tranche[] {
  const schedule = AllocationRows[row].schedule;
  const out: Tranche[] = [];
  let given = 0n;
  schedule.forEach(([month, pct], i) => {
    const amt = i === schedule.length - 1 ? total - given : (total * BigInt(pct)) / 100n;
    given += amt;
    out.push({ at: BigInt(genesisTime + month * monthMs), amount: amt });
  });
  return out;
}

/** Checks a genesis file against the allocation table; throws with every problem found (one a line). */
export function validateGenesis(input: unknown): Genesis {
  const g = GenesisSchema.parse(input);
  const problems = genesisRuleProblems(g);
  if (problems.length) throw new Error(problems.join('\n'));
  return g;
}

/**
 * Every problem of a genesis file, each a sentence saying what is wrong and what it must be; none
 * means it is valid. Schema problems (a missing field, a malformed address) come first and stop
 * the rest, which need a well-formed file.
 */
export function genesisProblems(input: unknown, o: { requireStatements?: boolean } = {}): string[] {
  // Parsed as a draft (bookkeepers may be none yet) so that an unfinished file gets every problem.
  const r = GenesisDraftSchema.safeParse(input);
  if (!r.success) return r.error.issues.map((i) => `${i.path.length ? i.path.join('.') : 'genesis'}: ${i.message}`);
  const problems = genesisRuleProblems(r.data, o);
  if (r.data.bookkeepers.length === 0) problems.push('the genesis has no bookkeeper yet (add one with `zeus genesis add-bookkeeper`)');
  return problems;
}

/**
 * Canonical JSON: object keys sorted by UTF-16 code units (a plain `<`, no locale), no
 * whitespace, arrays in their order, only strings, booleans, null and safe integers. JSON.stringify
 * alone writes keys in the order the object was built, which depends on who edited the file and
 * how; with sorted keys one value has exactly one encoding, so every home that holds the same
 * genesis computes the same bytes and the same hash, whatever the file's formatting or key order.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new Error(`canonical JSON holds only safe integers, got ${value}`);
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  throw new Error(`canonical JSON cannot hold a ${typeof value}`);
}

/** What a bookkeeper signs to be in a genesis (a gentx): the chain, its name, key, address and stake. */
export interface BookkeeperStatementBody {
  chainId: string;
  name: string;
  publicKey: string;
  p2p: string;
  stake: string;
}

/** The bytes a bookkeeper's statement signs: a domain tag and the canonical JSON of the body. */
export function statementMessage(b: BookkeeperStatementBody): Uint8Array {
  return utf8(`zeus/genesis-bookkeeper/v1\n${canonicalJson({ chainId: b.chainId, name: b.name, publicKey: b.publicKey, p2p: b.p2p, stake: b.stake })}`);
}

/** Whether a bookkeeper entry's signature is its own key's over this chain id (false if unsigned). */
export function bookkeeperSignatureValid(chainId: string, b: BookkeeperEntry): boolean {
  if (b.signature === undefined || b.p2p === undefined || b.stake === undefined) return false;
  try {
    return verifySignature(
      fromHex(b.publicKey),
      statementMessage({ chainId, name: b.name, publicKey: b.publicKey, p2p: b.p2p, stake: b.stake }),
      fromHex(b.signature),
    );
  } catch {
    return false;
  }
}

/**
 * The checks of a well-formed genesis (or draft) beyond its schema, all of them, in a stable
 * order. `requireStatements`: every bookkeeper must have added itself with a signed statement
 * (a public genesis; a dev genesis has none).
 */
export function genesisRuleProblems(g: Genesis, o: { requireStatements?: boolean } = {}): string[] {
  const problems: string[] = [];
  let total = 0n;
  for (const row of ALLOCATION_ROWS) {
    const entries = g.allocations.filter((a) => a.row === row);
    const want = (TOTAL_SUPPLY * BigInt(AllocationRows[row].shareBp)) / 10_000n;
    if (entries.length !== 1) {
      problems.push(`genesis must have exactly one "${row}" allocation (it has ${entries.length}); its share is exactly ${want} base units`);
      total += entries.reduce((s, e) => s + e.holders.reduce((t, h) => t + BigInt(h.amount), 0n), 0n);
      continue;
    }
    const sum = entries[0].holders.reduce((s, h) => s + BigInt(h.amount), 0n);
    if (sum !== want) problems.push(`allocation "${row}" is ${sum} base units; it must be exactly ${want}`);
    total += sum;
  }
  if (total !== TOTAL_SUPPLY) problems.push(`allocations add up to ${total} base units; they must add up to the total supply, exactly ${TOTAL_SUPPLY}`);
  const multisigs = new Set(g.multisigs.map((m) => m.address));
  for (const reserve of g.allocations.filter((a) => a.row === 'development-reserve')) {
    for (const h of reserve.holders) {
      if (!multisigs.has(h.address)) problems.push(`the development reserve must be held by a genesis multisig account; ${h.address} is not one`);
    }
  }
  for (const m of g.multisigs) {
    try {
      validateMultisigDefinition(m.members.map(decodeAddress), m.threshold);
    } catch (e) {
      problems.push(`multisig "${m.name}": ${(e as Error).message}`);
    }
  }
  // An allocation nobody can reach is supply lost from the first block.
  const multisigHex = new Set(g.multisigs.map((m) => toHex(decodeAddress(m.address))));
  for (const a of g.allocations) {
    for (const h of a.holders) {
      const addr = decodeAddress(h.address);
      const kind = addressKind(addr);
      if (kind === AddressKind.Multisig && !multisigHex.has(toHex(addr))) {
        problems.push(`allocation "${a.row}" holder ${h.address} is not a genesis multisig: nobody can reach it; declare the multisig in "multisigs"`);
      }
      if (kind === AddressKind.System && !isSystemAccount(addr)) {
        problems.push(
          `allocation "${a.row}" holder ${h.address} is not a system account of the ledger (${SYSTEM_ACCOUNT_NAMES.join(', ')}): nobody can reach it`,
        );
      }
    }
  }
  const seenKeys = new Map<string, string>();
  for (const b of g.bookkeepers) {
    const first = seenKeys.get(b.publicKey);
    if (first !== undefined) problems.push(`bookkeeper "${b.name}" has the same public key as "${first}" (${b.publicKey}): a key can be in the genesis once`);
    else seenKeys.set(b.publicKey, b.name);
    const signed = b.signature !== undefined || b.p2p !== undefined || b.stake !== undefined;
    if (!signed) {
      if (o.requireStatements) problems.push(`bookkeeper "${b.name}" has no signed statement (add it with \`zeus genesis add-bookkeeper\`)`);
      continue;
    }
    if (b.signature === undefined || b.p2p === undefined || b.stake === undefined) {
      problems.push(`bookkeeper "${b.name}": a statement needs p2p, stake and signature together`);
    } else if (!bookkeeperSignatureValid(g.chainId, b)) {
      problems.push(
        `bookkeeper "${b.name}": the signature is not its key's over this statement for chain "${g.chainId}" (signed by another key, for another chain, or altered since)`,
      );
    } else {
      const minStake = BigInt(g.params.minCandidateStake);
      if (BigInt(b.stake) < minStake) problems.push(`bookkeeper "${b.name}" stakes ${b.stake} base units; a candidate needs at least ${minStake}`);
      // As in a gentx, the stake is the bookkeeper's own and is bonded at genesis: its key's address
      // must hold it, vested, at genesis. Bonding locked tokens would let them out early by unstaking.
      const own = encodeAddress(addressFromPublicKey(fromHex(b.publicKey)));
      const { held, liquid } = genesisHoldings(g, own);
      if (liquid < BigInt(b.stake)) {
        problems.push(
          held === liquid
            ? `bookkeeper "${b.name}" stakes ${b.stake} base units but its address ${own} holds ${held} in the allocations; give it an allocation first`
            : `bookkeeper "${b.name}" stakes ${b.stake} base units but its address ${own} holds ${liquid} vested at genesis (${held} with what vests later; a stake is bonded at genesis and only vested ZNC can be); give it a liquid allocation (the market share) first`,
        );
      }
    }
  }
  return problems;
}

/** What an address holds in a genesis's allocations, and how much of that has vested at genesis. */
export function genesisHoldings(g: Genesis, address: string): { held: bigint; liquid: bigint } {
  let held = 0n;
  let locked = 0n;
  for (const a of g.allocations) {
    for (const h of a.holders) {
      if (h.address !== address) continue;
      const amt = BigInt(h.amount);
      held += amt;
      for (const t of vestingTranches(a.row, amt, g.genesisTime, g.params.monthMs)) if (t.at > BigInt(g.genesisTime)) locked += t.amount;
    }
  }
  return { held, liquid: held - locked };
}

/**
 * Writes the genesis allocations into per-chain overlays (index = chain). Each genesis bookkeeper's
 * declared stake is bonded from its own vested allocation (a gentx's self-delegation): from the
 * first block it votes with that weight and has something to lose for a double signature.
 */
export function writeGenesisState(g: Genesis, states: StateOverlay[]): void {
  const byAddress = new Map<string, Account>();
  const accountFor = (addr: Uint8Array): Account => {
    const hex = toHex(addr);
    let acc = byAddress.get(hex);
    if (!acc) byAddress.set(hex, (acc = emptyAccount()));
    return acc;
  };
  for (const alloc of g.allocations) {
    for (const h of alloc.holders) {
      const addr = decodeAddress(h.address);
      const acc = accountFor(addr);
      const amt = BigInt(h.amount);
      acc.balances[ZNC] = (acc.balances[ZNC] ?? 0n) + amt;
      const tranches = vestingTranches(alloc.row, amt, g.genesisTime, g.params.monthMs);
      acc.vesting = [...acc.vesting, ...tranches.filter((t) => t.at > BigInt(g.genesisTime))];
    }
  }
  const bonded: [string, bigint][] = [];
  for (const b of g.bookkeepers) {
    if (b.stake === undefined || BigInt(b.stake) === 0n) continue;
    const addr = addressFromPublicKey(fromHex(b.publicKey));
    const acc = accountFor(addr);
    const amount = BigInt(b.stake);
    // validateGenesis checked it is held vested; a file that skipped the check must not mint stake.
    if ((acc.balances[ZNC] ?? 0n) < amount) throw new Error(`bookkeeper "${b.name}" stakes ${amount} base units it does not hold at genesis`);
    acc.balances[ZNC] = (acc.balances[ZNC] ?? 0n) - amount;
    bonded.push([toHex(addr), amount]);
  }
  for (const [hex, amount] of bonded) stakes.set(states[MAIN_CHAIN], hex, { staked: amount, unbonding: 0n });
  for (const [hex, acc] of byAddress) {
    acc.vesting.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
    accounts.set(states[homeChain(fromHex(hex))], hex, acc);
  }
  for (const b of g.bookkeepers) {
    const pk = fromHex(b.publicKey);
    candidates.set(states[MAIN_CHAIN], toHex(addressFromPublicKey(pk)), newCandidate(pk, b.name));
  }
  for (const m of g.multisigs) {
    const addr = decodeAddress(m.address);
    multisigs.set(states[homeChain(addr)], toHex(addr), {
      members: m.members.map(decodeAddress),
      threshold: m.threshold,
      nextProposal: 1n,
      label: m.name,
    });
  }
}

export { encodeAddress };

/** The development reserve's multisig address (empty when the genesis allocates no reserve). */
export function reserveAddress(g: Genesis): Uint8Array {
  const holder = g.allocations.find((a) => a.row === 'development-reserve')?.holders[0];
  return holder ? decodeAddress(holder.address) : new Uint8Array(0);
}
