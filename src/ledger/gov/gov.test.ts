import { describe, expect, it } from 'vitest';
import { addressFromPublicKey, systemAddress, toHex } from '../../crypto/index.ts';
import { readAccount as readAcc, writeAccount, type ExecContext } from '../context.ts';
import type { LedgerError } from '../errors.ts';
import {
  balanceOf,
  checkSupply,
  decodeEntry,
  encodeEntry,
  genesisMultisigAddress,
  homeChain,
  Ledger,
  ledgerReader,
  MAIN_CHAIN,
  readAccount,
  rewardsPoolAddress,
  stores,
  supplyReport,
  TOTAL_SUPPLY,
  TxKind,
  UpgradeNeededError,
  WORKER_DIVIDEND,
  ZNC,
  ZNC_UNIT,
  type Entry,
  type HeightExecution,
  type Tx,
} from '../index.ts';
import { MARKET_TEST_PARAMS, workerSpec } from '../marketTesting.ts';
import { GOV_DEPOSITS, GOVERNANCE_NAME } from '../systemAccounts.ts';
import { MAX_UPGRADE_LEAD_BLOCKS } from './lifecycle.ts';
import { commitExecuted, makeTx, testChain, type TestChain } from '../testing.ts';
import { ProposalStatus, ProposalType, VoteOption, type GovProposal } from './entries.ts';
import { proposalPayload, SHORT_GOVERNANCE, type GovProposePayload } from './testing.ts';

// Governance on a ledger, through real transactions: proposals opened by deposits, stake-weighted
// votes with proxies, what passed votes do (parameter changes at their height, reserve payments
// that still need the reserve's multisig, upgrades that stop a node that does not know them), and
// where every deposit goes. Supply is checked exact at every height. Expected numbers are written
// here from the rules, not read from the ledger's own tally.

const UNIT = ZNC_UNIT;
const MIN_DEPOSIT = BigInt(SHORT_GOVERNANCE.minDeposit);
const V = SHORT_GOVERNANCE.votingPeriodBlocks;
const OLD_BOND = BigInt(MARKET_TEST_PARAMS.minWorkerBond);
const DEV = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace', 'heidi'];

const chain = (): TestChain =>
  testChain({
    devAccounts: DEV,
    // No block reward nor dividend: the rewards pool moves only by what governance sends it.
    params: { governance: SHORT_GOVERNANCE, market: MARKET_TEST_PARAMS, blockReward: '0', workerDividendPerBlock: '0' },
  });

const addr = (t: TestChain, name: string): Uint8Array => addressFromPublicKey(t.keys[name].publicKey);
const znc = (t: TestChain, a: Uint8Array): bigint => balanceOf(readAccount(t.ledger.chains[homeChain(a)], toHex(a)), ZNC);
const gov = (t: TestChain, id: bigint): GovProposal => ledgerReader(t.ledger).govProposal(id)!;
const mainNonce = (t: TestChain, name: string): bigint => readAccount(t.ledger.chains[MAIN_CHAIN], toHex(addr(t, name))).nonce;

/** One height; supply must be exactly the total after it. */
function step(t: TestChain, txs: Tx[], inspect?: (exec: HeightExecution) => void): Map<string, LedgerError> {
  const exec = t.ledger.begin(t.ledger.time + 1000);
  inspect?.(exec);
  const rejected = new Map<string, LedgerError>();
  for (const tx of txs) {
    const err = exec.tryApply(tx);
    if (err) rejected.set(tx.hashHex, err);
  }
  commitExecuted(t, exec.finish());
  expect(checkSupply(t.ledger).total).toBe(TOTAL_SUPPLY);
  expect(TOTAL_SUPPLY).toBe(10_000_000_000n * UNIT);
  return rejected;
}

/** One height in which every transaction must be accepted. */
function ok(t: TestChain, txs: Tx[]): void {
  expect([...step(t, txs).values()].map((e) => `${e.code}: ${e.message}`)).toEqual([]);
}

/** The code each transaction was refused with (undefined: accepted), in one height. */
function codes(t: TestChain, txs: Tx[], inspect?: (exec: HeightExecution) => void): (string | undefined)[] {
  const rej = step(t, txs, inspect);
  return txs.map((tx) => rej.get(tx.hashHex)?.code);
}

function until(t: TestChain, height: bigint | number): void {
  while (t.ledger.height < Number(height)) ok(t, []);
}

/** Stakes for each name; the stakes land on main one height later. */
function stakeAll(t: TestChain, amounts: Record<string, bigint>): void {
  ok(
    t,
    Object.entries(amounts).map(([name, amount]) => makeTx(t, name, TxKind.Stake, { amount })),
  );
  ok(t, []);
  for (const [name, amount] of Object.entries(amounts)) expect(stores.stakes.get(t.ledger.chains[MAIN_CHAIN], toHex(addr(t, name)))?.staked).toBe(amount);
}

