import { fromHex, toHex } from '../crypto/portable.ts';
import type { AppOutcome } from './appOutcome.ts';
import { readAccount } from './context.ts';
import type { Account, BookkeeperSets, Candidate, Multisig, Proposal, Stake, Token, UnbondingQueue, VoteRecord } from './entries.ts';
import { tally } from './election.ts';
import type { GovProposal, GovTally, ParamChange, UpgradeDone, UpgradePlan, VoteOption } from './gov/entries.ts';
import { tallyVotes, type VoterWeight } from './gov/lifecycle.ts';
import type { Ledger } from './ledger.ts';
import type { App, AppName, Bid, Lease, Task, Worker } from './marketEntries.ts';
import { CHAIN_COUNT, MAIN_CHAIN, type LedgerParams } from './params.ts';
import type { Receipt } from './receipts.ts';
import {
  accounts,
  appNames,
  appOutcomes,
  apps,
  bids,
  bookkeeperSets,
  candidates,
  govDeposits,
  govProposals,
  govVotes,
  paramOverrides,
  upgradePlan,
  upgradesDone,
  leases,
  licenses,
  multisigs,
  proposals,
  stakes,
  tasks,
  tokens,
  unbonding,
  votes,
  workerCount,
  workerIndex,
  workers,
} from './stores.ts';
import { checkSupply, type SupplyReport } from './supply.ts';
import { homeChain, taskChain } from './routing.ts';

/**
 * What the node, its API and its tools may read of the committed ledger: every question they ask,
 * answered from the right chain (accounts on their home chain, registries on main, a task and its
 * bids and leases on the inner chain its id names). Nothing outside src/ledger reads state keys.
 * Addresses and task ids are lowercase hex, as in state keys.
 */
export interface LedgerReader {
  readonly chainId: string;
  readonly height: number;
  /** Block time of the last committed height (genesis time before the first). */
  readonly time: number;
  readonly params: LedgerParams;
  readonly lastBlockHash: Uint8Array;
  /** Receipts emitted at the last height, applied at the next. */
  readonly inFlight: readonly Receipt[];
  stateRoots(): Uint8Array[];
  /** Where every ZNC is; throws if any was created or destroyed. */
  supply(): SupplyReport;
  /** Public keys of the bookkeepers that decide `height`, in proposer order. */
  bookkeepersAt(height: number): Uint8Array[];

  /** An account as its home chain holds it (empty when it never held anything), a private copy. */
  account(addrHex: string): Account;
  /** An account's entry on one chain: its nonce there, and on its home chain its balances and quota. */
  accountOn(chain: number, addrHex: string): Account | undefined;
  /** The nonce the account's next transaction on `chain` must carry. */
  nextNonce(chain: number, addrHex: string): bigint;
  stake(addrHex: string): Stake | undefined;
  /** ZNC staked (0 without a stake). */
  staked(addrHex: string): bigint;
  unbonding(): UnbondingQueue['entries'];
  multisig(addrHex: string): Multisig | undefined;
  /** A multisig's proposals, by id. */
  proposals(multisigHex: string): [id: bigint, proposal: Proposal][];
  token(symbol: string): Token | undefined;
  /** Sub-tokens by symbol. */
  tokens(): Token[];

  bookkeeperSets(): BookkeeperSets['sets'];
  /** Candidates by address. */
  candidates(): [addrHex: string, candidate: Candidate][];
  /** Votes by voter address. */
  votes(): [voterHex: string, vote: VoteRecord][];
  /** The election as it would rank candidates now (see the ledger's `tally`). */
  ranking(incumbents: Uint8Array[]): { address: string; weight: bigint; publicKey: Uint8Array }[];

  worker(addrHex: string): Worker | undefined;
  /** Every worker ever registered, in registration order (the order the market scans them in). */
  workers(): [addrHex: string, worker: Worker][];
  appName(name: string): AppName | undefined;
  /** Published app names by name. */
  appNames(): [name: string, owner: AppName][];
  app(name: string, version: string): App | undefined;
  /** An app's versions, by version string. */
  appVersions(name: string): App[];
  /** Addresses holding a license of the app. */
  licensees(name: string): string[];

  /** A task, on the inner chain its id names (undefined for an id naming no inner chain). */
  task(taskIdHex: string): Task | undefined;
  /** Every task, chain by chain, by id. */
  tasks(): [taskIdHex: string, task: Task][];
  bid(taskIdHex: string, index: number): Bid | undefined;
  lease(taskIdHex: string, index: number): Lease | undefined;
  /** Every lease, chain by chain, by task id and index. */
  leases(): [taskIdHex: string, index: number, lease: Lease][];
  appOutcome(taskIdHex: string, index: number): AppOutcome | undefined;

