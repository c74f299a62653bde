import { z } from 'zod';
import { addressFromPublicKey, AddressKind, addressKind, decodeAddress, encodeAddress, fromHex, systemAddress, toHex } from '../crypto/portable.ts';
import { newCandidate } from './election.ts';
import { emptyAccount } from './context.ts';
import type { Account, Tranche } from './entries.ts';
import { validateMultisigDefinition } from './ops/multisig.ts';
import { MAIN_CHAIN, PUBLIC_PARAMS, TOTAL_SUPPLY, ZNC, type LedgerParams, type MarketParams } from './params.ts';
import type { StateOverlay } from './state.ts';
import { accounts, candidates, multisigs } from './stores.ts';
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
});

function marketParamsJson(m: MarketParams): z.output<typeof MarketParamsSchema> {
  return { ...m, minWorkerBond: m.minWorkerBond.toString(), dividendPerLease: m.dividendPerLease.toString() };
}

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
  }),
  allocations: z.array(
    z.object({
      row: z.enum(ALLOCATION_ROWS as [AllocationRow, ...AllocationRow[]]),
      holders: z.array(z.object({ name: z.string().optional(), address, amount })).min(1),
    }),
  ),
  multisigs: z.array(z.object({ name: z.string(), address, members: z.array(address).min(1), threshold: z.number().int().positive() })),
  bookkeepers: z.array(z.object({ name: z.string(), publicKey: z.string().regex(/^[0-9a-f]{64}$/) })).min(1),
});
export type Genesis = z.infer<typeof GenesisSchema>;

export function ledgerParams(g: Genesis): LedgerParams {
  const p = g.params;
  return {
    ...p,
    quotaStakeUnit: BigInt(p.quotaStakeUnit),
    minCandidateStake: BigInt(p.minCandidateStake),
    blockReward: BigInt(p.blockReward),
    workerDividendPerBlock: BigInt(p.workerDividendPerBlock),
    market: { ...p.market, minWorkerBond: BigInt(p.market.minWorkerBond), dividendPerLease: BigInt(p.market.dividendPerLease) },
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

/** Checks a genesis file against the allocation table; throws with what is wrong. */
export function validateGenesis(input: unknown): Genesis {
  const g = GenesisSchema.parse(input);
  let total = 0n;
  for (const row of ALLOCATION_ROWS) {
    const entries = g.allocations.filter((a) => a.row === row);
    if (entries.length !== 1) throw new Error(`genesis must have exactly one "${row}" allocation`);
    const sum = entries[0].holders.reduce((s, h) => s + BigInt(h.amount), 0n);
    const want = (TOTAL_SUPPLY * BigInt(AllocationRows[row].shareBp)) / 10_000n;
    if (sum !== want) throw new Error(`allocation "${row}" is ${sum} base units; it must be exactly ${want}`);
    total += sum;
  }
  if (total !== TOTAL_SUPPLY) throw new Error('allocations must add up to the total supply');
  const reserve = g.allocations.find((a) => a.row === 'development-reserve')!;
  const multisigs = new Set(g.multisigs.map((m) => m.address));
  for (const h of reserve.holders) {
    if (!multisigs.has(h.address)) throw new Error('the development reserve must be held by a genesis multisig account');
  }
  for (const m of g.multisigs) validateMultisigDefinition(m.members.map(decodeAddress), m.threshold);
  // An allocation nobody can reach is supply lost from the first block.
  const multisigHex = new Set(g.multisigs.map((m) => toHex(decodeAddress(m.address))));
  for (const a of g.allocations) {
    for (const h of a.holders) {
      const addr = decodeAddress(h.address);
      const kind = addressKind(addr);
      if (kind === AddressKind.Multisig && !multisigHex.has(toHex(addr))) {
        throw new Error(`allocation "${a.row}" holder ${h.address} is not a genesis multisig: nobody can reach it; declare the multisig in "multisigs"`);
      }
      if (kind === AddressKind.System && !isSystemAccount(addr)) {
        throw new Error(
          `allocation "${a.row}" holder ${h.address} is not a system account of the ledger (${SYSTEM_ACCOUNT_NAMES.join(', ')}): nobody can reach it`,
        );
      }
    }
  }
  return g;
}

/** Writes the genesis allocations into per-chain overlays (index = chain). */
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