/** Submits a proposal; returns its id once it is made on main (one height later). */
function propose(t: TestChain, from: string, over: Partial<GovProposePayload>): bigint {
  const tx = makeTx(t, from, TxKind.GovPropose, proposalPayload(over));
  ok(t, [tx]);
  ok(t, []);
  const found = ledgerReader(t.ledger)
    .govProposals()
    .find(([, p]) => toHex(p.tx) === tx.hashHex);
  expect(found).toBeDefined();
  return found![0];
}

const vote = (t: TestChain, from: string, proposal: bigint, option: VoteOption): Tx => makeTx(t, from, TxKind.GovVote, { proposal, option });

describe('governance on the ledger', () => {
  it('a param-change raising the minimum worker bond passes by delegated weight and is in force on every chain from the height after executeAt', () => {
    const t = chain();
    const A = 1_000n * UNIT;
    const B = 3_000n * UNIT;
    const C = 2_000n * UNIT;
    const W = 600n * UNIT;
    stakeAll(t, { alice: A, bob: B, carol: C, dave: W, frank: W, grace: W, heidi: W });
    // Bob's weight follows alice: he delegates and does not vote.
    ok(t, [makeTx(t, 'bob', TxKind.Delegate, { proxy: addr(t, 'alice') })]);
    const NEW_BOND = 500n * UNIT;
    const id = propose(t, 'erin', {
      type: ProposalType.ParamChange,
      title: 'raise the bond',
      changes: [{ name: 'market.minWorkerBond', value: NEW_BOND.toString() }],
    });
    const opened = gov(t, id);
    expect(opened.status).toBe(ProposalStatus.Voting);
    expect(opened.votingEnd).toBe(opened.votingStart + BigInt(V));
    ok(t, [vote(t, 'alice', id, VoteOption.Yes), vote(t, 'carol', id, VoteOption.No)]);
    until(t, opened.votingEnd);

    const p = gov(t, id);
    // Alice's 1,000 alone lose to carol's 2,000; bob's 3,000 through alice carry it.
    expect(p.tally).toEqual({ yes: A + B, no: C, abstain: 0n, veto: 0n, bonded: A + B + C + 4n * W });
    expect(p.status).toBe(ProposalStatus.Passed);
    expect(p.executeAt).toBe(p.votingEnd + BigInt(SHORT_GOVERNANCE.executionDelayBlocks));

    const everyChain = (exec: HeightExecution, bond: bigint): void => {
      expect(exec.contexts.map((c) => c.params.market.minWorkerBond)).toEqual(Array(10).fill(bond));
    };
    const register = (name: string, bond: bigint, nonce?: bigint): Tx => makeTx(t, name, TxKind.RegisterWorker, workerSpec({ bond }), nonce);
    const MID = 200n * UNIT;

    until(t, p.executeAt - 2n);
    expect(t.ledger.params.market.minWorkerBond).toBe(OLD_BOND);
    // executeAt - 1 and executeAt itself: the old bond (the change is written at executeAt's start).
    expect(step(t, [register('dave', MID)], (e) => everyChain(e, OLD_BOND)).size).toBe(0);
    expect(t.ledger.height).toBe(Number(p.executeAt) - 1);
    expect(t.ledger.params.market.minWorkerBond).toBe(OLD_BOND);
    expect(step(t, [register('frank', MID)], (e) => everyChain(e, OLD_BOND)).size).toBe(0);
    expect(t.ledger.height).toBe(Number(p.executeAt));
    expect(gov(t, id).status).toBe(ProposalStatus.Executed);
    expect(ledgerReader(t.ledger).paramChanges()).toEqual([{ name: 'market.minWorkerBond', value: NEW_BOND.toString() }]);
    expect(t.ledger.params.market.minWorkerBond).toBe(NEW_BOND);
    // Nothing else changed.
    expect({ ...t.ledger.params, market: { ...t.ledger.params.market, minWorkerBond: OLD_BOND } }).toEqual(t.ledger.genesisParams);

    // From executeAt + 1, on every chain: below the new bond is refused with BOND_TOO_SMALL, at or above it accepted.
    const g = mainNonce(t, 'grace');
    const below = register('grace', MID, g);
    const at = register('heidi', NEW_BOND);
    let inspected = 0;
    const newBond = (e: HeightExecution): void => {
      everyChain(e, NEW_BOND);
      inspected++;
    };
    expect(codes(t, [below, at], newBond)).toEqual(['BOND_TOO_SMALL', undefined]);
    expect(t.ledger.height).toBe(Number(p.executeAt) + 1);
    const justBelow = register('grace', NEW_BOND - 1n, g);
    const above = register('grace', NEW_BOND + 1n, g);
    expect(codes(t, [justBelow, above], newBond)).toEqual(['BOND_TOO_SMALL', undefined]);
    expect(inspected).toBe(2);
    const bonds = ['dave', 'frank', 'grace', 'heidi'].map((n) => stores.workers.get(t.ledger.chains[MAIN_CHAIN], toHex(addr(t, n)))?.bond);
    expect(bonds).toEqual([MID, MID, NEW_BOND + 1n, NEW_BOND]);

    // A node restarted from the stored state has the parameters in force, not genesis's.
    expect(restore(t.ledger).params.market.minWorkerBond).toBe(NEW_BOND);
  });

  it('quorum missing: rejected with a note, each deposit back to the base unit; veto over the share: the whole deposit to the rewards pool', () => {
    const t = chain();
    const A = 1_000n * UNIT;
    const B = 3_000n * UNIT;
    const C = 2_000n * UNIT;
    stakeAll(t, { alice: A, bob: B, carol: C });
    const [erin, frank, grace] = ['erin', 'frank', 'grace'].map((n) => addr(t, n));
    const erin0 = znc(t, erin);
    const frank0 = znc(t, frank);
    const grace0 = znc(t, grace);
    const pool = (): bigint => znc(t, rewardsPoolAddress());
    const pool0 = pool();

    // Quorum: erin opens with less than the minimum, frank's deposit completes it (odd amounts).
    const dErin = MIN_DEPOSIT / 2n + 7n;
    const dFrank = MIN_DEPOSIT / 2n + 3n;
    const quorum = propose(t, 'erin', { title: 'too few care', deposit: dErin });
    expect(gov(t, quorum).status).toBe(ProposalStatus.Deposit);
    const veto = propose(t, 'grace', { title: 'vetoed', deposit: MIN_DEPOSIT + 11n });
    expect(gov(t, veto).status).toBe(ProposalStatus.Voting);
    // Frank also adds to the second (already voting): vetoed, his part goes to the pool with grace's.
    const dVeto = MIN_DEPOSIT + 11n;
    ok(t, [makeTx(t, 'frank', TxKind.GovDeposit, { proposal: quorum, amount: dFrank }), makeTx(t, 'frank', TxKind.GovDeposit, { proposal: veto, amount: 5n })]);
    ok(t, []);
    expect(gov(t, quorum).status).toBe(ProposalStatus.Voting);
    expect(gov(t, quorum).deposit).toBe(dErin + dFrank);
    expect(ledgerReader(t.ledger).govDeposits(quorum)).toEqual(
      [
        [toHex(erin), dErin],
        [toHex(frank), dFrank],
      ].sort(),
    );
    expect(gov(t, veto).deposit).toBe(dVeto + 5n);
    expect(supplyReport(t.ledger).deposits).toBe(dErin + dFrank + dVeto + 5n);
    expect(znc(t, systemAddress(GOV_DEPOSITS))).toBe(dErin + dFrank + dVeto + 5n);

    // 1,000 of 6,000 bonded vote on the first (under 33.4 %); on the second veto is 3,000 of 6,000 (over 33.4 %).
    ok(t, [
      vote(t, 'alice', quorum, VoteOption.Yes),
      vote(t, 'alice', veto, VoteOption.Yes),
      vote(t, 'bob', veto, VoteOption.Veto),
      vote(t, 'carol', veto, VoteOption.No),
    ]);
    until(t, gov(t, quorum).votingEnd > gov(t, veto).votingEnd ? gov(t, quorum).votingEnd : gov(t, veto).votingEnd);

    const q = gov(t, quorum);
    expect(q.status).toBe(ProposalStatus.Rejected);
    expect(q.note).toBe('quorum not reached');
    expect(q.tally).toEqual({ yes: A, no: 0n, abstain: 0n, veto: 0n, bonded: A + B + C });
    const v = gov(t, veto);
    expect(v.status).toBe(ProposalStatus.Vetoed);
    expect(v.tally).toEqual({ yes: A, no: C, abstain: 0n, veto: B, bonded: A + B + C });
    expect(ledgerReader(t.ledger).govDeposits(quorum)).toEqual([]);
    expect(ledgerReader(t.ledger).govDeposits(veto)).toEqual([]);
    expect(supplyReport(t.ledger).deposits).toBe(0n);
    expect(znc(t, systemAddress(GOV_DEPOSITS))).toBe(0n);
    // The vetoed deposit is in the pool now; the refunds travel home by receipt.
    expect(pool()).toBe(pool0 + dVeto + 5n);
    ok(t, []);
    expect(znc(t, erin)).toBe(erin0);
    expect(znc(t, frank)).toBe(frank0 - 5n);
    expect(znc(t, grace)).toBe(grace0 - dVeto);
    expect(pool()).toBe(pool0 + dVeto + 5n);
  });

  it('a delegator voting against its proxy splits the tally to the base unit; unbonding stake does not count', () => {
    const t = chain();
    // Odd amounts, so a weight counted twice or lost shows in the last digits.
    const A = 1_000n * UNIT + 12_345_678n;
    const B = 3_000n * UNIT + 1n;
    const C = 2_000n * UNIT + 50_000_000n;
    const D = 777n * UNIT + 77_777_777n;
    const E = 900n * UNIT + 3n;
    const U = 250n * UNIT + 1n;
    stakeAll(t, { alice: A, bob: B, carol: C, dave: D, erin: E });
    ok(
      t,
      ['bob', 'carol', 'dave'].map((n) => makeTx(t, n, TxKind.Delegate, { proxy: addr(t, 'alice') })),
    );
    const id = propose(t, 'frank', { title: 'split' });
    // Bob first follows alice, then changes his mind; erin unbonds part of her stake and vetoes.
    ok(t, [vote(t, 'alice', id, VoteOption.Yes), vote(t, 'bob', id, VoteOption.Yes), vote(t, 'dave', id, VoteOption.Abstain)]);
    ok(t, [vote(t, 'bob', id, VoteOption.No), makeTx(t, 'erin', TxKind.Unstake, { amount: U }), vote(t, 'erin', id, VoteOption.Veto)]);
    expect(stores.stakes.get(t.ledger.chains[MAIN_CHAIN], toHex(addr(t, 'erin')))).toEqual({ staked: E - U, unbonding: U });

    // While the vote is open the reader shows whose vote each weight follows.
    const live = ledgerReader(t.ledger).govTally(id);
    const byVoter = Object.fromEntries(live.weights.map((w) => [w.voter, w]));
    expect(byVoter[toHex(addr(t, 'carol'))]).toEqual({ voter: toHex(addr(t, 'carol')), weight: C, option: VoteOption.Yes, via: toHex(addr(t, 'alice')) });
    expect(byVoter[toHex(addr(t, 'bob'))]).toEqual({ voter: toHex(addr(t, 'bob')), weight: B, option: VoteOption.No });
    expect(byVoter[toHex(addr(t, 'dave'))]).toEqual({ voter: toHex(addr(t, 'dave')), weight: D, option: VoteOption.Abstain });

    until(t, gov(t, id).votingEnd);
    const p = gov(t, id);
    expect(p.tally).toEqual({ yes: A + C, no: B, abstain: D, veto: E - U, bonded: A + B + C + D + E - U });
    // Everyone voted (quorum); veto is under a third of the votes; yes is under half of yes + no + veto.
    const decisive = A + C + B + (E - U);
    expect((A + C) * 2n < decisive && (E - U) * 3n < decisive + D).toBe(true);
    expect(p.status).toBe(ProposalStatus.Rejected);
    expect(p.note).toBe('not enough yes');
  });

  it('a reserve-spend pays only once the vote passed and the reserve multisig approved and executed it', () => {
    const t = chain();
    const reserve = genesisMultisigAddress(t.genesis.chainId, 'development-reserve');
    const reserve0 = znc(t, reserve);
    const grace = addr(t, 'grace');
    const grace0 = znc(t, grace);
    const PAY = 123_456n * UNIT + 789n;
    stakeAll(t, { alice: 1_000n * UNIT, bob: 1_000n * UNIT });

    // The multisig alone cannot propose a payment from the reserve.
    const direct = makeTx(t, 'foundation-1', TxKind.MultisigPropose, { account: reserve, to: grace, token: ZNC, amount: PAY, memo: '' });
    expect(codes(t, [direct])).toEqual(['NOT_AUTHORIZED']);
    t.nonces.set(`foundation-1/${MAIN_CHAIN}`, mainNonce(t, 'foundation-1'));
    // A reserve-spend that fails its vote proposes nothing to the multisig.
    const rejected = propose(t, 'alice', { type: ProposalType.ReserveSpend, title: 'no', recipient: grace, amount: PAY });
    const id = propose(t, 'alice', { type: ProposalType.ReserveSpend, title: 'grant to grace', recipient: grace, amount: PAY });
    ok(t, [vote(t, 'alice', rejected, VoteOption.No), vote(t, 'alice', id, VoteOption.Yes), vote(t, 'bob', id, VoteOption.Yes)]);
    until(t, gov(t, id).votingEnd);
    expect(gov(t, rejected).status).toBe(ProposalStatus.Rejected);
    expect(gov(t, rejected).reserveProposal).toBe(0n);
    const p = gov(t, id);
    expect(p.status).toBe(ProposalStatus.Passed);
    expect(p.reserveProposal).toBe(1n);
    const msp = () => stores.proposals.get(t.ledger.chains[MAIN_CHAIN], toHex(reserve), 1n)!;
    expect(toHex(msp().proposer)).toBe(toHex(systemAddress(GOVERNANCE_NAME)));
    expect([toHex(msp().to), msp().amount, msp().approvals.length, msp().executed]).toEqual([toHex(grace), PAY, 0, false]);
    expect(stores.proposals.get(t.ledger.chains[MAIN_CHAIN], toHex(reserve), 2n)).toBeUndefined();

    // Passed, and still nothing paid: holders cannot approve or execute, a member cannot execute without approvals.
    ok(t, []);
    const exec = (who: string) => makeTx(t, who, TxKind.MultisigExecute, { account: reserve, proposal: 1n });
    const approve = (who: string) => makeTx(t, who, TxKind.MultisigApprove, { account: reserve, proposal: 1n });
    expect(codes(t, [approve('alice'), exec('bob'), exec('foundation-1')])).toEqual(['NOT_AUTHORIZED', 'NOT_AUTHORIZED', 'THRESHOLD_NOT_MET']);
    for (const n of ['alice', 'bob', 'foundation-1']) t.nonces.set(`${n}/${MAIN_CHAIN}`, mainNonce(t, n));
    expect(codes(t, [approve('foundation-2'), exec('foundation-1')])).toEqual([undefined, 'THRESHOLD_NOT_MET']);
    t.nonces.set(`foundation-1/${MAIN_CHAIN}`, mainNonce(t, 'foundation-1'));
    ok(t, []);
    expect(znc(t, reserve)).toBe(reserve0);
    expect(znc(t, grace)).toBe(grace0);

    ok(t, [approve('foundation-3'), exec('foundation-1')]);
    expect(znc(t, reserve)).toBe(reserve0 - PAY);
    ok(t, []);
    expect(znc(t, grace)).toBe(grace0 + PAY);
    expect(msp().executed).toBe(true);
  });

  it('an upgrade stops a ledger that does not know it at its height (not before); one that knows runs its handler and both go on with identical roots', () => {
    const t = chain();
    stakeAll(t, { alice: 1_000n * UNIT });
    const NAME = 'v2-fees';
    const H = BigInt(t.ledger.height + 1 + V + 6);
    const id = propose(t, 'bob', { type: ProposalType.Upgrade, title: 'v2', upgradeName: NAME, upgradeHeight: H, upgradeInfo: 'https://example.org/v2' });
    ok(t, [vote(t, 'alice', id, VoteOption.Yes)]);
    until(t, gov(t, id).votingEnd);
    expect(gov(t, id).status).toBe(ProposalStatus.Passed);
    expect(ledgerReader(t.ledger).upgradePlan()).toEqual({ name: NAME, height: H, info: 'https://example.org/v2', proposal: id });

    // Up to H - 1 nothing stops: this ledger makes the blocks, a replica restored at H - 3 executes them.
    until(t, H - 3n);
    const a = t.ledger;
    const replica = restore(a);
    for (let i = 0; i < 2; i++) {
      const made = commitExecuted(t, a.begin(a.time + 1000).finish());
      replica.commit(replica.executeBlock(made.block), made.block.header, made.certificate);
    }
    expect(replica.stateRoots().map(toHex)).toEqual(a.stateRoots().map(toHex));
    const tryBegin = (l: Ledger): unknown => {
      try {
        l.begin(l.time + 1000);
      } catch (e) {
        return e;
      }
      return undefined;
    };
    const stop = tryBegin(a);
    expect(stop).toBeInstanceOf(UpgradeNeededError);
    expect((stop as UpgradeNeededError).upgrade).toBe(NAME);
    expect((stop as UpgradeNeededError).height).toBe(Number(H));
    expect((stop as Error).message).toContain(`upgrade ${NAME} needed at height ${H}`);
    expect(a.height).toBe(Number(H) - 1);

    // A second node, restored from this one's state, knows the upgrade: its handler moves 5 ZNC
    // from the rewards pool to the worker dividend (a migration every node must do alike).
    let ran = 0;
    const handler = (ctx: ExecContext): void => {
      ran++;
      const from = toHex(rewardsPoolAddress());
      const to = toHex(systemAddress(WORKER_DIVIDEND));
      const pool = readAcc(ctx.state, from);
      const div = readAcc(ctx.state, to);
      pool.balances[ZNC] -= 5n * UNIT;
      div.balances[ZNC] = (div.balances[ZNC] ?? 0n) + 5n * UNIT;
      writeAccount(ctx.state, from, pool);
      writeAccount(ctx.state, to, div);
    };
    const b: TestChain = { ...t, ledger: restore(a), nonces: new Map(t.nonces) };
    b.ledger.upgrades = new Map([[NAME, handler]]);
    expect(b.ledger.stateRoots().map(toHex)).toEqual(a.stateRoots().map(toHex));
    const pool0 = znc(b, rewardsPoolAddress());
    const div0 = znc(b, systemAddress(WORKER_DIVIDEND));
    const exec = b.ledger.begin(b.ledger.time + 1000);
    expect(exec.tryApply(makeTx(b, 'carol', TxKind.Transfer, { to: addr(t, 'dave'), token: ZNC, amount: 5n, memo: '' }))).toBeNull();
    const { block, certificate } = commitExecuted(b, exec.finish());
    expect(ran).toBe(1);
    expect(b.ledger.height).toBe(Number(H));
    expect(checkSupply(b.ledger).total).toBe(TOTAL_SUPPLY);
    expect(znc(b, rewardsPoolAddress())).toBe(pool0 - 5n * UNIT);
    expect(znc(b, systemAddress(WORKER_DIVIDEND))).toBe(div0 + 5n * UNIT);

    // The first node, given that block, still stops at H; started with the handler, it executes it.
    expect(() => a.executeBlock(block)).toThrow(UpgradeNeededError);
    expect(() => replica.executeBlock(block)).toThrow(/upgrade v2-fees needed at height/);
    expect(replica.height).toBe(Number(H) - 1);
    expect(ran).toBe(1);
    a.upgrades = new Map([[NAME, handler]]);
    a.commit(a.executeBlock(block), block.header, certificate);
    expect(ran).toBe(2);
    expect(a.stateRoots().map(toHex)).toEqual(b.ledger.stateRoots().map(toHex));
    expect(ledgerReader(a).upgradePlan()).toBeUndefined();
    expect(ledgerReader(a).upgradesDone()).toEqual([[NAME, { height: H, proposal: id }]]);
    expect(ledgerReader(a).govProposal(id)?.status).toBe(ProposalStatus.Executed);

    // Both go on: b makes blocks, a executes them, the roots agree at every height.
    for (let i = 0; i < 3; i++) {
      const e = b.ledger.begin(b.ledger.time + 1000);
      expect(e.tryApply(makeTx(b, 'erin', TxKind.Transfer, { to: addr(t, 'frank'), token: ZNC, amount: BigInt(i + 1), memo: '' }))).toBeNull();
      const c = commitExecuted(b, e.finish());
      a.commit(a.executeBlock(c.block), c.block.header, c.certificate);
      expect(a.stateRoots().map(toHex)).toEqual(b.ledger.stateRoots().map(toHex));
      expect(checkSupply(a).total).toBe(TOTAL_SUPPLY);
    }
    expect(ran).toBe(2);
  });
});

