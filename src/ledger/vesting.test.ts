import { describe, expect, it } from 'vitest';
import { addressFromPublicKey, decodeAddress, toHex } from '../crypto/index.ts';
import { bytesEqual as bytesEqualX, systemAddress } from '../crypto/index.ts';
import {
  AllocationRows,
  balanceOf,
  checkSupply,
  genesisMultisigAddress,
  homeChain,
  lockedAt,
  MAIN_CHAIN,
  readAccount,
  spendable,
  TxKind,
  ZNC,
  type AllocationRow,
  type Tx,
  type TxRequest,
} from './index.ts';
import { makeTx, produce, testChain, type TestChain } from './testing.ts';
import { ProposalStatus, ProposalType, VoteOption } from './gov/entries.ts';
import { SHORT_GOVERNANCE, proposalPayload } from './gov/testing.ts';
import { ledgerReader } from './read.ts';
import { proposals } from './stores.ts';
import { GOVERNANCE_NAME } from './systemAccounts.ts';

// Vesting as DESIGN.md states it ("ZNC" table), checked through real transactions at every
// release boundary with a scaled month. Expected amounts are computed here from the
// percentages, not by the ledger's own vestingTranches().

const GENESIS = 1_700_000_000_000;
const MONTH = 1000;
const UNIT = 100_000_000n;
const SUPPLY = 10_000_000_000n * UNIT;

/** DESIGN.md: share of the supply, and releases as [month offset from genesis, percent]. */
const EXPECTED: Record<AllocationRow, { pct: bigint; releases: [number, bigint][] }> = {
  // locked 6 months; 15 % a month in months 7–11; 25 % in month 12
  cornerstone: {
    pct: 10n,
    releases: [
      [6, 15n],
      [7, 15n],
      [8, 15n],
      [9, 15n],
      [10, 15n],
      [11, 25n],
    ],
  },
  // 15 % a month in months 1–5; 25 % in month 6 (month 1 starts at genesis)
  'private-equity': {
    pct: 30n,
    releases: [
      [0, 15n],
      [1, 15n],
      [2, 15n],
      [3, 15n],
      [4, 15n],
      [5, 25n],
    ],
  },
  promotion: { pct: 20n, releases: [] },
  // 25 % at genesis; 25 % a year after that (each following year)
  team: {
    pct: 20n,
    releases: [
      [0, 25n],
      [12, 25n],
      [24, 25n],
      [36, 25n],
    ],
  },
  'development-reserve': { pct: 20n, releases: [] },
};

const addr = (t: TestChain, name: string): Uint8Array => addressFromPublicKey(t.keys[name].publicKey);
const accountOf = (t: TestChain, a: Uint8Array) => readAccount(t.ledger.chains[homeChain(a)], toHex(a));
const zncOf = (t: TestChain, a: Uint8Array): bigint => balanceOf(accountOf(t, a), ZNC);
const nonceOf = (t: TestChain, name: string, chain: number): bigint => readAccount(t.ledger.chains[chain], toHex(addr(t, name))).nonce;

function tx<K extends TxKind>(t: TestChain, from: string, kind: K, payload: TxRequest<K>['payload'], nonce: bigint): Tx {
  return makeTx(t, from, kind, payload, nonce);
}

/** Expected tranches of a row's holder, in base units, with their release times. */
function expectedTranches(row: AllocationRow): { at: number; amount: bigint }[] {
  const total = (SUPPLY * EXPECTED[row].pct) / 100n;
  return EXPECTED[row].releases.map(([m, p]) => ({ at: GENESIS + m * MONTH, amount: (total * p) / 100n }));
}

const releasedBy = (row: AllocationRow, time: number): bigint => expectedTranches(row).reduce((s, tr) => (tr.at <= time ? s + tr.amount : s), 0n);

/** ZNC of all vesting rows still locked at `time` (assuming their holders only spend what is free). */
const lockedAll = (time: number): bigint =>
  (['cornerstone', 'private-equity', 'team'] as const).reduce((s, row) => s + (SUPPLY * EXPECTED[row].pct) / 100n - releasedBy(row, time), 0n);