  /** Governance proposals by id. */
  govProposals(): [id: bigint, proposal: GovProposal][];
  govProposal(id: bigint): GovProposal | undefined;
  /** Deposits on a proposal still held, by depositor. */
  govDeposits(id: bigint): [depositorHex: string, amount: bigint][];
  /** Votes cast on a proposal, by voter. */
  govVotes(id: bigint): [voterHex: string, option: VoteOption][];
  /** The count if the vote ended now (the proposal's `tally` holds the final one). */
  govTally(id: bigint): { tally: GovTally; weights: VoterWeight[] };
  /** Parameters governance changed, with their values now. */
  paramChanges(): ParamChange[];
  upgradePlan(): UpgradePlan | undefined;
  /** Upgrades carried out, by name. */
  upgradesDone(): [name: string, done: UpgradeDone][];
}

const isInner = (chain: number): boolean => chain > MAIN_CHAIN && chain < CHAIN_COUNT;

/** A reader of `ledger` as it stands whenever asked (it follows the ledger as heights commit). */
export function ledgerReader(ledger: Ledger): LedgerReader {
  const main = () => ledger.chains[MAIN_CHAIN];
  const inner = () => ledger.chains.slice(MAIN_CHAIN + 1, CHAIN_COUNT);
  const chainOfTask = (idHex: string) => {
    const c = taskChain(fromHex(idHex));
    return isInner(c) ? ledger.chains[c] : undefined;
  };
  return {
    get chainId() {
      return ledger.chainId;
    },
    get height() {
      return ledger.height;
    },
    get time() {
      return ledger.time;
    },
    get params() {
      return ledger.params;
    },
    get lastBlockHash() {
      return ledger.lastBlockHash;
    },
    get inFlight() {
      return ledger.inFlight;
    },
    stateRoots: () => ledger.stateRoots(),
    supply: () => checkSupply(ledger),
    bookkeepersAt: (height) => ledger.bookkeepersAt(height),

    account: (hex) => readAccount(ledger.chains[homeChain(fromHex(hex))], hex),
    accountOn: (chain, hex) => accounts.get(ledger.chains[chain], hex),
    nextNonce: (chain, hex) => accounts.get(ledger.chains[chain], hex)?.nonce ?? 0n,
    stake: (hex) => stakes.get(main(), hex),
    staked: (hex) => stakes.get(main(), hex)?.staked ?? 0n,
    unbonding: () => unbonding.get(main())?.entries ?? [],
    multisig: (hex) => multisigs.get(main(), hex),
    proposals: (hex) => proposals.scan(main(), hex).map(([[, id], p]) => [id, p]),
    token: (symbol) => tokens.get(main(), symbol),
    tokens: () => tokens.scan(main()).map(([, t]) => t),

    bookkeeperSets: () => bookkeeperSets.get(main())?.sets ?? [],
    candidates: () => candidates.scan(main()).map(([[hex], c]) => [hex, c]),
    votes: () => votes.scan(main()).map(([[hex], v]) => [hex, v]),
    ranking: (incumbents) => tally(main(), incumbents),

    worker: (hex) => workers.get(main(), hex),
    workers: () => {
      const n = workerCount.get(main())?.n ?? 0n;
      const out: [string, Worker][] = [];
      for (let i = 0n; i < n; i++) {
        const hex = toHex(workerIndex.get(main(), i)!.worker);
        out.push([hex, workers.get(main(), hex)!]);
      }
      return out;
    },
    appName: (name) => appNames.get(main(), name),
    appNames: () => appNames.scan(main()).map(([[name], a]) => [name, a]),
    app: (name, version) => apps.get(main(), name, version),
    appVersions: (name) => apps.scan(main(), name).map(([, a]) => a),
    licensees: (name) => licenses.keys(main(), name).map((k) => licenses.parse(k)[1]),

    task: (idHex) => {
      const c = chainOfTask(idHex);
      return c && tasks.get(c, idHex);
    },
    tasks: () => inner().flatMap((c) => tasks.scan(c).map(([[id], t]): [string, Task] => [id, t])),
    bid: (idHex, i) => {
      const c = chainOfTask(idHex);
      return c && bids.get(c, idHex, i);
    },
    lease: (idHex, i) => {
      const c = chainOfTask(idHex);
      return c && leases.get(c, idHex, i);
    },
    leases: () => inner().flatMap((c) => leases.scan(c).map(([[id, i], l]): [string, number, Lease] => [id, i, l])),
    appOutcome: (idHex, i) => {
      const c = chainOfTask(idHex);
      return c && appOutcomes.get(c, idHex, i);
    },

    govProposals: () => govProposals.scan(main()).map(([[id], p]) => [id, p]),
    govProposal: (id) => govProposals.get(main(), id),
    govDeposits: (id) => govDeposits.scan(main(), id).map(([[, hex], d]) => [hex, d.amount]),
    govVotes: (id) => govVotes.scan(main(), id).map(([[, hex], v]) => [hex, v.option as VoteOption]),
    govTally: (id) => tallyVotes(main(), id),
    paramChanges: () => paramOverrides.get(main())?.changes ?? [],
    upgradePlan: () => upgradePlan.get(main()),
    upgradesDone: () => upgradesDone.scan(main()).map(([[name], d]) => [name, d]),
  };
}