describe('governance refusals and returned deposits', () => {
  it('param-change: unknown parameters and values out of bounds are refused at submission (INVALID_PARAM)', () => {
    const t = chain();
    const bad: [string, string][] = [
      ['no.such.param', '1'],
      ['monthMs', '1000'],
      ['bookkeeperSeats', '3'],
      ['governance.thresholdBp', '4000'],
      ['governance.quorumBp', '0'],
      ['market.startDeadlineBlocks', '0'],
      ['slashBp', '10001'],
      ['market.minWorkerBond', '-5'],
      ['market.minWorkerBond', '1e9'],
      ['market.minWorkerBond', '007'],
      ['quotaWindowMs', '99999999999999999999'],
      // Unbonding at once would let an equivocator's stake leave before the evidence lands.
      ['unbondingMs', '0'],
    ];
    const txs = bad.map(([name, value]) =>
      makeTx(t, 'alice', TxKind.GovPropose, proposalPayload({ type: ProposalType.ParamChange, changes: [{ name, value }] }), 0n),
    );
    const good = makeTx(
      t,
      'alice',
      TxKind.GovPropose,
      proposalPayload({ type: ProposalType.ParamChange, changes: [{ name: 'bookkeeperSeats', value: '4' }] }),
      0n,
    );
    const refused = step(t, [...txs, good]);
    expect(txs.map((tx) => refused.get(tx.hashHex)?.code)).toEqual(bad.map(() => 'INVALID_PARAM'));
    expect(refused.has(good.hashHex)).toBe(false);
  });

  it('a proposal opens with at least a quarter of the minimum deposit (deposits come back on expiry: token deposits would cost nothing)', () => {
    const t = chain();
    const alice = addr(t, 'alice');
    const alice0 = znc(t, alice);
    const quarter = MIN_DEPOSIT / 4n;
    expect(quarter * 4n).toBe(MIN_DEPOSIT);
    const token = makeTx(t, 'alice', TxKind.GovPropose, proposalPayload({ title: 'spam', deposit: 1n }), 0n);
    const short = makeTx(t, 'alice', TxKind.GovPropose, proposalPayload({ title: 'spam', deposit: quarter - 1n }), 0n);
    const enough = makeTx(t, 'alice', TxKind.GovPropose, proposalPayload({ title: 'a real one', deposit: quarter }), 0n);
    expect(codes(t, [token, short, enough])).toEqual(['INVALID_AMOUNT', 'INVALID_AMOUNT', undefined]);
    expect(znc(t, alice)).toBe(alice0 - quarter);
    ok(t, []);
    expect(
      ledgerReader(t.ledger)
        .govProposals()
        .map(([, p]) => [p.title, p.status, p.deposit]),
    ).toEqual([['a real one', ProposalStatus.Deposit, quarter]]);
    // Later deposits may be any amount.
    ok(t, [makeTx(t, 'bob', TxKind.GovDeposit, { proposal: 1n, amount: 1n })]);
    ok(t, []);
    expect(gov(t, 1n).deposit).toBe(quarter + 1n);
  });

  it('an upgrade whose deposit completes too late for its vote to end before its height takes no vote: failed, deposits back', () => {
    const t = chain();
    stakeAll(t, { alice: 1_000n * UNIT });
    const [bob, carol] = ['bob', 'carol'].map((n) => addr(t, n));
    const bob0 = znc(t, bob);
    const carol0 = znc(t, carol);
    // The earliest height allowed when it is sent: a vote opening at once ends just before it.
    const H = BigInt(t.ledger.height + 1 + V + 2);
    const id = propose(t, 'bob', { type: ProposalType.Upgrade, title: 'late', upgradeName: 'late', upgradeHeight: H, deposit: MIN_DEPOSIT / 2n });
    expect(gov(t, id).status).toBe(ProposalStatus.Deposit);
    ok(t, [makeTx(t, 'carol', TxKind.GovDeposit, { proposal: id, amount: MIN_DEPOSIT / 2n })]);
    ok(t, []);
    // Its vote would end at or after H: nobody is asked to vote on it.
    const p = gov(t, id);
    expect(p.status).toBe(ProposalStatus.Failed);
    expect(p.note).toBe(`its upgrade height ${H} would come before its vote could end (${BigInt(t.ledger.height + V)})`);
    expect(codes(t, [vote(t, 'alice', id, VoteOption.Yes)])).toEqual(['PROPOSAL_CLOSED']);
    expect(ledgerReader(t.ledger).upgradePlan()).toBeUndefined();
    expect(znc(t, bob)).toBe(bob0);
    expect(znc(t, carol)).toBe(carol0);
    expect(supplyReport(t.ledger).deposits).toBe(0n);
  });

  it('fields of another proposal type, a reserve-spend to the deposits account and transfers to it are refused', () => {
    const t = chain();
    const deposits = systemAddress(GOV_DEPOSITS);
    const bob = addr(t, 'bob');
    const cases: Partial<GovProposePayload>[] = [
      { type: ProposalType.Text, changes: [{ name: 'bookkeeperSeats', value: '5' }] },
      { type: ProposalType.Text, recipient: bob, amount: 1n },
      { type: ProposalType.Text, upgradeName: 'x' },
      { type: ProposalType.ParamChange, changes: [{ name: 'bookkeeperSeats', value: '5' }], recipient: bob, amount: 5n },
      { type: ProposalType.ReserveSpend, recipient: bob, amount: 5n, upgradeInfo: 'x' },
      { type: ProposalType.Upgrade, upgradeName: 'u', upgradeHeight: 1_000n, changes: [{ name: 'bookkeeperSeats', value: '5' }] },
      { type: ProposalType.Upgrade, upgradeName: 'u', upgradeHeight: BigInt(V) },
      { type: ProposalType.Upgrade, upgradeName: 'bad name', upgradeHeight: 1_000n },
      // A plan is scheduled work: one a lifetime away would keep an idle network making blocks until then.
      { type: ProposalType.Upgrade, upgradeName: 'far', upgradeHeight: BigInt(V) + 2n + BigInt(MAX_UPGRADE_LEAD_BLOCKS) + 10n },
      { type: ProposalType.ReserveSpend, recipient: bob, amount: 0n },
      { type: 9 },
      { title: ' ' },
    ];
    const txs = cases.map((c) => makeTx(t, 'alice', TxKind.GovPropose, proposalPayload(c), 0n));
    const toDeposits = makeTx(t, 'alice', TxKind.GovPropose, proposalPayload({ type: ProposalType.ReserveSpend, recipient: deposits, amount: 5n }), 0n);
    const transfer = makeTx(t, 'bob', TxKind.Transfer, { to: deposits, token: ZNC, amount: 5n, memo: '' });
    const refused = step(t, [...txs, toDeposits, transfer]);
    expect(txs.map((tx) => refused.get(tx.hashHex)?.code)).toEqual(cases.map(() => 'INVALID_ARGUMENT'));
    expect(refused.get(toDeposits.hashHex)?.code).toBe('INVALID_RECIPIENT');
    expect(refused.get(transfer.hashHex)?.code).toBe('INVALID_RECIPIENT');
    expect(znc(t, deposits)).toBe(0n);
    expect(ledgerReader(t.ledger).govProposals()).toEqual([]);
  });

  it('votes only while the vote is open; a deposit that lands after the end and deposits of an expired proposal go back', () => {
    const t = chain();
    stakeAll(t, { alice: 1_000n * UNIT });
    const [bob, carol, dave] = ['bob', 'carol', 'dave'].map((n) => addr(t, n));
    const bob0 = znc(t, bob);
    const carol0 = znc(t, carol);
    const dave0 = znc(t, dave);

    // Below the minimum: the proposal gathers deposits and takes no vote.
    const pending = propose(t, 'bob', { title: 'short of deposit', deposit: MIN_DEPOSIT / 4n + 1n });
    const open = propose(t, 'carol', { title: 'open' });
    ok(t, [makeTx(t, 'carol', TxKind.GovDeposit, { proposal: pending, amount: MIN_DEPOSIT / 4n })]);
    // (Each refused, so each may use the same nonce.)
    const n = mainNonce(t, 'alice');
    const early = makeTx(t, 'alice', TxKind.GovVote, { proposal: pending, option: VoteOption.Yes }, n);
    const unknown = makeTx(t, 'alice', TxKind.GovVote, { proposal: 99n, option: VoteOption.Yes }, n);
    const badOption = makeTx(t, 'alice', TxKind.GovVote, { proposal: open, option: 5 }, n);
    expect(codes(t, [early, unknown, badOption])).toEqual(['PROPOSAL_CLOSED', 'UNKNOWN_PROPOSAL', 'INVALID_ARGUMENT']);
    expect(gov(t, pending).status).toBe(ProposalStatus.Deposit);
    expect(gov(t, pending).deposit).toBe(MIN_DEPOSIT / 2n + 1n);

    const end = gov(t, open).votingEnd;
    until(t, end - 2n);
    // The last height a vote lands in is votingEnd - 1; at votingEnd the count comes first.
    ok(t, [vote(t, 'alice', open, VoteOption.No)]);
    // A deposit sent at votingEnd is admitted (main as of the height before shows the vote open)
    // but reaches main after the count: it goes back whole.
    const late = makeTx(t, 'dave', TxKind.GovDeposit, { proposal: open, amount: 12_345n });
    const lateVote = vote(t, 'alice', open, VoteOption.Yes);
    expect(codes(t, [late, lateVote])).toEqual([undefined, 'PROPOSAL_CLOSED']);
    t.nonces.set(`alice/${MAIN_CHAIN}`, mainNonce(t, 'alice'));
    expect(t.ledger.height).toBe(Number(end));
    const closed = gov(t, open);
    expect(closed.status).toBe(ProposalStatus.Rejected);
    expect(closed.tally.no).toBe(1_000n * UNIT);
    expect(znc(t, dave)).toBe(dave0 - 12_345n);
    ok(t, []);
    expect(gov(t, open).deposit).toBe(MIN_DEPOSIT);
    expect(ledgerReader(t.ledger).govDeposits(open)).toEqual([]);
    expect(codes(t, [makeTx(t, 'dave', TxKind.GovDeposit, { proposal: open, amount: 1n })])).toEqual(['PROPOSAL_CLOSED']);
    ok(t, []);
    expect(znc(t, dave)).toBe(dave0);

    // The deposit period ends short of the minimum: expired, every deposit returned.
    until(t, gov(t, pending).depositEnd);
    const expired = gov(t, pending);
    expect(expired.status).toBe(ProposalStatus.Expired);
    expect(expired.note).toContain(`${MIN_DEPOSIT / 2n + 1n} of ${MIN_DEPOSIT}`);
    ok(t, []);
    expect(znc(t, bob)).toBe(bob0);
    expect(znc(t, carol)).toBe(carol0);
    expect(supplyReport(t.ledger).deposits).toBe(0n);
  });
});

/** A ledger restored from another's committed state, as a node restarting from its store. */
function restore(l: Ledger): Ledger {
  const entries: [number, string, Entry, Uint8Array][] = [];
  l.chains.forEach((c, i) => {
    for (const [key, value] of c.pairs()) {
      const bytes = encodeEntry(key, value);
      entries.push([i, key, decodeEntry(key, bytes), bytes]);
    }
  });
  return Ledger.restore(l.genesis, { height: l.height, time: l.time, hash: l.lastBlockHash, inFlight: [...l.inFlight], lastCommit: l.lastCommit }, entries);
}