describe('vesting schedule', () => {
  it('AllocationRows matches DESIGN.md and every schedule adds up to 100 %', () => {
    for (const row of Object.keys(EXPECTED) as AllocationRow[]) {
      const r = AllocationRows[row];
      expect(BigInt(r.shareBp)).toBe(EXPECTED[row].pct * 100n);
      expect(r.schedule.map(([m, p]) => [m, BigInt(p)])).toEqual(EXPECTED[row].releases);
      const sum = EXPECTED[row].releases.reduce((s, [, p]) => s + p, 0n);
      if (EXPECTED[row].releases.length > 0) expect(sum).toBe(100n);
      const total = (SUPPLY * EXPECTED[row].pct) / 100n;
      if (EXPECTED[row].releases.length > 0) expect(expectedTranches(row).reduce((s, tr) => s + tr.amount, 0n)).toBe(total);
    }
    const shares = Object.values(EXPECTED).reduce((s, r) => s + r.pct, 0n);
    expect(shares).toBe(100n);
  });

  for (const row of ['cornerstone', 'private-equity', 'team'] as const) {
    it(`${row}: exactly the released amount is spendable around every boundary`, () => {
      const t = testChain({ monthMs: MONTH, genesisTime: GENESIS });
      const holder = addr(t, row);
      const chain = homeChain(holder);
      const to = addr(t, 'alice');
      const total = (SUPPLY * EXPECTED[row].pct) / 100n;
      expect(zncOf(t, holder)).toBe(total);
      expect(t.genesis.allocations.find((a) => a.row === row)!.holders.map((h) => BigInt(h.amount))).toEqual([total]);

      const send = (amount: bigint, nonce: bigint): Tx => tx(t, row, TxKind.Transfer, { to, token: ZNC, amount, memo: '' }, nonce);
      const checkHeight = (): void => {
        const r = checkSupply(t.ledger);
        expect(r.vesting).toBe(lockedAll(t.ledger.time));
      };
      checkHeight();

      const tranches = expectedTranches(row);
      const boundaries = [...new Set(tranches.map((tr) => tr.at))].filter((at) => at > GENESIS).sort((a, b) => a - b);
      const last = boundaries[boundaries.length - 1];
      const KEEP = 7n;
      let spent = 0n;
      for (const b of boundaries) {
        // One millisecond before the release: only what was released earlier may move.
        const before = b - 1;
        let avail = releasedBy(row, before) - spent;
        expect(spendable(accountOf(t, holder), ZNC, before)).toBe(avail);
        expect(lockedAt(accountOf(t, holder), before)).toBe(total - releasedBy(row, before));
        let n = nonceOf(t, row, chain);
        const over = send(avail + 1n, n);
        const exact = avail > 0n ? [send(avail, n)] : [];
        let rej = produce(t, [over, ...exact], before);
        expect(t.ledger.time).toBe(before);
        expect(rej.get(over.hashHex)?.code).toBe('FUNDS_VESTING');
        for (const e of exact) expect(rej.has(e.hashHex)).toBe(false);
        spent += avail;
        expect(nonceOf(t, row, chain)).toBe(n + BigInt(exact.length));
        expect(zncOf(t, holder)).toBe(total - spent);
        checkHeight();

        // At the boundary itself the next tranche is free.
        avail = releasedBy(row, b) - spent;
        expect(avail).toBe(tranches.find((tr) => tr.at === b)!.amount);
        expect(spendable(accountOf(t, holder), ZNC, b)).toBe(avail);
        n = nonceOf(t, row, chain);
        const over2 = send(avail + 1n, n);
        const part = send(avail - KEEP, n);
        rej = produce(t, [over2, part], b);
        expect(t.ledger.time).toBe(b);
        expect(rej.get(over2.hashHex)?.code).toBe(b === last ? 'INSUFFICIENT_FUNDS' : 'FUNDS_VESTING');
        expect(rej.has(part.hashHex)).toBe(false);
        spent += avail - KEEP;
        expect(zncOf(t, holder)).toBe(total - spent);
        checkHeight();
      }
      // Fully vested: the rest moves, and nothing remains locked.
      expect(lockedAt(accountOf(t, holder), t.ledger.time)).toBe(0n);
      const rest = send(total - spent, nonceOf(t, row, chain));
      expect(produce(t, [rest]).size).toBe(0);
      expect(zncOf(t, holder)).toBe(0n);
      produce(t, []);
      checkSupply(t.ledger);
    });
  }

  it('promotion: fully spendable at genesis', () => {
    const t = testChain({ monthMs: MONTH, genesisTime: GENESIS });
    const holder = addr(t, 'promotion');
    const chain = homeChain(holder);
    const alloc = t.genesis.allocations.find((a) => a.row === 'promotion')!;
    expect(alloc.holders.reduce((s, h) => s + BigInt(h.amount), 0n)).toBe((SUPPLY * EXPECTED.promotion.pct) / 100n);
    const amount = BigInt(alloc.holders.find((h) => h.name === 'promotion')!.amount);
    expect(amount).toBeGreaterThan(0n);
    expect(zncOf(t, holder)).toBe(amount);
    expect(accountOf(t, holder).vesting).toEqual([]);
    expect(spendable(accountOf(t, holder), ZNC, GENESIS)).toBe(amount);
    const to = addr(t, 'bob');
    const over = tx(t, 'promotion', TxKind.Transfer, { to, token: ZNC, amount: amount + 1n, memo: '' }, 0n);
    const all = tx(t, 'promotion', TxKind.Transfer, { to, token: ZNC, amount, memo: '' }, 0n);
    const rej = produce(t, [over, all], GENESIS + 1);
    expect(rej.get(over.hashHex)?.code).toBe('INSUFFICIENT_FUNDS');
    expect(rej.has(all.hashHex)).toBe(false);
    expect(zncOf(t, holder)).toBe(0n);
    expect(nonceOf(t, 'promotion', chain)).toBe(1n);
    checkSupply(t.ledger);
  });

  it('development reserve: pays only what a passed reserve-spend vote asks, once its 2-of-3 foundation multisig approves', () => {
    const t = testChain({ monthMs: MONTH, genesisTime: GENESIS, params: { governance: SHORT_GOVERNANCE } });
    const reserve = genesisMultisigAddress(t.genesis.chainId, 'development-reserve');
    const alloc = t.genesis.allocations.find((a) => a.row === 'development-reserve')!;
    expect(alloc.holders.map((h) => decodeAddress(h.address))).toEqual([reserve]);
    const total = (SUPPLY * EXPECTED['development-reserve'].pct) / 100n;
    expect(homeChain(reserve)).toBe(MAIN_CHAIN);
    expect(zncOf(t, reserve)).toBe(total);
    const ms = t.genesis.multisigs.find((m) => m.name === 'development-reserve')!;
    expect(ms.threshold).toBe(2);
    expect(ms.members.map((m) => toHex(decodeAddress(m)))).toEqual(['foundation-1', 'foundation-2', 'foundation-3'].map((n) => toHex(addr(t, n))));

    const alice = addr(t, 'alice');
    const pay = 1_234_567n * UNIT + 89n;
    const main = (name: string) => nonceOf(t, name, MAIN_CHAIN);
    const account = reserve;
    const step = (txs: Tx[]) => {
      const rej = produce(t, txs);
      checkSupply(t.ledger);
      return rej;
    };

    // A foundation key cannot spend the reserve as if it were its own; neither a member nor a
    // stranger can propose a payment from it: only a passed vote does.
    const direct = tx(t, 'foundation-1', TxKind.Transfer, { to: alice, token: ZNC, amount: 1n, memo: '' }, 0n);
    const strangerPropose = tx(t, 'alice', TxKind.MultisigPropose, { account, to: alice, token: ZNC, amount: pay, memo: '' }, main('alice'));
    const memberPropose = tx(t, 'foundation-1', TxKind.MultisigPropose, { account, to: alice, token: ZNC, amount: pay, memo: 'grant' }, main('foundation-1'));
    let rej = step([direct, strangerPropose, memberPropose]);
    expect(rej.get(direct.hashHex)?.code).toBe('INSUFFICIENT_FUNDS');
    expect(rej.get(strangerPropose.hashHex)?.code).toBe('NOT_AUTHORIZED');
    expect(rej.get(memberPropose.hashHex)?.code).toBe('NOT_AUTHORIZED');
    expect(main('alice')).toBe(0n);
    expect(main('foundation-1')).toBe(0n);
    expect(proposals.get(t.ledger.chains[MAIN_CHAIN], toHex(reserve), 1n)).toBeUndefined();

    // Bob's stake votes for two reserve-spends: `pay` to alice, and more than the reserve holds.
    expect(step([makeTx(t, 'bob', TxKind.Stake, { amount: 5_000n * UNIT })]).size).toBe(0);
    const grant = makeTx(t, 'bob', TxKind.GovPropose, proposalPayload({ type: ProposalType.ReserveSpend, title: 'grant', recipient: alice, amount: pay }));
    const big = makeTx(
      t,
      'bob',
      TxKind.GovPropose,
      proposalPayload({ type: ProposalType.ReserveSpend, title: 'everything', recipient: alice, amount: total + 1n }),
    );
    expect(step([grant, big]).size).toBe(0);
    step([]);
    const reader = ledgerReader(t.ledger);
    const gov = (id: bigint) => reader.govProposal(id)!;
    expect([gov(1n).status, gov(2n).status]).toEqual([ProposalStatus.Voting, ProposalStatus.Voting]);
    expect(
      step([
        makeTx(t, 'bob', TxKind.GovVote, { proposal: 1n, option: VoteOption.Yes }),
        makeTx(t, 'bob', TxKind.GovVote, { proposal: 2n, option: VoteOption.Yes }),
      ]).size,
    ).toBe(0);
    while (t.ledger.height < gov(1n).votingEnd) step([]);
    // The vote passed and proposed the payments on the reserve multisig, in governance's name, with no approval yet.
    expect([gov(1n).status, gov(2n).status]).toEqual([ProposalStatus.Passed, ProposalStatus.Passed]);
    expect([gov(1n).reserveProposal, gov(2n).reserveProposal]).toEqual([1n, 2n]);
    const msProposal = proposals.get(t.ledger.chains[MAIN_CHAIN], toHex(reserve), 1n)!;
    expect(toHex(msProposal.proposer)).toBe(toHex(systemAddress(GOVERNANCE_NAME)));
    expect([toHex(msProposal.to), msProposal.token, msProposal.amount, msProposal.approvals, msProposal.executed]).toEqual([toHex(alice), ZNC, pay, [], false]);
    expect(zncOf(t, reserve)).toBe(total);
    step([]);
    const alice0 = zncOf(t, alice);

    // No approval, then one: below the threshold. A non-member can neither approve nor execute.
    const none = tx(t, 'foundation-1', TxKind.MultisigExecute, { account, proposal: 1n }, main('foundation-1'));
    expect(step([none]).get(none.hashHex)?.code).toBe('THRESHOLD_NOT_MET');
    const first = tx(t, 'foundation-1', TxKind.MultisigApprove, { account, proposal: 1n }, main('foundation-1'));
    const early = tx(t, 'foundation-1', TxKind.MultisigExecute, { account, proposal: 1n }, main('foundation-1') + 1n);
    const strangerApprove = tx(t, 'alice', TxKind.MultisigApprove, { account, proposal: 1n }, main('alice'));
    const doubleApprove = tx(t, 'foundation-1', TxKind.MultisigApprove, { account, proposal: 1n }, main('foundation-1') + 1n);
    rej = step([first, early, strangerApprove, doubleApprove]);
    expect(rej.has(first.hashHex)).toBe(false);
    expect(rej.get(early.hashHex)?.code).toBe('THRESHOLD_NOT_MET');
    expect(rej.get(strangerApprove.hashHex)?.code).toBe('NOT_AUTHORIZED');
    expect(rej.get(doubleApprove.hashHex)?.code).toBe('ALREADY_APPROVED');
    expect(zncOf(t, reserve)).toBe(total);

    // Second approval, then a non-member's execute fails and a member's pays out, once.
    const approve = tx(t, 'foundation-2', TxKind.MultisigApprove, { account, proposal: 1n }, main('foundation-2'));
    const strangerExec = tx(t, 'alice', TxKind.MultisigExecute, { account, proposal: 1n }, main('alice'));
    const execute = tx(t, 'foundation-3', TxKind.MultisigExecute, { account, proposal: 1n }, main('foundation-3'));
    const again = tx(t, 'foundation-2', TxKind.MultisigExecute, { account, proposal: 1n }, main('foundation-2') + 1n);
    rej = step([approve, strangerExec, execute, again]);
    expect(rej.has(approve.hashHex)).toBe(false);
    expect(rej.get(strangerExec.hashHex)?.code).toBe('NOT_AUTHORIZED');
    expect(rej.has(execute.hashHex)).toBe(false);
    expect(rej.get(again.hashHex)?.code).toBe('ALREADY_EXECUTED');
    expect(zncOf(t, reserve)).toBe(total - pay);
    // The payout travels to alice's home chain.
    expect(t.ledger.inFlight.filter((r) => bytesEqualX(r.address, alice)).map((r) => r.amount)).toEqual([pay]);
    step([]);
    expect(zncOf(t, alice)).toBe(alice0 + pay);

    // A payment for more than the reserve holds is refused at execution, and moves nothing.
    const bigApprove = [
      tx(t, 'foundation-2', TxKind.MultisigApprove, { account, proposal: 2n }, main('foundation-2')),
      tx(t, 'foundation-3', TxKind.MultisigApprove, { account, proposal: 2n }, main('foundation-3')),
    ];
    expect(step(bigApprove).size).toBe(0);
    const bigExec = tx(t, 'foundation-1', TxKind.MultisigExecute, { account, proposal: 2n }, main('foundation-1'));
    const n1 = main('foundation-1');
    expect(step([bigExec]).get(bigExec.hashHex)?.code).toBe('INSUFFICIENT_FUNDS');
    expect(main('foundation-1')).toBe(n1);
    expect(zncOf(t, reserve)).toBe(total - pay);
  });
});
